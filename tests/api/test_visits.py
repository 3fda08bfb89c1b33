"""The appointment step end to end on the real stack (API, projector, notifier, worker on
the Temporal dev server): the flow asks the citizen to come in person, the citizen sees
what is needed in their riwayat and is told, the officer at the counter records the
visit and the flow goes on; a no-show takes the step's no-show exit; another agency's
officer is answered as for an unknown application."""

from __future__ import annotations

from typing import Any

import pytest

from domain import events as ev
from lincah.demo import LEGALISIR
from tests.support import Stack, run_stack

pytestmark = pytest.mark.e2e

SERVICE = LEGALISIR["id"]
DATA = {
    "nik": "3510154808900003",
    "full_name": "Siti Aminah",
    "document_kind": "kartu_keluarga",
    "copies": 2,
}


@pytest.fixture
async def stack(dev_env, settings):
    async with run_stack(dev_env, settings) as s:
        admin = await s.token("admin@banyuwangikab.go.id", "agency_admin", "BWI")
        r = await s.http.post("/services", json=LEGALISIR, headers=admin)
        assert r.status_code == 201, r.text
        r = await s.http.post(f"/services/{SERVICE}/versions/1/publish", headers=admin)
        assert r.status_code == 200, r.text
        yield s


async def at_visit(s: Stack, citizen: dict[str, str], officer: dict[str, str]) -> dict[str, Any]:
    """Apply, and let the officer approve the copy: the flow then waits for the visit."""
    r = await s.http.post(
        "/applications", json={"service_id": SERVICE, "data": DATA}, headers=citizen
    )
    assert r.status_code in (200, 201), r.text
    app = r.json()["application_id"]
    r = await s.http.post(
        f"/tasks/{app}.check_copy.1/complete", json={"outcome": "approve"}, headers=officer
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "awaiting_visit"
    return {"application_id": app, "position": r.json()["position"]}


async def test_the_citizen_is_asked_to_come_and_the_officer_records_the_visit(stack: Stack):
    s = stack
    siti = await s.token("siti", "citizen")
    officer = await s.token("budi@banyuwangikab.go.id", "officer", "BWI")
    other_officer = await s.token("dewi@depok.go.id", "officer", "DPK")
    cashier = await s.token("kasir@banyuwangikab.go.id", "cashier", "BWI")

    first = await at_visit(s, siti, officer)
    app, pos = first["application_id"], first["position"]

    # The citizen's riwayat says what is needed, and the status says it in words.
    r = await s.http.get(f"/me/applications/{app}?min_position={pos}", headers=siti)
    assert r.status_code == 200, r.text
    mine = r.json()
    assert mine["status"] == "awaiting_visit"
    [asked] = mine["waiting_for_you"]
    assert asked == {
        "step": "show_original",
        "kind": "visit",
        "purpose": "Membawa dokumen asli untuk dicocokkan dengan salinannya",
        "locations": [],
        "due_at": asked["due_at"],
    }
    assert asked["due_at"]
    # ... and they are told (in-app, in Bahasa Indonesia).
    notes = await s.until(
        "/me/notifications",
        siti,
        lambda body: any(n["kind"] == "visit_requested" for n in body),
    )
    [note] = [n for n in notes if n["kind"] == "visit_requested"]
    assert note["application_id"] == app
    assert "silakan pilih jadwal kunjungan" in note["title"]

    visit = f"/applications/{app}/visits/show_original"
    # Another agency's officer: as for an unknown application, before anything else.
    r = await s.http.post(visit, json={"outcome": "served"}, headers=other_officer)
    assert r.status_code == 404, r.text
    assert r.json()["detail"] == f"there is no application {app} you may see"
    # The citizen and the cashier do not record visits.
    assert (await s.http.post(visit, json={"outcome": "served"}, headers=siti)).status_code == 403
    r = await s.http.post(visit, json={"outcome": "served"}, headers=cashier)
    assert r.status_code == 403
    # A step that does not wait for a visit; an outcome that is not one.
    r = await s.http.post(
        f"/applications/{app}/visits/check_copy", json={"outcome": "served"}, headers=officer
    )
    assert r.status_code == 409 and "not waiting for a visit" in r.json()["detail"], r.text
    r = await s.http.post(visit, json={"outcome": "datang"}, headers=officer)
    assert r.status_code == 422

    # Served: the flow goes on to its end; a retry with the same key answers the same.
    key = {"Idempotency-Key": "visit-served-1"}
    body = {"outcome": "served", "note": "KK asli sesuai"}
    r = await s.http.post(visit, json=body, headers={**officer, **key})
    assert r.status_code == 200, r.text
    served = r.json()
    assert served["status"] == "approved"
    again = await s.http.post(visit, json=body, headers={**officer, **key})
    assert again.status_code == 200 and again.json() == served
    r = await s.http.post(visit, json=body, headers=officer)
    assert r.status_code == 409, r.text  # without the key: the visit is already recorded

    events = [e for e in s.store.read_stream(ev.application_stream(app))]
    types = [e.type for e in events]
    assert types.count(ev.VISIT_RECORDED) == 1
    assert types[types.index(ev.APPOINTMENT_REQUESTED) :] == [
        ev.APPOINTMENT_REQUESTED,
        ev.VISIT_RECORDED,
        ev.CITIZEN_NOTIFIED,
        ev.APPLICATION_COMPLETED,
    ]
    recorded = next(e for e in events if e.type == ev.VISIT_RECORDED)
    assert recorded.data == {
        "step": "show_original",
        "outcome": "served",
        "by": "budi@banyuwangikab.go.id",
        "note": "KK asli sesuai",
    }
    r = await s.http.get(f"/me/applications/{app}?min_position={served['position']}", headers=siti)
    mine = r.json()
    assert mine["status"] == "approved" and mine["waiting_for_you"] == []
    texts = [t["text"] for t in mine["timeline"]]
    assert "Pencocokan dokumen asli: Anda telah dilayani di lokasi layanan" in texts
    assert "budi" not in r.text

    # A second application: the citizen does not come; a supervisor records the no-show.
    second = await at_visit(s, siti, officer)
    supervisor = await s.token("kadis@banyuwangikab.go.id", "supervisor", "BWI")
    r = await s.http.post(
        f"/applications/{second['application_id']}/visits/show_original",
        json={"outcome": "no_show"},
        headers=supervisor,
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "cancelled"
    r = await s.http.get(
        f"/me/applications/{second['application_id']}?min_position={r.json()['position']}",
        headers=siti,
    )
    texts = [t["text"] for t in r.json()["timeline"]]
    assert "Pencocokan dokumen asli: petugas mencatat Anda tidak hadir" in texts
    assert any("tidak datang membawa dokumen asli" in t for t in texts)
