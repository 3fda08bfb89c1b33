"""The citizen's profile: what they declared, and changing it."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from portal.client import detail
from portal.web import SignedIn, ThePortal, redirect, to_login
from portal.words import PROFILE_FIELDS

router = APIRouter()


@router.get("/profile", response_class=HTMLResponse)
async def profile(request: Request, portal: ThePortal, session: SignedIn) -> Response:
    r = await portal.api.call(session, "GET", "/me/profile")
    return portal.render(request, "profile.html", profile=r.json(), fields=PROFILE_FIELDS)


@router.post("/profile", response_class=HTMLResponse)
async def change_profile(request: Request, portal: ThePortal) -> Response:
    got = await portal.posted(request)
    if isinstance(got, Response):
        return got
    session, form = got
    if not session.signed_in:
        return to_login(request)
    changes: dict[str, Any] = {}
    for name in PROFILE_FIELDS:
        # An empty box keeps the stored value: the API has no "forget this field".
        if value := str(form.get(name, "")).strip():
            top, _, part = name.partition(".")
            if part:
                changes.setdefault(top, {})[part] = value
            else:
                changes[top] = value
    r = await portal.api.call(session, "PATCH", "/me/profile", json=changes)
    if r.status_code != 200:
        current = (await portal.api.call(session, "GET", "/me/profile")).json()
        return portal.render(
            request,
            "profile.html",
            status=422,
            profile=current,
            fields=PROFILE_FIELDS,
            problem=detail(r),
        )
    session.flash = "profile-saved"
    return redirect("/profile")
