"""``lincah bench eventstore``: Lincah's SQLite and PostgreSQL event stores beside the
``eventsourcing`` library's SQLite and PostgreSQL application recorders, measured in
one run, on one machine, with the same durability, payloads and workloads.

Durability, like with like:
- SQLite: WAL journal with ``synchronous=FULL`` on both sides (Lincah sets it;
  eventsourcing leaves SQLite's default, which is FULL: the bench prints what each
  connection reports). Every append is one transaction and fsyncs the WAL.
- PostgreSQL: one throw-away cluster (Debian's postgresql-15, ``fsync=on``,
  ``synchronous_commit=on``, ``full_page_writes=on``: the defaults), a schema per
  system; or ``--postgres-url`` for a server of your own.

Workloads: every event is the same ~200-byte JSON (``PAYLOAD``), serialised by each
side (orjson for both). Appends go to the writer's own stream with its expected
version (eventsourcing: the originator version). "read all" pages through the whole
log 1,000 events at a time and decodes each payload (Lincah's ``RecordedEvent``
decodes its payload when ``data`` is read, so the bench reads it). "catch-up" runs Lincah's real
projection (``projections.views``, the application fold into the SQLite read models,
batches of 500 committed with their checkpoint) over application lifecycles; for
eventsourcing the same views are fed from ``select_notifications``, so the two rows
differ only in the store's read path.

``eventsourcing`` is pinned in the ``bench`` extra (``make bench`` installs it).
"""

from __future__ import annotations

import argparse
import contextlib
import sqlite3
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import orjson

from domain import events as ev
from eventstore.port import EventStore, NewEvent, RecordedEvent

PAYLOAD = {
    "application_id": "BWI-2026-000001",
    "step": "verify_residence",
    "outcome": "approve",
    "comment": "Alamat sesuai Kartu Keluarga",
    "actor": {"subject": "budi@banyuwangikab.go.id", "role": "officer"},
}
EVENT_TYPE = "TaskCompleted"
PROJECTION_BATCH = 500
READ_PAGE = 1000
ES_VERSION = "9.5.6"


class System(Protocol):
    name: str

    def append(self, stream: str, version: int, count: int) -> None:
        """Append ``count`` events to ``stream`` whose last version is ``version``."""

    def seed(self, stream: str, events: list[NewEvent]) -> None: ...

    def read_all(self) -> int: ...

    def batches(self) -> Iterator[list[RecordedEvent]]:
        """The whole log, PROJECTION_BATCH events at a time, as the projector sees it."""

    def close(self) -> None: ...


# -- Lincah ----------------------------------------------------------------------------


class LincahSystem:
    def __init__(self, name: str, store: EventStore) -> None:
        self.name = name
        self.store = store

    def append(self, stream: str, version: int, count: int) -> None:
        self.store.append(
            stream,
            [NewEvent(uuid.uuid4(), EVENT_TYPE, PAYLOAD) for _ in range(count)],
            expected_version=version,
        )

    def seed(self, stream: str, events: list[NewEvent]) -> None:
        self.store.append(stream, events)

    def read_all(self) -> int:
        n = after = 0
        while page := self.store.read_all(after=after, limit=READ_PAGE):
            for event in page:
                event.data  # noqa: B018 - decode the payload, as the other side does
            n += len(page)
            after = page[-1].position
        return n

    def batches(self) -> Iterator[list[RecordedEvent]]:
        after = 0
        while page := self.store.read_all(after=after, limit=PROJECTION_BATCH):
            yield page
            after = page[-1].position

    def close(self) -> None:
        self.store.close()


# -- eventsourcing ---------------------------------------------------------------------

_EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
_NO_ID = uuid.UUID(int=0)


