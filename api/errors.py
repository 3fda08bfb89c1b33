"""Turning refusals into HTTP answers a person can act on; never a 500 for a client's
mistake.

Every error answer has one body, ``Error``: ``{"detail": str, "problems": [{"path",
"message"}]}`` (``problems`` only where there is a list to give), whether it comes from
a command's refusal, an ``HTTPException``, FastAPI's own request validation, the body
guard or the rate limits. The OpenAPI document declares it for every status each
operation can answer: statuses caused by a dependency (a bearer token, a role,
``min_position``, a rate limit, Temporal) are declared once, next to that dependency,
with :func:`may_answer`, and :func:`document` adds them to every operation that uses it;
statuses a route body raises are declared on its decorator with :func:`answers`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import asdict
from typing import Any, Final, TypeVar

from fastapi import APIRouter, FastAPI, Request, params
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError

from domain import refusals
from domain.refusals import Refusal
from eventstore.port import WrongExpectedVersion
from workflows import errors as wf

STATUS: Final[Mapping[type[Refusal], int]] = {
    refusals.Invalid: 422,
    refusals.NotFound: 404,
    refusals.Forbidden: 403,
    refusals.Conflict: 409,
    refusals.Unauthenticated: 401,
    refusals.Unverified: 400,
    refusals.Unavailable: 503,
    refusals.UpstreamFailed: 502,
}
"""The one place a refusal kind becomes an HTTP status."""

RETRY_AFTER_S: Final = 5
"""Retry-After of a 503 whose cause names no better time (Temporal or the worker away)."""


class ProblemOut(BaseModel):
    path: str
    """Where: ``body.data.nik``, ``query.limit``, ``steps[2].outcomes``."""
    message: str


class Error(BaseModel):
    """The body of every error answer."""

    detail: str
    """What happened and what to do, for a person."""
    problems: list[ProblemOut] | None = None
    """Each problem with where it is, when there is more than one thing to fix."""


def error_response(
    status: int,
    detail: str,
    problems: list[ProblemOut] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {"detail": detail}
    if problems:
        body["problems"] = [p.model_dump() for p in problems]
    headers = dict(headers or {})
    if status == 503:
        headers.setdefault("Retry-After", str(RETRY_AFTER_S))
    return JSONResponse(body, status_code=status, headers=headers)


def status_of(refusal: Refusal) -> int:
    return next(STATUS[kind] for kind in type(refusal).__mro__ if kind in STATUS)


def refusal_from_update(err: WorkflowUpdateFailedError) -> Refusal:
    cause = err.cause
    if isinstance(cause, ApplicationError) and (kind := wf.KIND.get(cause.type or "")):
        return kind(cause.message)
    return refusals.Conflict(f"the application refused the command: {cause}")


# -- handlers ---------------------------------------------------------------------------


async def _refused(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, Refusal)
    problems = [ProblemOut(**asdict(p)) for p in exc.problems]
    return error_response(status_of(exc), exc.message, problems)


async def _http(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    return error_response(exc.status_code, str(exc.detail), headers=exc.headers)


async def _raced(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, WrongExpectedVersion)
    return error_response(
        409, "someone else changed the same record at the same moment; read it again and retry"
    )


async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
    # Starlette logs the exception with its traceback after this answer; the answer
    # itself says nothing of it (it may quote data).
    return error_response(
        500,
        "something went wrong inside Lincah; it has been logged. If it happens again, "
        "report the time of the request to the operators",
    )


MAX_LISTED: Final = 3


async def _invalid(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = [_problem(e) for e in exc.errors()]
    listed = "; ".join(f"{p.path}: {p.message}" for p in problems[:MAX_LISTED])
    more = f" (and {len(problems) - MAX_LISTED} more)" if len(problems) > MAX_LISTED else ""
    return error_response(422, f"the request is not valid: {listed}{more}", problems)


def _problem(error: Any) -> ProblemOut:
    """One of pydantic's errors, without its input (it may be a NIK)."""
    loc = [str(part) for part in error.get("loc", ())]
    path = ".".join(loc) or "request"
    message = str(error.get("msg", "is not valid"))
    reason = (error.get("ctx") or {}).get("error")
    if error.get("type") == "json_invalid":
        message = f"the body is not valid JSON ({reason})"
    elif error.get("type") == "missing":
        message = "this is required"
    return ProblemOut(path=path, message=message)


def install(app: FastAPI) -> None:
    app.add_exception_handler(Refusal, _refused)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(RequestValidationError, _invalid)
    app.add_exception_handler(WrongExpectedVersion, _raced)
    app.add_exception_handler(Exception, _unexpected)


# -- the OpenAPI declaration ------------------------------------------------------------

