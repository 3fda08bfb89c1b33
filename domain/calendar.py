"""Working calendars: deadlines in "hari kerja" (working days) per agency.

Pure and deterministic: this module runs inside Temporal workflows, so nothing here
reads the clock; every function takes the instants it works on as arguments.

Every agency's calendar starts from the national one (``NATIONAL_CALENDAR``: the 2026
libur nasional and cuti bersama, ``domain/holidays_2026.py``); the agency adds its
regional holidays (:func:`effective`).

All instants are timezone-aware; results are returned in UTC. Working days are counted
in the agency's local time (WIB = UTC+7 by default, WITA = UTC+8, WIT = UTC+9), so the
day an instant falls on is the agency's calendar day, not UTC's.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from datetime import UTC, date, datetime, time, timedelta, timezone
from enum import StrEnum
from typing import Any, Final

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator

from domain.holidays_2026 import NATIONAL_2026

# From primitives, not domain.definition: that imports this module (steps → locations).
from domain.primitives import Duration, DurationUnit

__all__ = [
    "DEMO_CALENDAR",
    "DEMO_HOLIDAYS_2026",
    "NATIONAL_CALENDAR",
    "Holiday",
    "HolidayKind",
    "HolidaySource",
    "WorkingCalendar",
    "add",
    "effective",
    "is_working_day",
    "regional_part",
    "subtract",
    "working_days_between",
]


_Date = date  # a field named "date" would shadow the type in its own annotation


class HolidayKind(StrEnum):
    """What kind of day off: a public holiday, a cuti bersama (collective leave the SKB
    sets next to one), or a holiday only of the agency's region."""

    LIBUR_NASIONAL = "libur_nasional"
    CUTI_BERSAMA = "cuti_bersama"
    LIBUR_DAERAH = "libur_daerah"


class HolidaySource(StrEnum):
    """Where a holiday of an agency's calendar comes from."""

    NATIONAL = "national"
    REGIONAL = "regional"


class Holiday(BaseModel):
    """One day off. A plain date (how calendars were stored before kinds existed, and
    still inside recorded workflow inputs) reads as an unnamed regional holiday."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    date: _Date
    name: str = Field(default="", max_length=200)
    kind: HolidayKind = HolidayKind.LIBUR_DAERAH
    source: HolidaySource = HolidaySource.REGIONAL


class WorkingCalendar(BaseModel):
    """An agency's working calendar.

    ``weekend``: weekdays that are never worked (Monday=0 ... Sunday=6); Saturday and
    Sunday by default. ``holidays``: public holidays, cuti bersama and regional holidays,
    each with its kind and source, sorted by date with one per date; plain dates are
    accepted too (older stored calendars, recorded workflow inputs).
    ``utc_offset_hours``: the agency's time zone (7 WIB, 8 WITA, 9 WIT); it decides on
    which local day an instant falls.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    weekend: list[int] = Field(default_factory=lambda: [5, 6])
    holidays: list[Holiday] = Field(default_factory=list)
    utc_offset_hours: int = Field(default=7, ge=-12, le=14)
    _dates: tuple[date, ...] = PrivateAttr(default=())

    @field_validator("weekend")
    @classmethod
    def _check_weekend(cls, value: list[int]) -> list[int]:
        bad = [d for d in value if not 0 <= d <= 6]
        if bad:
            raise ValueError(f"weekend days must be 0 (Monday) to 6 (Sunday), got {bad}")
        days = sorted(set(value))
        if len(days) == 7:
            raise ValueError("weekend cannot cover all seven days: nothing would be worked")
        return days

    # The schema says so too: an API client may still send plain dates.
    @field_validator("holidays", mode="before", json_schema_input_type=list[Holiday | date])
    @classmethod
    def _plain_dates_too(cls, value: Any) -> Any:
        if not isinstance(value, list):
            return value
        return [{"date": h} if isinstance(h, date | str) else h for h in value]

    @field_validator("holidays")
    @classmethod
    def _one_per_date(cls, value: list[Holiday]) -> list[Holiday]:
        # The first of a date wins: effective() lists the national ones first.
        by_date: dict[date, Holiday] = {}
        for h in value:
            by_date.setdefault(h.date, h)
        return [by_date[d] for d in sorted(by_date)]

    def model_post_init(self, context: Any, /) -> None:
        self._dates = tuple(h.date for h in self.holidays)

    @property
    def holiday_dates(self) -> tuple[date, ...]:
        """The holidays' dates, sorted: what deadlines skip."""
        return self._dates

    @property
    def tz(self) -> timezone:
        """The agency's fixed-offset local time zone."""
        return timezone(timedelta(hours=self.utc_offset_hours))


def is_working_day(cal: WorkingCalendar, d: date) -> bool:
    """Whether ``d`` is neither a weekend day nor one of the calendar's holidays."""
    if d.weekday() in cal.weekend:
        return False
    days = cal.holiday_dates
    i = bisect_left(days, d)
    return not (i < len(days) and days[i] == d)


def _utc(at: datetime, name: str) -> datetime:
    if at.tzinfo is None or at.tzinfo.utcoffset(at) is None:
        raise ValueError(f"{name} must be timezone-aware (UTC), got naive {at.isoformat()}")
    return at.astimezone(UTC)


def _local_day(cal: WorkingCalendar, at: datetime) -> date:
    return at.astimezone(cal.tz).date()


def _end_of_local_day(cal: WorkingCalendar, d: date) -> datetime:
    return datetime.combine(d, time.max, tzinfo=cal.tz).astimezone(UTC)