class EventsourcingSystem:
    """An ``eventsourcing`` application recorder (its notification log is the global
    log), with text originator ids so stream names map one to one."""

    def __init__(self, name: str, recorder: Any, datastore: Any) -> None:
        from eventsourcing.persistence import StoredEvent

        self.name = name
        self.recorder = recorder
        self.datastore = datastore
        self._stored_event = StoredEvent
        recorder.create_table()

    def append(self, stream: str, version: int, count: int) -> None:
        self.recorder.insert_events(
            [
                self._stored_event(stream, version + 1 + i, EVENT_TYPE, orjson.dumps(PAYLOAD))
                for i in range(count)
            ]
        )

    def seed(self, stream: str, events: list[NewEvent]) -> None:
        self.recorder.insert_events(
            [
                self._stored_event(stream, i, e.type, orjson.dumps(e.data))
                for i, e in enumerate(events)
            ]
        )

    def _page(self, after: int, limit: int) -> list[Any]:
        return list(self.recorder.select_notifications(start=after + 1, limit=limit))

    def read_all(self) -> int:
        n = after = 0
        while page := self._page(after, READ_PAGE):
            for notification in page:
                orjson.loads(notification.state)
            n += len(page)
            after = page[-1].id
        return n

    def batches(self) -> Iterator[list[RecordedEvent]]:
        after = 0
        while page := self._page(after, PROJECTION_BATCH):
            # What the views need; eventsourcing's recorder keeps no event id or time.
            yield [
                RecordedEvent(
                    _NO_ID,
                    n.originator_id,
                    n.originator_version,
                    n.id,
                    n.topic,
                    n.state,  # decoded when the views read it, as Lincah's events
                    {},
                    _EPOCH,
                )
                for n in page
            ]
            after = page[-1].id

    def close(self) -> None:
        self.datastore.close()


def _es_sqlite(path: Path) -> EventsourcingSystem:
    from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteDatastore

    datastore = SQLiteDatastore(str(path), pool_size=10, originator_id_type="text")
    return EventsourcingSystem(
        "eventsourcing SQLite", SQLiteApplicationRecorder(datastore), datastore
    )


def _es_postgres(schema: str, conn: Any) -> EventsourcingSystem:
    from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore

    info = conn.info
    datastore = PostgresDatastore(
        dbname=info.dbname,
        host=info.host,
        port=info.port,
        user=info.user,
        password=info.password or "",
        pool_size=10,
        schema=schema,
        originator_id_type="text",
    )
    return EventsourcingSystem(
        "eventsourcing PostgreSQL", PostgresApplicationRecorder(datastore), datastore
    )


# -- workloads ---------------------------------------------------------------------


def _timed(fn: Callable[[], int]) -> float:
    start = time.perf_counter()
    n = fn()
    return n / (time.perf_counter() - start)


