"""A citizen's appointments (``/me/appointments``: book, confirm, move, cancel, the QR
ticket) and who is booked when at a location, for its agency's staff. The commands are
``commands/appointments.py``; the lists read the appointment streams through their index
streams, so they need no read model and are current at once."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Final

import segno
from fastapi import APIRouter, Query, Response, status
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from api import errors, idempotency
from api.deps import Citizen, SettingsDep, Staff, StoreDep
from api.idempotency import IdempotencyKey, Key
from api.routers.documents import mask_holder
from commands import appointments as cmd
from commands import locations
from config.settings import Settings
from domain import qr_ticket
from domain.appointments import Appointment, BookingPolicy, Status
from domain.refusals import Conflict, NotFound

router = APIRouter(tags=["appointments"])

TICKETED: Final = frozenset({"confirmed", "checked_in"})
"""Statuses whose appointment shows a QR ticket: a held one has no place yet for sure."""
_ID = Annotated[str, Field(min_length=1, max_length=200)]


class BookingRequest(BaseModel):
    application_id: _ID
    step: Annotated[str, Field(min_length=1, max_length=100)]
    """The application's step that needs the visit."""
    slot_id: _ID
    """From ``GET /public/locations/{location_id}/slots``."""


class MoveRequest(BaseModel):
    slot_id: _ID


class AppointmentView(BaseModel):
    appointment_id: str
    application_id: str
    step: str
    location_id: str
    service_id: str
    slot_id: str
    start: datetime
    end: datetime
    time_zone: str
    when: str
    """The booked time as read at the location, e.g. ``2026-01-05 09:00 WIB``."""
    status: Status
    hold_until: datetime | None
    """Confirm before this, or the place is given back."""
    reschedules: int
    reminded: bool
    qr_ticket: str | None
    """The token the QR code holds (also ``.../ticket.png``); confirmed ones only."""
    position: int


class BookedVisit(BaseModel):
    """One booking at a location, for its agency's staff."""

    appointment_id: str
    application_id: str
    service_id: str
    start: datetime
    when: str
    status: Status
    citizen: str
    """Masked, as on public documents."""


def _policy() -> BookingPolicy:
    return BookingPolicy()


def _handling(settings: Settings) -> timedelta:
    return timedelta(minutes=settings.appointment_handling_minutes)


_SHOWN: Final = {
    "appointment_id", "application_id", "step", "location_id", "service_id", "slot_id",
    "start", "end", "time_zone", "hold_until", "reschedules", "reminded",
}  # fmt: skip


def _view(appt: Appointment, settings: Settings, position: int, now: datetime) -> AppointmentView:
    state = appt.status_at(now)
    token = None
    if state in TICKETED:
        payload = qr_ticket.TicketPayload(
            appointment_id=appt.appointment_id, location_id=appt.location_id, slot_id=appt.slot_id
        )
        token = qr_ticket.issue(settings.ticket_secret(), payload)
    return AppointmentView(
        **appt.model_dump(include=_SHOWN),
        when=appt.when,
        status=state,
        qr_ticket=token,
        position=position,
    )


COMMAND_REFUSALS: Final = errors.answers(404, 409, 422)


@router.post(
    "/me/appointments",
    status_code=status.HTTP_201_CREATED,
    response_model=AppointmentView,
    responses=COMMAND_REFUSALS,
)
async def book(
    body: BookingRequest,
    user: Citizen,
    store: StoreDep,
    settings: SettingsDep,
    idempotency_key: IdempotencyKey = None,
) -> AppointmentView:
    """Book a slot for a step of your application that needs you in person. The place is
    held for 10 minutes: confirm it (``.../confirm``) to keep it and get the QR ticket."""
    key = Key.of(idempotency_key, user.subject, "book-appointment", body)

    async def run() -> AppointmentView:
        now = datetime.now(UTC)
        done = await run_in_threadpool(
            lambda: cmd.book(
                store,
                application_id=body.application_id,
                step=body.step,
                citizen=user.subject,
                slot_id=body.slot_id,
                handling=_handling(settings),
                policy=_policy(),
                now=now,
            )
        )
        return _view(done.appointment, settings, done.position, now)

    return await idempotency.once(store, key, run, AppointmentView.model_validate)


@router.post(
    "/me/appointments/{appointment_id}/confirm",
    response_model=AppointmentView,
    responses=COMMAND_REFUSALS,
)
async def confirm(
    appointment_id: str,
    user: Citizen,
    store: StoreDep,
    settings: SettingsDep,
    idempotency_key: IdempotencyKey = None,
) -> AppointmentView:
    """Confirm a held booking; the answer carries the QR ticket to show at the counter."""
    key = Key.of(idempotency_key, user.subject, "confirm-appointment", appointment_id)

    async def run() -> AppointmentView:
        now = datetime.now(UTC)
        done = await run_in_threadpool(cmd.confirm, store, appointment_id, user.subject, now)
        return _view(done.appointment, settings, done.position, now)

    return await idempotency.once(store, key, run, AppointmentView.model_validate)