_DESCRIPTIONS: Final[dict[int, str]] = {
    400: "The body cannot be parsed (e.g. broken multipart data)",
    401: "No bearer token, or an invalid or expired one (POST /auth/dev-token gives one)",
    403: "The caller's role or agency may not do this; the detail says which is needed",
    404: "Nothing with this id that the caller may see",
    409: "The request conflicts with the current state; the detail says which",
    410: "It existed but is withdrawn for good (a document revoked because its holder's "
    "personal data was erased)",
    413: "The body is larger than the limit",
    415: "The body is not sent as a media type this operation reads",
    422: "The request is not valid; ``problems`` lists each problem with its path",
    429: "Too many requests from this address; Retry-After says when to try again",
    503: "A part Lincah needs is not available now; nothing was recorded, retry after "
    "Retry-After seconds",
    504: "The read models did not reach ``min_position`` in time; the write is safe, retry "
    "the read",
}
_HEADERS: Final[dict[int, dict[str, Any]]] = {
    401: {"WWW-Authenticate": {"description": "Bearer", "schema": {"type": "string"}}},
    429: {
        "Retry-After": {
            "description": "Seconds until a request is accepted again",
            "schema": {"type": "integer"},
        }
    },
    503: {
        "Retry-After": {
            "description": "Seconds to wait before trying again",
            "schema": {"type": "integer"},
        }
    },
}
ERROR_REF: Final = "#/components/schemas/Error"


def answers(*codes: int, **descriptions: str) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a route decorator: each status with the ``Error`` body;
    ``descriptions`` (``_404="..."``) says more than the general description."""
    out: dict[int | str, dict[str, Any]] = {}
    for code in codes:
        response: dict[str, Any] = {
            "description": descriptions.get(f"_{code}", _DESCRIPTIONS[code]),
            "content": {"application/json": {"schema": {"$ref": ERROR_REF}}},
        }
        if code in _HEADERS:
            response["headers"] = _HEADERS[code]
        out[code] = response
    return out


_CAUSES: dict[Callable[..., Any], tuple[int, ...]] = {}
F = TypeVar("F", bound=Callable[..., Any])


def may_answer(*codes: int) -> Callable[[F], F]:
    """Declare the statuses a dependency answers with; every operation that depends on
    it declares them in the OpenAPI document."""

    def mark(dependency: F) -> F:
        _CAUSES[dependency] = codes
        return dependency

    return mark


def _dependencies(dependant: Dependant) -> Iterator[Dependant]:
    for sub in dependant.dependencies:
        yield sub
        yield from _dependencies(sub)


def route_answers(route: APIRoute) -> set[int]:
    """The error statuses a route answers with because of what it depends on, and
    those of the body guard (api/limits.py) for a method with a body."""
    codes: set[int] = set()
    has_params = route.body_field is not None
    for d in (route.dependant, *_dependencies(route.dependant)):
        if d.call is not None:
            codes.update(_CAUSES.get(d.call, ()))
        has_params |= any((d.path_params, d.query_params, d.header_params, d.cookie_params))
    if has_params:
        codes.add(422)
    if route.body_field is not None and isinstance(route.body_field.field_info, params.Form):
        codes.add(400)  # FastAPI's answer to a multipart body it cannot parse
    if (route.methods or set()) & {"POST", "PUT", "PATCH"}:
        codes.update((413, 415))
    return codes


def document(app: FastAPI, routers: Iterable[APIRouter]) -> None:
    """Make ``app.openapi()`` declare the ``Error`` body for every error status each
    operation of ``routers`` (included without a prefix) can answer, FastAPI's own 422
    included."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title,
            version=app.version,
            openapi_version=app.openapi_version,
            description=app.description,
            routes=app.routes,
            servers=app.servers,
        )
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components.update(
            Error.model_json_schema(ref_template="#/components/schemas/{model}").pop("$defs")
        )
        components["Error"] = Error.model_json_schema(ref_template="#/components/schemas/{model}")
        components["Error"].pop("$defs", None)
        routes = (r for router in routers for r in router.routes)
        for route in routes:
            if not isinstance(route, APIRoute) or not route.include_in_schema:
                continue
            derived = answers(*sorted(route_answers(route)))
            for method in route.methods or ():
                operation = schema["paths"][route.path_format][method.lower()]
                responses = operation.setdefault("responses", {})
                for code, response in derived.items():
                    existing = responses.get(str(code))
                    if existing is None or _is_fastapi_validation(existing):
                        responses[str(code)] = response
        for name in ("HTTPValidationError", "ValidationError"):
            components.pop(name, None)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def _is_fastapi_validation(response: dict[str, Any]) -> bool:
    content = response.get("content", {}).get("application/json", {})
    return bool(content.get("schema", {}).get("$ref", "").endswith("/HTTPValidationError"))
