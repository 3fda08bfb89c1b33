"""Where citizens are served in person: an MPP building or a mobile service unit (MPP
keliling) on a route, its counters (loket), their officers and its opening hours.

Pure: an agency admin's description of a location, validated with messages written for
them, and the opening intervals of a day in UTC. Opening comes from two sources:

* the agency's working calendar (``domain.calendar``): a holiday (libur nasional, cuti
  bersama, libur daerah) closes every location of the agency, whatever its hours say;
* the location's own hours: a building opens on the weekdays its ``hours`` name (an MPP
  open on Saturday lists Saturday), a mobile unit on the dates of its route's stops.

A location's local day is counted in its own time zone (WIB, WITA, WIT): a mobile unit of
an agency in WIB that visits a WITA region keeps the time of the place it stands in.
"""

from __future__ import annotations

from bisect import bisect_left
from datetime import UTC, date, datetime, time, timedelta, timezone
from itertools import pairwise
from typing import Annotated, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from domain.calendar import WorkingCalendar
from domain.primitives import AgencyCode, Name, ServiceId

__all__ = [
    "MAX_COUNTERS",
    "MAX_OFFICERS",
    "MAX_STOPS",
    "TIME_ZONES",
    "Counter",
    "Interval",
    "Location",
    "LocationId",
    "Stop",
    "counters_for",
    "opening",
]

TIME_ZONES: Final[dict[str, int]] = {"WIB": 7, "WITA": 8, "WIT": 9}
"""Indonesia's three time zones and their offsets from UTC, in hours."""
TimeZoneName = Literal["WIB", "WITA", "WIT"]

MAX_COUNTERS: Final = 60
MAX_SERVICES_PER_COUNTER: Final = 200
MAX_OFFICERS: Final = 20
"""Officers serving side by side at one counter."""
MAX_INTERVALS_PER_DAY: Final = 4
"""Opening intervals of one day (a morning, a lunch break, an afternoon...)."""
MAX_STOPS: Final = 366
"""Stops on a mobile unit's route: one a day for a year."""

