"""Bounds on what a request may ask of the API: the size and content of JSON bodies,
and how often one address may call the public (unauthenticated) endpoints.

A JSON body is read by :class:`JsonBodyGuard` before FastAPI sees it: larger than
``max_json_body_bytes`` answers 413 (from Content-Length before reading, or as soon as a
body without one passes it); not JSON, or JSON Lincah could not store (a lone surrogate
such as ``\\ud800``, an integer beyond 64 bits, a number too large for a double) answers
422 naming the problem, so none of it reaches the event store, SQLite or Temporal.
Every other body of a POST, PUT or PATCH is bounded the same way and answers 415 unless
it is JSON; the upload paths (photos, PDFs) keep their own limits.
"""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Final

import orjson
from fastapi import Depends, FastAPI, HTTPException, Request, status
from limits import RateLimitItem, parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api import errors
from api.security import Principal
from config.settings import Settings

INT64: Final = (-(2**63), 2**63 - 1)
"""Integers Lincah stores: SQLite's and orjson's signed 64-bit range."""
_LONG_DIGITS: Final = re.compile(rb"\d{19}")
"""Only a body with a run of 19 digits can hold an integer beyond 64 bits."""
_WHERE: Final = re.compile(r": (line \d+ column \d+) \(char \d+\)$")


WITH_BODY: Final = frozenset({"POST", "PUT", "PATCH"})


class JsonBodyGuard:
    """ASGI middleware: bounds every request body except those of the upload paths
    (which check their own, larger limits), and checks JSON bodies strictly before
    FastAPI parses them."""

    def __init__(self, app: ASGIApp, *, max_bytes: int, uploads: frozenset[str]) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.uploads = uploads

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] not in WITH_BODY
            or scope["path"] in self.uploads
        ):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        media_type = headers.get("content-type", "").split(";")[0].strip().lower()
        declared = headers.get("content-length", "")
        # Refused by its declared length before a byte is read, else while it streams.
        too_large = declared.isdigit() and int(declared) > self.max_bytes
        body = None if too_large else await self._read(receive)
        refusal = self._too_large() if body is None else _refusal(media_type, body)
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        assert body is not None
        await self.app(scope, _replay(body, receive), send)

    def _too_large(self) -> ASGIApp:
        return errors.error_response(
            413,
            f"the body is larger than {self.max_bytes:,} bytes, the most this API accepts "
            "in JSON; send less (photos and PDFs have their own upload endpoints)",
        )

    async def _read(self, receive: Receive) -> bytes | None:
        """The whole body, or None once it passes the limit (the rest is not read)."""
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break  # the client went away; the app sees an empty body and its disconnect
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


def _refusal(media_type: str, body: bytes) -> ASGIApp | None:
    if not body:
        return None  # FastAPI answers 422 where a body is required
    # No media type is read as JSON: the payment webhook's callers may send none.
    if (
        media_type
        and media_type != "application/json"
        and not (media_type.startswith("application/") and media_type.endswith("+json"))
    ):
        return errors.error_response(
            415,
            f"send the body as JSON with Content-Type: application/json (this request "
            f"says {media_type or 'nothing'})",
        )
    problem = json_problem(body)
    if problem is None:
        return None
    path = _locate(body) or "body"
    return errors.error_response(422, problem, [errors.ProblemOut(path=path, message=problem)])


def _locate(body: bytes) -> str | None:
    """The path (``data.years_experience``) of the first value ``json_problem`` refused,
    so the answer names the field; None when the document cannot be read at all."""
    try:
        # The standard library takes what orjson refused (surrogates, NaN, any integer);
        # integers over its digit limit are replaced: they are the problem anyway.
        tree = json.loads(body, parse_int=lambda t: int(t) if len(t) <= 4000 else _TOO_LONG)
    except (ValueError, RecursionError):
        return None
    found = _first_bad(tree, [])
    return ".".join(found) if found else None


_TOO_LONG = object()


def _first_bad(value: object, path: list[str]) -> list[str] | None:
    if value is _TOO_LONG or (
        isinstance(value, int) and not isinstance(value, bool) and not INT64[0] <= value <= INT64[1]
    ):
        return path
    if isinstance(value, float) and not math.isfinite(value):
        return path
    if isinstance(value, str):
        return None if _is_text(value) else path
    if isinstance(value, list):
        for i, item in enumerate(value):
            found = _first_bad(item, [*path, str(i)])
            if found is not None:
                return found
    if isinstance(value, dict):
        for key, item in value.items():
            if not _is_text(key):
                return [*path, key.encode("utf-8", "backslashreplace").decode()]
            found = _first_bad(item, [*path, key])
            if found is not None:
                return found
    return None


