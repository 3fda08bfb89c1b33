"""Booking, confirming, moving and cancelling appointments, and the sweep that records
run-out holds and sends reminders (``domain.appointments``, ``domain.appointment_visits``).

Each command reads the streams, asks the pure decision and appends what it returns with
the stream's expected version, in the order ``domain.appointments`` gives: the slot's
place first, then the appointment. A lost race on a slot stream (``WrongExpectedVersion``)
reads the slot again and decides again, at most ``MAX_ATTEMPTS`` times; the decision then
sees the winner's place, so the last place goes to exactly one booking.

Two index streams make the lists cheap without a read model: ``appointments-of-<hash of
the citizen>`` and ``appointments-at-<location>`` list each appointment id once (the
event id is a UUIDv5 of the index and the id, so a retry lists nothing twice).
"""

from __future__ import annotations

import contextlib
import hashlib
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final, TypeVar

from commands import agencies, locations, queue
from domain import appointment_events as ae
from domain import appointment_visits as visits
from domain import appointments as ap
from domain.events import Event, application_stream
from domain.refusals import Conflict, Invalid, NotFound, Refusal
from domain.slots import Slot, slot_at, slot_stream
from domain.state import ApplicationState, fold
from eventstore.port import ANY, DuplicateEventIds, EventStore, NewEvent, WrongExpectedVersion

MAX_ATTEMPTS: Final = 200
"""Slot-stream races one booking may lose before it gives up (each loss means another
booking took a place, so a slot of capacity c settles in at most c + racers rounds)."""
LISTED: Final = "AppointmentListed"
"""An index stream's only event: ``{"appointment_id": ...}``."""
_INDEX_NAMESPACE: Final = uuid.UUID("3c1f7a2e-9b4d-4e61-8f0a-5d2c7b9e1a44")

E = TypeVar("E", bound=Event)


@dataclass(frozen=True)
class Done:
    appointment: ap.Appointment
    position: int
    """The event-store position of the last append (the head's when nothing was new)."""


# Reading -----------------------------------------------------------------------------
def load(store: EventStore, appointment_id: str) -> ap.Appointment | None:
    return ap.fold(_parsed(store, ap.appointment_stream(appointment_id)))


def own(store: EventStore, appointment_id: str, citizen: str) -> ap.Appointment:
    """The citizen's appointment; another citizen's answers exactly as a missing one."""
    appt = load(store, appointment_id)
    if appt is None or appt.citizen != citizen:
        raise NotFound(f"there is no appointment {appointment_id} of yours")
    return appt


def citizen_index(citizen: str) -> str:
    return f"appointments-of-{hashlib.sha256(citizen.encode()).hexdigest()[:40]}"


def location_index(location_id: str) -> str:
    return f"appointments-at-{location_id}"


def listed(store: EventStore, index: str) -> list[ap.Appointment]:
    ids = [e.data["appointment_id"] for e in store.read_stream(index) if e.type == LISTED]
    found = (load(store, i) for i in ids)
    return [a for a in found if a is not None]


def all_ids(store: EventStore, after: int, limit: int = 1000) -> tuple[list[str], int]:
    """Appointment ids first held after position ``after``, and the position read to."""
    batch = store.read_all(after, limit)
    ids = [
        e.data["appointment_id"]
        for e in batch
        if e.type == ae.AppointmentHeld.TYPE and e.stream.startswith("appointment-")
    ]
    return ids, (batch[-1].position if batch else after)


def find_slot(store: EventStore, slot_id: str, handling: timedelta) -> Slot:
    """The slot an id names, regenerated from its location and the agency's calendar."""
    refused = NotFound(f"there is no slot {slot_id}; list the location's slots and pick one")
    parts = slot_id.split(".")
    if len(parts) != 3:
        raise refused
    location_id, service_id, stamp = parts
    try:
        start = datetime.strptime(stamp, "%Y%m%dT%H%MZ").replace(tzinfo=UTC)
    except ValueError:
        raise refused from None
    location = locations.load(store, location_id)
    if location is None:
        raise refused
    cal = agencies.calendar_of(store, location.agency)
    slot = slot_at(location, cal, service_id, handling, start)
    if slot is None:
        raise refused
    return slot


def taken(store: EventStore, slot: Slot, now: datetime) -> int:
    """Places of the slot held or confirmed at ``now``."""
    return _slot(store, slot).taken(now)


def _parsed(store: EventStore, stream: str) -> list[Event]:
    out = []
    for e in store.read_stream(stream):
        parsed = ae.parse(e.type, e.data)
        if parsed is not None:
            out.append(parsed)
    return out


def _slot(store: EventStore, slot: Slot) -> ap.SlotState:
    return ap.slot_state(slot, _parsed(store, slot_stream(slot.id)))


def _version(appt: ap.Appointment | None) -> int:
    return -1 if appt is None else appt.version


