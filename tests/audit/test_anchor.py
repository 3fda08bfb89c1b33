"""The anchored audit trail: signed checkpoints published to an append-only file, and
``lincah audit verify`` catching a stream rewritten and re-hashed directly in the
SQLite file (which the hash chains alone cannot)."""

from __future__ import annotations

import hashlib
import io
import sqlite3
import subprocess
import threading
import time
from pathlib import Path

import httpx
import orjson
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from api.main import create_app
from audit import anchor
from audit.checkpoints import (
    ledger_for,
    publish_periodically,
    signing_key,
    verify_anchored,
    write_checkpoint,
)
from audit.ledger import FileLedger, line_hash
from documents.signing import public_key_id
from domain import events as ev
from eventstore import chain
from eventstore.factory import open_event_store
from eventstore.port import NewEvent
from lincah import audit
from tests.audit.test_audit import audit_cli, write_application


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "events.db"


@pytest.fixture
def store(db: Path):
    s = open_event_store("sqlite", str(db))
    yield s
    s.close()


@pytest.fixture
def ledger(tmp_path: Path) -> FileLedger:
    return FileLedger(tmp_path / "anchors" / "checkpoints.jsonl")


@pytest.fixture
def key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def rewrite_and_rehash(db: Path, stream: str, version: int, data: dict) -> None:
    """What someone with write access to events.db can do: change an event's data,
    recompute its hash and every later hash of its stream, so that every link holds."""
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT position, event_id, version, type, recorded_at, data, metadata, prev_hash"
            " FROM events WHERE stream = ? ORDER BY version",
            (stream,),
        ).fetchall()
        prev = None
        for position, event_id, v, type_, at, stored, metadata, prev_hash in rows:
            if v == version:
                stored = chain.canonical_json(data)
            prev = prev_hash if prev is None else prev
            new_hash = chain.link(prev, event_id, stream, v, type_, at, stored, metadata)
            conn.execute(
                "UPDATE events SET data = ?, prev_hash = ?, hash = ? WHERE position = ?",
                (stored, prev, new_hash, position),
            )
            prev = new_hash
    conn.close()


def verify(store, ledger, key) -> tuple[int, str]:
    out = io.StringIO()
    code = audit.cmd_verify(store, None, out, (ledger, key))
    return code, out.getvalue()


def test_merkle_root_is_rfc6962_shaped_and_order_free() -> None:
    heads = {"b": (1, "2" * 64), "a": (0, "1" * 64), "c": (4, "3" * 64)}
    la, lb, lc = (anchor.leaf_hash(s, *heads[s]) for s in "abc")

    def node(x: bytes, y: bytes) -> bytes:
        return hashlib.sha256(b"\x01" + x + y).digest()

    assert anchor.merkle_root(heads) == node(node(la, lb), lc).hex()
    assert anchor.merkle_root(dict(reversed(list(heads.items())))) == anchor.merkle_root(heads)
    assert anchor.merkle_root({}) == hashlib.sha256(b"").hexdigest()
    assert anchor.merkle_root({"a": (0, "1" * 64)}) == la.hex()
    assert anchor.merkle_root({**heads, "a": (0, "4" * 64)}) != anchor.merkle_root(heads)


def test_an_unchanged_log_verifies_against_its_checkpoints(store, ledger, key) -> None:
    for k in range(3):
        write_application(store, k)
    first = write_checkpoint(store, ledger, key)
    assert first is not None and first.checkpoint.seq == 1
    assert first.checkpoint.position == 15 and first.checkpoint.streams == 3
    assert write_checkpoint(store, ledger, key) is None  # nothing new: nothing written
    write_application(store, 3)
    second = write_checkpoint(store, ledger, key)
    assert second is not None and second.checkpoint.seq == 2
    # Carried over from the first and walked on: the same as walking from the start.
    assert second.checkpoint.root == anchor.merkle_root(anchor.heads_at(store, 20))
    lines = ledger.path.read_text().splitlines()
    assert len(lines) == 2
    assert orjson.loads(lines[1])["prev"] == orjson.loads(lines[0])["hash"]

    code, text = verify(store, ledger, key)
    assert code == 0, text
    assert "intact: 20 events in 4 streams verify" in text
    assert "anchored: the log at position 20 still produces the root of checkpoint 2" in text


