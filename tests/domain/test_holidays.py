"""The national calendar (libur nasional and cuti bersama of the 2026 SKB 3 Menteri) that
every agency's calendar starts from, and calendars stored before holidays had kinds."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime

from domain.calendar import (
    NATIONAL_CALENDAR,
    HolidayKind,
    HolidaySource,
    WorkingCalendar,
    add,
    effective,
    is_working_day,
    regional_part,
)
from domain.definition import Duration, DurationUnit

KINDS = {h.date: h.kind for h in NATIONAL_CALENDAR.holidays}


def test_the_2026_skb_has_17_libur_nasional_and_8_cuti_bersama():
    counts = Counter(h.kind for h in NATIONAL_CALENDAR.holidays)
    assert counts == {HolidayKind.LIBUR_NASIONAL: 17, HolidayKind.CUTI_BERSAMA: 8}
    assert all(h.source == HolidaySource.NATIONAL and h.name for h in NATIONAL_CALENDAR.holidays)
    assert all(h.date.year == 2026 for h in NATIONAL_CALENDAR.holidays)


def test_a_few_dates_and_their_kinds():
    assert KINDS[date(2026, 1, 1)] == HolidayKind.LIBUR_NASIONAL
    assert KINDS[date(2026, 3, 21)] == KINDS[date(2026, 3, 22)] == HolidayKind.LIBUR_NASIONAL
    for cuti in [date(2026, 3, 20), date(2026, 3, 23), date(2026, 3, 24), date(2026, 12, 24)]:
        assert KINDS[cuti] == HolidayKind.CUTI_BERSAMA, cuti
    assert KINDS[date(2026, 8, 17)] == HolidayKind.LIBUR_NASIONAL
    assert date(2026, 3, 25) not in KINDS


def three_working_days_from(cal: WorkingCalendar, start: datetime) -> datetime:
    return add(cal, start, Duration(amount=3, unit=DurationUnit.WORKING_DAYS))


def end_of_day_wib(y: int, m: int, d: int) -> datetime:
    return datetime(y, m, d, 16, 59, 59, 999999, tzinfo=UTC)


def test_an_agency_without_a_calendar_skips_idul_fitri():
    tuesday = datetime(2026, 3, 17, 2, 0, tzinfo=UTC)  # 09:00 WIB
    # Plain weekends only, as before: Nyepi and the Lebaran days would be worked.
    assert three_working_days_from(WorkingCalendar(), tuesday) == end_of_day_wib(2026, 3, 20)
    # Nyepi (18-19, cuti bersama and holiday), Idul Fitri (20-24): due Friday 27 March.
    assert three_working_days_from(effective(WorkingCalendar()), tuesday) == end_of_day_wib(
        2026, 3, 27
    )


def test_regional_holidays_add_to_the_national_ones():
    hari_jadi = {"date": "2026-12-18", "name": "Hari Jadi Banyuwangi", "kind": "libur_daerah"}
    cal = effective(WorkingCalendar(holidays=[hari_jadi], utc_offset_hours=8))
    assert len(cal.holidays) == 26 and cal.utc_offset_hours == 8
    by_date = {h.date: h for h in cal.holidays}
    assert by_date[date(2026, 12, 18)].source == HolidaySource.REGIONAL
    assert by_date[date(2026, 12, 18)].name == "Hari Jadi Banyuwangi"
    assert by_date[date(2026, 12, 25)].source == HolidaySource.NATIONAL
    assert not is_working_day(cal, date(2026, 12, 18))
    assert not is_working_day(cal, date(2026, 12, 24))


def test_old_stored_calendars_of_plain_dates_still_load():
    # The shape stored (and recorded in workflow inputs) before holidays had kinds,
    # listing national days itself.
    stored = {"weekend": [5, 6], "holidays": ["2026-12-25", "2026-07-01"], "utc_offset_hours": 7}
    cal = WorkingCalendar.model_validate(stored)
    assert cal.holiday_dates == (date(2026, 7, 1), date(2026, 12, 25))
    assert not is_working_day(cal, date(2026, 7, 1))
    merged = effective(cal)
    assert len(merged.holidays) == 26  # 25 national; 25 December once, as the national one
    assert {h.date: h.source for h in merged.holidays}[date(2026, 12, 25)] == "national"
    assert WorkingCalendar.model_validate_json(merged.model_dump_json()) == merged


def test_what_an_agency_stores_is_its_regional_part():
    # A calendar read with GET and sent back with PUT stores only the regional days.
    shown = effective(WorkingCalendar(holidays=[date(2026, 7, 1)], weekend=[6]))
    stored = regional_part(shown)
    assert stored.holiday_dates == (date(2026, 7, 1),) and stored.weekend == [6]
    assert effective(stored) == shown
