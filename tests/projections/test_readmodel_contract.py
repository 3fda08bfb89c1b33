"""The read models' contract, run on both backends (``readmodel_url`` empty: a SQLite
file; ``postgresql://``: a schema of the session's throw-away PostgreSQL cluster, skipped
with the reason where the PostgreSQL binaries are missing):

- the queries answer the same facts after the projector ran;
- a batch's rows and its checkpoint commit together or not at all;
- a batch read before another projector moved the checkpoint is refused, never applied
  twice, also when two projectors race;
- a poison event is parked and the rest commits; a rebuild equals the live rows;
- processes opening the read models together do not trip over each other's schema;
- the two backends hold the same rows, and ``lincah projections rebuild`` gives the same
  on both (the dumps are compared);
- the lease lets one holder in; a standby takes over once the holder is gone.

The event streams come from tests/projections/test_projector.py's builders.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import psycopg
import pytest

from domain import events as ev
from eventstore.sqlite import SqliteEventStore
from lincah.demo import DOMISILI
from projections import projector as projector_module
from projections.lease import lease_for, run_leased
from projections.projector import Projector
from projections.readmodels import ReadModels
from projections.sqldb import PostgresConnection
from tests.projections.test_projector import (
    DEWI,
    DEWI_DATA,
    OFFICER,
    SITI,
    SITI_DATA,
    application,
    populate,
    positions_of,
    service,
    write,
)

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(params=["sqlite", "postgres"])
def location(request: pytest.FixtureRequest, tmp_path: Path):
    """Where a fresh, empty read-model database is: a file path or a PostgreSQL URL."""
    if request.param == "sqlite":
        yield tmp_path / "readmodels.db"
    else:
        with request.getfixturevalue("postgres_cluster").fresh_schema() as url:
            yield url


@pytest.fixture
def store(tmp_path: Path):
    s = SqliteEventStore(tmp_path / "events.db")
    yield s
    s.close()


@pytest.fixture
def models(location):
    m = ReadModels(location)
    yield m
    m.close()


def test_rows_read_alike_and_sql_is_written_once(models):
    """The adapter (projections.sqldb): ``?`` placeholders, a literal ``%``, and rows by
    index, by name, as a dict and as a tuple, with and without parameters."""
    db = models._conn()
    row = db.execute("SELECT ? AS a, '100%' AS b, ? AS c", ("x", 2)).fetchone()
    assert (row[0], row["b"], row["c"]) == ("x", "100%", 2)
    assert dict(row) == {"a": "x", "b": "100%", "c": 2} and tuple(row) == ("x", "100%", 2)
    assert dict(db.execute("SELECT '5%' AS p").fetchone()) == {"p": "5%"}


def test_queries_answer_the_same_facts(store, models):
    populate(store)
    assert Projector(store, models).catch_up() == store.head_position()
    assert models.checkpoint() == store.head_position()

    a1 = models.application("BWI-2026-000001")
    assert a1 is not None and (a1.status, a1.result, a1.citizen) == ("approved", "approved", SITI)
    assert models.application("nope") is None
    rows = models.applications(agency_code="BWI")
    assert [r["application_id"] for r in rows] == [
        "BWI-2026-000004",
        "BWI-2026-000003",
        "BWI-2026-000002",
        "BWI-2026-000001",
    ]
    assert {r["status"] for r in models.applications(status="rejected")} == {"rejected"}
    states, total = models.citizen_applications(DEWI, limit=1)
    assert total == 2 and len(states) == 1
    inbox = models.tasks(agency_code="SBY", role="officer")
    assert [t["task_id"] for t in inbox] == ["SBY-2026-000001.verify_residence.1"]
    assert inbox[0]["outcomes"] == ["approve", "reject"]
    assert models.task("SBY-2026-000001.verify_residence.1") == inbox[0]
    assert [s.service_id for s in models.services("SBY")] == ["domisili-surabaya"]
    assert models.service(DOMISILI["id"]) is not None
    assert len(models.application_states("BWI")) == 4
    ended = models.ended_applications(SITI)
    assert [e["application_id"] for e in ended] == ["BWI-2026-000001"]
    assert ended[0]["answered"] is False
    assert models.parked_events() == [] and models.parked_count() == 0


def test_a_fault_mid_batch_commits_no_row_and_no_checkpoint(store, models, monkeypatch):
    populate(store)
    projector = Projector(store, models)
    assert projector.run_once(limit=11) == 11  # services and number reservations
    before, checkpoint = models.dump(), models.checkpoint()
    real_apply = projector_module._apply
    seen: list[int] = []

    def faulty(db: Any, event: Any, *batch: Any) -> None:
        seen.append(event.position)
        if len(seen) == 5:
            raise MemoryError("the database gave out")  # an INFRASTRUCTURE error
        real_apply(db, event, *batch)

    monkeypatch.setattr(projector_module, "_apply", faulty)
    with pytest.raises(MemoryError):
        projector.run_once(limit=50)
    assert (models.dump(), models.checkpoint()) == (before, checkpoint)
    assert models.parked_count() == 0
    other = ReadModels(models.location)  # a reader on its own connection sees the same
    try:
        assert (other.dump(), other.checkpoint()) == (before, checkpoint)
    finally:
        other.close()
    monkeypatch.setattr(projector_module, "_apply", real_apply)
    projector.catch_up()
    assert models.checkpoint() == store.head_position()


def test_a_stale_batch_is_refused(store, location):
    app = application(DOMISILI, "BWI-2026-000001", SITI, SITI_DATA, [])
    write(store, app)
    a, b = ReadModels(location), ReadModels(location)
    try:
        batch = store.read_all()
        assert Projector(store, a).apply_batch(0, batch) == len(batch)
        assert Projector(store, b).apply_batch(0, batch) == 0  # read before a moved on
        s = b.application("BWI-2026-000001")
        assert s is not None
        assert [e.position for e in s.timeline] == positions_of(store, app.name)
    finally:
        a.close()
        b.close()


def test_write_transactions_are_serialised(store, location):
    """A projector's transaction holds the write lock from its start (SQLite's BEGIN
    IMMEDIATE, PostgreSQL's advisory lock): another projector that read the same
    checkpoint waits for it, then finds the checkpoint moved and refuses its batch."""
    write(store, application(DOMISILI, "BWI-2026-000001", SITI, SITI_DATA, []))
    batch = store.read_all()
    a, b = ReadModels(location), ReadModels(location)
    answers: list[int] = []
    try:
        with a.transaction() as db:
            late = threading.Thread(
                target=lambda: answers.append(Projector(store, b).apply_batch(0, batch))
            )
            late.start()
            time.sleep(0.3)  # room for the other transaction to begin (and wait)
            db.execute(
                "INSERT INTO checkpoints (name, position) VALUES ('main', ?)",
                (batch[-1].position,),
            )
        late.join(30)
        assert answers == [0]
        assert b.application("BWI-2026-000001") is None  # nobody applied the rows
    finally:
        a.close()
        b.close()


def test_racing_projectors_never_apply_an_event_twice(store, location):
    """Two projectors (as on two machines, before the lease settles) follow the same
    log into the same read models while it grows: every application's timeline holds
    each of its events once."""
    apps = [
        application(DOMISILI, f"BWI-2026-{i:06d}", SITI, SITI_DATA, [("approve", OFFICER, "")])
        for i in range(1, 9)
    ]
    stop = threading.Event()
    ones = [ReadModels(location) for _ in range(2)]
    threads = [
        threading.Thread(
            target=Projector(store, m).run_forever, args=(stop,), kwargs={"idle_sleep_s": 0.01}
        )
        for m in ones
    ]
    for t in threads:
        t.start()
    try:
        while any(a.written < len(a.events) for a in apps):
            for a in apps:
                write(store, a, 1)
        assert ones[0].wait_for(store.head_position(), 30)
    finally:
        stop.set()
        for t in threads:
            t.join(10)
    try:
        for a in apps:
            s = ones[1].application(a.name.removeprefix("application-"))
            assert s is not None and s.status == "approved"
            assert [e.position for e in s.timeline] == positions_of(store, a.name)
        assert ones[0].dump() == ones[1].dump()
    finally:
        for m in ones:
            m.close()


def test_a_poison_event_is_parked_and_rebuild_equals_live(store, models):
    write(store, service(DOMISILI, ("draft", 1), ("publish", 1)))
    bad = application(DOMISILI, "BWI-2026-000002", DEWI, DEWI_DATA, [("reject", OFFICER, "")])
    bad.events[1] = dataclasses.replace(
        bad.events[1], data={k: v for k, v in bad.events[1].data.items() if k != "task_id"}
    )
    write(store, bad)
    good = application(DOMISILI, "BWI-2026-000001", SITI, SITI_DATA, [("approve", OFFICER, "")])
    write(store, good)
    projector = Projector(store, models)
    projector.catch_up()
    (parked,) = models.parked_events()
    assert (parked["stream"], parked["type"]) == (bad.name, ev.TASK_ASSIGNED)
    assert parked["error"].startswith("ValidationError")
    siti = models.application("BWI-2026-000001")
    assert siti is not None and siti.status == "approved"
    live = models.dump()
    assert projector.rebuild() == store.head_position()
    assert models.dump() == live
    assert [p["position"] for p in models.parked_events()] == [parked["position"]]


def test_wait_for_and_reached(store, models):
    write(store, application(DOMISILI, "BWI-2026-000001", SITI, SITI_DATA, []))
    head = store.head_position()
    assert models.wait_for(0, 0.0) and not models.wait_for(head, 0.05)
    timer = threading.Timer(0.05, lambda: Projector(store, models).catch_up())
    timer.start()
    try:
        assert models.wait_for(head, 5.0)
    finally:
        timer.join()
    import asyncio

    assert asyncio.run(models.reached(head, 0.0))
    assert not asyncio.run(models.reached(head + 1, 0.05))


def test_processes_opening_together_and_a_schema_change(store, location, monkeypatch):
    errors: list[BaseException] = []

    def open_one() -> None:
        try:
            ReadModels(location).close()
        except BaseException as e:  # collected: the assertion names it
            errors.append(e)

    threads = [threading.Thread(target=open_one) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []

    populate(store)
    m = ReadModels(location)
    Projector(store, m).catch_up()
    assert m.checkpoint() > 0
    m.close()
    # A new schema version drops the derived rows and the checkpoint: rebuilt from 0.
    import projections.readmodels as readmodels

    monkeypatch.setattr(readmodels, "SCHEMA_VERSION", readmodels.SCHEMA_VERSION + 1)
    m = ReadModels(location)
    try:
        assert m.checkpoint() == 0 and m.application("BWI-2026-000001") is None
        Projector(store, m).catch_up()
        assert m.application("BWI-2026-000001") is not None
    finally:
        m.close()


# -- both backends side by side -------------------------------------------------------


def test_sqlite_and_postgres_hold_the_same_rows(store, tmp_path, postgres_cluster):
    populate(store)
    lite = ReadModels(tmp_path / "lite.db")
    with postgres_cluster.fresh_schema() as url:
        pg = ReadModels(url)
        try:
            Projector(store, lite).catch_up()
            Projector(store, pg).catch_up()
            assert pg.dump() == lite.dump()
            assert pg.checkpoint() == lite.checkpoint() == store.head_position()
            assert pg.applications(agency_code="BWI") == lite.applications(agency_code="BWI")
            assert pg.tasks(agency_code="BWI", role="officer", status="completed") == lite.tasks(
                agency_code="BWI", role="officer", status="completed"
            )
            assert pg.citizen_applications(DEWI) == lite.citizen_applications(DEWI)
        finally:
            pg.close()
            lite.close()


def _lincah(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lincah.cli", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_cli_rebuild_gives_the_same_rows_on_both(store, tmp_path, postgres_cluster):
    populate(store)
    env = {k: v for k, v in os.environ.items() if not k.startswith("LINCAH_")}
    env |= {
        "LINCAH_VAR_DIR": str(tmp_path / "var"),
        "LINCAH_EVENTSTORE_URL": str(store.path),
    }
    lite_path = tmp_path / "rebuilt.db"
    with postgres_cluster.fresh_schema() as url:
        for extra in ({"LINCAH_READMODEL_PATH": str(lite_path)}, {"LINCAH_READMODEL_URL": url}):
            done = _lincah({**env, **extra}, "projections", "rebuild")
            assert done.returncode == 0, done.stdout + done.stderr[-2000:]
            assert f"checkpoint {store.head_position()}" in done.stdout
        lite, pg = ReadModels(lite_path), ReadModels(url)
        try:
            assert pg.dump() == lite.dump()
            assert sum(len(rows) for rows in lite.dump().values()) > 10
        finally:
            lite.close()
            pg.close()


# -- the lease --------------------------------------------------------------------------


def test_one_holder_of_a_lease_and_takeover(location):
    first, second = lease_for(location, "projector"), lease_for(location, "projector")
    other = lease_for(location, "notifier")
    try:
        assert first.try_acquire() and first.held()
        assert not second.try_acquire()
        assert other.try_acquire()  # another name is another lease
        first.release()
        assert second.try_acquire()
        assert not first.try_acquire()
    finally:
        for lease in (first, second, other):
            lease.release()


def test_a_postgres_lease_is_free_once_its_connection_dies(postgres_cluster):
    with postgres_cluster.fresh_schema() as url:
        holder, standby = lease_for(url, "projector"), lease_for(url, "projector")
        try:
            assert holder.try_acquire() and not standby.try_acquire()
            with psycopg.connect(postgres_cluster.url(), autocommit=True) as admin:
                admin.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_locks"
                    " WHERE locktype = 'advisory' AND pid <> pg_backend_pid()"
                )
            assert standby.try_acquire()
            assert not holder.held()  # the holder notices it lost the lease
        finally:
            holder.release()
            standby.release()


def test_run_leased_stands_by_then_takes_over(location, caplog):
    """Two copies of a follower: one works, the other logs that it stands by and takes
    over once the first stops."""
    working: list[str] = []

    def work(name: str):
        def run(stop: threading.Event) -> None:
            working.append(name)
            stop.wait()

        return run

    stops = {name: threading.Event() for name in ("a", "b")}
    with caplog.at_level(logging.INFO, logger="projections.lease"):
        a = threading.Thread(
            target=run_leased,
            args=(lease_for(location, "projector"), work("a"), stops["a"], "projector", 0.05),
        )
        a.start()
        deadline = time.monotonic() + 10
        while working != ["a"] and time.monotonic() < deadline:
            time.sleep(0.01)
        b = threading.Thread(
            target=run_leased,
            args=(lease_for(location, "projector"), work("b"), stops["b"], "projector", 0.05),
        )
        b.start()
        while "standing by" not in caplog.text and time.monotonic() < deadline:
            time.sleep(0.01)
        assert working == ["a"] and "projector standing by" in caplog.text
        stops["a"].set()
        a.join(10)
        while working != ["a", "b"] and time.monotonic() < deadline:
            time.sleep(0.01)
        assert working == ["a", "b"]
        stops["b"].set()
        b.join(10)
    assert not a.is_alive() and not b.is_alive()


def test_postgres_reads_and_writes_survive_a_dropped_connection(store, postgres_cluster):
    """The server ends the read models' connection (a restart, a proxy's idle cut): the
    next read, and the next projector transaction, run on a new one."""

    def drop(m: ReadModels) -> None:
        conn = m._conn()
        assert isinstance(conn, PostgresConnection)
        pid = conn.raw.info.backend_pid
        with psycopg.connect(postgres_cluster.url(), autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))

    with postgres_cluster.fresh_schema() as url:
        m = ReadModels(url)
        try:
            write(store, application(DOMISILI, "BWI-2026-000001", SITI, SITI_DATA, []))
            projector = Projector(store, m)
            projector.catch_up()
            drop(m)
            assert m.application("BWI-2026-000001") is not None
            write(store, application(DOMISILI, "BWI-2026-000002", DEWI, DEWI_DATA, []))
            drop(m)
            assert projector.catch_up() == 2
            assert m.checkpoint() == store.head_position()
        finally:
            m.close()
