"""The counter queue of a location: check-in by QR ticket, walk-in numbers, calling,
served and missed, the hall's display, the citizen's own place, and the figures.

Staff act on their own agency's locations only; another agency's location answers 404
exactly as an unknown one. The display and a number's slip are public: they show
numbers and services, nothing about who holds them."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Annotated, Any, Self

from fastapi import APIRouter, Depends, Query, status
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field, model_validator
from starlette.concurrency import run_in_threadpool

from api import errors, security
from api.deps import (
    AgencyAdmin,
    AgencyScope,
    Citizen,
    RuntimeDep,
    SettingsDep,
    StoreDep,
    require_role,
)
from api.idempotency import Key
from api.routers.counter import FrontDesk
from api.routers.kiosk import KioskDevice
from api.security import Principal
from api.visits import record_visit
from commands import catalogue, locations
from commands import queue as cq
from domain import appointments as ap
from domain import qr_ticket
from domain.appointment_events import CitizenCheckedIn
from domain.events import Event, application_stream
from domain.locations import TIME_ZONES, Location
from domain.queue import QueuePolicy, QueueState, Ticket, estimates, position
from domain.queue_figures import QueueFigures, figures
from domain.queue_pages import CounterNow, Upcoming, display_page, slip_page
from domain.refusals import Conflict, Forbidden, Invalid, NotFound, Refusal, Unverified
from domain.state import ApplicationState, fold
from eventstore.port import EventStore

router = APIRouter(tags=["queue"])

Readers = Annotated[
    Principal, Depends(require_role(*sorted(security.STAFF | {"auditor", "region_admin"})))
]
"""Who reads the figures: the agency's staff, and the auditors and region administrators
who oversee them (as ``/stats/applications``)."""

MAX_STATS_DAYS = 92
"""Days one figures query reads: each is one stream per location."""
UPCOMING = 10
"""Next numbers the hall's display shows."""
TARGET_WAIT = timedelta(minutes=15)
"""The waiting-time target of the figures' ``within_target`` share."""


# -- bodies and answers -----------------------------------------------------------------
class CheckInIn(BaseModel):
    ticket: str = Field(min_length=1, max_length=qr_ticket.MAX_TOKEN_CHARS,
                        description="The QR ticket's token, as scanned")  # fmt: skip


class WalkInIn(BaseModel):
    service_id: str = Field(min_length=1, max_length=64, examples=["surat-keterangan-domisili"])
    priority: str | None = Field(
        default=None,
        max_length=31,
        description="The citizen's priority group (the location's queue policy), if any",
        examples=["elderly"],
    )
    application_id: str | None = Field(
        default=None,
        max_length=64,
        description="At the counter: the application whose appointment step the citizen "
        "came for without booking; serving the number records the visit",
        examples=["BWI-2026-000001"],
    )
    step: str | None = Field(
        default=None, max_length=64, description="With application_id: the appointment step"
    )

    @model_validator(mode="after")
    def _both_or_neither(self) -> Self:
        if (self.application_id is None) != (self.step is None):
            raise ValueError("name the application and its appointment step together")
        return self


def _visit_of(store: EventStore, loc: Location, body: WalkInIn) -> ApplicationState | None:
    """The application a walk-in came for, when named: it must be of the location's
    agency and wait for a visit at the step."""
    if body.application_id is None or body.step is None:
        return None
    state = fold(list(store.read_stream(application_stream(body.application_id))))
    if state is None or state.agency_code != loc.agency:
        raise NotFound(f"there is no application {body.application_id} you may see")
    if state.waiting.get(body.step, {}).get("kind") != "visit":
        raise Conflict(
            f"application {body.application_id} does not wait for a visit at step "
            f"{body.step!r}; look at its current step"
        )
    if state.service_id != body.service_id:
        raise Invalid(
            f"application {body.application_id} is for {state.service_id}, not "
            f"{body.service_id}: take the number for its service"
        )
    return state


class TicketOut(BaseModel):
    number: str
    location_id: str
    service_id: str
    kind: str
    status: str
    arrived_at: datetime
    priority: str | None = None
    appointment_id: str | None = None
    counter: str | None = None
    called_at: datetime | None = None
    place: int | None = None
    """1 = called next; None when not waiting (or too far back to estimate)."""
    estimated_wait_minutes: float | None = None
    slip_url: str
    position: int | None = None
    """The event-store position of the change (None: nothing new was recorded)."""


class CheckedInOut(TicketOut):
    late: bool
    """Past the appointment's grace: queued as a walk-in, the slot's turn lost."""


class CallOut(BaseModel):
    called: TicketOut | None
    reason: str | None = None
    """Why this number now, in Bahasa Indonesia (as the display shows it)."""
    passed_over: list[str] = Field(default_factory=list)
    message: str | None = None