def _plain(duration: Duration) -> timedelta:
    if duration.unit == DurationUnit.MINUTES:
        return timedelta(minutes=duration.amount)
    if duration.unit == DurationUnit.HOURS:
        return timedelta(hours=duration.amount)
    return timedelta(days=duration.amount)


def add(cal: WorkingCalendar, start: datetime, duration: Duration) -> datetime:
    """The deadline ``duration`` after ``start``, in UTC.

    ``start`` must be timezone-aware (ValueError if naive); any offset is accepted and
    the result is in UTC.

    * ``hours`` and ``days``: plain elapsed time (``start + timedelta``); weekends and
      holidays count.
    * ``working_days`` ("N hari kerja", as Indonesian service standards are read): the
      day of ``start`` (in the agency's local time) never counts, whatever the hour; the
      next N working days do, and the deadline is the END of the N-th of them, local
      23:59:59.999999, returned in UTC. A citizen who applies on Friday afternoon for a
      service with a 1-working-day limit is due by the end of Monday (if Monday is a
      working day); one who applies on a Saturday or a holiday likewise gets N full
      working days after that day.
    """
    start = _utc(start, "start")
    if duration.unit != DurationUnit.WORKING_DAYS:
        return start + _plain(duration)
    d = _local_day(cal, start)
    counted = 0
    while counted < duration.amount:
        d += timedelta(days=1)
        if is_working_day(cal, d):
            counted += 1
    return _end_of_local_day(cal, d)


def subtract(cal: WorkingCalendar, end: datetime, duration: Duration) -> datetime:
    """The instant ``duration`` before ``end`` (a deadline), in UTC; used for reminders.

    ``end`` must be timezone-aware (ValueError if naive).

    * ``hours`` and ``days``: plain elapsed time (``end - timedelta``).
    * ``working_days``: the END (local 23:59:59.999999, returned in UTC) of the working
      day that lies N working days before ``end``'s local day (that day itself not
      counted). Taking the end of that day, not its start, makes the reminder never
      earlier than needed: from it exactly N working days remain until the deadline
      day's end, and for a deadline made by :func:`add`,
      ``add(cal, subtract(cal, deadline, n), n) == deadline``.
    """
    end = _utc(end, "end")
    if duration.unit != DurationUnit.WORKING_DAYS:
        return end - _plain(duration)
    d = _local_day(cal, end)
    counted = 0
    while counted < duration.amount:
        d -= timedelta(days=1)
        if is_working_day(cal, d):
            counted += 1
    return _end_of_local_day(cal, d)


def working_days_between(cal: WorkingCalendar, start: datetime, end: datetime) -> int:
    """Whole working days from ``start``'s local day (exclusive) to ``end``'s local day
    (inclusive): the elapsed part of an SLA in hari kerja. 0 when ``end`` is on or before
    ``start``'s local day. Both must be timezone-aware (ValueError if naive).

    ``working_days_between(cal, s, add(cal, s, Duration(amount=n))) == n`` for every s.
    """
    first = _local_day(cal, _utc(start, "start")) + timedelta(days=1)
    last = _local_day(cal, _utc(end, "end"))
    if last < first:
        return 0
    span = (last - first).days + 1
    weeks, rest = divmod(span, 7)
    count = weeks * (7 - len(cal.weekend))
    tail = first + timedelta(days=weeks * 7)
    count += sum(1 for i in range(rest) if (tail + timedelta(days=i)).weekday() not in cal.weekend)
    days = cal.holiday_dates
    lo = bisect_left(days, first)
    hi = bisect_right(days, last)
    count -= sum(1 for h in days[lo:hi] if h.weekday() not in cal.weekend)
    return count


NATIONAL_CALENDAR: Final = WorkingCalendar(
    holidays=[
        Holiday(date=d, name=name, kind=HolidayKind(kind), source=HolidaySource.NATIONAL)
        for d, name, kind in NATIONAL_2026
    ]
)
"""WIB, Saturday/Sunday weekend, the national libur nasional and cuti bersama: the
calendar of an agency that has set none, and what every agency's calendar starts from."""


def effective(
    agency: WorkingCalendar, national: WorkingCalendar = NATIONAL_CALENDAR
) -> WorkingCalendar:
    """The calendar deadlines count on: the agency's weekend and time zone, the national
    holidays and the agency's own regional ones. A date in both is the national holiday
    (an older stored calendar listed the national days itself)."""
    regional = [h.model_copy(update={"source": HolidaySource.REGIONAL}) for h in agency.holidays]
    return WorkingCalendar(
        weekend=agency.weekend,
        holidays=[*national.holidays, *regional],
        utc_offset_hours=agency.utc_offset_hours,
    )


def regional_part(
    agency: WorkingCalendar, national: WorkingCalendar = NATIONAL_CALENDAR
) -> WorkingCalendar:
    """What an agency stores: its calendar without the national holidays (which it gets
    anyway), so a calendar read with ``GET`` and sent back with ``PUT`` stores only the
    regional additions, each marked regional."""
    national_days = set(national.holiday_dates)
    return WorkingCalendar(
        weekend=agency.weekend,
        holidays=[
            h.model_copy(update={"source": HolidaySource.REGIONAL})
            for h in agency.holidays
            if h.date not in national_days
        ],
        utc_offset_hours=agency.utc_offset_hours,
    )


# The demo seed's calendar: the national one. Kept as dates for the designer's simulation
# and older callers.
DEMO_HOLIDAYS_2026: Final[list[date]] = list(NATIONAL_CALENDAR.holiday_dates)

DEMO_CALENDAR: Final = NATIONAL_CALENDAR
"""WIB, Saturday/Sunday weekend, the 2026 national holidays."""
