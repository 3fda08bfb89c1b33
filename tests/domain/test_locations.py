"""Locations: what an agency admin may describe, and when a location opens."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from pydantic import ValidationError

from domain.calendar import NATIONAL_CALENDAR, Holiday, WorkingCalendar, effective
from domain.locations import MAX_COUNTERS, Location, counters_for, opening

MONDAY = date(2026, 1, 5)
NYEPI = date(2026, 3, 19)  # libur nasional (a Thursday)
CUTI_BERSAMA = date(2026, 3, 23)  # cuti bersama after Idul Fitri (a Monday)


def counter(id: str = "1", services=("ktp-el",), officers: int = 1) -> dict:
    return {"id": id, "name": f"Loket {id}", "services": list(services), "officers": officers}


def building(**change) -> Location:
    raw = {
        "id": "mpp-bwi",
        "agency": "BWI",
        "name": "MPP Banyuwangi",
        "counters": [counter()],
        "hours": {
            str(d): [{"start": "08:00", "end": "12:00"}, {"start": "13:00", "end": "15:00"}]
            for d in range(5)
        },
    }
    return Location.model_validate(raw | change)


def message(error: pytest.ExceptionInfo[ValidationError]) -> str:
    return " ".join(e["msg"] for e in error.value.errors())


def test_a_building_opens_its_hours_in_its_time_zone():
    assert opening(building(), NATIONAL_CALENDAR, MONDAY) == [
        (datetime(2026, 1, 5, 1, tzinfo=UTC), datetime(2026, 1, 5, 5, tzinfo=UTC)),
        (datetime(2026, 1, 5, 6, tzinfo=UTC), datetime(2026, 1, 5, 8, tzinfo=UTC)),
    ]
    wit = opening(building(time_zone="WIT"), NATIONAL_CALENDAR, MONDAY)
    assert wit[0][0] == datetime(2026, 1, 4, 23, tzinfo=UTC)  # 08:00 WIT


def test_holidays_and_cuti_bersama_close_every_location():
    assert opening(building(), NATIONAL_CALENDAR, NYEPI) == []
    assert opening(building(), NATIONAL_CALENDAR, CUTI_BERSAMA) == []
    regional = effective(WorkingCalendar(holidays=[Holiday(date=MONDAY, name="Hari Jadi")]))
    assert opening(building(), regional, MONDAY) == []
    assert opening(building(), regional, date(2026, 1, 6)) != []


def test_the_weekend_is_the_locations_hours_not_the_calendars():
    saturday = date(2026, 1, 10)
    assert opening(building(), NATIONAL_CALENDAR, saturday) == []
    open_saturday = building(hours={"5": [{"start": "08:00", "end": "12:00"}]})
    assert len(opening(open_saturday, NATIONAL_CALENDAR, saturday)) == 1
    assert opening(open_saturday, NATIONAL_CALENDAR, MONDAY) == []


def test_a_mobile_unit_opens_at_its_stops_only():
    unit = Location.model_validate(
        {
            "id": "mpp-keliling-1",
            "agency": "BWI",
            "name": "MPP Keliling",
            "kind": "mobile",
            "time_zone": "WITA",
            "counters": [counter()],
            "route": [
                {
                    "date": "2026-01-06",
                    "place": "Kantor Desa Kemiren",
                    "hours": [{"start": "09:00", "end": "13:00"}],
                },
                {
                    "date": "2026-03-20",
                    "place": "Pasar Genteng",
                    "hours": [{"start": "09:00", "end": "13:00"}],
                },
            ],
        }
    )
    assert opening(unit, NATIONAL_CALENDAR, date(2026, 1, 6)) == [
        (datetime(2026, 1, 6, 1, tzinfo=UTC), datetime(2026, 1, 6, 5, tzinfo=UTC))
    ]
    assert opening(unit, NATIONAL_CALENDAR, MONDAY) == []  # off the route
    assert opening(unit, NATIONAL_CALENDAR, NYEPI) == []  # a holiday, stop or not
    stop = unit.stop_on(date(2026, 1, 6))
    assert stop is not None and stop.place == "Kantor Desa Kemiren"


def test_counters_for_a_service():
    loc = building(
        counters=[counter("1", ["ktp-el", "kia"]), counter("2", ["kia"]), counter("3", ["akta"])]
    )
    assert [c.id for c in counters_for(loc, "kia")] == ["1", "2"]
    assert counters_for(loc, "izin-usaha") == []
    third = loc.counter("3")
    assert third is not None and third.services == ["akta"]
    assert loc.counter("9") is None


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"hours": {"0": [{"start": "12:00", "end": "08:00"}]}}, "must end after it starts"),
        (
            {
                "hours": {
                    "0": [{"start": "08:00", "end": "12:00"}, {"start": "11:00", "end": "14:00"}]
                }
            },
            "overlap",
        ),
        (
            {
                "hours": {
                    "0": [{"start": f"{h:02d}:00", "end": f"{h:02d}:30"} for h in range(8, 13)]
                }
            },
            "at most 4",
        ),
        ({"hours": {"7": [{"start": "08:00", "end": "12:00"}]}}, "less than or equal to 6"),
        ({"hours": {}}, "needs opening hours"),
        (
            {
                "route": [
                    {
                        "date": "2026-01-06",
                        "place": "Desa",
                        "hours": [{"start": "09:00", "end": "10:00"}],
                    }
                ]
            },
            "not a route",
        ),
        ({"counters": []}, "at least 1"),
        ({"counters": [counter("1"), counter("1")]}, "share the id 1"),
        ({"counters": [counter(services=["kia", "kia"])]}, "lists a service twice: kia"),
        ({"counters": [counter(officers=0)]}, "greater than or equal to 1"),
        ({"counters": [counter(officers=21)]}, "less than or equal to 20"),
        ({"counters": [counter(str(i)) for i in range(MAX_COUNTERS + 1)]}, "at most 60"),
        ({"time_zone": "UTC"}, "'WIB', 'WITA' or 'WIT'"),
        ({"bookable_percent": 101}, "less than or equal to 100"),
        ({"kind": "mobile"}, "leave the weekly hours out"),
    ],
)
def test_what_an_admin_cannot_describe_is_refused_with_a_reason(change, says):
    with pytest.raises(ValidationError) as error:
        building(**change)
    assert says in message(error)


def test_a_mobile_unit_needs_a_route_of_one_stop_a_day():
    base = {
        "id": "keliling",
        "agency": "BWI",
        "name": "Keliling",
        "kind": "mobile",
        "counters": [counter()],
    }
    with pytest.raises(ValidationError) as error:
        Location.model_validate(base)
    assert "needs a route" in message(error)
    stop = {"date": "2026-01-06", "place": "Desa", "hours": [{"start": "09:00", "end": "10:00"}]}
    with pytest.raises(ValidationError) as error:
        Location.model_validate(base | {"route": [stop, stop]})
    assert "two stops on 2026-01-06" in message(error)
