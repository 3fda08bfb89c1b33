"""BPMN 2.0 in and out of the catalogue: import a file from Camunda Modeler, bpmn.io or
another tool into a definition to edit (nothing is saved: the administrator opens it in
the editor and saves a draft), export a version or a definition being edited."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, HTTPException, Query, Request, Response, status
from starlette.concurrency import run_in_threadpool

from api import errors
from api.deps import AgencyAdmin, CurrentUser, StoreDep
from api.routers.services import DefinitionBody, Version, sees_drafts, visible
from commands import catalogue
from domain.bpmn import MAX_BYTES, BpmnError, from_bpmn, to_bpmn
from domain.definition import ServiceDefinition
from domain.refusals import Invalid
from domain.validation import parse_definition

router = APIRouter(prefix="/services", tags=["services"])

_XML_BODY = {
    "requestBody": {
        "required": True,
        "description": "A BPMN 2.0 file (XML).",
        "content": {"application/xml": {"schema": {"type": "string"}}},
    }
}


@router.post("/import/bpmn", responses=errors.answers(413, 422), openapi_extra=_XML_BODY)
async def import_bpmn(
    request: Request,
    user: AgencyAdmin,
    service_id: str | None = Query(
        None, pattern=r"^[a-z][a-z0-9-]{1,62}$", description="The new service's id"
    ),
    process_id: str | None = Query(
        None, max_length=200, description="Which process of several (default: the largest)"
    ),
) -> dict[str, Any]:
    """Read a BPMN file into a definition, with what was left out and why, and the
    problems still to fix in the editor. Nothing is saved."""
    body = await _bounded_body(request)
    if not body.strip():
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            "the request has no BPMN file: send the file's XML as the request body",
        )
    agency = {"code": str(user.agency), "name": str(user.agency)}
    try:
        report = await run_in_threadpool(
            from_bpmn, body, process_id=process_id, service_id=service_id, agency=agency
        )
    except BpmnError as e:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, f"the BPMN file cannot be imported: {e}"
        ) from e
    _, problems = parse_definition(report.definition)
    return {
        "definition": report.definition,
        "process": report.process,
        "processes": report.processes,
        "ignored": [asdict(i) for i in report.ignored],
        "notes": report.notes,
        "mapped": report.mapped,
        "problems": [asdict(p) for p in problems],
    }


async def _bounded_body(request: Request) -> bytes:
    """The file, read no further than the importer's limit (a BPMN model of a public
    service is a few hundred kilobytes; the limit is far above any real one)."""
    too_big = HTTPException(
        status.HTTP_413_CONTENT_TOO_LARGE,
        f"the BPMN file is larger than {MAX_BYTES // 1_000_000} MB; Lincah reads flows, "
        "not embedded pictures: remove them and try again",
    )
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BYTES:
        raise too_big
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BYTES:
            raise too_big
    return bytes(body)


_XML_ANSWER: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "BPMN 2.0 XML with its diagram",
        "content": {"application/xml": {"schema": {"type": "string"}}},
    }
}


@router.post(
    "/export/bpmn",
    response_class=Response,
    responses={**_XML_ANSWER, **errors.answers(422)},
)
def export_definition(user: CurrentUser, definition: dict[str, Any] = DefinitionBody) -> Response:
    """A definition (for example the draft being edited) as BPMN 2.0 with its diagram."""
    parsed, problems = parse_definition(definition)
    if parsed is None:
        raise Invalid(
            "BPMN needs a definition without structural problems: fix these first", problems
        )
    return _xml(parsed)


@router.get(
    "/{service_id}/versions/{version}/bpmn",
    response_class=Response,
    responses={**_XML_ANSWER, **errors.answers(404)},
)
def export_version(
    service_id: str, version: Version, user: CurrentUser, store: StoreDep
) -> Response:
    """One version of a service as BPMN 2.0 with its diagram."""
    state = catalogue.load_service(store, service_id)
    if state is None or not visible(state, user):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"there is no service {service_id!r}")
    info = state.versions.get(version)
    if info is None or not (info.status == "published" or sees_drafts(state, user)):
        raise HTTPException(
            status.HTTP_404_NOT_FOUND,
            f"service {service_id!r} has no version {version} you may see",
        )
    return _xml(ServiceDefinition.model_validate(info.definition), version)


def _xml(definition: ServiceDefinition, version: int | None = None) -> Response:
    name = definition.id + (f"-v{version}" if version is not None else "")
    return Response(
        to_bpmn(definition),
        media_type="application/xml",
        headers={"Content-Disposition": f'attachment; filename="{name}.bpmn"'},
    )