def _append(store: EventStore, stream: str, events: Sequence[Event], expected: int) -> int:
    new = [NewEvent(uuid.uuid4(), e.TYPE, e.payload()) for e in events]
    return store.append(stream, new, expected).positions[-1]


def _or_raise(decided: list[E] | Refusal) -> list[E]:
    if isinstance(decided, Refusal):
        raise decided
    return decided


def _on_slot(
    store: EventStore, slot: Slot, decide: Callable[[ap.SlotState], list[E] | Refusal]
) -> ap.SlotState:
    """Decide on the slot's places and append, again on a lost race; the state after."""
    for _ in range(MAX_ATTEMPTS):
        state = _slot(store, slot)
        events = _or_raise(decide(state))
        if not events:
            return state
        try:
            _append(store, slot_stream(slot.id), events, state.version)
        except WrongExpectedVersion:
            continue
        return _slot(store, slot)
    raise Conflict(
        f"the slot {slot.id} is being booked by many people at once; try again in a moment"
    )


def _index(store: EventStore, index: str, appointment_id: str) -> None:
    event_id = uuid.uuid5(_INDEX_NAMESPACE, f"{index}\n{appointment_id}")
    with contextlib.suppress(DuplicateEventIds):
        store.append(index, [NewEvent(event_id, LISTED, {"appointment_id": appointment_id})], ANY)


# What may be booked ------------------------------------------------------------------
def _bookable(state: ApplicationState, step: str) -> Refusal | None:
    """Why the application's ``step`` takes no appointment now, or None: it must be an
    ``appointment`` step of the open application, waiting for the citizen's visit."""
    if state.result is not None or state.completed_at is not None:
        return Conflict(
            f"application {state.application_id} is {state.status}; an appointment is "
            "booked only for an open application"
        )
    waiting = state.waiting.get(step)
    if waiting is None or waiting.get("kind") != "visit":
        return Conflict(
            f"application {state.application_id} does not wait for a visit at step "
            f"{step!r} now; GET /me/applications/{state.application_id} shows what it "
            "waits for"
        )
    return None


def _at_allowed_location(state: ApplicationState, step: str, location_id: str) -> Refusal | None:
    """The step may name where the visit takes place; any of the agency's otherwise."""
    allowed = list(state.waiting.get(step, {}).get("locations") or [])
    if allowed and location_id not in allowed:
        return Invalid(
            f"this visit takes place at {', '.join(allowed)}; book a slot there "
            f"(GET /public/locations/{allowed[0]}/slots)"
        )
    return None


def application_of(store: EventStore, application_id: str, citizen: str) -> ApplicationState:
    state = fold(list(store.read_stream(application_stream(application_id))))
    if state is None or state.citizen != citizen:
        raise NotFound(f"there is no application {application_id} you may see")
    return state


# Commands ----------------------------------------------------------------------------
def book(
    store: EventStore,
    *,
    application_id: str,
    step: str,
    citizen: str,
    slot_id: str,
    handling: timedelta,
    policy: ap.BookingPolicy,
    now: datetime,
) -> Done:
    """Hold a place in the slot for the citizen's application step (confirm it within
    ``policy.hold_minutes``)."""
    state = application_of(store, application_id, citizen)
    if (refused := _bookable(state, step)) is not None:
        raise refused
    slot = find_slot(store, slot_id, handling)
    location = locations.load(store, slot.location_id)
    if location is None or location.agency != state.agency_code:
        raise Invalid(
            f"the slot {slot_id} is at another agency's location; book a slot of "
            f"{state.agency_name}"
        )
    if slot.service_id != state.service_id:
        raise Invalid(
            f"the slot {slot_id} is for another service; book a slot of {state.service_id}"
        )
    if (refused := _at_allowed_location(state, step, slot.location_id)) is not None:
        raise refused
    appointment = ap.appointment_id(application_id, step)
    current = load(store, appointment)
    request = ap.HoldRequest(application_id, step, citizen, state.agency_code, slot, now)
    if current is not None and current.slot_id == slot.id and current.status_at(now) == "held":
        return Done(current, store.head_position())  # a retried booking
    _or_raise(ap.decide_hold(current, request, policy))  # refuse before taking a place
    booking = ap.BookingRequest(appointment, citizen, now)
    _on_slot(store, slot, lambda s: ap.decide_booking(s, booking, policy))
    held = _or_raise(ap.decide_hold(current, request, policy))
    try:
        position = _append(store, ap.appointment_stream(appointment), held, _version(current))
    except WrongExpectedVersion:
        # Another booking of the same step won: give this one's place back.
        _on_slot(store, slot, lambda s: ap.release(s, appointment, "lost_race"))
        raise Conflict(
            "this step was booked at the same moment by another request; "
            "GET /me/appointments shows which"
        ) from None
    _index(store, citizen_index(citizen), appointment)
    _index(store, location_index(slot.location_id), appointment)
    return Done(_loaded(store, appointment), position)


