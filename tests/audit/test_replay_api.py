"""POST /audit/applications/{id}/replay: the auditor's Temporal replay check, on the real
stack (Temporal dev server, worker, projector, uvicorn): a finished application's
history replays on today's workflow code; another agency's application is a 404 before
Temporal is asked; a history over the limit is refused; Temporal away is a truthful
503."""

from __future__ import annotations

import httpx
import pytest

from api.main import create_app
from tests.api.test_e2e import SITI
from tests.audit.test_audit import write_application
from tests.conftest import free_port
from tests.support import run_stack

pytestmark = pytest.mark.e2e


async def test_a_finished_application_replays_on_todays_code(dev_env, settings, domisili):
    async with run_stack(dev_env, settings) as s:
        admin = await s.token("admin@banyuwangikab.go.id", "agency_admin", "BWI")
        siti = await s.token("siti@example.id", "citizen")
        officer = await s.token("budi@banyuwangikab.go.id", "officer", "BWI")
        auditor = await s.token("audit@banyuwangikab.go.id", "auditor", "BWI")
        r = await s.http.post("/services", json=domisili, headers=admin)
        assert r.status_code == 201, r.text
        r = await s.http.post(f"/services/{domisili['id']}/versions/1/publish", headers=admin)
        assert r.status_code == 200, r.text
        r = await s.http.post(
            "/applications", json={"service_id": domisili["id"], "data": SITI}, headers=siti
        )
        assert r.status_code == 201, r.text
        app_id = r.json()["application_id"]
        r = await s.http.post(
            f"/tasks/{app_id}.verify_residence.1/complete",
            headers=officer,
            json={"outcome": "approve"},
        )
        assert r.status_code == 200, r.text
        assert await dev_env.client.get_workflow_handle(app_id).result() == "approved"

        r = await s.http.post(f"/audit/applications/{app_id}/replay", headers=auditor)
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["replayed"] is True and body["failure"] is None, body
        assert body["application_id"] == body["workflow_id"] == app_id
        described = await dev_env.client.get_workflow_handle(app_id).describe()
        assert body["run_id"] == described.run_id
        length = described.raw_description.workflow_execution_info.history_length
        assert body["events"] == length > 10

        # Only auditors; another agency's auditor, and an unknown number, get the same
        # 404 (nothing says the application exists).
        r = await s.http.post(f"/audit/applications/{app_id}/replay", headers=officer)
        assert r.status_code == 403
        elsewhere = await s.token("audit@jemberkab.go.id", "auditor", "JMR")
        r = await s.http.post(f"/audit/applications/{app_id}/replay", headers=elsewhere)
        assert r.status_code == 404
        assert r.json()["detail"] == f"there is no application {app_id}"
        r = await s.http.post("/audit/applications/BWI-2026-999999/replay", headers=auditor)
        assert r.status_code == 404
        assert r.json()["detail"] == "there is no application BWI-2026-999999"

        # A history longer than the API replays is refused, saying where to replay it.
        bounded = create_app(s.settings.model_copy(update={"audit_replay_max_events": 5}))
        try:
            async with httpx.AsyncClient(
                transport=httpx.ASGITransport(app=bounded), base_url="http://lincah"
            ) as http:
                r = await http.post(f"/audit/applications/{app_id}/replay", headers=auditor)
        finally:
            bounded.state.runtime.close()
        assert r.status_code == 422, r.text
        detail = r.json()["detail"]
        assert f"has {length} events, more than the 5" in detail, detail
        assert f"lincah audit replay {app_id}" in detail


async def replay_with_the_store_only(settings, tmp_path, number: int, **update):
    """POST .../replay on an API with its event store and no running stack: one
    application (``number``) written straight into the store, asked for by an auditor."""
    settings = settings.model_copy(
        update={"eventstore": "sqlite", "eventstore_url": str(tmp_path / "events.db"), **update}
    )
    app = create_app(settings)
    try:
        write_application(app.state.runtime.store, number)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://lincah"
        ) as http:
            r = await http.post(
                "/auth/dev-token",
                json={"subject": "audit@example.id", "role": "auditor", "agency": None},
            )
            auditor = {"Authorization": f"Bearer {r.json()['access_token']}"}
            return await http.post(
                f"/audit/applications/BWI-2026-{number:06d}/replay", headers=auditor
            )
    finally:
        app.state.runtime.close()


async def test_temporal_away_is_a_503_that_says_so(settings, tmp_path):
    away = f"127.0.0.1:{free_port()}"  # nothing listens there
    temporal = settings.temporal.model_copy(update={"address": away})
    r = await replay_with_the_store_only(settings, tmp_path, 7, temporal=temporal)
    assert r.status_code == 503, r.text
    assert r.headers["Retry-After"] == "5"
    assert r.json()["detail"] == (
        f"The workflow history of BWI-2026-000007 could not be replayed: Temporal at {away} "
        "is not reachable. Nothing was changed; try again in 5 seconds."
    )


async def test_replays_at_once_are_bounded(settings, tmp_path, monkeypatch):
    """Replays run in the API process: while as many as it allows are running, the next
    is told to come back (503) instead of slowing every other request."""
    import api.routers.audit as audit_routes

    monkeypatch.setattr(audit_routes, "_replays_running", audit_routes._REPLAYS_AT_ONCE)
    r = await replay_with_the_store_only(settings, tmp_path, 8)
    assert r.status_code == 503, r.text
    assert r.json()["detail"] == (
        "The workflow history of BWI-2026-000008 could not be replayed: 2 other checks are "
        "running. Nothing was changed; try again in 5 seconds."
    )
    assert audit_routes._replays_running == audit_routes._REPLAYS_AT_ONCE  # nothing leaked
