"""The citizen's face enrolment (for verification by face)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import UploadFile

from portal.client import detail
from portal.web import SignedIn, ThePortal, redirect, to_login

router = APIRouter()


@router.get("/face", response_class=HTMLResponse)
async def face(request: Request, portal: ThePortal, session: SignedIn) -> Response:
    r = await portal.api.call(session, "GET", "/me/face")
    return portal.render(request, "face.html", face=r.json())


@router.post("/face", response_class=HTMLResponse)
async def enrol_face(request: Request, portal: ThePortal) -> Response:
    got = await portal.posted(request)
    if isinstance(got, Response):
        return got
    session, form = got
    if not session.signed_in:
        return to_login(request)
    photo = form.get("photo")
    if not isinstance(photo, UploadFile) or not photo.filename:
        current = (await portal.api.call(session, "GET", "/me/face")).json()
        return portal.render(request, "face.html", status=422, face=current, missing_photo=True)
    r = await portal.api.call(
        session,
        "POST",
        "/me/face",
        files={"photo": (photo.filename, await photo.read(), photo.content_type)},
    )
    if r.status_code != 201:
        current = (await portal.api.call(session, "GET", "/me/face")).json()
        return portal.render(request, "face.html", status=422, face=current, problem=detail(r))
    session.flash = "face-enrolled"
    return redirect("/face")