class PolicyOut(BaseModel):
    location_id: str
    policy: QueuePolicy
    position: int


class StatsOut(BaseModel):
    locations: list[str]
    from_: date = Field(alias="from")
    to: date
    target_minutes: float
    figures: QueueFigures


# -- helpers ----------------------------------------------------------------------------
def _now() -> datetime:
    return datetime.now(UTC)


def _location(store: EventStore, location_id: str, agency: str | None = None) -> Location:
    loc = locations.load(store, location_id)
    if loc is None or (agency is not None and loc.agency != agency):
        raise NotFound(f"there is no location {location_id!r} you may see")
    return loc


def _out(
    store: EventStore,
    loc: Location,
    state: QueueState,
    t: Ticket,
    now: datetime,
    position_: int | None = None,
) -> TicketOut:
    placed = position(state, t.number, loc, now, cq.policy_of(store, loc.id))
    return TicketOut(
        number=t.number,
        location_id=loc.id,
        service_id=t.service_id,
        kind=t.kind,
        status=t.status,
        arrived_at=t.arrived_at,
        priority=t.priority,
        appointment_id=t.appointment_id,
        counter=t.counter,
        called_at=t.called_at,
        place=placed[0] if placed else None,
        estimated_wait_minutes=round(placed[1].total_seconds() / 60, 1) if placed else None,
        slip_url=f"/public/locations/{loc.id}/tickets/{t.number}/slip",
        position=position_,
    )


# -- check-in and walk-ins --------------------------------------------------------------
@router.post(
    "/counter/check-in",
    response_model=CheckedInOut,
    responses=errors.answers(
        404,
        409,
        422,
        503,
        _404="The ticket's appointment or location is not one of your agency's",
        _409="The appointment cannot check in now (not confirmed, too early, moved)",
        _422="The QR ticket is not valid here (forged, damaged or from another system)",
    ),
)
def check_in(body: CheckInIn, user: FrontDesk, store: StoreDep, settings: SettingsDep) -> Any:
    """Check in the citizen whose appointment QR ticket you scanned: the appointment
    records the visit and the queue gives the citizen a number (an appointment number,
    or a walk-in one when they came after the grace). Scanning again answers the same
    number."""
    try:
        payload = qr_ticket.read(settings.ticket_secret(), body.ticket)
    except Unverified as e:
        raise Invalid(str(e)) from None
    loc = _location(store, payload.location_id, user.agency)
    now = _now()
    done = cq.check_in(store, loc, payload, user.subject, now, ap.BookingPolicy())
    day = cq.today(store, loc, now)
    out = _out(store, loc, day.state, day.state.tickets[done.ticket.number], now, done.position)
    return CheckedInOut(**out.model_dump(), late=done.ticket.kind == "walk_in")


@router.post(
    "/queue/{location_id}/tickets",
    status_code=status.HTTP_201_CREATED,
    response_model=TicketOut,
    responses=errors.answers(404, 409, 422, 503),
)
def take_walk_in(location_id: str, body: WalkInIn, user: FrontDesk, store: StoreDep) -> Any:
    """A number for a citizen who came without an appointment (at the counter or the
    kiosk beside it). Print ``slip_url``."""
    loc = _location(store, location_id, user.agency)
    now = _now()
    visit = _visit_of(store, loc, body)
    issued = cq.take_number(
        store,
        loc,
        body.service_id,
        "walk_in",
        now,
        priority=body.priority,
        application_id=body.application_id,
        step=body.step,
        citizen=visit.citizen if visit else None,
    )
    day = cq.today(store, loc, now)
    return _out(store, loc, day.state, day.state.tickets[issued.ticket.number], now,
                issued.position)  # fmt: skip


@router.post(
    "/queue/{location_id}/kiosk-tickets",
    status_code=status.HTTP_201_CREATED,
    response_model=TicketOut,
    responses=errors.answers(404, 409, 422, 503),
)
def take_at_kiosk(location_id: str, body: WalkInIn, kiosk: KioskDevice, store: StoreDep) -> Any:
    """A walk-in number taken at a self-service kiosk of the location's agency, which
    sends its device key (``X-Kiosk-Key``) instead of a token. Print ``slip_url``."""
    loc = _location(store, location_id, kiosk.agency)
    now = _now()
    issued = cq.take_number(store, loc, body.service_id, "walk_in", now, priority=body.priority)
    day = cq.today(store, loc, now)
    return _out(store, loc, day.state, day.state.tickets[issued.ticket.number], now,
                issued.position)  # fmt: skip