LocationId = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9-]{1,62}$")]
CounterId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,30}$")]
Weekday = Annotated[int, Field(ge=0, le=6)]
"""Monday=0 ... Sunday=6, as ``date.weekday()`` and the working calendar count them."""
_DAY_NAMES: Final = ("Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Interval(_Model):
    """Open from ``start`` to ``end`` (local wall-clock time, same day)."""

    start: time
    end: time

    @model_validator(mode="after")
    def _ordered(self) -> Interval:
        if self.start.tzinfo is not None or self.end.tzinfo is not None:
            raise ValueError("opening times are local wall-clock times: leave the offset out")
        if self.end <= self.start:
            raise ValueError(
                f"an opening interval must end after it starts: {self.start:%H:%M} to "
                f"{self.end:%H:%M}; an interval cannot run past midnight"
            )
        return self


def _check_day(intervals: list[Interval], where: str) -> None:
    if len(intervals) > MAX_INTERVALS_PER_DAY:
        raise ValueError(
            f"{where}: at most {MAX_INTERVALS_PER_DAY} opening intervals a day, got "
            f"{len(intervals)}; merge the ones that touch"
        )
    ordered = sorted(intervals, key=lambda i: i.start)
    for a, b in pairwise(ordered):
        if b.start < a.end:
            raise ValueError(
                f"{where}: the opening intervals {a.start:%H:%M}-{a.end:%H:%M} and "
                f"{b.start:%H:%M}-{b.end:%H:%M} overlap; write each time once"
            )


class Counter(_Model):
    """A loket: the services it serves and the officers serving side by side at it."""

    id: CounterId
    name: Name
    services: list[ServiceId] = Field(min_length=1, max_length=MAX_SERVICES_PER_COUNTER)
    officers: int = Field(default=1, ge=1, le=MAX_OFFICERS)

    @model_validator(mode="after")
    def _services_once(self) -> Counter:
        if len(set(self.services)) != len(self.services):
            twice = sorted({s for s in self.services if self.services.count(s) > 1})
            raise ValueError(f"counter {self.id} lists a service twice: {', '.join(twice)}")
        return self


class Stop(_Model):
    """Where a mobile unit stands on one date, and its hours there."""

    date: date
    place: Name
    hours: list[Interval] = Field(min_length=1)

    @model_validator(mode="after")
    def _day(self) -> Stop:
        _check_day(self.hours, f"the stop on {self.date.isoformat()} at {self.place}")
        return self


class Location(_Model):
    """An MPP building (``kind="building"``, weekly ``hours``) or a mobile service unit
    (``kind="mobile"``, a ``route`` of dated stops), with its counters."""

    id: LocationId
    agency: AgencyCode
    name: Name
    kind: Literal["building", "mobile"] = "building"
    address: str = Field(default="", max_length=500)
    time_zone: TimeZoneName = "WIB"
    counters: list[Counter] = Field(min_length=1, max_length=MAX_COUNTERS)
    hours: dict[Weekday, list[Interval]] = Field(default_factory=dict)
    """Building only: the intervals of each weekday it opens; a weekday absent is closed."""
    route: list[Stop] = Field(default_factory=list, max_length=MAX_STOPS)
    """Mobile unit only: its stops, one per date."""
    bookable_percent: int = Field(default=100, ge=0, le=100)
    """The share of the officers' time open to appointments; the rest is kept for
    walk-ins (``domain.slots`` sizes the slots with it). 0 takes no appointments."""

    @model_validator(mode="after")
    def _consistent(self) -> Location:
        ids = [c.id for c in self.counters]
        if len(set(ids)) != len(ids):
            twice = sorted({i for i in ids if ids.count(i) > 1})
            raise ValueError(f"two counters share the id {', '.join(twice)}: give each its own")
        if self.kind == "building":
            if self.route:
                raise ValueError(
                    "a building has opening hours, not a route: remove the route, or make "
                    'the location kind "mobile"'
                )
            if not any(self.hours.values()):
                raise ValueError(
                    "a building needs opening hours for at least one weekday, e.g. "
                    '{"0": [{"start": "08:00", "end": "15:00"}]} for Monday'
                )
            for day, intervals in self.hours.items():
                _check_day(intervals, _DAY_NAMES[day])
        else:
            if self.hours:
                raise ValueError(
                    "a mobile unit opens where its route takes it: give each stop its hours "
                    "and leave the weekly hours out"
                )
            if not self.route:
                raise ValueError("a mobile unit needs a route with at least one stop")
            dates = [s.date for s in self.route]
            if len(set(dates)) != len(dates):
                twice_on = sorted({d for d in dates if dates.count(d) > 1})
                raise ValueError(
                    "a mobile unit stands in one place a day; the route has two stops on "
                    + ", ".join(d.isoformat() for d in twice_on)
                )
        return self

    @property
    def tz(self) -> timezone:
        return timezone(timedelta(hours=TIME_ZONES[self.time_zone]), self.time_zone)

    def counter(self, counter_id: str) -> Counter | None:
        return next((c for c in self.counters if c.id == counter_id), None)

    def local_day(self, at: datetime) -> date:
        """The location's calendar day of an instant (timezone-aware)."""
        if at.tzinfo is None:
            raise ValueError(f"the instant must be timezone-aware, got {at.isoformat()}")
        return at.astimezone(self.tz).date()

    def stop_on(self, day: date) -> Stop | None:
        """The mobile unit's stop on a date; None for a building or a date off the route."""
        return next((s for s in self.route if s.date == day), None)


def counters_for(location: Location, service_id: str) -> list[Counter]:
    """The counters of the location that serve the service, in the location's order."""
    return [c for c in location.counters if service_id in c.services]


def opening(location: Location, cal: WorkingCalendar, day: date) -> list[tuple[datetime, datetime]]:
    """The location's opening intervals on its local ``day``, as UTC instants, in order.

    Empty on a holiday of the agency's calendar, on a weekday the building does not
    open, and on a date off the mobile unit's route. The calendar's weekend does not
    close a location by itself: its own hours say whether it opens on Saturday.
    """
    if not _not_a_holiday(cal, day):
        return []
    if location.kind == "building":
        intervals = location.hours.get(day.weekday(), [])
    else:
        stop = location.stop_on(day)
        intervals = stop.hours if stop else []
    tz = location.tz
    return [
        (
            datetime.combine(day, i.start, tzinfo=tz).astimezone(UTC),
            datetime.combine(day, i.end, tzinfo=tz).astimezone(UTC),
        )
        for i in sorted(intervals, key=lambda i: i.start)
    ]


def _not_a_holiday(cal: WorkingCalendar, day: date) -> bool:
    # The weekend is the location's to decide (its hours): only holidays close the day.
    days = cal.holiday_dates
    i = bisect_left(days, day)
    return not (i < len(days) and days[i] == day)
