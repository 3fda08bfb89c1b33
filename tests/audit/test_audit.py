"""Tamper evidence and replay for auditors: ``lincah audit verify`` on SQLite and
PostgreSQL rows edited behind the store's back, the /audit API, and ``lincah audit
replay`` against a recorded and a live Temporal history."""

from __future__ import annotations

import io
import os
import re
import sqlite3
import subprocess
import sys
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from temporalio import workflow
from temporalio.worker import UnsandboxedWorkflowRunner

from api.main import create_app
from domain import events as ev
from domain.validation import parse_definition
from eventstore import chain
from eventstore.factory import open_event_store
from eventstore.personal import stored as as_stored
from eventstore.port import NewEvent
from eventstore.sqlite import SqliteEventStore
from lincah import audit
from lincah.bench import lifecycle
from lincah.worker import build_worker
from workflows.application import ApplicationWorkflow
from workflows.messages import Actor, ApplicationInput, CompleteTask

REPO_ROOT = Path(__file__).resolve().parents[2]
HISTORY = REPO_ROOT / "tests" / "histories" / "domisili-approved.json"


def audit_cli(db: Path, var: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``lincah audit ARGS`` in its own process, on the SQLite store ``db``."""
    env = {
        **os.environ,
        "LINCAH_EVENTSTORE": "sqlite",
        "LINCAH_EVENTSTORE_URL": str(db),
        "LINCAH_VAR_DIR": str(var),
    }
    return subprocess.run(
        [sys.executable, "-m", "lincah.cli", "audit", *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def write_application(store, k: int) -> str:
    """An approved application, one event per append as the workflow writes them."""
    stream = ev.application_stream(f"BWI-2026-{k:06d}")
    for i, event in enumerate(lifecycle(k)):
        store.append(stream, [event], expected_version=i - 1)
    return stream


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request, tmp_path):
    if request.param == "sqlite":
        yield "sqlite", str(tmp_path / "events.db")
    else:
        with request.getfixturevalue("postgres_cluster").fresh_schema() as url:
            yield "postgres", url


@pytest.fixture
def store(backend):
    s = open_event_store(*backend)
    yield s
    s.close()


def tamper(backend, sql: str, params: tuple) -> None:
    """Change stored rows directly, as someone with database access could."""
    kind, url = backend
    if kind == "sqlite":
        with sqlite3.connect(url) as conn:
            conn.execute(sql.replace("%s", "?"), params)
        conn.close()
    else:
        import psycopg

        with psycopg.connect(url, autocommit=True) as pg:
            pg.execute(sql, params)


def verify(store, stream=None) -> tuple[int, str]:
    out = io.StringIO()
    code = audit.cmd_verify(store, stream, out)
    return code, out.getvalue()


# -- lincah audit verify ---------------------------------------------------------------


def test_verify_reports_the_first_edited_row(backend, store):
    streams = [write_application(store, k) for k in range(3)]
    store.append("service-x", [NewEvent(uuid.uuid4(), "ServiceDraftSaved", {"by": "admin"})])
    assert verify(store) == (
        0,
        f"the {backend[0]} event store: intact: 16 events in 4 streams verify\n",
    )

    victim = store.read_stream(streams[1])[2]  # the officer's decision
    assert victim.type == ev.TASK_COMPLETED
    tamper(
        backend,
        "UPDATE events SET data = %s WHERE position = %s",
        (
            chain.canonical_json({**victim.data, "outcome": "reject"}),
            victim.position,
        ),
    )

    code, text = verify(store)
    assert code == 1
    assert text.startswith("the ") and "TAMPERED" in text
    assert f"stream {streams[1]!r} at version 2 (position {victim.position})" in text
    assert "changed after it was written" in text
    assert verify(store, streams[0])[0] == 0
    code, text = verify(store, streams[1])
    assert code == 1 and f"position {victim.position}" in text
    assert verify(store, "no-such-stream")[0] == 2


def test_verify_catches_a_rehashed_edit_and_a_deleted_event(backend, store):
    stream = write_application(store, 7)
    other = write_application(store, 8)
    events = store.read_stream(stream)
    # Edit an event and recompute its own hash: the next event's link still breaks.
    edited = events[1]
    forged = chain.link(
        edited.prev_hash,
        str(edited.id),
        stream,
        1,
        edited.type,
        chain.timestamp(edited.recorded_at),
        chain.canonical_json({**edited.data, "role": "x"}),
        chain.canonical_json(edited.metadata),
    )
    tamper(
        backend,
        "UPDATE events SET data = %s, hash = %s WHERE position = %s",
        (
            chain.canonical_json({**edited.data, "role": "x"}),
            forged,
            edited.position,
        ),
    )
    code, text = verify(store, stream)
    assert code == 1
    assert f"at version 2 (position {events[2].position})" in text and "prev_hash" in text

    # Deleting an event from the middle of the other stream is caught too.
    gone = store.read_stream(other)[3]
    tamper(backend, "DELETE FROM events WHERE position = %s", (gone.position,))
    code, text = verify(store, other)
    assert code == 1 and "version 4" in text and "missing" in text


def test_verify_reports_deleted_newest_events_as_missing_positions(backend, store):
    write_application(store, 1)
    write_application(store, 2)
    head = store.head_position()
    # Cut the stream-ends off: each chain is still valid, the global log has holes.
    tamper(backend, "DELETE FROM events WHERE position IN (%s, %s)", (5, 10))
    code, text = verify(store)
    assert code == 1
    assert "position 5 is missing from the global log" in text
    assert store.head_position() in (head, head - 1)


def test_cli_exit_codes(tmp_path):
    path = tmp_path / "events.db"
    store = open_event_store("sqlite", str(path))
    stream = write_application(store, 3)
    store.close()

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return audit_cli(path, tmp_path / "var", *args)

    ok = run("verify")
    assert ok.returncode == 0, ok.stderr
    assert "intact: 5 events in 1 streams" in ok.stdout
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE events SET type = 'Forged' WHERE version = 3")
    conn.close()
    bad = run("verify", "--stream", stream)
    assert bad.returncode == 1
    assert f"{stream!r} at version 3" in bad.stdout
    assert "3510" not in bad.stdout + bad.stderr  # no personal data: none was printed

    # A payload that is no longer JSON: reported at its position, no traceback.
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE events SET data = X'7b6e6f' WHERE version = 1")
    conn.close()
    broken = run("verify")
    assert broken.returncode == 1, broken.stderr
    assert "Traceback" not in broken.stdout + broken.stderr, broken.stderr
    assert f"{stream!r} at version 1 (position 2)" in broken.stdout
    assert "data is not valid JSON" in broken.stdout
    assert f"{stream!r} at version 3 (position 4)" in broken.stdout


def drop_not_null(backend, column: str) -> None:
    """Let a column hold NULL, as someone altering the table could."""
    kind, url = backend
    if kind == "sqlite":  # SQLite has no ALTER COLUMN: edit the stored schema
        with sqlite3.connect(url) as conn:
            conn.execute("PRAGMA writable_schema = ON")
            (table,) = conn.execute(
                "SELECT sql FROM sqlite_master WHERE name = 'events'"
            ).fetchone()
            loose = re.sub(rf"(\b{column}\s+\w+\s+)NOT NULL", r"\1", table)
            assert loose != table
            conn.execute("UPDATE sqlite_master SET sql = ? WHERE name = 'events'", (loose,))
            version = conn.execute("PRAGMA schema_version").fetchone()[0]
            conn.execute(f"PRAGMA schema_version = {version + 1}")
        conn.close()
    else:
        tamper(backend, f"ALTER TABLE events ALTER COLUMN {column} DROP NOT NULL", ())


def test_verify_reports_unreadable_rows_and_goes_on_to_the_end(backend, store):
    streams = [write_application(store, k) for k in range(4)]
    events = [store.read_stream(s) for s in streams]
    not_json, no_metadata, bad_hash = events[0][1], events[1][2], events[2][3]
    tamper(
        backend,
        "UPDATE events SET data = %s WHERE position = %s",
        (b'{"nik": "3510154808900003", broken', not_json.position),
    )
    drop_not_null(backend, "metadata")
    tamper(
        backend, "UPDATE events SET metadata = NULL WHERE position = %s", (no_metadata.position,)
    )
    tamper(backend, "UPDATE events SET hash = %s WHERE position = %s", ("xyz", bad_hash.position))

    code, text = verify(store)
    assert code == 1, text
    assert "Traceback" not in text
    assert "3 broken links in 20 events" in text, text
    assert (
        f"stream {streams[0]!r} at version 1 (position {not_json.position}): the stored row "
        "cannot be read as an event: data is not valid JSON"
    ) in text
    assert (
        f"stream {streams[1]!r} at version 2 (position {no_metadata.position}): "
        "the stored row cannot be read as an event: metadata is missing (NULL)"
    ) in text
    assert f"stream {streams[2]!r} at version 3 (position {bad_hash.position})" in text
    assert "hash is not 64 hex digits" in text
    assert streams[3] not in text  # the intact stream, walked after the broken ones
    assert "3510" not in text  # the payload is never quoted
    code, text = verify(store, streams[0])
    assert code == 1 and f"position {not_json.position}" in text and "broken links" not in text


def test_verify_reports_a_null_version_and_hash(backend, store):
    stream = write_application(store, 5)
    victim = store.read_stream(stream)[2]
    for column in ("version", "hash"):
        drop_not_null(backend, column)
    tamper(
        backend,
        "UPDATE events SET version = NULL, hash = NULL WHERE position = %s",
        (victim.position,),
    )
    code, text = verify(store)
    assert code == 1, text
    assert f"at an unknown version (position {victim.position})" in text, text
    assert "version is missing (NULL); hash is missing (NULL)" in text, text
    assert "broken links" not in text  # the events after it still link


# -- GET /audit/... ----------------------------------------------------------------------


@pytest.fixture
async def api(settings, tmp_path):
    settings = settings.model_copy(
        update={"eventstore": "sqlite", "eventstore_url": str(tmp_path / "audit-events.db")}
    )
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://lincah") as client:

        async def token(role: str, agency: str | None = None) -> dict:
            r = await client.post(
                "/auth/dev-token",
                json={"subject": f"{role}@example.id", "role": role, "agency": agency},
            )
            assert r.status_code == 200, r.text
            return {"Authorization": f"Bearer {r.json()['access_token']}"}

        client.token = token  # type: ignore[attr-defined]
        client.store = app.state.runtime.store  # type: ignore[attr-defined]
        yield client
    app.state.runtime.close()


async def test_audit_api_replays_state_at_a_point(api):
    store = api.store
    stream = write_application(store, 42)
    events = store.read_stream(stream)
    auditor = await api.token("auditor")
    url = "/audit/applications/BWI-2026-000042"

    r = await api.get(url, headers=auditor)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["events_applied"] == 5 and body["state"]["status"] == "approved"
    assert body["last_position"] == events[-1].position

    r = await api.get(url, params={"at": str(events[1].position)}, headers=auditor)
    body = r.json()
    assert body["at"] == {"position": events[1].position, "time": None}
    assert body["events_applied"] == 2
    assert body["state"]["status"] == "in_review"
    assert [t["task_id"] for t in body["state"]["open_tasks"]] == [
        "BWI-2026-000042.verify_residence.1"
    ]

    at = events[2].recorded_at.isoformat().replace("+00:00", "Z")
    r = await api.get(url, params={"at": at}, headers=auditor)
    body = r.json()
    assert body["events_applied"] == 3 and body["state"]["outcomes"] == {
        "verify_residence": "approve"
    }
    naive = events[0].recorded_at.replace(tzinfo=None).isoformat()  # read as UTC
    r = await api.get(url, params={"at": naive}, headers=auditor)
    assert r.json()["events_applied"] == 1

    before = (events[0].recorded_at - timedelta(days=1)).isoformat()
    r = await api.get(url, params={"at": before}, headers=auditor)
    assert r.status_code == 200 and r.json()["state"] is None and r.json()["events_applied"] == 0

    r = await api.get(url, params={"at": "yesterday"}, headers=auditor)
    assert r.status_code == 422 and "ISO 8601" in r.json()["detail"]


async def test_audit_api_lists_events_with_actor_hash_and_chain(api, tmp_path):
    store = api.store
    stream = write_application(store, 43)
    auditor = await api.token("auditor")
    r = await api.get("/audit/applications/BWI-2026-000043/events", headers=auditor)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["chain_intact"] is True and body["first_break"] is None
    events = body["events"]
    assert [e["type"] for e in events] == [e.type for e in lifecycle(43)]
    assert events[0]["actor"] == "citizen-43" and events[2]["actor"] == "budi"
    stored = store.read_stream(stream)
    assert [e["hash"] for e in events] == [e.hash for e in stored]
    assert events[0]["prev_hash"] == chain.GENESIS
    assert all(e["verified"] for e in events)

    backend = as_stored(store)  # the SQLite backend under the encryption
    assert isinstance(backend, SqliteEventStore)
    with sqlite3.connect(backend.path) as conn:
        conn.execute(
            'UPDATE events SET metadata = \'{"actor":"mallory"}\' WHERE position = ?',
            (stored[3].position,),
        )
    conn.close()
    body = (await api.get("/audit/applications/BWI-2026-000043/events", headers=auditor)).json()
    assert body["chain_intact"] is False
    assert f"at version 3 (position {stored[3].position})" in body["first_break"]
    assert [e["verified"] for e in body["events"]] == [True, True, True, False, False]


@pytest.mark.parametrize("role", ["citizen", "officer", "supervisor", "agency_admin"])
async def test_audit_api_is_for_auditors_only(api, role):
    write_application(api.store, 44)
    headers = await api.token(role, None if role == "citizen" else "BWI")
    for url in (
        "/audit/applications/BWI-2026-000044",
        "/audit/applications/BWI-2026-000044/events",
    ):
        r = await api.get(url, headers=headers)
        assert r.status_code == 403
        assert r.json()["detail"] == f"this needs the role auditor; your token has {role!r}"
    assert (await api.get("/audit/applications/BWI-2026-000044")).status_code == 401


async def test_audit_api_unknown_application_is_404(api):
    auditor = await api.token("auditor")
    for url in (
        "/audit/applications/BWI-2026-999999",
        "/audit/applications/BWI-2026-999999/events",
    ):
        r = await api.get(url, headers=auditor)
        assert r.status_code == 404
        assert r.json()["detail"] == "there is no application BWI-2026-999999"


# -- lincah audit replay -----------------------------------------------------------------


@workflow.defn(name="ApplicationWorkflow")
class _CarelessEdit(ApplicationWorkflow):
    """A timer before the first event, without workflow.patched: not deterministic."""

    @workflow.run
    async def run(self, inp: ApplicationInput) -> str:
        await workflow.sleep(timedelta(seconds=1))
        return await super().run(inp)


async def test_replay_prints_the_timeline_and_replays_a_recorded_history(tmp_path):
    store = open_event_store("sqlite", str(tmp_path / "events.db"))
    try:
        write_application(store, 1)
        out = io.StringIO()
        code = await audit.replay_application(store, "BWI-2026-000001", out, history_file=HISTORY)
        text = out.getvalue()
        assert code == 0, text
        assert "Application BWI-2026-000001: 5 events" in text
        assert "TaskCompleted" in text and "budi" in text
        assert "Hash chain: intact" in text
        assert "replay deterministically on the current workflow code" in text

        out = io.StringIO()
        code = await audit.replay_application(
            store,
            "BWI-2026-000001",
            out,
            history_file=HISTORY,
            workflows=[_CarelessEdit],
            workflow_runner=UnsandboxedWorkflowRunner(),
        )
        assert code == 1
        assert "NON-DETERMINISM" in out.getvalue()

        out = io.StringIO()
        assert await audit.replay_application(store, "BWI-2026-000404", out) == 2
        assert "no application BWI-2026-000404" in out.getvalue()
    finally:
        store.close()


async def test_replay_fetches_the_live_history_from_temporal(skipping_env, tmp_path, domisili):
    store = open_event_store("sqlite", str(tmp_path / "events.db"))
    task_queue = f"tq-{uuid.uuid4()}"
    executor = ThreadPoolExecutor(4)
    definition, problems = parse_definition(domisili)
    assert problems == [] and definition is not None
    app_id = f"BWI-2026-{uuid.uuid4().int % 10**6:06d}"
    try:
        async with build_worker(skipping_env.client, store, task_queue, executor):
            handle = await skipping_env.client.start_workflow(
                ApplicationWorkflow.run,
                ApplicationInput(
                    application_id=app_id,
                    definition=definition,
                    data={"full_name": "Siti"},
                    citizen="siti",
                ),
                id=app_id,
                task_queue=task_queue,
            )
            await handle.execute_update(ApplicationWorkflow.submission)
            await handle.execute_update(
                ApplicationWorkflow.complete_task,
                CompleteTask(
                    task_id=f"{app_id}.verify_residence.1",
                    outcome="approve",
                    actor=Actor(subject="budi", role="officer", agency="BWI"),
                ),
            )
            assert await handle.result() == "approved"
        out = io.StringIO()
        code = await audit.replay_application(store, app_id, out, client=skipping_env.client)
        text = out.getvalue()
        assert code == 0, text
        assert "Hash chain: intact" in text
        assert "replay deterministically" in text
    finally:
        executor.shutdown()
        store.close()
