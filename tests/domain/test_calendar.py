"""Working calendars: deadlines in hari kerja, counted in the agency's local time."""

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from domain.calendar import (
    DEMO_CALENDAR,
    DEMO_HOLIDAYS_2026,
    WorkingCalendar,
    add,
    is_working_day,
    subtract,
    working_days_between,
)
from domain.definition import Duration, DurationUnit

WIB = timezone(timedelta(hours=7))
WITA = timezone(timedelta(hours=8))
PLAIN = WorkingCalendar()


def wd(n: int) -> Duration:
    return Duration(amount=n, unit=DurationUnit.WORKING_DAYS)


def end_of_day_wib(y: int, m: int, d: int) -> datetime:
    """Local 23:59:59.999999 WIB of that day, in UTC."""
    return datetime(y, m, d, 16, 59, 59, 999999, tzinfo=UTC)


def test_calendar_defaults_and_normalisation():
    cal = WorkingCalendar(
        weekend=[6, 5, 6], holidays=[date(2026, 3, 20), date(2026, 1, 1), date(2026, 3, 20)]
    )
    assert cal.weekend == [5, 6]
    assert cal.holiday_dates == (date(2026, 1, 1), date(2026, 3, 20))
    assert PLAIN.weekend == [5, 6]
    assert PLAIN.utc_offset_hours == 7
    assert WorkingCalendar.model_validate_json(cal.model_dump_json()) == cal


@pytest.mark.parametrize("weekend", [[7], [-1], [0, 1, 2, 3, 4, 5, 6]])
def test_invalid_weekend_refused(weekend):
    with pytest.raises(ValidationError):
        WorkingCalendar(weekend=weekend)


def test_extra_keys_refused_and_frozen():
    with pytest.raises(ValidationError):
        WorkingCalendar(timezone="Asia/Jakarta")  # type: ignore[call-arg]
    with pytest.raises(ValidationError):
        PLAIN.utc_offset_hours = 8  # type: ignore[misc]


def test_is_working_day():
    assert is_working_day(PLAIN, date(2026, 3, 20))  # Friday, no holidays
    assert not is_working_day(PLAIN, date(2026, 3, 21))  # Saturday
    assert not is_working_day(PLAIN, date(2026, 3, 22))  # Sunday
    assert not is_working_day(DEMO_CALENDAR, date(2026, 3, 20))  # cuti bersama Idul Fitri
    assert is_working_day(DEMO_CALENDAR, date(2026, 3, 25))
    friday_weekend = WorkingCalendar(weekend=[4])
    assert not is_working_day(friday_weekend, date(2026, 3, 20))
    assert is_working_day(friday_weekend, date(2026, 3, 21))


def test_demo_holidays():
    assert len(DEMO_HOLIDAYS_2026) == 25  # 17 libur nasional + 8 cuti bersama
    assert list(DEMO_CALENDAR.holiday_dates) == sorted(DEMO_HOLIDAYS_2026)
    assert all(d.year == 2026 for d in DEMO_HOLIDAYS_2026)


def test_weekends_skipped():
    start = datetime(2026, 2, 5, 9, 0, tzinfo=WIB)  # Thursday
    # Fri 6 = 1, Mon 9 = 2, Tue 10 = 3
    assert add(PLAIN, start, wd(3)) == end_of_day_wib(2026, 2, 10)


def test_friday_afternoon_one_working_day_is_end_of_monday():
    friday = datetime(2026, 2, 6, 15, 30, tzinfo=WIB)
    due = add(PLAIN, friday, wd(1))
    assert due == end_of_day_wib(2026, 2, 9)
    assert due.tzinfo == UTC
    assert due.astimezone(WIB) == datetime(2026, 2, 9, 23, 59, 59, 999999, tzinfo=WIB)


def test_holidays_skipped():
    # Friday 13 Feb 2026; Mon 16 (cuti bersama) and Tue 17 (Imlek) do not count.
    start = datetime(2026, 2, 13, 10, 0, tzinfo=WIB)
    assert add(DEMO_CALENDAR, start, wd(1)) == end_of_day_wib(2026, 2, 18)
    assert add(PLAIN, start, wd(1)) == end_of_day_wib(2026, 2, 16)


def test_start_on_a_holiday():
    # Applying on Isra Mikraj (Friday 16 Jan 2026) is like applying on the weekend.
    start = datetime(2026, 1, 16, 8, 0, tzinfo=WIB)
    assert add(DEMO_CALENDAR, start, wd(1)) == end_of_day_wib(2026, 1, 19)
    assert add(DEMO_CALENDAR, start, wd(2)) == end_of_day_wib(2026, 1, 20)
    saturday = datetime(2026, 1, 17, 8, 0, tzinfo=WIB)
    assert add(DEMO_CALENDAR, saturday, wd(1)) == end_of_day_wib(2026, 1, 19)


