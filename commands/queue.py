"""The counter queue of a location: numbers taken, called, served or missed
(``domain.queue`` decides, ``domain.queue_events`` records).

One stream per location and local day (``queue-<location>-<YYYYMMDD>``). Every change is
decided on the day's state at stream version V and appended with expected version V, so
two kiosks never hand out one number and two counters never call one citizen; the loser
of a race reads again and decides again (bounded, as ``commands.numbering``).

The location's call order settings (``QueuePolicy``) are an event-sourced setting of
their own (``queue-policy-<location>``, the latest counts; none set: the defaults).
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

from domain import appointments as ap
from domain import qr_ticket
from domain import queue_events as qe
from domain.appointment_events import NoShowRecorded
from domain.appointment_events import parse as parse_appointment
from domain.appointment_visits import decide_check_in
from domain.appointments import BookingPolicy
from domain.events import Event
from domain.locations import Location, counters_for
from domain.queue import Call, QueuePolicy, QueueState, Ticket, fold, next_call
from domain.queue_events import TicketKind
from domain.refusals import Conflict, Invalid, NotFound, Refusal, Unavailable
from eventstore.port import ANY, DuplicateEventIds, EventStore, NewEvent, WrongExpectedVersion

ATTEMPTS = 50
"""Appends retried on a version conflict before giving up (503): each retry means another
change of the same day's queue won, so this bounds a burst, not a steady load."""


@dataclass(frozen=True)
class Day:
    """A location's queue on one local day, at stream ``version`` (-1: nothing yet)."""

    location: Location
    day: date
    state: QueueState
    version: int

    @property
    def stream(self) -> str:
        return qe.queue_stream(self.location.id, self.day)


@dataclass(frozen=True)
class Changed:
    """The ticket after the change, and the event-store position of the change (None
    when nothing new was recorded: a retried command)."""

    ticket: Ticket
    position: int | None


@dataclass(frozen=True)
class Called:
    ticket: Ticket
    reason: str
    passed_over: list[str]
    position: int


def read_day(store: EventStore, location: Location, day: date) -> Day:
    events = list(store.read_stream(qe.queue_stream(location.id, day)))
    parsed = [e for r in events if (e := qe.parse(r.type, r.data)) is not None]
    state = fold(location.id, location.time_zone, parsed)
    return Day(location, day, state, events[-1].version if events else -1)


def today(store: EventStore, location: Location, now: datetime) -> Day:
    return read_day(store, location, location.local_day(now))


# -- the policy -------------------------------------------------------------------------
def policy_of(store: EventStore, location_id: str) -> QueuePolicy:
    """The location's call order settings: the latest set, else the defaults."""
    latest = None
    for e in store.read_stream(qe.policy_stream(location_id)):
        if e.type == qe.QueuePolicySet.TYPE:
            latest = e.data["policy"]
    return QueuePolicy() if latest is None else QueuePolicy.model_validate(latest)


def set_policy(store: EventStore, location: Location, policy: QueuePolicy, by: str) -> int:
    """Record the location's call order settings; the position of the change."""
    event = qe.QueuePolicySet(location_id=location.id, policy=policy.model_dump(mode="json"), by=by)
    written = store.append(
        qe.policy_stream(location.id), [NewEvent(uuid.uuid4(), event.TYPE, event.payload())], ANY
    )
    return written.positions[-1]


# -- the commands -----------------------------------------------------------------------
def take_number(
    store: EventStore,
    location: Location,
    service_id: str,
    kind: TicketKind,
    arrived_at: datetime,
    priority: str | None = None,
    appointment_id: str | None = None,
    slot_start: datetime | None = None,
    application_id: str | None = None,
    step: str | None = None,
    citizen: str | None = None,
    policy: QueuePolicy | None = None,
) -> Changed:
    """A number for a citizen who arrived at ``arrived_at``. An appointment gets one
    number a day: taking it again (a retried check-in) answers the same number."""
    if not counters_for(location, service_id):
        raise Invalid(
            f"no counter of {location.name} serves {service_id}; the citizen is served at "
            "a location whose counters list that service"
        )
    policy = policy or policy_of(store, location.id)
    if priority is not None and priority not in {g.id for g in policy.groups}:
        known = ", ".join(g.id for g in policy.groups) or "none"
        raise Invalid(f"{priority!r} is not a priority group of this location ({known})")

    def decide(day: Day) -> list[Event]:
        if appointment_id is not None:
            for t in day.state.tickets.values():
                if t.appointment_id == appointment_id:
                    return []
        number = day.state.next_number(kind, priority)
        issued = qe.TicketIssued(
            ticket=number,
            location_id=location.id,
            service_id=service_id,
            kind=kind,
            arrived_at=arrived_at,
            priority=priority,
            appointment_id=appointment_id,
            slot_start=slot_start if kind == "appointment" else None,
            citizen=citizen,
            application_id=application_id,
            step=step,
        )
        return [issued]

    day, position = _append_decided(store, location, location.local_day(arrived_at), decide)
    number = _issued_number(day, appointment_id, position)
    ticket = day.state.tickets[number]
    if citizen is not None:  # also on a retry, which lists nothing twice
        _list_for_citizen(store, citizen, day, ticket)
    return Changed(ticket, position)


