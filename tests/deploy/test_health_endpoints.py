"""Health, readiness and metrics endpoints without a running stack: what they answer
when a part they need is missing, and who may read the metrics."""

from __future__ import annotations

import json
import secrets
import urllib.error
import urllib.request

import httpx
import pytest

from api.main import create_app
from config.settings import Settings, TemporalSettings
from lincah.health import HealthServer
from tests.conftest import free_port
from tests.support import production_settings


def _client(settings: Settings) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(settings)), base_url="http://api"
    )


@pytest.fixture
def no_temporal(settings) -> Settings:
    return settings.model_copy(
        update={"temporal": TemporalSettings(address=f"127.0.0.1:{free_port()}")}
    )


async def test_ready_names_what_is_missing_while_health_stays_live(no_temporal):
    async with _client(no_temporal) as api:
        ready = await api.get("/ready")
        assert ready.status_code == 503  # the one error body: detail and each problem
        assert "not ready to serve" in ready.json()["detail"]
        assert any("Temporal at 127.0.0.1:" in p["message"] for p in ready.json()["problems"])
        health = await api.get("/health")
        assert health.status_code == 200 and health.json()["status"] == "degraded"


async def test_metrics_ask_for_the_metrics_token_when_one_is_set(settings):
    token = secrets.token_urlsafe(32)
    async with _client(settings.model_copy(update={"metrics_token": token})) as api:
        assert (await api.get("/metrics")).status_code == 401
        wrong = await api.get("/metrics", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401 and "metrics_token" in wrong.json()["detail"]
        ok = await api.get("/metrics", headers={"Authorization": f"Bearer {token}"})
        assert ok.status_code == 200
        assert "lincah_projection_lag_seconds" in ok.text
        # The request just answered is counted under its route template.
        again = (await api.get("/metrics", headers={"Authorization": f"Bearer {token}"})).text
        assert 'route="/metrics",status="401"' in again


async def test_production_without_a_metrics_token_keeps_metrics_closed(tmp_path):
    prod = production_settings(tmp_path)
    async with _client(prod) as api:
        r = await api.get("/metrics")
        assert r.status_code == 403 and "LINCAH_METRICS_TOKEN" in r.json()["detail"]


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as r:  # noqa: S310 - our own test URL
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def test_a_parts_health_port_reports_its_problems_and_its_shutdown():
    problems: list[str] = []
    port = HealthServer("127.0.0.1", 0, lambda: list(problems)).start()
    base = f"http://127.0.0.1:{port.port}"
    try:
        assert _get(f"{base}/ready") == (200, json.dumps({"ready": True, "problems": []}))
        problems.append("the event store cannot be read (OperationalError)")
        code, body = _get(f"{base}/ready")
        assert code == 503 and json.loads(body)["problems"] == problems
        problems.clear()
        port.stopping = True
        code, body = _get(f"{base}/ready")
        assert code == 503 and "shutting down" in body
        assert _get(f"{base}/health")[0] == 200  # alive while it finishes its work
        code, body = _get(f"{base}/metrics")
        assert code == 200 and "lincah_activity_failures_total" in body
        assert _get(f"{base}/nothing")[0] == 404
    finally:
        port.close()