def test_fourteen_working_days_across_idul_fitri_2026():
    # Monday 16 March 2026, 10:00 WIB. Counting: Tue 17 = 1; 18-24 are cuti bersama,
    # Nyepi, Idul Fitri and a weekend; 25, 26, 27, 30, 31 Mar, 1, 2 Apr = 2..8;
    # Fri 3 Apr is Wafat Yesus Kristus; 6-10 Apr = 9..13; Mon 13 Apr = 14.
    start = datetime(2026, 3, 16, 3, 0, tzinfo=UTC)
    due = add(DEMO_CALENDAR, start, wd(14))
    assert due == datetime(2026, 4, 13, 16, 59, 59, 999999, tzinfo=UTC)
    assert working_days_between(DEMO_CALENDAR, start, due) == 14
    # Without holidays 14 working days end on Friday 3 April.
    assert add(PLAIN, start, wd(14)) == end_of_day_wib(2026, 4, 3)


def test_wita_offset_moves_the_local_day():
    # 16:30 UTC on Friday 6 Feb is still Friday 23:30 in WIB but already Saturday
    # 00:30 in WITA: in WITA the start day is Saturday.
    at = datetime(2026, 2, 6, 16, 30, tzinfo=UTC)
    wita = WorkingCalendar(utc_offset_hours=8)
    assert add(PLAIN, at, wd(1)) == end_of_day_wib(2026, 2, 9)  # Monday
    assert add(PLAIN, at, wd(2)) == end_of_day_wib(2026, 2, 10)  # Tuesday
    # WITA: the start day is Saturday; 1 working day is Monday, 2 is Tuesday...
    assert add(wita, at, wd(1)) == datetime(2026, 2, 9, 23, 59, 59, 999999, tzinfo=WITA)
    assert add(wita, at, wd(1)) == datetime(2026, 2, 9, 15, 59, 59, 999999, tzinfo=UTC)
    # ... and Thursday 16:30 UTC is Friday in WITA, so 1 working day is Monday, not Friday.
    thursday = datetime(2026, 2, 5, 16, 30, tzinfo=UTC)
    assert add(PLAIN, thursday, wd(1)) == end_of_day_wib(2026, 2, 6)
    assert add(wita, thursday, wd(1)) == datetime(2026, 2, 9, 15, 59, 59, 999999, tzinfo=UTC)


def test_hours_and_days_ignore_weekends_and_holidays():
    friday = datetime(2026, 3, 20, 10, 0, tzinfo=UTC)  # cuti bersama, before a weekend
    assert add(DEMO_CALENDAR, friday, Duration(amount=48, unit=DurationUnit.HOURS)) == (
        datetime(2026, 3, 22, 10, 0, tzinfo=UTC)
    )
    assert add(DEMO_CALENDAR, friday, Duration(amount=3, unit=DurationUnit.DAYS)) == (
        datetime(2026, 3, 23, 10, 0, tzinfo=UTC)
    )
    assert subtract(DEMO_CALENDAR, friday, Duration(amount=6, unit=DurationUnit.HOURS)) == (
        datetime(2026, 3, 20, 4, 0, tzinfo=UTC)
    )
    assert subtract(DEMO_CALENDAR, friday, Duration(amount=2, unit=DurationUnit.DAYS)) == (
        datetime(2026, 3, 18, 10, 0, tzinfo=UTC)
    )


def test_non_utc_aware_input_is_accepted_and_result_is_utc():
    at = datetime(2026, 2, 6, 15, 30, tzinfo=WIB)
    result = add(PLAIN, at, Duration(amount=1, unit=DurationUnit.HOURS))
    assert result.tzinfo == UTC
    assert result == datetime(2026, 2, 6, 9, 30, tzinfo=UTC)


def test_naive_datetime_refused():
    naive = datetime(2026, 2, 6, 15, 30)
    with pytest.raises(ValueError, match="timezone-aware"):
        add(PLAIN, naive, wd(1))
    with pytest.raises(ValueError, match="timezone-aware"):
        add(PLAIN, naive, Duration(amount=1, unit=DurationUnit.HOURS))
    with pytest.raises(ValueError, match="timezone-aware"):
        subtract(PLAIN, naive, wd(1))
    with pytest.raises(ValueError, match="timezone-aware"):
        working_days_between(PLAIN, naive, datetime(2026, 2, 9, tzinfo=UTC))
    with pytest.raises(ValueError, match="timezone-aware"):
        working_days_between(PLAIN, datetime(2026, 2, 9, tzinfo=UTC), naive)


