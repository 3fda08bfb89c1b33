"""The SP4N-LAPOR adapter: the documented JSON shape, folded from a real SQLite stream,
POSTed to a local receiver started here (the real endpoint is never called); nothing is
sent without ``sp4n_lapor_url``; a receiver's error is reported, not swallowed."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from commands import complaints as lapor
from config.settings import Settings
from domain import complaints as c
from eventstore.port import NO_STREAM, NewEvent
from eventstore.sqlite import SqliteEventStore

CID = "lpr-" + "ab" * 16


class Receiver:
    def __init__(self, status: int) -> None:
        self.status = status
        self.bodies: list[dict[str, Any]] = []


@pytest.fixture
def receiver() -> Iterator[tuple[Receiver, str]]:
    state = Receiver(202)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            length = int(self.headers["Content-Length"])
            state.bodies.append(json.loads(self.rfile.read(length)))
            self.send_response(state.status)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever)
    thread.start()
    try:
        yield state, f"http://127.0.0.1:{server.server_address[1]}/lapor/api/complaints"
    finally:
        server.shutdown()
        thread.join(5)
        server.server_close()


def store_with(tmp_path: Path, anonymity: str, complainant: str | None) -> SqliteEventStore:
    store = SqliteEventStore(tmp_path / "events.db")
    events = [
        c.ComplaintFiled(
            complaint_id=CID,
            agency="BWI",
            subject=c.Subject(kind="officer", ref="loket-3"),
            text="Diminta uang tambahan.",
            attachments=["foto-1"],
            complainant=complainant,
            anonymity=anonymity,
        ),
        c.ComplaintForwarded(from_agency="BWI", to_agency="DKS", by="rina"),
        c.ComplaintVerified(decision="accepted", by="joko"),
        c.ComplaintFollowedUp(by="joko", unit="Bidang Pelayanan", text="Dibina."),
    ]
    store.append(
        c.complaint_stream(CID),
        [NewEvent(uuid.uuid4(), e.TYPE, e.payload()) for e in events],
        expected_version=NO_STREAM,
    )
    return store


def test_the_shape_and_its_delivery(tmp_path: Path, receiver: tuple[Receiver, str]) -> None:
    state, url = receiver
    store = store_with(tmp_path, "named", "siti")
    payload = lapor.export(store, CID)
    assert payload is not None
    assert payload["filed_at"] and payload["follow_up"]["at"]
    payload_fixed = {**payload, "filed_at": "T", "follow_up": {**payload["follow_up"], "at": "T"}}
    assert payload_fixed == {
        "schema": "lincah.sp4n-lapor/1",
        "tracking_id": CID,
        "agency": "DKS",
        "forwarded_from": ["BWI"],
        "channel": "api",
        "privacy": "named",
        "complainant": {"account_id": "siti"},
        "subject": {"kind": "officer", "ref": "loket-3"},
        "content": "Diminta uang tambahan.",
        "attachments": ["foto-1"],
        "filed_at": "T",
        "status": "followed_up",
        "follow_up": {"unit": "Bidang Pelayanan", "text": "Dibina.", "at": "T"},
        "breaches": [],
        "closed_reason": None,
        "rating": None,
    }
    settings = Settings(var_dir=tmp_path / "var", sp4n_lapor_url=url)
    assert lapor.send(settings, payload) is True
    assert state.bodies == [payload]

    state.status = 500
    with pytest.raises(lapor.NotDelivered, match="answered 500"):
        lapor.send(settings, payload)
    store.close()


def test_confidential_names_nobody_and_no_url_sends_nothing(
    tmp_path: Path, receiver: tuple[Receiver, str]
) -> None:
    state, _ = receiver
    store = store_with(tmp_path, "confidential", "siti")
    payload = lapor.export(store, CID)
    assert payload is not None
    assert (payload["privacy"], payload["complainant"]) == ("confidential", None)
    assert "siti" not in json.dumps(payload)
    assert lapor.send(Settings(var_dir=tmp_path / "var"), payload) is False
    assert state.bodies == []
    assert lapor.export(store, "lpr-" + "0" * 32) is None
    store.close()