@router.post(
    "/me/appointments/{appointment_id}/reschedule",
    response_model=AppointmentView,
    responses=COMMAND_REFUSALS,
)
async def reschedule(
    appointment_id: str,
    body: MoveRequest,
    user: Citizen,
    store: StoreDep,
    settings: SettingsDep,
    idempotency_key: IdempotencyKey = None,
) -> AppointmentView:
    """Move a confirmed appointment to another slot of the same service and location,
    until an hour before it (at most 3 times). The new place is taken before the old
    one is given back; the QR ticket changes with the slot."""
    request = {"appointment_id": appointment_id, "slot_id": body.slot_id}
    key = Key.of(idempotency_key, user.subject, "reschedule-appointment", request)

    async def run() -> AppointmentView:
        now = datetime.now(UTC)
        done = await run_in_threadpool(
            cmd.reschedule, store, appointment_id, user.subject, body.slot_id,
            _handling(settings), _policy(), now,
        )  # fmt: skip
        return _view(done.appointment, settings, done.position, now)

    return await idempotency.once(store, key, run, AppointmentView.model_validate)


@router.delete(
    "/me/appointments/{appointment_id}",
    response_model=AppointmentView,
    responses=COMMAND_REFUSALS,
)
def cancel(
    appointment_id: str, user: Citizen, store: StoreDep, settings: SettingsDep
) -> AppointmentView:
    """Cancel your appointment (until an hour before it); its place is given back.
    Cancelling a cancelled appointment answers it again."""
    now = datetime.now(UTC)
    done = cmd.cancel(store, appointment_id, user.subject, "", _policy(), now)
    return _view(done.appointment, settings, done.position, now)


@router.get("/me/appointments", response_model=list[AppointmentView])
def my_appointments(user: Citizen, store: StoreDep, settings: SettingsDep) -> list[AppointmentView]:
    """Your appointments, earliest first, each with its QR ticket once confirmed."""
    now, head = datetime.now(UTC), store.head_position()
    mine = cmd.listed(store, cmd.citizen_index(user.subject))
    return [_view(a, settings, head, now) for a in sorted(mine, key=lambda a: a.start)]


@router.get(
    "/me/appointments/{appointment_id}",
    response_model=AppointmentView,
    responses=errors.answers(404),
)
def my_appointment(
    appointment_id: str, user: Citizen, store: StoreDep, settings: SettingsDep
) -> AppointmentView:
    appt = cmd.own(store, appointment_id, user.subject)
    return _view(appt, settings, store.head_position(), datetime.now(UTC))


@router.get(
    "/me/appointments/{appointment_id}/ticket.png",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}}, **errors.answers(404, 409)},
)
def my_ticket(
    appointment_id: str, user: Citizen, store: StoreDep, settings: SettingsDep
) -> Response:
    """The QR ticket as a PNG, to show at the counter (or print)."""
    view = _view(cmd.own(store, appointment_id, user.subject), settings, 0, datetime.now(UTC))
    if view.qr_ticket is None:
        raise Conflict(f"the appointment is {view.status}; only a confirmed one has a QR ticket")
    out = io.BytesIO()
    segno.make(view.qr_ticket, error="m").save(out, kind="png", scale=6, border=4)
    return Response(out.getvalue(), media_type="image/png",
                    headers={"Cache-Control": "private, no-store"})  # fmt: skip


@router.get(
    "/locations/{location_id}/appointments",
    response_model=list[BookedVisit],
    responses=errors.answers(404, 422),
)
def location_appointments(
    location_id: str,
    user: Staff,
    store: StoreDep,
    day: Annotated[date, Query(description="The location's local day")],
) -> list[BookedVisit]:
    """Who is booked when at one of your agency's locations on a day, in time order;
    cancelled and run-out bookings are left out."""
    location = locations.load(store, location_id)
    if location is None or location.agency != user.agency:
        raise NotFound(f"there is no location {location_id} of your agency")
    now = datetime.now(UTC)
    booked = [
        a
        for a in cmd.listed(store, cmd.location_index(location_id))
        if location.local_day(a.start) == day and a.status_at(now) not in ("cancelled", "expired")
    ]
    return [
        BookedVisit(
            **a.model_dump(include={"appointment_id", "application_id", "service_id", "start"}),
            when=a.when,
            status=a.status_at(now),
            citizen=mask_holder(a.citizen),
        )
        for a in sorted(booked, key=lambda a: a.start)
    ]