def test_subtract_working_days_for_reminders():
    deadline = end_of_day_wib(2026, 2, 9)  # Monday
    # One working day before: the end of Friday, so all of Monday remains.
    assert subtract(PLAIN, deadline, wd(1)) == end_of_day_wib(2026, 2, 6)
    assert subtract(PLAIN, deadline, wd(2)) == end_of_day_wib(2026, 2, 5)
    # Across Idul Fitri: 1 working day before Wed 25 March is Tue 17 March.
    assert subtract(DEMO_CALENDAR, end_of_day_wib(2026, 3, 25), wd(1)) == (
        end_of_day_wib(2026, 3, 17)
    )


def test_working_days_between():
    monday = datetime(2026, 2, 9, 9, 0, tzinfo=WIB)
    assert working_days_between(PLAIN, monday, monday) == 0
    assert working_days_between(PLAIN, monday, monday + timedelta(hours=10)) == 0
    assert working_days_between(PLAIN, monday, datetime(2026, 2, 10, 1, tzinfo=WIB)) == 1
    assert working_days_between(PLAIN, monday, datetime(2026, 2, 15, 1, tzinfo=WIB)) == 4
    assert working_days_between(PLAIN, monday, datetime(2026, 2, 16, 1, tzinfo=WIB)) == 5
    assert working_days_between(DEMO_CALENDAR, monday, datetime(2026, 2, 18, tzinfo=WIB)) == 5
    # Backwards: nothing elapsed.
    assert working_days_between(PLAIN, monday, monday - timedelta(days=10)) == 0
    # A whole year: 261 weekdays in 2026; the demo holidays on weekdays do not count.
    new_year_eve = datetime(2025, 12, 31, 12, 0, tzinfo=WIB)
    year_end = datetime(2026, 12, 31, 12, 0, tzinfo=WIB)
    weekday_holidays = sum(1 for d in DEMO_HOLIDAYS_2026 if d.weekday() < 5)
    assert working_days_between(PLAIN, new_year_eve, year_end) == 261
    assert working_days_between(DEMO_CALENDAR, new_year_eve, year_end) == 261 - weekday_holidays


def _brute_force_between(cal, start, end):
    first = start.astimezone(cal.tz).date()
    last = end.astimezone(cal.tz).date()
    n, d = 0, first + timedelta(days=1)
    while d <= last:
        n += is_working_day(cal, d)
        d += timedelta(days=1)
    return n


@pytest.mark.parametrize(
    "cal",
    [
        DEMO_CALENDAR,
        WorkingCalendar(holidays=DEMO_HOLIDAYS_2026, utc_offset_hours=9),
        WorkingCalendar(weekend=[4], holidays=DEMO_HOLIDAYS_2026, utc_offset_hours=8),
        WorkingCalendar(weekend=[], holidays=DEMO_HOLIDAYS_2026),
    ],
)
def test_add_subtract_and_between_agree(cal):
    """Property-style: over many start instants through 2026 and many N, the deadline
    is the end of a working day, exactly N working days have elapsed by it, and
    subtract takes it back to the end of a working day no later than the start's day
    from which add gives the same deadline."""
    base = datetime(2025, 12, 20, 0, 0, tzinfo=UTC)
    durations = {n: wd(n) for n in (1, 2, 3, 5, 14, 30)}
    for step in range(0, 400 * 24, 17):  # every 17 hours: all hours of the day over time
        start = base + timedelta(hours=step)
        for n, duration in durations.items():
            due = add(cal, start, duration)
            local = due.astimezone(cal.tz)
            assert (local.hour, local.minute, local.second, local.microsecond) == (
                23,
                59,
                59,
                999999,
            )
            assert is_working_day(cal, local.date())
            assert working_days_between(cal, start, due) == n
            assert working_days_between(cal, start, due - timedelta(microseconds=1)) == n
            assert working_days_between(cal, start, due + timedelta(microseconds=1)) >= n
            back = subtract(cal, due, duration)
            assert back.astimezone(cal.tz).date() <= start.astimezone(cal.tz).date()
            assert add(cal, back, duration) == due
            assert working_days_between(cal, back, due) == n
            assert is_working_day(cal, back.astimezone(cal.tz).date())
        if step % 3 == 0:
            end = start + timedelta(days=step % 97)
            assert working_days_between(cal, start, end) == _brute_force_between(cal, start, end)
