"""The counter queue: who is called next, why, and how long the others will wait.

Pure: the fold of a location's day queue (``domain.queue_events``), the call decision and
the waiting-time estimate. The call order, written down once (:func:`next_call`, for a
counter at an instant; only numbers of the services the counter serves count):

1. **The fairness cap.** A number that has been passed over ``max_passed_over`` times
   (someone who came later was called first at a counter that could serve it) is called
   now, the earliest-come of such numbers first. So no waiting number is ever passed
   over more than ``max_passed_over`` times: priorities and appointments cannot starve
   a walk-in (``tests/domain/test_queue.py`` holds this under random days).
2. **Appointments at their time.** A checked-in appointment whose booked time has come
   (``early_call_minutes`` before it at the earliest): the earliest booked time first.
3. **Priority groups** (the agency's ``groups``: by default elderly ≥ 60, disabled,
   pregnant), in arrival order.
4. **Walk-ins** in arrival order.
5. With no one else waiting, an appointment before its time rather than an idle counter.

"Passed over" counts only numbers that could be called (an appointment before its time
is not yet), and arrival is the instant the number was issued, ties by issue order.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from statistics import fmean
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, Field

from domain.events import Event
from domain.locations import TIME_ZONES, Counter, Location, TimeZoneName
from domain.queue_events import (
    MAX_TICKETS_PER_DAY,
    TicketCalled,
    TicketIssued,
    TicketKind,
    TicketMissed,
    TicketServed,
)
from domain.refusals import Conflict

TicketStatus = Literal["waiting", "called", "served", "missed"]
RECENT: Final = 20
"""Services of a kind whose mean serves as its expected service time."""
DEFAULT_SERVICE_TIME: Final = timedelta(minutes=10)
MAX_ESTIMATES: Final = 300
"""Waiting numbers estimated per query, in call order; the rest wait longer than these."""


class PriorityGroup(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str = Field(pattern=r"^[a-z][a-z0-9_]{0,30}$")
    label: str = Field(min_length=1, max_length=60)
    """How the display and the reasons name it, in Bahasa Indonesia."""
    min_age: int | None = Field(default=None, ge=1, le=120)
    """Belongs by age alone (from the NIK's birth date); otherwise by declaring it."""


class QueuePolicy(BaseModel):
    """An agency's call order settings (see the module's docstring)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    groups: list[PriorityGroup] = Field(
        default_factory=lambda: [
            PriorityGroup(id="elderly", label="lansia", min_age=60),
            PriorityGroup(id="disabled", label="penyandang disabilitas"),
            PriorityGroup(id="pregnant", label="ibu hamil"),
        ],
        max_length=10,
    )
    max_passed_over: int = Field(default=3, ge=1, le=20)
    early_call_minutes: int = Field(default=0, ge=0, le=30)

    def label(self, group: str) -> str:
        return next((g.label for g in self.groups if g.id == group), group)


def group_for(policy: QueuePolicy, age: int | None, declared: Iterable[str] = ()) -> str | None:
    """The citizen's priority group: the first of the policy's groups they belong to, by
    age or by declaring it at the kiosk; None for none."""
    said = set(declared)
    for g in policy.groups:
        if g.id in said or (g.min_age is not None and age is not None and age >= g.min_age):
            return g.id
    return None


@dataclass(frozen=True)
class Ticket:
    number: str
    service_id: str
    kind: TicketKind
    arrived_at: datetime
    seq: int
    """Issue order in the day: arrival ties are broken by it."""
    priority: str | None = None
    appointment_id: str | None = None
    slot_start: datetime | None = None
    citizen: str | None = None
    application_id: str | None = None
    step: str | None = None
    status: TicketStatus = "waiting"
    counter: str | None = None
    called_at: datetime | None = None
    done_at: datetime | None = None
    passed_over: int = 0

    @property
    def order(self) -> tuple[datetime, int]:
        return self.arrived_at, self.seq


@dataclass(frozen=True)
class QueueState:
    """A location's queue on one day, in issue order."""

    location_id: str
    time_zone: TimeZoneName = "WIB"
    tickets: Mapping[str, Ticket] = field(default_factory=dict)

    def waiting(self) -> list[Ticket]:
        return sorted((t for t in self.tickets.values() if t.status == "waiting"), key=_order)

    def now_serving(self) -> dict[str, list[str]]:
        """Per counter, the numbers called there and not yet done: what the hall shows."""
        serving: dict[str, list[str]] = {}
        for t in self.tickets.values():
            if t.status == "called" and t.counter is not None:
                serving.setdefault(t.counter, []).append(t.number)
        return serving

    def next_number(self, kind: TicketKind, priority: str | None = None) -> str:
        """``J001`` (janji temu: an appointment), ``P001`` (a priority walk-in), ``A001``."""
        if len(self.tickets) >= MAX_TICKETS_PER_DAY:
            raise Conflict(
                f"this location has issued {MAX_TICKETS_PER_DAY} numbers today, the most a "
                "day's queue holds; ask the citizen to book an appointment for another day"
            )
        prefix = "J" if kind == "appointment" else "P" if priority else "A"
        taken = sum(1 for n in self.tickets if n.startswith(prefix))
        return f"{prefix}{taken + 1:03d}"

    def apply(self, event: Event) -> QueueState:
        tickets = dict(self.tickets)
        if isinstance(event, TicketIssued):
            tickets[event.ticket] = Ticket(
                number=event.ticket,
                service_id=event.service_id,
                kind=event.kind,
                arrived_at=event.arrived_at,
                seq=len(tickets),
                priority=event.priority,
                appointment_id=event.appointment_id,
                slot_start=event.slot_start,
                citizen=event.citizen,
                application_id=event.application_id,
                step=event.step,
            )
        elif isinstance(event, TicketCalled):
            t = tickets[event.ticket]
            tickets[t.number] = replace(
                t, status="called", counter=event.counter, called_at=event.at
            )
            for n in event.passed_over:
                tickets[n] = replace(tickets[n], passed_over=tickets[n].passed_over + 1)
        elif isinstance(event, TicketServed | TicketMissed):
            t = tickets[event.ticket]
            status: TicketStatus = "served" if isinstance(event, TicketServed) else "missed"
            tickets[t.number] = replace(t, status=status, done_at=event.at)
        return replace(self, tickets=tickets)


def fold(location_id: str, time_zone: TimeZoneName, events: Iterable[Event]) -> QueueState:
    state = QueueState(location_id, time_zone)
    for e in events:
        state = state.apply(e)
    return state


@dataclass(frozen=True)
class Call:
    """The decision: whom the counter calls, why (a sentence in Bahasa Indonesia), and
    the earlier-come numbers it passes over."""

    ticket: Ticket
    reason: str
    passed_over: list[str]

    def event(self, counter: str, at: datetime) -> TicketCalled:
        return TicketCalled(
            ticket=self.ticket.number,
            counter=counter,
            at=at,
            reason=self.reason,
            passed_over=self.passed_over,
        )


def next_call(
    state: QueueState, counter: Counter, now: datetime, policy: QueuePolicy
) -> Call | None:
    """Whom ``counter`` calls at ``now``; None when no one waits for its services."""
    waiting = [t for t in state.waiting() if t.service_id in counter.services]
    if not waiting:
        return None
    tz = timezone(timedelta(hours=TIME_ZONES[state.time_zone]))

    def clock(at: datetime) -> str:
        return f"{at.astimezone(tz):%H.%M} {state.time_zone}"

    early = timedelta(minutes=policy.early_call_minutes)

    def callable_now(t: Ticket) -> bool:
        return t.kind != "appointment" or t.slot_start is None or now >= t.slot_start - early

    ready = [t for t in waiting if callable_now(t)]
    over = [t for t in ready if t.passed_over >= policy.max_passed_over]
    due = [t for t in ready if t.kind == "appointment"]
    priority = [t for t in ready if t.kind != "appointment" and t.priority]
    walk_in = [t for t in ready if t.kind != "appointment" and not t.priority]
    if over:
        chosen = over[0]
        reason = (
            f"Nomor {chosen.number} dipanggil sekarang karena sudah {chosen.passed_over} kali "
            f"didahului orang yang datang lebih akhir; kebijakan membatasinya "
            f"{policy.max_passed_over} kali."
        )
    elif due:
        chosen = min(due, key=lambda t: (t.slot_start or t.arrived_at, t.seq))
        booked = clock(chosen.slot_start or chosen.arrived_at)
        reason = (
            f"Nomor {chosen.number} dipanggil karena jadwal janji temunya pukul {booked} "
            "sudah tiba."
        )
    elif priority:
        chosen = priority[0]
        reason = (
            f"Nomor {chosen.number} didahulukan sebagai kelompok prioritas "
            f"({policy.label(chosen.priority or '')}), menurut urutan kedatangan."
        )
    elif walk_in:
        chosen = walk_in[0]
        reason = (
            f"Nomor {chosen.number} dipanggil menurut urutan kedatangan "
            f"(datang pukul {clock(chosen.arrived_at)})."
        )
    else:
        chosen = min(waiting, key=lambda t: (t.slot_start or t.arrived_at, t.seq))
        booked = clock(chosen.slot_start or chosen.arrived_at)
        reason = (
            f"Nomor {chosen.number} dipanggil sebelum jadwalnya ({booked}) karena tidak ada "
            "yang menunggu di loket ini."
        )
    passed = [t.number for t in ready if t is not chosen and t.order < chosen.order]
    return Call(chosen, reason, passed)


def service_times(state: QueueState, defaults: Mapping[str, timedelta]) -> dict[str, timedelta]:
    """Expected service time per service: the mean of its last ``RECENT`` services of the
    day (called to served), else the service's average handling time (``defaults``),
    else ``DEFAULT_SERVICE_TIME``."""
    done: dict[str, list[tuple[datetime, float]]] = {}
    for t in state.tickets.values():
        if t.status == "served" and t.called_at and t.done_at:
            seconds = (t.done_at - t.called_at).total_seconds()
            done.setdefault(t.service_id, []).append((t.done_at, seconds))
    times = dict(defaults)
    for service, served in done.items():
        recent = [s for _, s in sorted(served)[-RECENT:]]
        times[service] = timedelta(seconds=fmean(recent))
    return times


def estimates(
    state: QueueState,
    location: Location,
    now: datetime,
    policy: QueuePolicy,
    defaults: Mapping[str, timedelta] | None = None,
    limit: int = MAX_ESTIMATES,
) -> list[tuple[str, timedelta]]:
    """Each waiting number with its expected wait until called, in the expected call
    order: the same rules (:func:`next_call`) played forward over the counters' officers,
    each busy officer free once their current citizen's expected service time has
    passed. A number no counter serves is left out, and so is every number after the
    first ``limit`` (at most ``MAX_ESTIMATES``): playing the day forward costs time
    in the square of the waiting numbers."""
    times = service_times(state, defaults or {})

    def expected(service: str) -> timedelta:
        return times.get(service, DEFAULT_SERVICE_TIME)

    # Each officer: (free at, counter index, officer index), so ties break the same way.
    officers: list[tuple[datetime, int, int]] = []
    for ci, c in enumerate(location.counters):
        busy = sorted(
            (t.called_at or now) + expected(t.service_id)
            for t in state.tickets.values()
            if t.status == "called" and t.counter == c.id
        )
        for oi in range(c.officers):
            free = busy[oi] if oi < len(busy) else now
            officers.append((max(free, now), ci, oi))
    sim = state
    order: list[tuple[str, timedelta]] = []
    limit = min(limit, MAX_ESTIMATES)
    while officers and len(order) < limit and sim.waiting():
        officers.sort()
        free, ci, oi = officers[0]
        counter = location.counters[ci]
        call = next_call(sim, counter, free, policy)
        if call is None:
            officers.pop(0)  # nothing this counter serves is waiting, now or later
            continue
        order.append((call.ticket.number, free - now))
        sim = sim.apply(call.event(counter.id, free))
        officers[0] = (free + expected(call.ticket.service_id), ci, oi)
    return order


def position(
    state: QueueState,
    ticket: str,
    location: Location,
    now: datetime,
    policy: QueuePolicy,
    defaults: Mapping[str, timedelta] | None = None,
) -> tuple[int, timedelta] | None:
    """The citizen's own place (1 = called next) and expected wait; None when the number
    is not waiting (called, served, unknown), no counter serves it, or it is more than
    ``MAX_ESTIMATES`` places back."""
    for place, (number, wait) in enumerate(estimates(state, location, now, policy, defaults), 1):
        if number == ticket:
            return place, wait
    return None


def _order(t: Ticket) -> tuple[datetime, int]:
    return t.order
