"""The counter queue end to end on the real stack: a location, check-in with the QR
ticket (a forged one refused with its message), walk-ins, calls in the explained order,
served and missed, the hall's display, the citizen's place, the figures."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from commands import locations
from commands import queue as cq
from domain import qr_ticket
from domain.appointment_events import AppointmentConfirmed, AppointmentHeld, NoShowRecorded
from domain.appointments import appointment_stream
from domain.locations import Location
from domain.slots import slot_id
from eventstore.port import NO_STREAM, NewEvent
from tests.support import Stack, run_stack

pytestmark = pytest.mark.e2e

CITIZEN = "siti@example.id"
LOCATION = Location.model_validate(
    {
        "id": "mpp-uji",
        "agency": "BWI",
        "name": "MPP Uji Banyuwangi",
        "counters": [
            {"id": "loket-1", "name": "Loket 1", "services": ["ktp-el", "akta"]},
            {"id": "loket-2", "name": "Loket 2", "services": ["akta"]},
        ],
        "hours": {str(d): [{"start": "00:00", "end": "23:59"}] for d in range(7)},
    }
)


@pytest.fixture
async def stack(dev_env, settings):
    async with run_stack(dev_env, settings) as s:
        yield s


def book(s: Stack, start: datetime, step: str = "rekam_biometrik") -> str:
    """A confirmed appointment of the citizen's application step at the location, as the
    booking commands leave it; answers its QR ticket."""
    appointment = f"BWI-2026-000001.{step}"
    slot = slot_id(LOCATION.id, "ktp-el", start)
    held = AppointmentHeld(
        appointment_id=appointment, application_id="BWI-2026-000001", step=step,
        citizen=CITIZEN, agency="BWI", location_id=LOCATION.id, service_id="ktp-el",
        slot_id=slot, start=start, end=start + timedelta(minutes=15), time_zone="WIB",
        hold_until=start,
    )  # fmt: skip
    confirmed = AppointmentConfirmed(appointment_id=appointment, by=CITIZEN)
    s.store.append(
        appointment_stream(appointment),
        [NewEvent(uuid.uuid4(), e.TYPE, e.payload()) for e in (held, confirmed)],
        NO_STREAM,
    )
    payload = qr_ticket.TicketPayload(
        appointment_id=appointment, location_id=LOCATION.id, slot_id=slot
    )
    return qr_ticket.issue(s.settings.ticket_secret(), payload)


async def post(s: Stack, path: str, headers: dict[str, str], body: Any = None) -> Any:
    r = await s.http.post(path, json=body, headers=headers)
    assert r.status_code in (200, 201), r.text
    return r.json()


async def test_check_in_walk_ins_calls_display_place_and_figures(stack: Stack) -> None:
    s = stack
    locations.define(s.store, LOCATION, "admin@banyuwangikab.go.id")
    officer = await s.token("budi@banyuwangikab.go.id", "officer", "BWI")
    citizen = await s.token(CITIZEN, "citizen")
    ticket = book(s, datetime.now(UTC) + timedelta(minutes=20))

    # A forged ticket (a character changed, or signed with another key) is refused.
    forged = ticket[:-2] + ("AA" if not ticket.endswith("AA") else "BB")
    other_key = qr_ticket.issue(b"k" * 32, qr_ticket.read(s.settings.ticket_secret(), ticket))
    for bad in (forged, other_key, "bukan tiket"):
        r = await s.http.post("/counter/check-in", json={"ticket": bad}, headers=officer)
        assert r.status_code == 422, r.text
        assert "this QR ticket is not valid here" in r.json()["detail"]
    # Another agency's officer does not see the location.
    stranger = await s.token("petugas@jemberkab.go.id", "officer", "JMB")
    r = await s.http.post("/counter/check-in", json={"ticket": ticket}, headers=stranger)
    assert r.status_code == 404, r.text

    checked = await post(s, "/counter/check-in", officer, {"ticket": ticket})
    assert (checked["number"], checked["kind"], checked["late"]) == ("J001", "appointment", False)
    again = await post(s, "/counter/check-in", officer, {"ticket": ticket})
    assert again["number"] == "J001" and again["position"] is None
    events = [e.type for e in s.store.read_stream(appointment_stream(checked["appointment_id"]))]
    assert events.count("CitizenCheckedIn") == 1

    # Walk-ins, one of them elderly.
    a1 = await post(s, f"/queue/{LOCATION.id}/tickets", officer, {"service_id": "ktp-el"})
    p1 = await post(s, f"/queue/{LOCATION.id}/tickets", officer,
                    {"service_id": "ktp-el", "priority": "elderly"})  # fmt: skip
    assert (a1["number"], p1["number"]) == ("A001", "P001")
    r = await s.http.get(a1["slip_url"])
    assert r.status_code == 200 and "A001" in r.text and "Nomor antrean Anda" in r.text
    r = await s.http.post(f"/queue/{LOCATION.id}/tickets", json={"service_id": "paspor"},
                          headers=officer)  # fmt: skip
    assert r.status_code == 422 and "no counter of MPP Uji Banyuwangi serves" in r.text

    # A kiosk of the agency takes a number with its device key; without one, 401.
    admin = await s.token("admin@banyuwangikab.go.id", "agency_admin", "BWI")
    kiosk = await post(s, "/agencies/BWI/kiosks", admin, {"label": "Kios aula"})
    url = f"/queue/{LOCATION.id}/kiosk-tickets"
    a2 = await post(s, url, {"X-Kiosk-Key": kiosk["device_key"]}, {"service_id": "akta"})
    assert a2["number"] == "A002"
    r = await s.http.post(url, json={"service_id": "akta"}, headers=officer)
    assert r.status_code == 401, r.text

    # The citizen's place: the appointment waits until its time, behind the walk-ins.
    (mine,) = (await s.http.get("/me/queue", headers=citizen)).json()
    assert (mine["number"], mine["status"], mine["place"]) == ("J001", "waiting", 4)
    assert mine["estimated_wait_minutes"] is not None

    # Calls in the explained order: priority, then arrival, then the appointment early
    # because no one else waits.
    url = f"/queue/{LOCATION.id}/counters/loket-1/call"
    first = await post(s, url, officer)
    assert first["called"]["number"] == "P001"
    assert "kelompok prioritas (lansia)" in first["reason"]
    assert first["passed_over"] == ["A001"]
    await post(s, f"/queue/{LOCATION.id}/tickets/P001/served", officer)
    second = await post(s, url, officer)
    assert second["called"]["number"] == "A001" and "urutan kedatangan" in second["reason"]
    await post(s, f"/queue/{LOCATION.id}/tickets/A001/missed", officer)
    akta = await post(s, f"/queue/{LOCATION.id}/counters/loket-2/call", officer)
    assert akta["called"]["number"] == "A002"
    await post(s, f"/queue/{LOCATION.id}/tickets/A002/served", officer)
    third = await post(s, url, officer)
    assert third["called"]["number"] == "J001"
    assert "sebelum jadwalnya" in third["reason"]
    nobody = await post(s, url, officer)
    assert nobody["called"] is None and "no one is waiting" in nobody["message"]

    # The hall shows the called number at its counter; the citizen sees where to go.
    r = await s.http.get(f"/public/locations/{LOCATION.id}/display")
    assert r.status_code == 200 and 'http-equiv="refresh"' in r.text
    assert "Loket 1</td><td class=nomor>J001" in r.text
    (mine,) = (await s.http.get("/me/queue", headers=citizen)).json()
    assert (mine["status"], mine["counter"]) == ("called", "loket-1")

    # (Serving an appointment's number records the visit on its application: this
    # appointment's application is made up, tests/api/test_appointment_visit_e2e.py
    # serves a real one.)
    missed = await post(s, f"/queue/{LOCATION.id}/tickets/J001/missed", officer)
    assert missed["status"] == "missed"
    r = await s.http.post(f"/queue/{LOCATION.id}/tickets/J001/served", headers=officer)
    assert r.status_code == 409 and "only a called number" in r.json()["detail"]

    # An appointment nobody came to, as its timer lists it.
    gone = NoShowRecorded(appointment_id="BWI-2026-000002.rekam_biometrik",
                          location_id=LOCATION.id, service_id="ktp-el", slot_id="s",
                          at=datetime.now(UTC))  # fmt: skip
    cq.note_no_show(s.store, LOCATION, gone)

    # The figures of the day.
    today = datetime.now(UTC).astimezone(LOCATION.tz).date().isoformat()
    r = await s.http.get("/stats/queue", params={"from": today, "to": today}, headers=officer)
    assert r.status_code == 200, r.text
    total = r.json()["figures"]["total"]
    assert (total["called"], total["served"], total["missed"]) == (4, 2, 2)
    assert total["checked_in"] == 1 and total["waiting"]["count"] == 4
    assert (total["no_shows"], total["no_show_rate"]) == (1, 0.5)
    assert set(r.json()["figures"]["by_counter"]) == {"loket-1", "loket-2"}
    r = await s.http.get("/stats/queue", params={"from": "2026-01-01", "to": "2026-12-31"},
                         headers=officer)  # fmt: skip
    assert r.status_code == 422 and "at most 92 days" in r.text

    # Past the grace (15 minutes after the booked time) the check-in still counts, as a
    # walk-in: the slot's turn is lost.
    late = book(s, datetime.now(UTC) - timedelta(minutes=30), step="ambil_dokumen")
    checked = await post(s, "/counter/check-in", officer, {"ticket": late})
    assert (checked["number"], checked["kind"], checked["late"]) == ("A003", "walk_in", True)
    again = await post(s, "/counter/check-in", officer, {"ticket": late})
    assert (again["number"], again["late"]) == ("A003", True)

    # The agency's administrator sets the call order of the location.
    r = await s.http.put(f"/agencies/BWI/locations/{LOCATION.id}/queue-policy",
                         json={"max_passed_over": 2}, headers=admin)  # fmt: skip
    assert r.status_code == 200 and r.json()["policy"]["max_passed_over"] == 2