def test_a_rewritten_and_rehashed_stream_is_named_against_the_checkpoint(
    db, store, ledger, key
) -> None:
    streams = [write_application(store, k) for k in range(3)]
    write_checkpoint(store, ledger, key)
    victim = store.read_stream(streams[1])[2]  # the officer's decision
    assert victim.type == ev.TASK_COMPLETED
    rewrite_and_rehash(db, streams[1], 2, {**victim.data, "outcome": "reject"})

    # Every link holds: the chains alone see nothing.
    code, text = audit.cmd_verify(store, None, out := io.StringIO()), out.getvalue()
    assert code == 0 and "intact" in text

    code, text = verify(store, ledger, key)
    assert code == 1
    assert "TAMPERED against checkpoint 1 (position 15" in text
    assert "1 stream(s) differ" in text
    assert f"stream {streams[1]!r}: version 4 was signed with hash" in text
    assert "rewritten and re-hashed" in text
    assert streams[0] not in text and streams[2] not in text


def test_a_rewrite_is_never_signed_into_the_next_checkpoint(db, store, ledger, key) -> None:
    """Rewritten after checkpoint 1 and then appended to: the next checkpoint refuses
    to vouch for it, so verifying against the last checkpoint is enough."""
    stream = write_application(store, 1)
    other = write_application(store, 2)
    write_checkpoint(store, ledger, key)
    events = store.read_stream(stream)
    rewrite_and_rehash(db, stream, 0, {**events[0].data, "citizen": "someone-else"})
    store.append(stream, [NewEvent(ev.event_id(stream, 5), "ReminderSent", {"step": "x"})])
    store.append(other, [NewEvent(ev.event_id(other, 5), "ReminderSent", {"step": "x"})])

    with pytest.raises(anchor.Discontinuity) as caught:
        write_checkpoint(store, ledger, key)
    assert caught.value.streams == [stream]
    assert len(ledger.path.read_text().splitlines()) == 1  # nothing signed
    out = io.StringIO()
    assert audit.cmd_checkpoint(store, ledger, key, out) == 1
    assert f"'{stream}'" in out.getvalue() and "TAMPERED" in out.getvalue()

    code, text = verify(store, ledger, key)
    assert code == 1 and f"stream {stream!r}" in text and other not in text


def test_a_tampered_checkpoint_line_is_reported(store, ledger, key) -> None:
    write_application(store, 1)
    write_checkpoint(store, ledger, key)
    write_application(store, 2)
    write_checkpoint(store, ledger, key)
    lines = ledger.path.read_text().splitlines()

    # The root of the first checkpoint edited: its hash no longer matches, nor its signature.
    line = orjson.loads(lines[0])
    line["checkpoint"]["root"] = "0" * 64
    ledger.path.write_text("\n".join([orjson.dumps(line).decode(), lines[1]]) + "\n")
    code, text = verify(store, ledger, key)
    assert code == 1
    assert "TAMPERED checkpoint line 1" in text
    assert "does not match its hash" in text and "signature does not verify" in text
    assert "checkpoint line 2" not in text
    assert "anchored: the log at position 10 still produces the root of checkpoint 2" in text

    # Re-hashed as well: then the next line no longer follows it.
    line["hash"] = line_hash(line)
    ledger.path.write_text("\n".join([orjson.dumps(line).decode(), lines[1]]) + "\n")
    code, text = verify(store, ledger, key)
    assert code == 1
    assert "TAMPERED checkpoint line 1" in text and "signature does not verify" in text
    assert "TAMPERED checkpoint line 2" in text and "does not follow the line before" in text

    # A line removed: the one after it no longer follows.
    ledger.path.write_text(lines[1] + "\n")
    code, text = verify(store, ledger, key)
    assert code == 1 and "TAMPERED checkpoint line 1" in text and "does not follow" in text

    # Not JSON at all.
    ledger.path.write_text(lines[0] + "\n{not json\n")
    code, text = verify(store, ledger, key)
    assert code == 1 and "line 2" in text and "cannot be read as a checkpoint" in text


def test_checkpoints_are_signed_with_the_key_and_checked_with_it(store, ledger, key) -> None:
    write_application(store, 1)
    signed = write_checkpoint(store, ledger, key)
    assert signed is not None and signed.valid_under(key.public_key())
    assert not signed.valid_under(Ed25519PrivateKey.generate().public_key())

    # Another key (a forger's, who rebuilt every line's hash): every line is refused.
    other = Ed25519PrivateKey.generate()
    report = verify_anchored(store, ledger, other.public_key())
    assert not report.intact and report.check is None
    assert "not this server's key" in report.describe()

    # A forger with their own key rewrites the line, content, hash and signature.
    forged = anchor.make_checkpoint(store, other)
    assert forged is not None
    ledger.path.write_text("")
    ledger.publish(forged)
    code, text = verify(store, ledger, key)
    assert code == 1 and "not this server's key" in text