def _written_bytes() -> int | None:
    """Bytes this process has handed to write() so far (Linux), None elsewhere. Unlike
    a rate it does not move with the machine's load: SQLite writes every page a commit
    changed to the WAL, so it counts the pages each append costs."""
    try:
        with open("/proc/self/io") as io:
            for line in io:
                if line.startswith("wchar:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def _append_workload(system: System, events: int, batch: int, writers: int) -> float:
    per_writer = max(1, events // writers // batch)
    tag = uuid.uuid4().hex[:8]

    def writer(i: int) -> int:
        stream = f"bench-{tag}-{i}"
        for k in range(per_writer):
            system.append(stream, k * batch - 1, batch)
        return per_writer * batch

    def run() -> int:
        counts = [0] * writers
        errors: list[BaseException] = []

        def work(i: int) -> None:
            try:
                counts[i] = writer(i)
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(i,)) for i in range(writers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if errors:
            raise errors[0]
        return sum(counts)

    return _timed(run)


def _catch_up(system: System, models_path: Path) -> float:
    from projections.projector import Projector
    from projections.readmodels import ReadModels

    models = ReadModels(models_path)
    projector = Projector(_NoStore(), models)

    def run() -> int:
        n = checkpoint = 0
        for batch in system.batches():
            assert projector.apply_batch(checkpoint, batch) == len(batch)
            checkpoint = batch[-1].position
            n += len(batch)
        return n

    try:
        return _timed(run)
    finally:
        models.close()


class _NoStore(EventStore):
    """The projector's store is not used: batches come from the system under test."""

    def append(self, stream: str, events: list[NewEvent], expected_version: int = -2) -> Any:
        raise NotImplementedError

    def read_stream(self, stream: str, from_version: int | None = None, **_: Any) -> Any:
        raise NotImplementedError

    def read_all(self, after: int = 0, limit: int = 1000) -> list[RecordedEvent]:
        raise NotImplementedError

    def head_position(self) -> int:
        raise NotImplementedError

    def stream_version(self, stream: str) -> int:
        raise NotImplementedError


def lifecycle(k: int) -> list[NewEvent]:
    """The five events of an approved Surat Keterangan Domisili application, as the
    workflow writes them (no personal data beyond an invented name)."""
    app = f"BWI-2026-{k:06d}"
    task = f"{app}.verify_residence.1"
    data: list[tuple[str, dict[str, Any]]] = [
        (
            ev.APPLICATION_SUBMITTED,
            {
                "application_id": app,
                "citizen": f"citizen-{k}",
                "start_step": "submission",
                "service": {
                    "id": "surat-keterangan-domisili",
                    "version": 1,
                    "name": "Surat Keterangan Domisili",
                },
                "agency": {"code": "BWI", "name": "Kabupaten Banyuwangi"},
                "data": {"full_name": "Siti Aminah", "kelurahan": "Penganjuran"},
            },
        ),
        (
            ev.TASK_ASSIGNED,
            {
                "task_id": task,
                "step": "verify_residence",
                "step_name": "Verifikasi domisili",
                "role": "officer",
                "agency": "BWI",
                "outcomes": ["approve", "reject"],
            },
        ),
        (
            ev.TASK_COMPLETED,
            {
                "task_id": task,
                "step": "verify_residence",
                "step_name": "Verifikasi domisili",
                "outcome": "approve",
                "comment": "",
                "actor": {"subject": "budi", "role": "officer"},
            },
        ),
        (
            ev.CITIZEN_NOTIFIED,
            {
                "step": "notify_issued",
                "citizen": f"citizen-{k}",
                "channel": "inbox",
                "message": "Issued",
            },
        ),
        (ev.APPLICATION_COMPLETED, {"step": "issued", "result": "approved"}),
    ]
    stream = ev.application_stream(app)
    return [NewEvent(ev.event_id(stream, i), t, d) for i, (t, d) in enumerate(data)]


# -- the run ---------------------------------------------------------------------------


@dataclass
class Row:
    workload: str
    rates: dict[str, float]
    """events/s by system name."""
    written: dict[str, float] = field(default_factory=dict)
    """Bytes written per commit by system name (appends on Linux only)."""


APPEND_SHAPES = [(1, 1), (10, 1), (1, 8), (10, 8)]


def run(
    systems: dict[str, Callable[[str], System]],
    *,
    events: int = 2000,
    catch_up_events: int = 100_000,
    workdir: Path,
    progress: Callable[[str], None] = lambda _: None,
) -> list[Row]:
    """Measure every workload on every system. ``systems`` maps a name to a factory
    that opens a fresh, empty instance for a purpose tag."""
    rows: list[Row] = []
    for batch, writers in APPEND_SHAPES:
        label = f"append, {batch}-event batches, {writers} writer{'s' if writers > 1 else ''}"
        rates: dict[str, float] = {}
        written: dict[str, float] = {}
        for name, open_system in systems.items():
            progress(f"{label}: {name}")
            system = open_system(f"append-{batch}-{writers}")
            try:
                before = _written_bytes()
                rates[name] = _append_workload(system, events, batch, writers)
                after = _written_bytes()
            finally:
                system.close()
            if before is not None and after is not None and "SQLite" in name:
                commits = max(1, events // writers // batch) * writers
                written[name] = (after - before) / commits
        rows.append(Row(label, rates, written))

    lifecycles = max(1, catch_up_events // 5)
    read: dict[str, float] = {}
    catch_up: dict[str, float] = {}
    for name, open_system in systems.items():
        progress(f"seeding {lifecycles * 5} events: {name}")
        system = open_system("log")
        try:
            for k in range(lifecycles):
                batch_events = lifecycle(k)
                system.seed(ev.application_stream(f"BWI-2026-{k:06d}"), batch_events)
            progress(f"read all: {name}")
            read[name] = _timed(system.read_all)
            progress(f"catch-up projection: {name}")
            catch_up[name] = _catch_up(system, workdir / f"models-{uuid.uuid4().hex[:8]}.db")
        finally:
            system.close()
    rows.append(Row("read all", read))
    rows.append(Row(f"catch-up projection, {lifecycles * 5:,} events", catch_up))
    return rows


def table(rows: list[Row], pairs: list[tuple[str, str]]) -> str:
    """A markdown table: per pair, both rates and Lincah ÷ eventsourcing."""
    head = ["workload (events/s)"]
    for lincah, other in pairs:
        head += [lincah, other, "ratio"]
    lines = ["| " + " | ".join(head) + " |", "| --- |" + " ---: |" * (len(head) - 1)]
    for row in rows:
        cells = [row.workload]
        for lincah, other in pairs:
            a, b = row.rates.get(lincah), row.rates.get(other)
            cells += [
                f"{a:,.0f}" if a else "-",
                f"{b:,.0f}" if b else "-",
                f"{a / b:.2f}" if a and b else "-",
            ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def written_table(rows: list[Row], lincah: str, other: str) -> str:
    """KiB handed to write() per commit, for the rows that measured it."""
    lines = [
        f"| workload (KiB written per commit) | {lincah} | {other} | ratio |",
        "| --- | ---: | ---: | ---: |",
    ]
    for row in rows:
        a, b = row.written.get(lincah), row.written.get(other)
        if a and b:
            lines.append(f"| {row.workload} | {a / 1024:,.1f} | {b / 1024:,.1f} | {a / b:.2f} |")
    return "\n".join(lines)


def _synchronous(path: Path) -> str:
    names = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}
    conn = sqlite3.connect(path)
    try:
        return names.get(conn.execute("PRAGMA synchronous").fetchone()[0], "?")
    finally:
        conn.close()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--events", type=int, default=2000, help="events per append workload (default 2000)"
    )
    parser.add_argument(
        "--catch-up-events",
        type=int,
        default=100_000,
        help="events in the log for read-all and catch-up (default 100000)",
    )
    parser.add_argument(
        "--postgres-url",
        default=None,
        help="a PostgreSQL server to use (default: a throw-away cluster from the Debian "
        "postgresql-15 binaries)",
    )
    parser.add_argument(
        "--no-eventsourcing",
        action="store_true",
        help="measure Lincah only (when the bench extra is not installed)",
    )


def main(args: argparse.Namespace | None = None) -> int:
    events = getattr(args, "events", 2000)
    catch_up_events = getattr(args, "catch_up_events", 100_000)
    postgres_url = getattr(args, "postgres_url", None)
    with_es = not getattr(args, "no_eventsourcing", False)
    if with_es:
        try:
            import eventsourcing  # noqa: F401
        except ImportError:
            print(
                f"the benchmark compares with eventsourcing=={ES_VERSION}: install it with "
                "`pip install -e '.[bench]'` (`make bench` does), or pass --no-eventsourcing"
            )
            return 2
    with contextlib.ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="lincah-bench-")))
        if postgres_url is None:
            from eventstore.pgcluster import ClusterUnavailable, throwaway_cluster

            try:
                cluster = stack.enter_context(throwaway_cluster())
            except ClusterUnavailable as exc:
                print(f"PostgreSQL rows skipped: {exc}")
                base_url = None
            else:
                base_url = cluster.url()
        else:
            base_url = postgres_url
        systems = _systems(tmp, base_url, with_es)
        print(
            "Event stores, one run on this machine; SQLite WAL + synchronous=FULL, "
            "PostgreSQL fsync=on + synchronous_commit=on; the same ~200-byte JSON payload."
        )
        rows = run(
            systems,
            events=events,
            catch_up_events=catch_up_events,
            workdir=tmp,
            progress=lambda text: print(f"  … {text}", flush=True),
        )
        if with_es:
            probe = tmp / "probe-es.db"
            _es_sqlite(probe).close()
            print(f"eventsourcing's SQLite connections report synchronous={_synchronous(probe)}")
        pairs = [
            ("Lincah SQLite", "eventsourcing SQLite"),
            ("Lincah PostgreSQL", "eventsourcing PostgreSQL"),
        ]
        print()
        print(table(rows, pairs))
        if with_es and any(row.written for row in rows):
            print()
            print(written_table(rows, "Lincah SQLite", "eventsourcing SQLite"))
    return 0


