"""Smoke test of the designer's first page with Streamlit's AppTest: without an API, and
against a real API (uvicorn in a thread) seeded with the demo services."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from streamlit.testing.v1 import AppTest

from api.main import create_app
from eventstore.factory import open_event_store
from lincah import demo
from lincah.settings import Settings
from projections.projector import Projector
from projections.readmodels import ReadModels

APP = Path(__file__).resolve().parents[2] / "designer" / "app.py"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def api_url(tmp_path: Path) -> Iterator[str]:
    """A real API on a free port over a temporary var/, with the demo services seeded and
    projected (no Temporal: the catalogue needs only the event store and read models)."""
    settings = Settings(var_dir=tmp_path / "var", jwt_secret="x" * 40, api_port=free_port())
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings), host="127.0.0.1", port=settings.api_port, log_level="warning"
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 15
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "the API did not start"
            time.sleep(0.02)
        base = f"http://127.0.0.1:{settings.api_port}"
        assert sorted(demo.seed(base)) == sorted(s["id"] for s in demo.SERVICES)
        store = open_event_store("sqlite", settings.eventstore_location)
        models = ReadModels(settings.readmodel_location)
        try:
            assert Projector(store, models).catch_up() > 0
        finally:
            models.close()
            store.close()
        yield base
    finally:
        server.should_exit = True
        thread.join(10)


def test_without_an_api_the_page_renders_and_login_says_not_reachable(monkeypatch):
    monkeypatch.setenv("LINCAH_API_URL", f"http://127.0.0.1:{free_port()}")
    at = AppTest.from_file(str(APP), default_timeout=30).run()
    assert not at.exception
    assert any("Log in from the sidebar" in i.value for i in at.info)
    assert not at.error

    at.sidebar.button[0].click().run()
    assert not at.exception
    assert [e.value for e in at.error], "no error shown"
    assert any("not reachable" in e.value for e in at.error), [e.value for e in at.error]
    assert any("Log in from the sidebar" in i.value for i in at.info)


def test_agency_admin_sees_the_demo_catalogue(monkeypatch, api_url):
    monkeypatch.setenv("LINCAH_API_URL", api_url)
    at = AppTest.from_file(str(APP), default_timeout=30).run()
    assert not at.exception

    at.sidebar.selectbox[0].set_value("agency_admin")
    at.sidebar.button[0].click().run()
    assert not at.exception
    assert not at.error, [e.value for e in at.error]
    assert "Service catalogue (2)" in [h.value for h in at.subheader]
    labels = [e.label for e in at.expander]
    for service in demo.SERVICES:
        assert any(label.startswith(service["name"]) for label in labels), labels
    assert any("agency_admin" in c.value for c in at.sidebar.caption)