def call_next(
    store: EventStore, location: Location, counter_id: str, now: datetime, policy: QueuePolicy
) -> Called | None:
    """Call the next number at the counter (``domain.queue.next_call``); None when no
    one waits for its services."""
    counter = location.counter(counter_id)
    if counter is None:
        raise NotFound(f"{location.name} has no counter {counter_id}")
    chosen: list[Call] = []

    def decide(day: Day) -> list[Event]:
        chosen.clear()
        call = next_call(day.state, counter, now, policy)
        if call is None:
            return []
        chosen.append(call)
        return [call.event(counter.id, now)]

    _, position = _append_decided(store, location, location.local_day(now), decide)
    if not chosen or position is None:
        return None
    call = chosen[0]
    return Called(call.ticket, call.reason, call.passed_over, position)


def check_in(
    store: EventStore,
    location: Location,
    ticket: qr_ticket.TicketPayload,
    by: str,
    now: datetime,
    policy: BookingPolicy,
) -> Changed:
    """Check in the citizen of a verified QR ticket at ``location``: a number in the
    day's queue (a walk-in one past the grace, ``domain.appointment_visits``), then
    ``CitizenCheckedIn`` with it on the appointment, with the appointment's expected
    version. The number comes first so that a crash in between leaves a number the
    retry finds (one per appointment a day), never a check-in without a number. A
    ticket scanned again answers the same number."""
    stream = ap.appointment_stream(ticket.appointment_id)
    for _ in range(ATTEMPTS):
        records = list(store.read_stream(stream))
        appt = ap.fold(e for r in records if (e := parse_appointment(r.type, r.data)))
        if appt is None or appt.agency != location.agency:
            raise NotFound("there is no appointment for this ticket you may see")
        if appt.status != "checked_in" and not qr_ticket.matches(
            ticket, appt.appointment_id, appt.slot_id
        ):
            raise Conflict(
                f"this ticket is for an earlier time; the appointment was moved to "
                f"{appt.when}: ask the citizen for the current ticket"
            )
        decided = decide_check_in(appt, location.id, "", by, now, policy)
        if isinstance(decided, Refusal):
            raise decided
        if not decided:  # checked in already: the same number
            day = read_day(store, location, location.local_day(now))
            mine = [
                t for t in day.state.tickets.values() if t.appointment_id == ticket.appointment_id
            ]
            if not mine:
                raise Conflict(
                    f"the appointment was checked in on another day, as number {appt.ticket}"
                )
            return Changed(mine[0], None)
        late = decided[0].late
        issued = take_number(
            store,
            location,
            appt.service_id,
            "walk_in" if late else "appointment",
            now,
            appointment_id=appt.appointment_id,
            slot_start=appt.start,
            application_id=appt.application_id,
            step=appt.step,
            citizen=appt.citizen,
        )
        event = decided[0].model_copy(update={"ticket": issued.ticket.number})
        try:
            written = store.append(
                stream, [NewEvent(uuid.uuid4(), event.TYPE, event.payload())], records[-1].version
            )
        except WrongExpectedVersion:
            continue  # the appointment changed meanwhile: decide again (same number)
        return Changed(issued.ticket, written.positions[-1])
    raise Unavailable("the appointment keeps changing; scan the ticket again")


def served(store: EventStore, location: Location, number: str, now: datetime) -> Changed:
    """The called citizen was served at the counter that called them. At merge the
    application's visit is recorded from the answer's ticket (``application_id``,
    ``step``)."""
    return _finish(store, location, number, now, served=True)


