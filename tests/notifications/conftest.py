"""Shared pieces of the notification tests: a real event store with a registered
citizen, application events as the workflow writes them, a real SMTP server (aiosmtpd)
and a real HTTP receiver standing in for the SMS/WhatsApp provider."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from accounts.registry import Registry
from config.settings import Settings
from domain import events as ev
from eventstore.factory import open_event_store
from eventstore.port import EventStore, NewEvent
from notifications.channels import verify
from tests.accounts.conftest import Inbox
from tests.conftest import free_port

SECRET = "notify-webhook-secret-for-the-tests-0123456789"


@dataclass
class Received:
    key: str
    body: dict[str, Any]
    signed: bool


@dataclass
class Receiver:
    """The provider: records every POST, answers from ``script`` (then 200), and like
    a real provider sends a message once per Idempotency-Key."""

    url: str = ""
    script: list[int] = field(default_factory=list)
    requests: list[Received] = field(default_factory=list)
    sent: dict[str, dict[str, Any]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def keys(self) -> list[str]:
        return [r.key for r in self.requests]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's hook
            raw = self.rfile.read(int(self.headers["Content-Length"]))
            signed = verify(
                SECRET,
                self.headers["X-Lincah-Timestamp"],
                raw,
                self.headers["X-Lincah-Signature"],
            )
            key = self.headers["Idempotency-Key"]
            with state.lock:
                state.requests.append(Received(key, json.loads(raw), signed))
                status = state.script.pop(0) if state.script else 200
                if status == 200 and signed:
                    state.sent.setdefault(key, json.loads(raw))
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/messages"
    thread = threading.Thread(target=server.serve_forever)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield inbox, controller.port
    finally:
        controller.stop()


@pytest.fixture
def notify_settings(tmp_path: Path, smtp: tuple[Inbox, int], receiver: Receiver) -> Settings:
    return Settings(
        var_dir=tmp_path / "var",
        jwt_secret="test-secret-of-at-least-32-bytes-long",
        smtp_host="127.0.0.1",
        smtp_port=smtp[1],
        notify_webhook_url=receiver.url,
        notify_webhook_secret=SECRET,
        notify_backoff_s=0.05,
        notify_backoff_max_s=0.2,
        notify_max_attempts=3,
        notify_lease_s=1.0,
        api_port=free_port(),
        read_wait_timeout_s=5.0,
    )


@pytest.fixture
def store(tmp_path: Path) -> Iterator[EventStore]:
    s = open_event_store("sqlite", str(tmp_path / "var" / "events.db"))
    yield s
    s.close()


def register(store: EventStore, settings: Settings, *, phone: str | None = "+6281234567890") -> str:
    """A confirmed-enough citizen account (the contacts need only its e-mail and phone)."""
    return (
        Registry(store, settings)
        .register(
            "3510154808900003", "Siti Aminah", "siti@example.id", phone, "kata-sandi-uji-2026"
        )
        .account_id
    )


def submit(store: EventStore, app_id: str, citizen: str, agency: str = "BWI") -> None:
    _append(
        store,
        app_id,
        ev.ApplicationSubmitted(
            application_id=app_id,
            service=ev.ServiceRef(id="surat-keterangan-domisili", version=1, name="SK Domisili"),
            agency=ev.AgencyRef(code=agency, name="DPMPTSP Banyuwangi"),
            citizen=citizen,
            data={"nik": "3510154808900003"},
        ),
    )


def later(store: EventStore, app_id: str, event: ev.Event) -> None:
    _append(store, app_id, event)


def correction(citizen: str, reason: str = "Foto KTP buram") -> ev.CorrectionRequested:
    return ev.CorrectionRequested(
        step="fix",
        citizen=citizen,
        reason=reason,
        fields=["ktp"],
        by="budi",
        due_at="2026-12-03T16:59:59+07:00",
    )


def task() -> ev.TaskAssigned:
    return ev.TaskAssigned(
        task_id="t.1", step="verify", step_name="Verifikasi", role="officer", agency="BWI",
        outcomes=["approve"],
    )  # fmt: skip


def _append(store: EventStore, app_id: str, event: ev.Event) -> None:
    store.append(
        ev.application_stream(app_id), [NewEvent(uuid.uuid4(), event.TYPE, event.payload())]
    )
