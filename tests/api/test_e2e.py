"""End to end through the HTTP API: real Temporal dev server, real SQLite event store,
the worker, the projector and uvicorn, as `lincah up` runs them.

Set LINCAH_RECORD_HISTORIES=1 to (re)write the workflow histories under
tests/histories/ that the Replayer test replays."""

from __future__ import annotations

import asyncio

import pytest

from projections.projector import Projector
from projections.readmodels import ReadModels
from tests.support import Stack, record_histories, run_stack

pytestmark = pytest.mark.e2e

SITI = {
    "nik": "3510154808900003",
    "full_name": "Siti Aminah",
    "address": "Jl. Ahmad Yani No. 12, RT 02/RW 05",
    "kelurahan": "Penganjuran",
    "purpose": "Pembukaan rekening bank",
}
AGUS = {**SITI, "nik": "3510151203850001", "full_name": "Agus Salim", "kelurahan": "Sobo"}
NAKES = {
    "nik": "3510154808900003",
    "full_name": "dr. Siti Aminah",
    "profession": "dokter",
    "str_number": "STR-3510-2026-0042",
    "str_document": "upload:str.pdf",
    "practice_address": "Jl. Brawijaya 5",
    "years_experience": 1,
}


@pytest.fixture
async def stack(dev_env, settings, eventstore_backend):
    kind, url = eventstore_backend
    on_backend = settings.model_copy(update={"eventstore": kind, "eventstore_url": url})
    async with run_stack(dev_env, on_backend) as s:
        yield s


async def publish(s: Stack, definition: dict) -> int:
    admin = await s.token("admin@banyuwangikab.go.id", "agency_admin", "BWI")
    r = await s.http.post("/services", json=definition, headers=admin)
    assert r.status_code == 201, r.text
    version = r.json()["version"]
    r = await s.http.post(f"/services/{definition['id']}/versions/{version}/publish", headers=admin)
    assert r.status_code == 200, r.text
    return int(r.json()["position"])


async def apply(s: Stack, citizen: dict, service_id: str, data: dict) -> dict:
    r = await s.http.post(
        "/applications", json={"service_id": service_id, "data": data}, headers=citizen
    )
    assert r.status_code == 201, r.text
    return r.json()


