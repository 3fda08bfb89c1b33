"""The citizen's notifications."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from portal.web import SignedIn, ThePortal

router = APIRouter()


@router.get("/notifications", response_class=HTMLResponse)
async def notifications(request: Request, portal: ThePortal, session: SignedIn) -> Response:
    r = await portal.api.call(session, "GET", "/me/notifications")
    return portal.render(request, "notifications.html", notes=r.json())
