"""Working calendars: deadlines in "hari kerja" (working days) per agency.

Pure and deterministic: this module runs inside Temporal workflows, so nothing here
reads the clock; every function takes the instants it works on as arguments.

All instants are timezone-aware; results are returned in UTC. Working days are counted
in the agency's local time (WIB = UTC+7 by default, WITA = UTC+8, WIT = UTC+9), so the
day an instant falls on is the agency's calendar day, not UTC's.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Final

from pydantic import BaseModel, ConfigDict, Field, field_validator

from domain.definition import Duration, DurationUnit

__all__ = [
    "DEMO_CALENDAR",
    "DEMO_HOLIDAYS_2026",
    "WorkingCalendar",
    "add",
    "is_working_day",
    "subtract",
    "working_days_between",
]


class WorkingCalendar(BaseModel):
    """An agency's working calendar.

    ``weekend``: weekdays that are never worked (Monday=0 ... Sunday=6); Saturday and
    Sunday by default. ``holidays``: public holidays and cuti bersama, stored sorted and
    without duplicates. ``utc_offset_hours``: the agency's time zone (7 WIB, 8 WITA,
    9 WIT); it decides on which local day an instant falls.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    weekend: list[int] = Field(default_factory=lambda: [5, 6])
    holidays: list[date] = Field(default_factory=list)
    utc_offset_hours: int = Field(default=7, ge=-12, le=14)

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

    @field_validator("holidays")
    @classmethod
    def _normalise_holidays(cls, value: list[date]) -> list[date]:
        return sorted(set(value))

    @property
    def tz(self) -> timezone:
        """The agency's fixed-offset local time zone."""
        return timezone(timedelta(hours=self.utc_offset_hours))


def is_working_day(cal: WorkingCalendar, d: date) -> bool:
    """Whether ``d`` is neither a weekend day nor one of the calendar's holidays."""
    if d.weekday() in cal.weekend:
        return False
    i = bisect_left(cal.holidays, d)
    return not (i < len(cal.holidays) and cal.holidays[i] == d)


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
    lo = bisect_left(cal.holidays, first)
    hi = bisect_right(cal.holidays, last)
    count -= sum(1 for h in cal.holidays[lo:hi] if h.weekday() not in cal.weekend)
    return count


# Indonesian national public holidays (libur nasional) and cuti bersama of 2026, per the
# SKB 3 Menteri (Menteri Agama, Menteri Ketenagakerjaan, Menteri PANRB) No. 1497/2025,
# 2/2025, 5/2025: a DEMO SEED only. Agencies maintain their real list (regional holidays,
# later revisions of the SKB) through the API.
DEMO_HOLIDAYS_2026: Final[list[date]] = [
    date(2026, 1, 1),  # Tahun Baru 2026 Masehi
    date(2026, 1, 16),  # Isra Mikraj Nabi Muhammad SAW
    date(2026, 2, 16),  # cuti bersama Tahun Baru Imlek
    date(2026, 2, 17),  # Tahun Baru Imlek 2577 Kongzili
    date(2026, 3, 18),  # cuti bersama Hari Suci Nyepi
    date(2026, 3, 19),  # Hari Suci Nyepi, Tahun Baru Saka 1948
    date(2026, 3, 20),  # cuti bersama Idul Fitri
    date(2026, 3, 21),  # Idul Fitri 1447 H
    date(2026, 3, 22),  # Idul Fitri 1447 H
    date(2026, 3, 23),  # cuti bersama Idul Fitri
    date(2026, 3, 24),  # cuti bersama Idul Fitri
    date(2026, 4, 3),  # Wafat Yesus Kristus
    date(2026, 4, 5),  # Kebangkitan Yesus Kristus (Paskah)
    date(2026, 5, 1),  # Hari Buruh Internasional
    date(2026, 5, 14),  # Kenaikan Yesus Kristus
    date(2026, 5, 15),  # cuti bersama Kenaikan Yesus Kristus
    date(2026, 5, 27),  # Idul Adha 1447 H
    date(2026, 5, 28),  # cuti bersama Idul Adha
    date(2026, 5, 31),  # Hari Raya Waisak 2570 BE
    date(2026, 6, 1),  # Hari Lahir Pancasila
    date(2026, 6, 16),  # 1 Muharam, Tahun Baru Islam 1448 H
    date(2026, 8, 17),  # Proklamasi Kemerdekaan
    date(2026, 8, 25),  # Maulid Nabi Muhammad SAW
    date(2026, 12, 24),  # cuti bersama Hari Raya Natal
    date(2026, 12, 25),  # Kelahiran Yesus Kristus (Natal)
]

DEMO_CALENDAR: Final = WorkingCalendar(holidays=DEMO_HOLIDAYS_2026)
"""WIB, Saturday/Sunday weekend, the 2026 demo holidays."""
