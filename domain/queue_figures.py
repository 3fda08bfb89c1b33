"""Waiting-time figures of the counter queue: what the dashboard and ``GET /stats/queue``
show. Pure folds over the queue events and the appointments' check-ins and no-shows.

What is measured, written down once:

* **waiting time**, arrival to call, for every number called (served or not). A booked
  citizen who came early waits from their booked time, not from their arrival: coming
  40 minutes early is not 40 minutes of queue.
* **service time**, call to done, for every number served.
* **within target**: the share of the numbers called whose waiting time was at most the
  target (per service, else the default target).
* **no-show rate**: appointments recorded as no-shows over those that came or did not
  (no-shows plus check-ins). Counters have none: a no-show never reached one.

Each figure is given in total and per service, per counter and per local day (of the
arrival); every count in a breakdown sums to the total.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta, timezone
from statistics import fmean, median

from pydantic import BaseModel, Field

from domain.appointment_events import CitizenCheckedIn, NoShowRecorded
from domain.events import Event
from domain.locations import TIME_ZONES, TimeZoneName
from domain.queue import QueueState, Ticket


class Durations(BaseModel):
    """Minutes, rounded to 0.1; None without any measurement."""

    count: int = 0
    mean_minutes: float | None = None
    median_minutes: float | None = None
    p90_minutes: float | None = None
    max_minutes: float | None = None


class Figures(BaseModel):
    called: int = 0
    served: int = 0
    missed: int = 0
    """Called, but the citizen did not come to the counter."""
    waiting: Durations = Field(default_factory=Durations)
    service: Durations = Field(default_factory=Durations)
    within_target: float | None = None
    """Share of the numbers called that waited no longer than the target (0 to 1)."""
    checked_in: int = 0
    no_shows: int = 0
    no_show_rate: float | None = None


class QueueFigures(BaseModel):
    total: Figures
    by_service: dict[str, Figures]
    by_counter: dict[str, Figures]
    by_day: dict[str, Figures]
    """Keyed by local date, ``2026-01-05``."""


class _Tally:
    """The raw measurements of one group, before they are summarised."""

    def __init__(self) -> None:
        self.waits: list[float] = []
        self.services: list[float] = []
        self.within = 0
        self.served = 0
        self.missed = 0
        self.checked_in = 0
        self.no_shows = 0

    def summary(self) -> Figures:
        seen = self.checked_in + self.no_shows
        return Figures(
            called=len(self.waits),
            served=self.served,
            missed=self.missed,
            waiting=_durations(self.waits),
            service=_durations(self.services),
            within_target=round(self.within / len(self.waits), 4) if self.waits else None,
            checked_in=self.checked_in,
            no_shows=self.no_shows,
            no_show_rate=round(self.no_shows / seen, 4) if seen else None,
        )


def waiting_time(ticket: Ticket) -> timedelta | None:
    """Arrival (or the booked time, if later) to the call; None before the call."""
    if ticket.called_at is None:
        return None
    start = ticket.arrived_at
    if ticket.slot_start is not None and ticket.slot_start > start:
        start = ticket.slot_start
    return max(ticket.called_at - start, timedelta(0))


def figures(
    days: Iterable[QueueState],
    appointment_events: Iterable[Event],
    time_zone: TimeZoneName,
    target: timedelta,
    targets: Mapping[str, timedelta] | None = None,
) -> QueueFigures:
    """The figures of the given day queues (one ``QueueState`` per location and day, as
    ``domain.queue.fold`` builds them) and appointment events (check-ins and no-shows;
    other events are ignored). ``target``: the waiting-time target, ``targets`` per
    service where it differs."""
    tz = timezone(timedelta(hours=TIME_ZONES[time_zone]))
    total = _Tally()
    groups: dict[str, dict[str, _Tally]] = {"service": {}, "counter": {}, "day": {}}

    def tallies(service: str, day: str, counter: str | None) -> list[_Tally]:
        keys = {"service": service, "day": day, "counter": counter}
        return [total] + [
            groups[kind].setdefault(key, _Tally()) for kind, key in keys.items() if key is not None
        ]

    for state in days:
        for t in state.tickets.values():
            wait = waiting_time(t)
            if wait is None:
                continue
            day = _day(t.arrived_at, tz)
            limit = (targets or {}).get(t.service_id, target)
            for tally in tallies(t.service_id, day, t.counter):
                tally.waits.append(_minutes(wait))
                tally.within += wait <= limit
                if t.status == "served" and t.done_at is not None:
                    tally.served += 1
                    tally.services.append(_minutes(t.done_at - (t.called_at or t.done_at)))
                elif t.status == "missed":
                    tally.missed += 1
    for e in appointment_events:
        if isinstance(e, CitizenCheckedIn):
            for tally in tallies(e.service_id, _day(e.at, tz), None):
                tally.checked_in += 1
        elif isinstance(e, NoShowRecorded):
            for tally in tallies(e.service_id, _day(e.at, tz), None):
                tally.no_shows += 1
    return QueueFigures(
        total=total.summary(),
        **{
            f"by_{kind}": {key: tally.summary() for key, tally in sorted(group.items())}
            for kind, group in groups.items()
        },
    )


def _durations(minutes: list[float]) -> Durations:
    if not minutes:
        return Durations()
    ordered = sorted(minutes)
    p90 = ordered[math.ceil(0.9 * len(ordered)) - 1]  # nearest rank
    return Durations(
        count=len(ordered),
        mean_minutes=round(fmean(ordered), 1),
        median_minutes=round(median(ordered), 1),
        p90_minutes=round(p90, 1),
        max_minutes=round(ordered[-1], 1),
    )


def _minutes(d: timedelta) -> float:
    return d.total_seconds() / 60


def _day(at: datetime, tz: timezone) -> str:
    return at.astimezone(tz).date().isoformat()