def confirm(store: EventStore, appointment_id: str, citizen: str, now: datetime) -> Done:
    current = own(store, appointment_id, citizen)
    if current.status == "confirmed":
        return Done(current, store.head_position())
    slot = _slot_of(current)
    state = _on_slot(store, slot, lambda s: ap.decide_slot_confirm(s, appointment_id, now))
    confirmed = _or_raise(ap.decide_confirm(current, state, citizen, now))
    position = _append(store, ap.appointment_stream(appointment_id), confirmed, current.version)
    return Done(_loaded(store, appointment_id), position)


def reschedule(
    store: EventStore,
    appointment_id: str,
    citizen: str,
    slot_id: str,
    handling: timedelta,
    policy: ap.BookingPolicy,
    now: datetime,
) -> Done:
    """Move a confirmed appointment: the new place first (confirmed), then the record,
    then the old place back, so the citizen never stands without one."""
    current = own(store, appointment_id, citizen)
    to = find_slot(store, slot_id, handling)
    if current.slot_id == to.id and current.status == "confirmed":
        return Done(current, store.head_position())
    if (refused := ap.may_reschedule(current, to, now, policy)) is not None:
        raise refused
    booking = ap.BookingRequest(appointment_id, citizen, now, confirmed=True)
    state = _on_slot(store, to, lambda s: ap.decide_booking(s, booking, policy))
    moved = _or_raise(ap.decide_reschedule(current, state, citizen, now, policy))
    try:
        position = _append(store, ap.appointment_stream(appointment_id), moved, current.version)
    except WrongExpectedVersion:
        _on_slot(store, to, lambda s: ap.release(s, appointment_id, "lost_race"))
        raise Conflict(
            "the appointment changed at the same moment; load it again and repeat"
        ) from None
    old = _slot_of(current)
    _on_slot(store, old, lambda s: ap.release(s, appointment_id, "rescheduled"))
    return Done(_loaded(store, appointment_id), position)


def cancel(
    store: EventStore,
    appointment_id: str,
    citizen: str,
    reason: str,
    policy: ap.BookingPolicy,
    now: datetime,
) -> Done:
    """Cancel, then give the place back (a crash between leaves a place a later sweep
    or cancel releases; the appointment is cancelled either way)."""
    current = own(store, appointment_id, citizen)
    if current.status == "cancelled":
        return Done(current, store.head_position())
    cancelled = _or_raise(ap.decide_cancel(current, citizen, reason, now, policy))
    try:
        position = _append(store, ap.appointment_stream(appointment_id), cancelled, current.version)
    except WrongExpectedVersion:
        raise Conflict(
            "the appointment changed at the same moment; load it again and repeat"
        ) from None
    _on_slot(store, _slot_of(current), lambda s: ap.release(s, appointment_id, "cancelled"))
    return Done(_loaded(store, appointment_id), position)


def sweep_one(
    store: EventStore, appointment_id: str, policy: ap.BookingPolicy, now: datetime
) -> ap.Appointment | None:
    """Record a hold that ran out (and give its place back) or a reminder that is due.
    Safe to run any number of times and in several processes: each append carries the
    expected version, and a lost race means another sweep recorded it."""
    current = load(store, appointment_id)
    if current is None:
        return None
    stream = ap.appointment_stream(appointment_id)
    expired = visits.decide_expiry(current, now)
    reminded = visits.decide_reminder(current, "notifications", now, policy)
    missed = visits.decide_no_show(current, now, policy)
    due: Sequence[Event] = expired or reminded or missed
    if due:
        with contextlib.suppress(WrongExpectedVersion):
            _append(store, stream, due, current.version)
    if expired or (current.status == "expired"):
        _on_slot(store, _slot_of(current), lambda s: ap.release(s, appointment_id, "expired"))
    after = load(store, appointment_id)
    if missed and after is not None and after.status == "no_show":
        # The day's queue lists it too, where the no-show rate is counted (once).
        location = locations.load(store, current.location_id)
        if location is not None:
            queue.note_no_show(store, location, missed[0])
    return after


def _slot_of(appt: ap.Appointment) -> Slot:
    """The slot the appointment holds, as recorded (capacity plays no part in confirming
    or releasing a place, so the stored times are enough)."""
    return Slot(
        id=appt.slot_id,
        location_id=appt.location_id,
        service_id=appt.service_id,
        start=appt.start,
        end=appt.end,
        capacity=1,
        time_zone=appt.time_zone,
    )


def _loaded(store: EventStore, appointment_id: str) -> ap.Appointment:
    appt = load(store, appointment_id)
    assert appt is not None  # just appended
    return appt