def _is_text(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def json_problem(body: bytes) -> str | None:
    """Why Lincah will not take this JSON document, or None. Stricter than the standard
    library, which FastAPI parses with: no lone surrogates, no invalid UTF-8, no
    nesting past 1024 levels, no NaN or infinite numbers, integers within 64 bits."""
    try:
        orjson.loads(body)
    except orjson.JSONDecodeError as e:
        return _explain(str(e))
    if _LONG_DIGITS.search(body):
        try:
            json.loads(body, parse_int=_int64)
        except OverflowError as e:
            return str(e)
    return None


def _explain(error: str) -> str:
    found = _WHERE.search(error)
    where = f" at {found.group(1)}" if found else ""
    if "surrogate" in error and "UTF-8" not in error:
        return (
            f"the body has a lone surrogate escape (such as \\ud800){where}, which is not "
            "text; send the text as valid Unicode"
        )
    if "UTF-8" in error:
        return f"the body is not valid UTF-8{where}; send JSON encoded as UTF-8"
    if "infinity" in error:
        return (
            f"a number{where} is too large; integers must lie between {INT64[0]} and "
            f"{INT64[1]}, and other numbers must be finite"
        )
    reason = _WHERE.sub("", error)
    return f"the body is not valid JSON{where}: {reason}; correct it and send it again"


def _int64(text: str) -> int:
    value = int(text) if len(text) <= 20 else None  # 64 bits need at most 20 characters
    if value is not None and INT64[0] <= value <= INT64[1]:
        return value
    shown = text if len(text) <= 24 else f"{text[:12]}…({len(text)} digits)"
    raise OverflowError(
        f"the number {shown} is too large; integers must lie between {INT64[0]} and {INT64[1]}"
    )


# -- rate limits on the public endpoints ------------------------------------------------


class RateLimits:
    """Per client address, in memory, moving window (each API process counts alone)."""

    def __init__(self, settings: Settings) -> None:
        self.rates: dict[str, RateLimitItem] = {
            "documents": parse(settings.rate_limit_documents),
            "dev_login": parse(settings.rate_limit_dev_login),
            "payment_webhook": parse(settings.rate_limit_payment_webhook),
            "complaints": parse(settings.rate_limit_complaints),
            "export": parse(settings.rate_limit_export),
            "kiosk": parse(settings.rate_limit_kiosk),
        }
        self._limiter = MovingWindowRateLimiter(MemoryStorage())

    def retry_after(self, scope: str, address: str) -> int | None:
        """Count this request; None when it is allowed, else the seconds to wait."""
        rate = self.rates[scope]
        if self._limiter.hit(rate, scope, address):
            return None
        reset = self._limiter.get_window_stats(rate, scope, address).reset_time
        return max(1, math.ceil(reset - time.time()))


_WHAT: Final = {
    "documents": "the public document endpoints",
    "dev_login": "POST /auth/dev-token",
    "payment_webhook": "the payment webhook",
    "complaints": "POST /complaints",
    "export": "GET /me/export",
    "kiosk": "POST /auth/kiosk",
}


def rate_limited(scope: str) -> Callable[[Request], Awaitable[None]]:
    """A dependency: answers 429 with Retry-After once the caller's address passes the
    rate of ``scope``."""

    @errors.may_answer(429)
    async def check(request: Request) -> None:
        address = request.client.host if request.client else "unknown"
        _count(request, scope, address, "your address")

    return check


def per_account(
    scope: str, caller: Callable[..., Awaitable[Principal]]
) -> Callable[..., Awaitable[None]]:
    """A dependency: answers 429 with Retry-After once one account passes the rate of
    ``scope`` (for heavy reads that need a token; many people may share an address,
    e.g. a kiosk). ``caller``: the dependency that gives the authenticated
    ``Principal`` (checked first, so refused callers are not counted)."""

    @errors.may_answer(429)
    async def check(request: Request, user: Principal = Depends(caller)) -> None:
        _count(request, scope, f"account:{user.subject}", "your account")

    return check


def _count(request: Request, scope: str, key: str, whose: str) -> None:
    limits: RateLimits = request.app.state.rate_limits
    wait = limits.retry_after(scope, key)
    if wait is not None:
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            f"too many requests from {whose} to {_WHAT[scope]} (at most "
            f"{limits.rates[scope]}); try again in {wait} s",
            headers={"Retry-After": str(wait)},
        )


PublicDocuments = Depends(rate_limited("documents"))
DevLogin = Depends(rate_limited("dev_login"))
PaymentWebhook = Depends(rate_limited("payment_webhook"))
Complaints = Depends(rate_limited("complaints"))
Kiosk = Depends(rate_limited("kiosk"))


def install(app: FastAPI, settings: Settings, uploads: Iterable[str]) -> None:
    """Add the body guard and the rate limits. ``uploads``: the paths that take photos
    or PDFs, and bound their bodies themselves."""
    app.state.rate_limits = RateLimits(settings)
    app.add_middleware(
        JsonBodyGuard, max_bytes=settings.max_json_body_bytes, uploads=frozenset(uploads)
    )
