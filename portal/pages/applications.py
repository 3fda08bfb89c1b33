"""The citizen's applications: the list, one application, its issued documents, and
applying for a service."""

from __future__ import annotations

import secrets
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import UploadFile

from portal import i18n
from portal.client import detail, problems
from portal.web import SignedIn, ThePortal, redirect, to_login

router = APIRouter()


@router.get("/applications", response_class=HTMLResponse)
async def my_applications(request: Request, portal: ThePortal, session: SignedIn) -> Response:
    r = await portal.api.call(session, "GET", "/applications")
    return portal.render(request, "applications.html", applications=r.json())


@router.get("/applications/{application_id}", response_class=HTMLResponse)
async def application(
    request: Request, portal: ThePortal, session: SignedIn, application_id: str, at: int = 0
) -> Response:
    params = {"min_position": at} if at else {}
    # The citizen's own view: the timeline worded for them, what is needed from them.
    r = await portal.api.call(
        session, "GET", f"/me/applications/{quote(application_id)}", params=params
    )
    if r.status_code != 200:
        return portal.render(request, "problem.html", status=r.status_code, problem=detail(r))
    return portal.render(request, "application.html", app=r.json())


@router.get("/documents/{number:path}")
async def document(request: Request, portal: ThePortal, session: SignedIn, number: str) -> Response:
    """The issued PDF, fetched with the session's token, as a download."""
    r = await portal.api.call(session, "GET", f"/documents/{quote(number)}")
    if r.status_code != 200:
        return portal.render(request, "problem.html", status=r.status_code, problem=detail(r))
    disposition = r.headers.get("content-disposition", "attachment")
    return Response(
        r.content, media_type="application/pdf", headers={"Content-Disposition": disposition}
    )


@router.get("/services/{service_id}/apply", response_class=HTMLResponse)
async def apply_form(
    request: Request, portal: ThePortal, session: SignedIn, service_id: str
) -> Response:
    r = await portal.api.call(
        session, "GET", f"/services/{quote(service_id)}/form", params={"prefill": "true"}
    )
    if r.status_code != 200:
        return portal.render(request, "problem.html", status=r.status_code, problem=detail(r))
    return portal.render(
        request,
        "apply.html",
        form=r.json(),
        values={},
        idempotency_key=secrets.token_urlsafe(16),
    )


@router.post("/services/{service_id}/apply", response_class=HTMLResponse)
async def apply(request: Request, portal: ThePortal, service_id: str) -> Response:
    got = await portal.posted(request)
    if isinstance(got, Response):
        return got
    session, form = got
    if not session.signed_in:
        return to_login(request)
    r = await portal.api.call(
        session, "GET", f"/services/{quote(service_id)}/form", params={"prefill": "true"}
    )
    if r.status_code != 200:
        return portal.render(request, "problem.html", status=r.status_code, problem=detail(r))
    definition = r.json()
    key = str(form.get("idempotency_key", "")) or None
    data: dict[str, str] = {}
    attachments: dict[str, str] = {}
    for field in definition["fields"]:
        fid = field["id"]
        if field["type"] != "file":
            if value := str(form.get(fid, "")).strip():
                data[fid] = value
            continue
        upload = form.get(fid)
        if isinstance(upload, UploadFile) and upload.filename:
            up = await portal.api.call(
                session,
                "POST",
                "/me/documents",
                data={"kind": (field.get("kinds") or ["other"])[0]},
                files={"file": (upload.filename, await upload.read(), upload.content_type)},
            )
            if up.status_code != 201:
                return portal.render(
                    request,
                    "apply.html",
                    status=422,
                    form=definition,
                    values=data,
                    problem=detail(up),
                    idempotency_key=key,
                )
            attachments[fid] = up.json()["document_id"]
        elif chosen := str(form.get(f"{fid}__wallet", "")):
            attachments[fid] = chosen
    r = await portal.api.call(
        session,
        "POST",
        "/applications",
        json={"service_id": service_id, "data": data, "attachments": attachments},
        headers={"Idempotency-Key": key} if key else {},
    )
    if r.status_code not in (201, 202):
        # What is wrong with the data, field by field, in the citizen's words; the API's
        # one-line reason only when it lists no problems.
        language = i18n.language_of(request.cookies.get(i18n.COOKIE))
        to_fix = problems(r, language, definition)
        return portal.render(
            request,
            "apply.html",
            status=422,
            form=definition,
            values=data,
            problem=None if to_fix else detail(r),
            to_fix=to_fix,
            idempotency_key=key,
        )
    submitted = r.json()
    at = f"?at={submitted['position']}" if submitted.get("position") else ""
    return redirect(f"/applications/{quote(submitted['application_id'])}{at}")