# -- calling and serving ----------------------------------------------------------------
@router.post(
    "/queue/{location_id}/counters/{counter_id}/call",
    response_model=CallOut,
    responses=errors.answers(404, 503),
)
def call(location_id: str, counter_id: str, user: FrontDesk, store: StoreDep) -> Any:
    """Call the next number to your counter, by the location's call order; the answer
    says why it is this number. ``called`` is null when no one waits for the counter's
    services."""
    loc = _location(store, location_id, user.agency)
    now = _now()
    called = cq.call_next(store, loc, counter_id, now, cq.policy_of(store, loc.id))
    if called is None:
        return CallOut(called=None, message="no one is waiting for this counter's services")
    day = cq.today(store, loc, now)
    t = day.state.tickets[called.ticket.number]
    return CallOut(
        called=_out(store, loc, day.state, t, now, called.position),
        reason=called.reason,
        passed_over=called.passed_over,
    )


@router.post(
    "/queue/{location_id}/tickets/{ticket}/served",
    response_model=TicketOut,
    responses=errors.answers(
        403, 404, 409, 503, _403="The application's appointment step is served by another role"
    ),
)
async def mark_served(location_id: str, ticket: str, user: FrontDesk, rt: RuntimeDep) -> Any:
    """The called citizen was served. A number taken for an application's appointment
    step (checked in with the QR ticket, or a walk-in named with its application) also
    records the visit there, and the application's flow goes on."""
    out, done = await run_in_threadpool(_finish, rt.store, location_id, ticket, user, served=True)
    t = done.ticket
    if t.application_id and t.step:
        # One key per number and day: a retried "served" answers the recorded visit.
        key = Key.of(f"{location_id}/{t.arrived_at.date()}/{t.number}", "queue", "visit",
                     {"application_id": t.application_id, "step": t.step})  # fmt: skip
        await record_visit(rt, t.application_id, t.step, "served", user,
                           f"dilayani di {location_id}, nomor {t.number}", key=key)  # fmt: skip
    return out


@router.post(
    "/queue/{location_id}/tickets/{ticket}/missed",
    response_model=TicketOut,
    responses=errors.answers(404, 409, 503),
)
def mark_missed(location_id: str, ticket: str, user: FrontDesk, store: StoreDep) -> Any:
    """The called citizen did not come to the counter."""
    return _finish(store, location_id, ticket, user, served=False)[0]


def _finish(
    store: EventStore, location_id: str, ticket: str, user: Principal, *, served: bool
) -> tuple[TicketOut, cq.Changed]:
    loc = _location(store, location_id, user.agency)
    now = _now()
    done = (cq.served if served else cq.missed)(store, loc, ticket, now)
    day = cq.today(store, loc, now)
    return _out(store, loc, day.state, done.ticket, now, done.position), done


@router.put(
    "/agencies/{agency_code}/locations/{location_id}/queue-policy",
    response_model=PolicyOut,
    responses=errors.answers(403, 404),
)
def put_policy(
    agency_code: str, location_id: str, body: QueuePolicy, user: AgencyAdmin, store: StoreDep
) -> Any:
    """The location's call order: its priority groups, the fairness cap (how many times
    a number may be passed over) and how early an appointment may be called."""
    if user.agency != agency_code:
        raise Forbidden(f"you administer agency {user.agency}, not {agency_code}")
    loc = _location(store, location_id, agency_code)
    return PolicyOut(location_id=loc.id, policy=body,
                     position=cq.set_policy(store, loc, body, user.subject))  # fmt: skip


# -- what the hall and the citizen see -------------------------------------------------
@router.get(
    "/public/locations/{location_id}/display",
    response_class=HTMLResponse,
    responses=errors.answers(404),
)
def display(location_id: str, store: StoreDep) -> HTMLResponse:
    """The hall's TV page: numbers called per counter, the next numbers and the expected
    wait per service; it reloads itself."""
    loc = _location(store, location_id)
    now = _now()
    day = cq.today(store, loc, now)
    policy = cq.policy_of(store, loc.id)
    order = estimates(day.state, loc, now, policy)
    names = _service_names(store, loc)
    serving = day.state.now_serving()
    counters = [CounterNow(c.name, sorted(serving.get(c.id, []))) for c in loc.counters]
    upcoming = [
        Upcoming(n, names.get(day.state.tickets[n].service_id, day.state.tickets[n].service_id), w)
        for n, w in order[:UPCOMING]
    ]
    # A new number of a service waits about as long as the last one waiting for it.
    waits: dict[str, timedelta] = {names.get(s, s): timedelta(0) for s in sorted(names)}
    for n, w in order:
        s = day.state.tickets[n].service_id
        waits[names.get(s, s)] = w
    clock = f"{now.astimezone(loc.tz):%H.%M} {loc.time_zone}"
    return HTMLResponse(display_page(loc.name, counters, upcoming, waits, clock))