def _systems(tmp: Path, base_url: str | None, with_es: bool) -> dict[str, Callable[[str], System]]:
    from eventstore.sqlite import SqliteEventStore

    systems: dict[str, Callable[[str], System]] = {
        "Lincah SQLite": lambda tag: LincahSystem(
            "Lincah SQLite", SqliteEventStore(tmp / f"lincah-{tag}-{uuid.uuid4().hex[:6]}.db")
        ),
    }
    if with_es:
        systems["eventsourcing SQLite"] = lambda tag: _es_sqlite(
            tmp / f"es-{tag}-{uuid.uuid4().hex[:6]}.db"
        )
    if base_url is not None:
        import psycopg

        from eventstore.postgres import PostgresEventStore

        def schema_url(prefix: str) -> tuple[str, str]:
            name = f"{prefix}_{uuid.uuid4().hex[:10]}"
            with psycopg.connect(base_url, autocommit=True) as conn:
                conn.execute(f"CREATE SCHEMA {name}".encode())
            separator = "&" if "?" in base_url else "?"
            return name, f"{base_url}{separator}options=-csearch_path%3D{name}"

        def lincah_pg(tag: str) -> System:
            _, url = schema_url("lincah")
            return LincahSystem("Lincah PostgreSQL", PostgresEventStore(url))

        systems["Lincah PostgreSQL"] = lincah_pg
        if with_es:

            def es_pg(tag: str) -> System:
                name, _ = schema_url("es")
                with psycopg.connect(base_url) as conn:
                    return _es_postgres(name, conn)

            systems["eventsourcing PostgreSQL"] = es_pg
    return systems
