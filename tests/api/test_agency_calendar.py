"""An agency's working calendar over HTTP: the national holidays and cuti bersama for an
agency that has set none, each with its kind and source; PUT stores only the regional
additions, in the old plain-date shape too."""

from __future__ import annotations

from collections import Counter

import pytest

from domain import events as ev
from tests.support import Stack, run_stack

pytestmark = pytest.mark.e2e


@pytest.fixture
async def stack(dev_env, settings):
    async with run_stack(dev_env, settings) as s:
        yield s


async def test_the_national_calendar_is_every_agencys_default_and_regional_days_add(
    stack: Stack,
) -> None:
    s = stack
    admin = await s.token("admin@banyuwangikab.go.id", "agency_admin", "BWI")
    officer = await s.token("budi@banyuwangikab.go.id", "officer", "BWI")

    shown = (await s.http.get("/agencies/BWI/calendar", headers=officer)).json()
    assert Counter((h["kind"], h["source"]) for h in shown["holidays"]) == {
        ("libur_nasional", "national"): 17,
        ("cuti_bersama", "national"): 8,
    }
    idul_fitri = [h for h in shown["holidays"] if h["date"] == "2026-03-21"]
    assert idul_fitri == [
        {
            "date": "2026-03-21",
            "name": "Hari Raya Idul Fitri 1447 H",
            "kind": "libur_nasional",
            "source": "national",
        }
    ]

    # The old shape: plain dates, one of them national (Natal), one regional.
    calendar = {"weekend": [5, 6], "holidays": ["2026-12-25", "2026-12-18"]}
    r = await s.http.put("/agencies/BWI/calendar", json=calendar, headers=admin)
    assert r.status_code == 200, r.text
    assert r.json()["holidays"] == 26 and r.json()["regional_holidays"] == 1
    (stored,) = [
        e.data["calendar"]
        for e in s.store.read_stream(ev.agency_stream("BWI"))
        if e.type == ev.AGENCY_CALENDAR_SET
    ]
    assert [h["date"] for h in stored["holidays"]] == ["2026-12-18"]

    shown = (await s.http.get("/agencies/BWI/calendar", headers=officer)).json()
    by_date = {h["date"]: h for h in shown["holidays"]}
    assert len(by_date) == 26
    assert by_date["2026-12-18"]["source"] == "regional"
    assert by_date["2026-12-18"]["kind"] == "libur_daerah"
    assert by_date["2026-12-25"]["source"] == "national"

    # What GET shows, sent back with a named regional holiday, stores the regional days.
    shown["holidays"].append(
        {"date": "2026-10-12", "name": "Hari Jadi Provinsi Jawa Timur", "kind": "libur_daerah"}
    )
    r = await s.http.put("/agencies/BWI/calendar", json=shown, headers=admin)
    assert r.status_code == 200, r.text
    assert r.json()["regional_holidays"] == 2