@router.get(
    "/public/locations/{location_id}/tickets/{ticket}/slip",
    response_class=HTMLResponse,
    responses=errors.answers(404),
)
def slip(location_id: str, ticket: str, store: StoreDep) -> HTMLResponse:
    """The printable slip of today's number."""
    loc = _location(store, location_id)
    now = _now()
    day = cq.today(store, loc, now)
    t = day.state.tickets.get(ticket)
    if t is None:
        raise NotFound(f"{loc.name} has issued no number {ticket} today")
    placed = position(day.state, t.number, loc, now, cq.policy_of(store, loc.id))
    place = (
        f"Di depan Anda: {placed[0] - 1} orang, perkiraan tunggu ± "
        f"{round(placed[1].total_seconds() / 60)} menit"
        if placed
        else ""
    )
    name = _service_names(store, loc).get(t.service_id, t.service_id)
    taken = f"{t.arrived_at.astimezone(loc.tz):%H.%M} {loc.time_zone}"
    return HTMLResponse(slip_page(loc.name, t.number, name, taken, place))


@router.get("/me/queue", response_model=list[TicketOut])
def my_queue(user: Citizen, store: StoreDep) -> Any:
    """Your numbers today: your place (1 = next), the expected wait, or the counter
    you were called to."""
    now = _now()
    days = sorted({now.astimezone(timezone(timedelta(hours=h))).date()
                   for h in TIME_ZONES.values()})  # fmt: skip
    out: list[TicketOut] = []
    for d in days:
        for location_id, number in cq.citizen_numbers(store, user.subject, d):
            loc = locations.load(store, location_id)
            if loc is None or loc.local_day(now) != d:
                continue
            day = cq.today(store, loc, now)
            t = day.state.tickets.get(number)
            if t is not None and t.citizen == user.subject:
                out.append(_out(store, loc, day.state, t, now))
    return out


# -- figures ----------------------------------------------------------------------------
@router.get("/stats/queue", response_model=StatsOut, responses=errors.answers(403, 404, 422))
def queue_stats(
    user: Readers,
    scope: AgencyScope,
    store: StoreDep,
    from_: Annotated[date, Query(alias="from", description="First local day")],
    to: Annotated[date, Query(description="Last local day (at most 92 days after from)")],
    location: Annotated[
        str | None, Query(max_length=63, description="One location; default all in scope")
    ] = None,
    target_minutes: Annotated[int, Query(ge=1, le=480)] = int(TARGET_WAIT.total_seconds() // 60),
) -> Any:
    """Waiting time (arrival to call), service time (call to done), the share within the
    target and the no-show rate, per service, counter and day. Staff see their agency's
    locations; auditors and region administrators those of their agency or region."""
    if to < from_:
        raise Invalid(f"the period ends ({to}) before it starts ({from_})")
    if (to - from_).days >= MAX_STATS_DAYS:
        raise Invalid(f"ask for at most {MAX_STATS_DAYS} days at a time")
    agencies = sorted(scope) if scope is not None else []
    if location is not None:
        loc = locations.load(store, location)
        if loc is None or (scope is not None and loc.agency not in scope):
            raise NotFound(f"there is no location {location!r} you may see")
        chosen = [loc]
    else:
        chosen = [loc for a in agencies for loc in locations.of_agency(store, a)]
    states: list[QueueState] = []
    visits: list[Event] = []
    zone = chosen[0].time_zone if chosen else "WIB"
    for loc in chosen:
        d = from_
        while d <= to:
            state = cq.read_day(store, loc, d).state
            states.append(state)
            visits += cq.no_shows(store, loc, d)
            visits += [_check_in_of(loc, t) for t in state.tickets.values()
                           if t.appointment_id is not None]  # fmt: skip
            d += timedelta(days=1)
    return StatsOut.model_validate(
        {
            "locations": [loc.id for loc in chosen],
            "from": from_,
            "to": to,
            "target_minutes": target_minutes,
            "figures": figures(states, visits, zone, timedelta(minutes=target_minutes)),
        }
    )


def _check_in_of(loc: Location, t: Ticket) -> CitizenCheckedIn:
    """An appointment's check-in, as the figures count it, from the number it was given."""
    return CitizenCheckedIn(
        appointment_id=t.appointment_id or "",
        location_id=loc.id,
        service_id=t.service_id,
        ticket=t.number,
        at=t.arrived_at,
        late=t.kind == "walk_in",
        by="",
    )


def _service_names(store: EventStore, loc: Location) -> dict[str, str]:
    names: dict[str, str] = {}
    for c in loc.counters:
        for s in c.services:
            if s not in names:
                try:
                    names[s] = catalogue.published_definition(store, s).name
                except Refusal:
                    names[s] = s
    return names
