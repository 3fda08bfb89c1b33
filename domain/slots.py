"""Appointment slots: when a citizen can book a visit for a service at a location.

Pure: slots are computed, never stored. The same location, calendar, service and
handling time give the same slots, so a booking names a slot by its id and the command
regenerates it to check that it exists and to learn its capacity.

How a slot is sized, written down once:

* a counter's officers serve every service the counter lists, so a service gets an even
  share of each: ``officers / services at that counter``, summed over the counters that
  serve it, times the location's ``bookable_percent`` (the rest is kept for walk-ins);
* a share of at least one officer gives slots as long as the service's average handling
  time, each with capacity ``floor(share)``;
* a share below one officer stretches the slot instead, to ``handling / share`` minutes
  (rounded up) with capacity 1: one officer serving three services takes one booking of
  each every three handling times, so bookings never promise more officer time than
  there is.

Slots lie inside the opening intervals (``domain.locations.opening``: no slots on
holidays or cuti bersama), one after another from the interval's start; a slot that
would run past the interval's end is left out.
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta
from fractions import Fraction
from typing import Final

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from domain.calendar import WorkingCalendar
from domain.locations import Location, TimeZoneName, counters_for, opening
from domain.refusals import Invalid

__all__ = [
    "MAX_HANDLING",
    "MAX_HORIZON_DAYS",
    "MAX_SLOTS_PER_QUERY",
    "Slot",
    "generate",
    "service_share",
    "slot_at",
    "slot_id",
    "slot_shape",
    "slot_stream",
]

MAX_HORIZON_DAYS: Final = 60
"""How far ahead slots are offered (and booked), in days."""
MAX_SLOTS_PER_QUERY: Final = 2000
MIN_HANDLING: Final = timedelta(minutes=1)
MAX_HANDLING: Final = timedelta(hours=8)


class Slot(BaseModel):
    """One bookable visit: ``capacity`` citizens may book it, from ``start`` to ``end``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    location_id: str
    service_id: str
    start: AwareDatetime
    end: AwareDatetime
    capacity: int = Field(ge=1)
    time_zone: TimeZoneName = "WIB"
    """The location's zone, in which the slot is shown."""


def slot_id(location_id: str, service_id: str, start: datetime) -> str:
    """``mpp-bwi.surat-keterangan-domisili.20260105T0100Z``: the start in UTC, so the id
    is the same wherever it is computed. Location and service ids hold no dots."""
    return f"{location_id}.{service_id}.{start.astimezone(UTC):%Y%m%dT%H%MZ}"


def slot_stream(slot: str) -> str:
    """The slot's capacity stream (``domain.appointments``): holds, confirmations and
    releases, appended with the expected version so two bookings never share a place."""
    return f"slot-{slot}"


def service_share(location: Location, service_id: str) -> Fraction:
    """Officers (a fraction) open to the service's appointments at the location."""
    officers = sum(
        (Fraction(c.officers, len(c.services)) for c in counters_for(location, service_id)),
        Fraction(0),
    )
    return officers * Fraction(location.bookable_percent, 100)


def slot_shape(
    location: Location, service_id: str, handling: timedelta
) -> tuple[timedelta, int] | None:
    """The slot length and capacity for the service; None when it takes no appointments
    at the location (no counter serves it, or ``bookable_percent`` is 0)."""
    _check_handling(handling)
    share = service_share(location, service_id)
    if share == 0:
        return None
    minutes = math.ceil(handling / timedelta(minutes=1))
    if share >= 1:
        return timedelta(minutes=minutes), math.floor(share)
    return timedelta(minutes=math.ceil(minutes / share)), 1


def generate(
    location: Location,
    cal: WorkingCalendar,
    service_id: str,
    handling: timedelta,
    first_day: date,
    days: int = 14,
    *,
    not_before: datetime | None = None,
    limit: int = MAX_SLOTS_PER_QUERY,
) -> list[Slot]:
    """The service's slots at the location on ``days`` local days from ``first_day``, in
    time order, at most ``limit`` of them; those starting before ``not_before`` (e.g.
    now plus the booking policy's notice) are left out.

    Refuses (``Invalid``) a horizon beyond ``MAX_HORIZON_DAYS``, a limit beyond
    ``MAX_SLOTS_PER_QUERY`` and a handling time outside 1 minute to 8 hours.
    """
    if not 1 <= days <= MAX_HORIZON_DAYS:
        raise Invalid(
            f"slots are offered for 1 to {MAX_HORIZON_DAYS} days at a time; {days} days "
            "were asked for"
        )
    if not 1 <= limit <= MAX_SLOTS_PER_QUERY:
        raise Invalid(f"at most {MAX_SLOTS_PER_QUERY} slots per query; {limit} were asked for")
    if not_before is not None and not_before.tzinfo is None:
        raise ValueError(f"not_before must be timezone-aware, got {not_before.isoformat()}")
    shape = slot_shape(location, service_id, handling)
    if shape is None:
        return []
    length, capacity = shape
    slots: list[Slot] = []
    for offset in range(days):
        for open_at, close_at in opening(location, cal, first_day + timedelta(days=offset)):
            start = open_at
            while start + length <= close_at:
                if not_before is None or start >= not_before:
                    slots.append(
                        Slot(
                            id=slot_id(location.id, service_id, start),
                            location_id=location.id,
                            service_id=service_id,
                            start=start,
                            end=start + length,
                            capacity=capacity,
                            time_zone=location.time_zone,
                        )
                    )
                    if len(slots) == limit:
                        return slots
                start += length
    return slots


def slot_at(
    location: Location,
    cal: WorkingCalendar,
    service_id: str,
    handling: timedelta,
    start: datetime,
) -> Slot | None:
    """The slot of the service that starts at ``start``; None if there is none (closed
    that day, between slots, or the service is not served there)."""
    if start.tzinfo is None:
        raise ValueError(f"start must be timezone-aware, got {start.isoformat()}")
    day = location.local_day(start)
    wanted = start.astimezone(UTC)
    return next(
        (s for s in generate(location, cal, service_id, handling, day, 1) if s.start == wanted),
        None,
    )


def _check_handling(handling: timedelta) -> None:
    if not MIN_HANDLING <= handling <= MAX_HANDLING:
        raise Invalid(
            "a service's average handling time must be between 1 minute and 8 hours; "
            f"it is {handling}"
        )
