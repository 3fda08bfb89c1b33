"""``lincah bench eventstore``: the event store's throughput beside an anchor measured in
the same run, on the same machine, with the same durability and payloads.

Anchor: plain ``sqlite3`` inserts into an equivalent table (WAL, synchronous=FULL, one
transaction per append), i.e. what the append costs without Lincah's checks
(expected version, idempotency look-up, validation, orjson)."""

from __future__ import annotations

import sqlite3
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from domain import events as ev
from eventstore.port import NewEvent
from eventstore.sqlite import SqliteEventStore
from projections.projector import Projector
from projections.readmodels import ReadModels

PAYLOAD = {
    "application_id": "BWI-2026-000001",
    "step": "verify_residence",
    "outcome": "approve",
    "comment": "Alamat sesuai Kartu Keluarga",
    "actor": {"subject": "budi@banyuwangikab.go.id", "role": "officer"},
}


@dataclass
class Row:
    workload: str
    lincah: float
    anchor: float
    unit: str


def _timed(fn: Callable[[], int]) -> float:
    start = time.perf_counter()
    n = fn()
    return n / (time.perf_counter() - start)


def _threads(writers: int, fn: Callable[[int], int]) -> Callable[[], int]:
    def run() -> int:
        counts = [0] * writers

        def work(i: int) -> None:
            counts[i] = fn(i)

        ts = [threading.Thread(target=work, args=(i,)) for i in range(writers)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        return sum(counts)

    return run


class _Anchor:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()
        self._lock = threading.Lock()
        self.conn().executescript(
            "CREATE TABLE IF NOT EXISTS events (position INTEGER PRIMARY KEY AUTOINCREMENT,"
            " event_id TEXT NOT NULL UNIQUE, stream TEXT NOT NULL, version INTEGER NOT NULL,"
            " type TEXT NOT NULL, data BLOB NOT NULL, metadata BLOB NOT NULL,"
            " recorded_at TEXT NOT NULL, UNIQUE (stream, version))"
        )

    def conn(self) -> sqlite3.Connection:
        c: sqlite3.Connection | None = getattr(self._local, "c", None)
        if c is None:
            c = sqlite3.connect(self.path, isolation_level=None, timeout=30)
            c.execute("PRAGMA journal_mode=WAL")
            c.execute("PRAGMA synchronous=FULL")
            self._local.c = c
        return c

    def append(self, stream: str, version: int, n: int) -> None:
        c = self.conn()
        with self._lock:
            c.execute("BEGIN IMMEDIATE")
            c.executemany(
                "INSERT INTO events (event_id, stream, version, type, data, metadata,"
                " recorded_at) VALUES (?, ?, ?, 'TaskCompleted', ?, '{}', '2026-01-01')",
                [(str(uuid.uuid4()), stream, version + i, orjson.dumps(PAYLOAD)) for i in range(n)],
            )
            c.execute("COMMIT")

    def read_all(self) -> int:
        n = 0
        after = 0
        while (
            rows := self.conn()
            .execute(
                "SELECT position, data FROM events WHERE position > ? ORDER BY position LIMIT 1000",
                (after,),
            )
            .fetchall()
        ):
            for _, data in rows:
                orjson.loads(data)
            n += len(rows)
            after = rows[-1][0]
        return n


def run(events: int = 2000, catch_up_events: int = 20000) -> list[Row]:
    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        for batch, writers in [(1, 1), (10, 1), (1, 8), (10, 8)]:
            tag = f"{batch}-{writers}"
            store = SqliteEventStore(d / f"lincah-{tag}.db")
            anchor = _Anchor(d / f"anchor-{tag}.db")
            per_writer = events // writers // batch

            def lincah_writer(
                i: int, store: SqliteEventStore = store, per: int = per_writer, b: int = batch
            ) -> int:
                stream = f"application-{i}"
                for k in range(per):
                    store.append(
                        stream,
                        [NewEvent(uuid.uuid4(), "TaskCompleted", PAYLOAD) for _ in range(b)],
                        expected_version=k * b - 1,
                    )
                return per * b

            def anchor_writer(
                i: int, anchor: _Anchor = anchor, per: int = per_writer, b: int = batch
            ) -> int:
                for k in range(per):
                    anchor.append(f"application-{i}", k * b, b)
                return per * b

            rows.append(
                Row(
                    f"append, {batch}-event batches, {writers} writer(s)",
                    _timed(_threads(writers, lincah_writer)),
                    _timed(_threads(writers, anchor_writer)),
                    "events/s",
                )
            )
            store.close()

        store = SqliteEventStore(d / "read.db")
        anchor = _Anchor(d / "read-anchor.db")
        for k in range(catch_up_events // 100):
            store.append(
                f"application-{k}", [NewEvent(uuid.uuid4(), "Noise", PAYLOAD) for _ in range(100)]
            )
            anchor.append(f"application-{k}", 0, 100)

        def read_lincah() -> int:
            n, after = 0, 0
            while batch := store.read_all(after=after, limit=1000):
                n += len(batch)
                after = batch[-1].position
            return n

        rows.append(Row("read all", _timed(read_lincah), _timed(anchor.read_all), "events/s"))
        store.close()

        # Catch-up over real application lifecycles (5 events each) vs plain read.
        store = SqliteEventStore(d / "apps.db")
        for k in range(catch_up_events // 5):
            store.append(ev.application_stream(f"BWI-2026-{k:06d}"), _lifecycle(k))
        models = ReadModels(d / "models.db")
        rows.append(
            Row(
                "catch-up projection vs plain read of as many events",
                _timed(Projector(store, models).catch_up),
                _timed(anchor.read_all),
                "events/s",
            )
        )
        store.close()
    return rows


def _lifecycle(k: int) -> list[NewEvent]:
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


def main() -> int:
    print("Lincah SQLite event store vs plain sqlite3 (anchor), same run, same machine;")
    print("both WAL + synchronous=FULL, same ~200-byte JSON payload.\n")
    rows = run()
    print(f"{'workload':58} {'lincah':>10} {'anchor':>10} {'ratio':>6}")
    for r in rows:
        print(f"{r.workload:58} {r.lincah:>10.0f} {r.anchor:>10.0f} {r.lincah / r.anchor:>6.2f}")
    return 0