async def test_applications_run_to_approved_and_rejected(
    stack: Stack, dev_env, domisili, izin_praktik
):
    s = stack
    admin = await s.token("admin@banyuwangikab.go.id", "agency_admin", "BWI")
    siti = await s.token("siti@example.id", "citizen")
    agus = await s.token("agus@example.id", "citizen")
    officer = await s.token("budi@banyuwangikab.go.id", "officer", "BWI")
    head = await s.token("kadis@banyuwangikab.go.id", "supervisor", "BWI")

    # An invalid definition is refused with every problem listed.
    broken = {
        **domisili,
        "steps": [
            *domisili["steps"][:1],
            {**domisili["steps"][1], "role": "lurah", "outcomes": {"approve": "nowhere"}},
        ],
    }
    r = await s.http.post("/services", json=broken, headers=admin)
    assert r.status_code == 422
    paths = {p["path"] for p in r.json()["problems"]}
    assert {"steps[1].role", "steps[1].outcomes.approve"} <= paths

    await publish(s, domisili)
    pos = await publish(s, izin_praktik)
    r = await s.http.post(f"/services/{domisili['id']}/versions/1/publish", headers=admin)
    assert r.status_code == 409 and "already published" in r.json()["detail"]
    r = await s.http.get(f"/services?min_position={pos}", headers=siti)
    assert {x["service_id"] for x in r.json()} == {domisili["id"], izin_praktik["id"]}

    # Bad application data: 422 with every problem, and nothing is started.
    head_before = s.store.head_position()
    r = await s.http.post(
        "/applications",
        headers=siti,
        json={
            "service_id": domisili["id"],
            "data": {**SITI, "nik": "1234", "kelurahan": "Paris", "full_name": ""},
        },
    )
    assert r.status_code == 422
    assert {p["path"] for p in r.json()["problems"]} == {
        "data.nik",
        "data.kelurahan",
        "data.full_name",
    }
    assert "1234" not in r.text  # the NIK is never echoed
    assert s.store.head_position() == head_before

    # 1. Siti applies; the officer approves; the application ends approved.
    sub = await apply(s, siti, domisili["id"], SITI)
    app_id = sub["application_id"]
    assert app_id.startswith("BWI-") and sub["status"] == "in_review"
    r = await s.http.get(f"/tasks?min_position={sub['position']}", headers=officer)
    tasks = [t for t in r.json() if t["application_id"] == app_id]
    assert [t["step"] for t in tasks] == ["verify_residence"]
    task_id = tasks[0]["task_id"]
    r = await s.http.get(f"/tasks?min_position={sub['position']}", headers=head)
    assert all(t["application_id"] != app_id for t in r.json())  # not the head's role

    r = await s.http.post(f"/tasks/{task_id}/complete", headers=head, json={"outcome": "approve"})
    assert r.status_code == 403 and "role 'officer'" in r.json()["detail"]

    # Two officers complete the same task at once: one wins, the other gets 409.
    first, second = await asyncio.gather(
        *[
            s.http.post(
                f"/tasks/{task_id}/complete",
                headers=officer,
                json={"outcome": "approve", "comment": "Alamat sesuai KK"},
            )
            for _ in range(2)
        ]
    )
    assert sorted([first.status_code, second.status_code]) == [200, 409]
    done = first if first.status_code == 200 else second
    assert done.json()["status"] == "approved"
    r = await s.http.post(f"/tasks/{task_id}/complete", headers=officer, json={"outcome": "reject"})
    assert r.status_code == 409 and "already completed" in r.json()["detail"]

    r = await s.http.get(
        f"/applications/{app_id}?min_position={done.json()['position']}", headers=siti
    )
    view = r.json()
    assert view["status"] == "approved" and view["result"] == "approved"
    assert view["current_step"] == "issued" and view["outcomes"] == {"verify_residence": "approve"}
    assert [e["type"] for e in view["timeline"]] == [
        "ApplicationSubmitted",
        "TaskAssigned",
        "TaskCompleted",
        "CitizenNotified",
        "ApplicationCompleted",
    ]
    assert view["timeline"][2]["actor"] == "budi@banyuwangikab.go.id"
    assert "Alamat sesuai KK" in view["timeline"][2]["summary"]
    r = await s.http.get(f"/me/notifications?min_position={done.json()['position']}", headers=siti)
    assert [n["kind"] for n in r.json()] == ["approved", "notice", "submitted"]
    assert "Siti Aminah has been issued" in r.json()[1]["message"]

    # 2. Agus applies; the officer rejects.
    sub2 = await apply(s, agus, domisili["id"], AGUS)
    app2 = sub2["application_id"]
    r = await s.http.post(
        f"/tasks/{app2}.verify_residence.1/complete",
        headers=officer,
        json={"outcome": "reject", "comment": "Alamat tidak ditemukan"},
    )
    assert r.status_code == 200 and r.json()["status"] == "rejected"
    r = await s.http.get(f"/applications/{app2}?min_position={r.json()['position']}", headers=agus)
    assert r.json()["status"] == "rejected"

    # 3. Izin praktik with the decision and two roles.
    sub3 = await apply(s, siti, izin_praktik["id"], NAKES)
    app3 = sub3["application_id"]
    for step, who in [
        ("document_review", officer),
        ("site_verification", officer),
        ("head_approval", head),
    ]:
        r = await s.http.post(
            f"/tasks/{app3}.{step}.1/complete", headers=who, json={"outcome": "approve"}
        )
        assert r.status_code == 200, r.text
    assert r.json()["status"] == "approved"
    final = r.json()["position"]

    # Citizens see only their own applications; the inbox holds no closed task.
    r = await s.http.get(f"/applications/{app_id}", headers=agus)
    assert r.status_code == 404
    r = await s.http.get(f"/applications?min_position={final}", headers=siti)
    assert {a["application_id"] for a in r.json()} == {app_id, app3}
    r = await s.http.get("/tasks", headers=officer)
    assert r.json() == []
    # A position no command has written yet answers at once (the 504 of a read that
    # waits too long: tests/api/test_bounds.py).
    r = await s.http.get("/applications/BWI-2026-000001?min_position=999999", headers=siti)
    assert r.status_code == 409 and "does not exist yet" in r.json()["detail"]

    # Rebuilding from position 0 gives identical read models.
    assert s.models.wait_for(s.store.head_position(), 5)
    fresh = ReadModels(s.settings.var_dir / "rebuilt.db")
    Projector(s.store, fresh).rebuild()
    assert fresh.dump() == s.models.dump()

    await record_histories(
        dev_env.client,
        {
            "domisili-approved": app_id,
            "domisili-rejected": app2,
            "izin-praktik-site-visit-approved": app3,
        },
    )


async def test_health_reports_lag_and_temporal(stack: Stack):
    r = await stack.http.get("/health")
    body = r.json()
    assert r.status_code == 200 and body["temporal"]["status"] == "ok"
    assert body["projections"]["lag_events"] >= 0


async def test_unauthenticated_and_wrong_role_are_refused(stack: Stack, domisili):
    r = await stack.http.get("/applications")
    assert r.status_code == 401
    r = await stack.http.get("/applications", headers={"Authorization": "Bearer nonsense"})
    assert r.status_code == 401 and "not valid" in r.json()["detail"]
    citizen = await stack.token("siti@example.id", "citizen")
    r = await stack.http.post("/services", json=domisili, headers=citizen)
    assert r.status_code == 403 and "agency_admin" in r.json()["detail"]
    r = await stack.http.post(
        "/applications", headers=citizen, json={"service_id": "no-such-service", "data": {}}
    )
    assert r.status_code == 404
