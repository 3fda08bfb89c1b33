"""Issue 15's acceptance, end to end on the real parts (Temporal's dev server, the
application worker, the projector, the notifier with its appointment sweeper, the
SQLite event store, an SMTP server): a citizen applies, the flow reaches an
``appointment`` step, she books a slot, is reminded by e-mail, checks in at the counter
with the QR ticket, is called, served, and her flow goes on. In the same hall a walk-in
comes for his application without booking and is served too, and a third citizen never
comes: the officer records the no-show and his flow takes the step's no-show exit.

(The concurrent-booking test is tests/commands/test_appointments.py; the M/M/c check of
the simulation, tests/domain/test_queue_simulation.py.)"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from accounts.registry import Registry
from lincah.demo import DOMISILI
from tests.accounts.conftest import Inbox, smtp  # noqa: F401 - fixture
from tests.api.test_appointments import mail_with_subject, stack  # noqa: F401 - fixture
from tests.api.test_e2e import SITI, apply, publish
from tests.support import Stack

pytestmark = pytest.mark.e2e

ALL_DAY = [{"start": "00:00", "end": "23:59"}]
VISIT = {
    "kind": "appointment",
    "id": "cocokkan_dokumen",
    "name": "Pencocokan dokumen asli",
    "purpose": "Membawa KTP dan KK asli ke loket",
    "deadline": {"amount": 10, "unit": "working_days"},
    "next": "notify_issued",
    "no_show": "notify_refused",
}


def _with_visit(definition: dict[str, Any]) -> dict[str, Any]:
    """The Domisili flow whose review is a visit to the counter: the officer checks
    the originals there."""
    steps = [dict(s) for s in definition["steps"] if s["id"] != "verify_residence"]
    steps[0]["next"] = VISIT["id"]
    return {**definition, "steps": [steps[0], VISIT, *steps[1:]]}


async def _post(s: Stack, path: str, headers: dict[str, str], body: Any = None) -> Any:
    r = await s.http.post(path, json=body, headers=headers)
    assert r.status_code in (200, 201), r.text
    return r.json()


async def test_booked_walk_in_and_no_show_visits_move_their_flows(
    stack: Stack,  # noqa: F811 - the fixture imported above
    smtp: tuple[Inbox, int],  # noqa: F811
) -> None:
    s = stack
    service = _with_visit(DOMISILI)
    admin = await s.token("admin@banyuwangikab.go.id", "agency_admin", "BWI")
    officer = await s.token("budi@banyuwangikab.go.id", "officer", "BWI")
    account = Registry(s.store, s.settings).register(
        SITI["nik"], "Siti Aminah", "siti@example.id", "+6281234567890", "kata-sandi-uji-2026"
    )
    siti = await s.token(account.account_id, "citizen")
    agus = await s.token("agus@example.id", "citizen")
    rahmat = await s.token("rahmat@example.id", "citizen")

    # The hall: one counter for the service, open all day.
    location = {
        "name": "MPP Banyuwangi",
        "counters": [{"id": "loket-1", "name": "Loket 1", "services": [service["id"]]}],
        "hours": {str(d): ALL_DAY for d in range(7)},
    }
    r = await s.http.put("/agencies/BWI/locations/mpp-bwi", json=location, headers=admin)
    assert r.status_code == 200, r.text
    await publish(s, service)

    # Three applications reach the visit.
    apps = {}
    for name, who in (("siti", siti), ("agus", agus), ("rahmat", rahmat)):
        submitted = await apply(s, who, service["id"], SITI)
        apps[name] = submitted["application_id"]
        view = (
            await s.http.get(
                f"/me/applications/{apps[name]}?min_position={submitted['position']}",
                headers=who,
            )
        ).json()
        assert view["status"] == "awaiting_visit", view
        [asked] = view["waiting_for_you"]
        assert asked["kind"] == "visit" and asked["purpose"] == VISIT["purpose"], asked

    # Siti books the first slot she may (half an hour ahead at the soonest), confirms,
    # and gets her QR ticket; check-in opens an hour before it, so she can come now.
    r = await s.http.get(f"/public/locations/mpp-bwi/slots?service={service['id']}&days=2")
    assert r.status_code == 200, r.text
    now = datetime.now(UTC)
    slot = r.json()[0]
    assert datetime.fromisoformat(slot["start"]) < now + timedelta(hours=1), slot
    booking = {"application_id": apps["siti"], "step": VISIT["id"], "slot_id": slot["id"]}
    held = await _post(s, "/me/appointments", siti, booking)
    confirmed = await _post(s, f"/me/appointments/{held['appointment_id']}/confirm", siti)
    ticket = confirmed["qr_ticket"]
    assert ticket
    # Only a step waiting for a visit takes an appointment.
    r = await s.http.post(
        "/me/appointments", json={**booking, "step": "notify_issued"}, headers=siti
    )
    assert r.status_code == 409 and "does not wait for a visit" in r.text

    # The reminder reaches her by e-mail (the visit is within a day).
    body = await mail_with_subject(smtp[0], f"Pengingat: kunjungan {confirmed['when']}")
    assert apps["siti"] in body

    # At the counter: she checks in with the QR ticket; Agus walks in for his
    # application without a booking; Rahmat does not come.
    checked = await _post(s, "/counter/check-in", officer, {"ticket": ticket})
    assert checked["kind"] == "appointment" and checked["late"] is False
    walk_in = await _post(
        s,
        "/queue/mpp-bwi/tickets",
        officer,
        {"service_id": service["id"], "application_id": apps["agus"], "step": VISIT["id"]},
    )
    assert walk_in["kind"] == "walk_in"
    r = await s.http.post(
        "/queue/mpp-bwi/tickets",
        json={"service_id": service["id"], "application_id": apps["agus"], "step": "x"},
        headers=officer,
    )
    assert r.status_code == 409, r.text

    # Called in the explained order: the walk-in first (her slot is still ahead), then
    # her, early, since no one else waits; each served, each flow goes on.
    call = "/queue/mpp-bwi/counters/loket-1/call"
    for expected, name, who in (
        (walk_in["number"], "agus", agus),
        (checked["number"], "siti", siti),
    ):
        called = await _post(s, call, officer)
        assert called["called"]["number"] == expected, called
        assert called["reason"]
        # The hall's display shows the number called to the counter.
        r = await s.http.get("/public/locations/mpp-bwi/display")
        assert r.status_code == 200 and expected in r.text
        served = await _post(s, f"/queue/mpp-bwi/tickets/{expected}/served", officer)
        assert served["status"] == "served"
        done = await s.until(
            f"/me/applications/{apps[name]}", who, lambda b: b["status"] == "approved"
        )
        said = [e["text"] for e in done["timeline"]]
        assert any(VISIT["name"] in t for t in said), said
    nobody = await _post(s, call, officer)
    assert nobody["called"] is None

    # Rahmat never came: the officer records the no-show; his flow takes the exit.
    r = await s.http.post(
        f"/applications/{apps['rahmat']}/visits/{VISIT['id']}",
        json={"outcome": "no_show", "note": "Tidak datang sampai batas waktu"},
        headers=officer,
    )
    assert r.status_code == 200, r.text
    await s.until(f"/me/applications/{apps['rahmat']}", rahmat, lambda b: b["status"] == "rejected")

    # The day's figures: two called, both served, one of them checked in by appointment.
    today = (datetime.now(UTC) + timedelta(hours=7)).date()  # the hall's day (WIB)
    days = {"from": today.isoformat(), "to": today.isoformat()}
    r = await s.http.get("/stats/queue", params=days, headers=officer)
    assert r.status_code == 200, r.text
    total = r.json()["figures"]["total"]
    assert (total["called"], total["served"], total["checked_in"]) == (2, 2, 1), total
