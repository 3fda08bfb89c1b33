"""The citizen's booked visits and their QR tickets."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from portal.web import SignedIn, ThePortal

router = APIRouter()


@router.get("/appointments", response_class=HTMLResponse)
async def appointments(request: Request, portal: ThePortal, session: SignedIn) -> Response:
    r = await portal.api.call(session, "GET", "/me/appointments")
    return portal.render(request, "appointments.html", appointments=r.json())


@router.get("/appointments/{appointment_id}/ticket.png")
async def ticket(request: Request, portal: ThePortal, appointment_id: str) -> Response:
    """The API's QR ticket, fetched with the session's token (an <img> cannot send it)."""
    session, _ = portal.session(request)
    if not session.signed_in:
        return Response(status_code=404)
    r = await portal.api.call(
        session, "GET", f"/me/appointments/{quote(appointment_id)}/ticket.png"
    )
    return Response(
        r.content,
        status_code=r.status_code,
        media_type="image/png",
        headers={"Cache-Control": "private, no-store"},
    )