def missed(store: EventStore, location: Location, number: str, now: datetime) -> Changed:
    """The called citizen did not come to the counter."""
    return _finish(store, location, number, now, served=False)


def _finish(
    store: EventStore, location: Location, number: str, now: datetime, *, served: bool
) -> Changed:
    wanted = "served" if served else "missed"

    def decide(day: Day) -> list[Event]:
        t = day.state.tickets.get(number)
        if t is None:
            raise NotFound(f"{location.name} has issued no number {number} today")
        if t.status == wanted:
            return []  # a retry: recorded already
        if t.status != "called" or t.counter is None:
            raise Conflict(
                f"number {number} is {t.status}; only a called number is marked {wanted} "
                "(call it first)"
            )
        event: Event = (
            qe.TicketServed(ticket=number, counter=t.counter, at=now)
            if served
            else qe.TicketMissed(ticket=number, counter=t.counter, at=now)
        )
        return [event]

    day, position = _append_decided(store, location, location.local_day(now), decide)
    return Changed(day.state.tickets[number], position)


def _append_decided(
    store: EventStore,
    location: Location,
    on: date,
    decide: Callable[[Day], list[Event]],
) -> tuple[Day, int | None]:
    """Decide on the day's queue and append with its version, again on a lost race.
    Answers the day after the change (with it folded in) and the change's position."""
    for _ in range(ATTEMPTS):
        day = read_day(store, location, on)
        events = decide(day)
        if not events:
            return day, None
        try:
            written = store.append(
                day.stream,
                [NewEvent(uuid.uuid4(), e.TYPE, e.payload()) for e in events],
                day.version,
            )
        except WrongExpectedVersion:
            continue  # another change of the day's queue came first: decide again
        state = day.state
        for e in events:
            state = state.apply(e)
        return Day(location, on, state, day.version + len(events)), written.positions[-1]
    raise Unavailable(
        f"the queue of {location.name} is changing too fast to record this; try again"
    )


def _issued_number(day: Day, appointment_id: str | None, position: int | None) -> str:
    if appointment_id is not None:
        for t in day.state.tickets.values():
            if t.appointment_id == appointment_id:
                return t.number
    assert position is not None  # a walk-in is always issued anew
    return max(day.state.tickets.values(), key=lambda t: t.seq).number


def _list_for_citizen(store: EventStore, citizen: str, day: Day, ticket: Ticket) -> None:
    stream = qe.citizen_queue_stream(citizen, day.day)
    listed = qe.CitizenQueued(location_id=day.location.id, ticket=ticket.number)
    # One id per number: a retry lists nothing twice.
    event_id = uuid.uuid5(uuid.NAMESPACE_URL, f"{day.stream}/{ticket.number}")
    with contextlib.suppress(DuplicateEventIds):
        store.append(stream, [NewEvent(event_id, listed.TYPE, listed.payload())], ANY)


def note_no_show(store: EventStore, location: Location, no_show: NoShowRecorded) -> None:
    """List an appointment's no-show in the queue stream of its day, where the figures
    find it without a scan (the appointment's stream keeps the record itself). Whoever
    records a no-show calls this after; a retry lists nothing twice."""
    stream = qe.queue_stream(location.id, location.local_day(no_show.at))
    event_id = uuid.uuid5(uuid.NAMESPACE_URL, f"{stream}/no-show/{no_show.appointment_id}")
    with contextlib.suppress(DuplicateEventIds):
        store.append(stream, [NewEvent(event_id, no_show.TYPE, no_show.payload())], ANY)


def no_shows(store: EventStore, location: Location, day: date) -> list[NoShowRecorded]:
    """The no-shows listed in the day's queue stream (:func:`note_no_show`)."""
    return [
        NoShowRecorded.model_validate(e.data)
        for e in store.read_stream(qe.queue_stream(location.id, day))
        if e.type == NoShowRecorded.TYPE
    ]


def citizen_numbers(store: EventStore, citizen: str, day: date) -> list[tuple[str, str]]:
    """(location id, number) of the citizen's numbers of the day, in the order taken."""
    return [
        (e.data["location_id"], e.data["ticket"])
        for e in store.read_stream(qe.citizen_queue_stream(citizen, day))
        if e.type == qe.CitizenQueued.TYPE
    ]
