"""Booking the visit a step asks for: the free slots at its locations, and the booking
(which is also its confirmation)."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from portal.client import detail
from portal.sessions import Session
from portal.web import Portal, SignedIn, ThePortal, redirect, to_login

router = APIRouter()


@router.get("/applications/{application_id}/visit/{step}", response_class=HTMLResponse)
async def visit_slots(
    request: Request, portal: ThePortal, session: SignedIn, application_id: str, step: str
) -> Response:
    return await slots_page(request, portal, session, application_id, step)


async def slots_page(
    request: Request,
    portal: Portal,
    session: Session,
    application_id: str,
    step: str,
    problem: str | None = None,
) -> Response:
    r = await portal.api.call(session, "GET", f"/me/applications/{quote(application_id)}")
    asked = r.json().get("waiting_for_you", []) if r.status_code == 200 else []
    waiting = next((w for w in asked if w.get("step") == step), None)
    if not waiting or waiting.get("kind") != "visit":
        return portal.render(
            request,
            "problem.html",
            status=404,
            problem=detail(r) if r.status_code != 200 else None,
        )
    slots = []
    for location in waiting.get("locations", []):
        found = await portal.api.public(
            "GET",
            f"/public/locations/{quote(location)}/slots",
            params={"service": r.json()["service_id"], "days": 14},
        )
        if found.status_code == 200:
            slots += [s for s in found.json() if s["remaining"] > 0]
    slots.sort(key=lambda s: s["start"])
    return portal.render(
        request,
        "visit.html",
        status=422 if problem else 200,
        app=r.json(),
        step=step,
        visit=waiting,
        slots=slots[:40],
        problem=problem,
    )


@router.post("/applications/{application_id}/visit/{step}", response_class=HTMLResponse)
async def book_visit(
    request: Request, portal: ThePortal, application_id: str, step: str
) -> Response:
    got = await portal.posted(request)
    if isinstance(got, Response):
        return got
    session, form = got
    if not session.signed_in:
        return to_login(request)
    booked = await portal.api.call(
        session,
        "POST",
        "/me/appointments",
        json={
            "application_id": application_id,
            "step": step,
            "slot_id": str(form.get("slot_id", "")),
        },
    )
    if booked.status_code != 201:
        return await slots_page(request, portal, session, application_id, step, detail(booked))
    # Choosing the time is the confirmation: the citizen gets the QR ticket at once.
    appointment = booked.json()["appointment_id"]
    confirmed = await portal.api.call(
        session, "POST", f"/me/appointments/{quote(appointment)}/confirm"
    )
    if confirmed.status_code != 200:
        return await slots_page(request, portal, session, application_id, step, detail(confirmed))
    session.flash = "visit-booked"
    return redirect("/appointments")
