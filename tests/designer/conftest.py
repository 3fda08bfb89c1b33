"""Fixtures for the designer: a real API (uvicorn in a thread) over a temporary var/,
with the demo services seeded; and an AppTest logged in through the sidebar. Tests that
look at texts choose the designer's language (``open_app``); ``app`` is in Indonesian."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Generator, Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from streamlit.testing.v1 import AppTest

from api.main import create_app
from config.settings import Settings
from designer.i18n import KEY as LANGUAGE_KEY
from eventstore.factory import open_event_store
from lincah import demo
from projections.projector import Projector
from projections.readmodels import ReadModels

APP = Path(__file__).resolve().parents[2] / "designer" / "app.py"
ADMIN = "admin@banyuwangikab.go.id"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Projecting:
    """Runs the projector in a thread so the API's reads follow its writes."""

    def __init__(self, settings: Settings) -> None:
        self.store = open_event_store("sqlite", settings.eventstore_location)
        self.models = ReadModels(settings.readmodel_location)
        self.stop = threading.Event()
        self.thread = threading.Thread(
            target=Projector(self.store, self.models).run_forever, args=(self.stop,), daemon=True
        )
        self.thread.start()

    def close(self) -> None:
        self.stop.set()
        self.thread.join(10)
        self.models.close()
        self.store.close()


def serve(settings: Settings) -> tuple[uvicorn.Server, threading.Thread]:
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings), host="127.0.0.1", port=settings.api_port, log_level="warning"
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the API did not start"
        time.sleep(0.02)
    return server, thread


def wait_projected(base: str) -> None:
    """Until the read models include every event stored so far."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        health = httpx.get(f"{base}/health", timeout=5).json()
        if health["projections"]["lag_events"] == 0:
            return
        time.sleep(0.05)
    raise AssertionError("the projector did not catch up")


@pytest.fixture(scope="module")
def api_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real API with the demo services (no Temporal: the designer's pages need only the
    event store and read models, except applying and completing tasks)."""
    var = tmp_path_factory.mktemp("designer") / "var"
    settings = Settings(var_dir=var, jwt_secret="x" * 40, api_port=free_port())
    server, thread = serve(settings)
    projecting = Projecting(settings)
    base = f"http://127.0.0.1:{settings.api_port}"
    try:
        assert sorted(demo.seed(base)) == sorted(s["id"] for s in demo.SERVICES)
        wait_projected(base)
        yield base
    finally:
        server.should_exit = True
        thread.join(10)
        projecting.close()


def login(at: AppTest, role: str = "agency_admin", subject: str = ADMIN) -> AppTest:
    """Log in through the sidebar, as a person would."""
    # As a person does it: the role first (which fills in that role's demo person),
    # then, if another person is meant, the subject.
    at.sidebar.selectbox(key="login.role").set_value(role).run()
    at.sidebar.text_input(key="login.subject").set_value(subject)
    at.sidebar.button(key="login.go").click().run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    return at


def open_app(language: str, timeout: float = 60) -> AppTest:
    """The designer in ``language`` ("id" or "en"), chosen as the sidebar's selector
    would (its session key), before the first run."""
    at = AppTest.from_file(str(APP), default_timeout=timeout)
    at.session_state[LANGUAGE_KEY] = language
    return at.run()


@pytest.fixture
def app(monkeypatch: pytest.MonkeyPatch, api_url: str) -> AppTest:
    """The designer in Bahasa Indonesia, against the seeded API."""
    monkeypatch.setenv("LINCAH_API_URL", api_url)
    return open_app("id")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Each phase's report on the test (``rep_call``...), so a browser test's fixture can
    keep a screenshot when the test failed."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report