def test_cli_checkpoint_then_verify_catches_a_rehashed_stream(tmp_path, db) -> None:
    store = open_event_store("sqlite", str(db))
    stream = write_application(store, 3)
    events = store.read_stream(stream)
    store.close()

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return audit_cli(db, tmp_path / "var", *args)

    written = run("checkpoint")
    assert written.returncode == 0, written.stderr
    assert "checkpoint 1: position 5, 1 streams" in written.stdout
    assert (tmp_path / "var" / "anchors" / "checkpoints.jsonl").exists()
    assert run("verify").returncode == 0

    rewrite_and_rehash(db, stream, 2, {**events[2].data, "outcome": "reject"})
    bad = run("verify")
    assert bad.returncode == 1, bad.stdout
    assert "intact: 5 events in 1 streams verify" in bad.stdout  # the chains hold
    assert f"stream {stream!r}: version 4 was signed with hash" in bad.stdout
    assert "checkpoint 1 (position 5" in bad.stdout


def test_the_projector_publishes_checkpoints_periodically(settings, store) -> None:
    settings = settings.model_copy(update={"audit_checkpoint_interval_s": 0.05})
    ledger = ledger_for(settings)
    write_application(store, 1)
    stop = threading.Event()
    thread = threading.Thread(
        target=publish_periodically, args=(store, settings, stop, 0.05), daemon=True
    )
    thread.start()
    try:
        assert wait_until(lambda: last_position(ledger) == 5)
        write_application(store, 2)  # five appends: a checkpoint may fall between them
        assert wait_until(lambda: last_position(ledger) == 10)
    finally:
        stop.set()
        thread.join(timeout=10)
    assert not thread.is_alive()
    report = verify_anchored(store, ledger, signing_key(settings).public_key())
    assert report.intact and report.check is not None
    assert report.check.checkpoint.position == 10 and len(report.entries) >= 2


def last_position(ledger) -> int | None:
    lines = ledger.path.read_text().splitlines() if ledger.path.exists() else []
    return int(orjson.loads(lines[-1])["checkpoint"]["position"]) if lines else None


def wait_until(condition, timeout_s: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


# -- GET /audit/checkpoints, /audit/verification ------------------------------------------


async def test_auditors_fetch_the_checkpoints_and_the_verification(settings, db) -> None:
    settings = settings.model_copy(update={"eventstore": "sqlite", "eventstore_url": str(db)})
    app = create_app(settings)
    store = app.state.runtime.store
    bwi = write_application(store, 1)
    write_checkpoint(store, ledger_for(settings), signing_key(settings))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://lincah") as http:

        async def auditor(agency: str | None) -> dict[str, str]:
            r = await http.post(
                "/auth/dev-token",
                json={"subject": f"audit-{agency}", "role": "auditor", "agency": agency},
            )
            return {"Authorization": f"Bearer {r.json()['access_token']}"}

        everyone, of_bwi, of_sby = await auditor(None), await auditor("BWI"), await auditor("SBY")
        r = await http.get("/audit/checkpoints", headers=of_bwi)
        assert r.status_code == 200, r.text
        (line,) = r.json()["items"]
        assert line["seq"] == 1 and line["position"] == 5 and line["intact"]
        assert line["key_id"] == public_key_id(signing_key(settings).public_key())

        r = await http.get("/audit/verification", headers=of_bwi)
        body = r.json()
        assert body["intact"] and body["anchored"] and body["checkpoint"] == 1

        events = store.read_stream(bwi)
        rewrite_and_rehash(db, bwi, 2, {**events[2].data, "outcome": "reject"})
        body = (await http.get("/audit/verification", headers=of_bwi)).json()
        assert body["chains_intact"] and not body["anchored"] and not body["intact"]
        assert body["rewritten_streams"] == [bwi] and body["not_shown"] == 0
        # Another agency's auditor learns that something is wrong, not where.
        body = (await http.get("/audit/verification", headers=of_sby)).json()
        assert not body["intact"] and body["rewritten_streams"] == [] and body["not_shown"] == 1
        assert bwi not in str(body)
        body = (await http.get("/audit/verification", headers=everyone)).json()
        assert f"stream {bwi!r}: version 4 was signed" in body["report"]

        officer = (
            await http.post(
                "/auth/dev-token", json={"subject": "o", "role": "officer", "agency": "BWI"}
            )
        ).json()["access_token"]
        for path in ("/audit/checkpoints", "/audit/verification"):
            r = await http.get(path, headers={"Authorization": f"Bearer {officer}"})
            assert r.status_code == 403
    app.state.runtime.close()
