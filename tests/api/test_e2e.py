"""End to end through the HTTP API: real Temporal dev server, real SQLite event store,
the worker, the projector and uvicorn, as `lincah up` runs them.

Set LINCAH_RECORD_HISTORIES=1 to (re)write the workflow histories under
tests/histories/ that the Replayer test replays."""

from __future__ import annotations

import asyncio
import json
import os
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
import uvicorn

from api.main import create_app
from eventstore.factory import open_event_store
from eventstore.port import EventStore
from lincah.settings import TaskQueues, TemporalSettings
from lincah.worker import build_worker
from projections.projector import Projector
from projections.readmodels import ReadModels

pytestmark = pytest.mark.e2e

HISTORIES = Path(__file__).resolve().parents[1] / "histories"
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


class Stack:
    def __init__(self, base: str, store: EventStore, models: ReadModels):
        self.base = base
        self.store = store
        self.models = models
        self.http = httpx.AsyncClient(base_url=base, timeout=30)

    async def token(self, subject: str, role: str, agency: str | None = None) -> dict:
        r = await self.http.post(
            "/auth/dev-token", json={"subject": subject, "role": role, "agency": agency}
        )
        assert r.status_code == 200, r.text
        return {"Authorization": f"Bearer {r.json()['access_token']}"}


@pytest.fixture(params=["sqlite", "postgres"])
def eventstore_backend(request, tmp_path):
    """(kind, url) of the event store the stack runs on: every e2e test runs on both."""
    if request.param == "sqlite":
        yield "sqlite", str(tmp_path / "var" / "events.db")
    else:
        with request.getfixturevalue("postgres_cluster").fresh_schema() as url:
            yield "postgres", url


@pytest.fixture
async def stack(dev_env, settings, tmp_path, eventstore_backend):
    kind, url = eventstore_backend
    settings = settings.model_copy(
        update={
            "temporal": TemporalSettings(
                address=dev_env.client.service_client.config.target_host,
                task_queues=TaskQueues(applications=f"tq-{uuid.uuid4()}"),
            ),
            "eventstore": kind,
            "eventstore_url": url,
        }
    )
    store = open_event_store(settings.eventstore, settings.eventstore_location)
    models = ReadModels(settings.readmodel_location)
    stop = threading.Event()
    projector = threading.Thread(target=Projector(store, models).run_forever, args=(stop,))
    projector.start()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings), host="127.0.0.1", port=settings.api_port, log_level="warning"
        )
    )
    api = threading.Thread(target=server.run)
    api.start()
    while not server.started:
        await asyncio.sleep(0.02)
    executor = ThreadPoolExecutor(8)
    worker = build_worker(
        dev_env.client, store, settings.temporal.task_queues.applications, executor
    )
    s = Stack(f"http://127.0.0.1:{settings.api_port}", store, models)
    async with worker:
        yield s
    await s.http.aclose()
    server.should_exit = True
    api.join(10)
    stop.set()
    projector.join(10)
    executor.shutdown()
    store.close()


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
    r = await s.http.get("/me/notifications", headers=siti)
    assert "Siti Aminah has been issued" in r.json()[0]["message"]

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
    r = await s.http.get("/applications/BWI-2026-000001?min_position=999999", headers=siti)
    assert r.status_code == 504 and "retry" in r.json()["detail"]

    # Rebuilding from position 0 gives identical read models.
    assert s.models.wait_for(s.store.head_position(), 5)
    fresh = ReadModels(Path(s.models.path).with_name("rebuilt.db"))
    Projector(s.store, fresh).rebuild()
    assert fresh.dump() == s.models.dump()

    if os.environ.get("LINCAH_RECORD_HISTORIES"):
        await record_histories(dev_env.client, app_id, app2, app3)


async def record_histories(client, *workflow_ids: str) -> None:
    HISTORIES.mkdir(exist_ok=True)
    for name, wid in zip(
        ["domisili-approved", "domisili-rejected", "izin-praktik-site-visit-approved"],
        workflow_ids,
        strict=True,
    ):
        history = await client.get_workflow_handle(wid).fetch_history()
        (HISTORIES / f"{name}.json").write_text(json.dumps(json.loads(history.to_json()), indent=1))


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
