"""Slots: sized from the handling time and the officers' share, inside opening hours."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.calendar import NATIONAL_CALENDAR
from domain.locations import Location
from domain.refusals import Invalid
from domain.slots import (
    MAX_HORIZON_DAYS,
    generate,
    service_share,
    slot_at,
    slot_id,
    slot_shape,
    slot_stream,
)

MONDAY = date(2026, 1, 5)
MIN = timedelta(minutes=1)


def location(counters, bookable_percent: int = 100, time_zone: str = "WIB") -> Location:
    return Location.model_validate(
        {
            "id": "mpp-bwi",
            "agency": "BWI",
            "name": "MPP Banyuwangi",
            "time_zone": time_zone,
            "bookable_percent": bookable_percent,
            "counters": [
                {"id": str(i), "name": f"Loket {i}", "services": s, "officers": n}
                for i, (s, n) in enumerate(counters, 1)
            ],
            "hours": {
                str(d): [{"start": "08:00", "end": "12:00"}, {"start": "13:00", "end": "15:00"}]
                for d in range(5)
            },
        }
    )


def test_two_officers_give_fifteen_minute_slots_for_two():
    loc = location([(["ktp-el"], 2)])
    slots = generate(loc, NATIONAL_CALENDAR, "ktp-el", 15 * MIN, MONDAY, 1)
    assert len(slots) == 16 + 8  # 08-12 and 13-15
    assert {s.capacity for s in slots} == {2}
    first = slots[0]
    assert (first.start, first.end) == (
        datetime(2026, 1, 5, 1, tzinfo=UTC),
        datetime(2026, 1, 5, 1, 15, tzinfo=UTC),
    )
    assert first.id == "mpp-bwi.ktp-el.20260105T0100Z"
    assert slot_stream(first.id) == "slot-mpp-bwi.ktp-el.20260105T0100Z"
    assert slots[16].start == datetime(2026, 1, 5, 6, tzinfo=UTC)  # after the lunch break


def test_a_shared_officer_stretches_the_slots_instead_of_overpromising():
    # One officer serving three services: each gets a booking every 3 x 20 minutes.
    loc = location([(["a-a", "b-b", "c-c"], 1)])
    assert service_share(loc, "a-a") * 3 == 1
    assert slot_shape(loc, "a-a", 20 * MIN) == (60 * MIN, 1)
    # Half the time kept for walk-ins halves the places.
    assert slot_shape(location([(["ktp-el"], 4)], bookable_percent=50), "ktp-el", 10 * MIN) == (
        10 * MIN,
        2,
    )
    # Shares add up over counters: 1/2 + 1 = 1.5 officers, so one place per slot.
    assert slot_shape(location([(["kia", "akta"], 1), (["kia"], 1)]), "kia", 10 * MIN) == (
        10 * MIN,
        1,
    )


def test_a_slot_that_would_run_past_closing_is_left_out():
    loc = location([(["ktp-el"], 1)])
    slots = generate(loc, NATIONAL_CALENDAR, "ktp-el", 50 * MIN, MONDAY, 1)
    assert [s.start.astimezone(loc.tz).strftime("%H:%M") for s in slots] == [
        "08:00",
        "08:50",
        "09:40",
        "10:30",
        "13:00",
        "13:50",
    ]


def test_no_slots_where_the_service_is_not_served_or_not_bookable():
    assert generate(location([(["kia"], 1)]), NATIONAL_CALENDAR, "ktp-el", 10 * MIN, MONDAY) == []
    assert generate(location([(["kia"], 1)], 0), NATIONAL_CALENDAR, "kia", 10 * MIN, MONDAY) == []


def test_no_slots_on_holidays_and_weekends():
    loc = location([(["kia"], 1)])
    week = generate(loc, NATIONAL_CALENDAR, "kia", 60 * MIN, date(2026, 3, 16), 14)
    days = {s.start.astimezone(loc.tz).date() for s in week}
    assert date(2026, 3, 19) not in days  # Nyepi
    assert date(2026, 3, 20) not in days and date(2026, 3, 23) not in days  # cuti bersama
    assert all(d.weekday() < 5 for d in days)
    assert date(2026, 3, 16) in days


def test_bounds_and_notice():
    loc = location([(["kia"], 1)])
    with pytest.raises(Invalid, match="1 to 60 days"):
        generate(loc, NATIONAL_CALENDAR, "kia", 10 * MIN, MONDAY, MAX_HORIZON_DAYS + 1)
    with pytest.raises(Invalid, match="at most 2000 slots"):
        generate(loc, NATIONAL_CALENDAR, "kia", 10 * MIN, MONDAY, limit=2001)
    with pytest.raises(Invalid, match="between 1 minute and 8 hours"):
        generate(loc, NATIONAL_CALENDAR, "kia", 9 * 60 * MIN, MONDAY)
    assert len(generate(loc, NATIONAL_CALENDAR, "kia", MIN, MONDAY, 60, limit=100)) == 100
    later = generate(
        loc,
        NATIONAL_CALENDAR,
        "kia",
        30 * MIN,
        MONDAY,
        1,
        not_before=datetime(2026, 1, 5, 7, tzinfo=UTC),
    )
    assert [s.start for s in later] == [
        datetime(2026, 1, 5, 7, tzinfo=UTC),
        datetime(2026, 1, 5, 7, 30, tzinfo=UTC),
    ]


def test_a_slot_is_found_again_by_its_start():
    loc = location([(["kia"], 2)], time_zone="WITA")
    slots = generate(loc, NATIONAL_CALENDAR, "kia", 20 * MIN, MONDAY, 1)
    assert slot_at(loc, NATIONAL_CALENDAR, "kia", 20 * MIN, slots[5].start) == slots[5]
    assert slot_at(loc, NATIONAL_CALENDAR, "kia", 20 * MIN, slots[5].start + MIN) is None
    assert slot_id("mpp-bwi", "kia", slots[5].start) == slots[5].id
    assert slots[0].time_zone == "WITA"


@settings(max_examples=150, deadline=None)
@given(
    officers=st.lists(st.integers(1, 5), min_size=1, max_size=4),
    sharing=st.lists(st.integers(1, 4), min_size=4, max_size=4),
    percent=st.integers(1, 100),
    minutes=st.integers(1, 240),
)
def test_booked_time_never_exceeds_the_officers_time(officers, sharing, percent, minutes):
    """Summed over every service of the location, a fully booked day never needs more
    officer time than the counters have (times the bookable share)."""
    counters = [([f"s{k}-x" for k in range(sharing[i])], n) for i, n in enumerate(officers)]
    loc = location(counters, percent)
    services = sorted({s for c, _ in counters for s in c})
    booked = sum(
        (
            s.capacity * minutes * MIN
            for svc in services
            for s in generate(loc, NATIONAL_CALENDAR, svc, minutes * MIN, MONDAY, 1)
        ),
        timedelta(0),
    )
    open_time = 6 * 60 * MIN * sum(officers) * percent / 100
    assert booked <= open_time
    for svc in services:
        for s in generate(loc, NATIONAL_CALENDAR, svc, minutes * MIN, MONDAY, 1):
            assert s.end - s.start >= minutes * MIN
