"""SQLite backend of the event-store port: one file, many threads, many processes.

Every append runs in a ``BEGIN IMMEDIATE`` transaction, which takes SQLite's single
write lock before reading anything, so the idempotency check, the expected-version
check and the inserts see one consistent state and writers (threads of this process,
other processes on the same file) are serialised. Because writers are serialised and
positions come from ``AUTOINCREMENT``, a reader never sees position N+1 committed
before N: ``read_all(after=...)`` is safe for catch-up subscriptions without gaps, and
positions are dense (a rolled-back append rolls back ``sqlite_sequence`` too).

Each row stores its ``prev_hash`` and ``hash`` (``eventstore.chain``); schema version 2
added them, and opening a version-1 file chains its existing events once.

Schema version 3 stores event ids as their 16 bytes instead of 36 characters of text.
The unique index on ids is what makes a retried append idempotent, and ids are random
(UUIDv5 of stream and index), so every appended event lands on a random leaf of that
index and each commit writes those pages to the WAL: with keys under half the size the
index has half the leaves and a commit writes a fifth fewer bytes (``lincah bench
eventstore`` prints them). Opening a version-2 file rebuilds its table once (in one
transaction; positions, hashes and the AUTOINCREMENT counter are kept).
"""

from __future__ import annotations

import os
import sqlite3
import threading
import uuid
import weakref
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import orjson

from config.sqlite import use_wal
from eventstore import chain
from eventstore.common import MAX_EVENT_TYPE, Stored, check_limit, idempotent_result, validate
from eventstore.port import (
    ANY,
    NO_STREAM,
    AppendResult,
    EventStore,
    EventStoreError,
    NewEvent,
    RecordedEvent,
    WrongExpectedVersion,
)

__all__ = ["MAX_EVENT_TYPE", "SCHEMA_VERSION", "SqliteEventStore"]

SCHEMA_VERSION: Final = 3
"""Stored in ``PRAGMA user_version``; bump it and add a migration step when the schema changes."""

BUSY_TIMEOUT_S: Final = 10.0
_ID_CHUNK: Final = 500
"""Ids per ``IN (...)`` lookup, well under SQLite's bound-parameter limit."""

_SCHEMA_V3: Final = """
CREATE TABLE IF NOT EXISTS events (
    position    INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id    BLOB    NOT NULL UNIQUE,
    stream      TEXT    NOT NULL,
    version     INTEGER NOT NULL,
    type        TEXT    NOT NULL,
    data        BLOB    NOT NULL,
    metadata    BLOB    NOT NULL,
    recorded_at TEXT    NOT NULL,
    prev_hash   TEXT    NOT NULL,
    hash        TEXT    NOT NULL,
    UNIQUE (stream, version)
);
"""
_MIGRATE_V1_V2: Final = (
    "ALTER TABLE events ADD COLUMN prev_hash TEXT NOT NULL DEFAULT ''",
    "ALTER TABLE events ADD COLUMN hash TEXT NOT NULL DEFAULT ''",
)
_COLUMNS: Final = (
    "event_id, stream, version, position, type, data, metadata, recorded_at, hash, prev_hash"
)

_READ_FORWARDS: Final = (
    f"SELECT {_COLUMNS} FROM events"  # noqa: S608 - constant column list
    " WHERE stream = ? AND version >= ? ORDER BY version ASC LIMIT ?"
)
_READ_BACKWARDS: Final = (
    f"SELECT {_COLUMNS} FROM events"  # noqa: S608 - constant column list
    " WHERE stream = ? AND version <= ? ORDER BY version DESC LIMIT ?"
)
_READ_ALL: Final = (
    f"SELECT {_COLUMNS} FROM events"  # noqa: S608 - constant column list
    " WHERE position > ? ORDER BY position ASC LIMIT ?"
)
_STREAM_HEAD: Final = (
    "SELECT version, hash FROM events WHERE stream = ? ORDER BY version DESC LIMIT 1"
)
_INSERT: Final = (
    "INSERT INTO events (event_id, stream, version, type, data, metadata, recorded_at,"
    " prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_LOOKUP_IDS: Final = (
    "SELECT event_id, stream, version, position, type, data FROM events WHERE event_id IN"
)
_MAX_VERSION: Final = (1 << 63) - 1


class _Connection(sqlite3.Connection):
    """A plain connection that can be weakly referenced (the base class cannot)."""


# One write lock per database file and process: threads of this process queue on it
# instead of spinning in SQLite's busy handler; other processes still wait on SQLite's
# lock through busy_timeout.
_write_locks: dict[str, threading.Lock] = {}
_write_locks_guard = threading.Lock()


def _write_lock_for(path: str) -> threading.Lock:
    with _write_locks_guard:
        return _write_locks.setdefault(path, threading.Lock())


# Subscribers in this process wake on this process's appends at once; appends of other
# processes are seen at the subscriber's next poll (its wait timeout).
_appended: dict[str, threading.Condition] = {}


def _appended_for(path: str) -> threading.Condition:
    with _write_locks_guard:
        return _appended.setdefault(path, threading.Condition())


class SqliteEventStore(EventStore):
    backend = "sqlite"
    dense_positions = True

    def __init__(self, path: str | os.PathLike[str]) -> None:
        raw = os.fspath(path)
        if not raw or raw == ":memory:" or raw.startswith("file:"):
            raise ValueError(
                f"SqliteEventStore needs a file path, got {raw!r} "
                "(in-memory databases are per connection and cannot be shared by threads)"
            )
        file = Path(raw).expanduser().resolve()
        file.parent.mkdir(parents=True, exist_ok=True)
        self._path = str(file)
        self._local = threading.local()
        self._connections: weakref.WeakSet[_Connection] = weakref.WeakSet()
        self._connections_guard = threading.Lock()
        self._write_lock = _write_lock_for(self._path)
        self._appended = _appended_for(self._path)
        self._closed = False
        try:
            self._create_schema()
        except BaseException:
            self.close()
            raise

    @property
    def path(self) -> str:
        return self._path

    # -- connections -------------------------------------------------------------

    def _conn(self) -> sqlite3.Connection:
        if self._closed:
            raise EventStoreError(f"event store {self._path!r} is closed")
        conn: _Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(
                self._path,
                timeout=BUSY_TIMEOUT_S,
                isolation_level=None,  # autocommit; transactions are explicit below
                check_same_thread=False,  # only so close() may close it from any thread
                factory=_Connection,
            )
            conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
            # This is an audit log: an append acknowledged to the caller (and so to a
            # Temporal activity that then completes) must survive a power loss or an OS
            # crash. In WAL mode synchronous=NORMAL skips the fsync at commit and may
            # lose the latest committed transactions; FULL fsyncs the WAL on every commit.
            conn.execute("PRAGMA synchronous = FULL")
            self._local.conn = conn
            with self._connections_guard:
                self._connections.add(conn)
        return conn

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        conn = self._conn()
        with self._write_lock:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise

    def _create_schema(self) -> None:
        conn = self._conn()
        # WAL lets readers run while one writer appends; the mode is stored in the file.
        mode = use_wal(conn)
        if str(mode).lower() != "wal":
            raise EventStoreError(f"could not switch {self._path!r} to WAL mode (got {mode!r})")
        with self._transaction() as tx:
            version = tx.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise EventStoreError(
                    f"{self._path!r} has event-store schema version {version}; "
                    f"this code knows up to {SCHEMA_VERSION}"
                )
            if version < 1:
                tx.execute(_SCHEMA_V3)
            else:
                if version < 2:
                    for statement in _MIGRATE_V1_V2:
                        tx.execute(statement)
                    _chain_existing(tx)
                if version < 3:
                    _ids_as_bytes(tx)
            if version < SCHEMA_VERSION:
                tx.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def close(self) -> None:
        self._closed = True
        with self._connections_guard:
            connections = list(self._connections)
            self._connections.clear()
        for conn in connections:
            conn.close()

    # -- writing -----------------------------------------------------------------

    def append(
        self, stream: str, events: list[NewEvent], expected_version: int = ANY
    ) -> AppendResult:
        rows = validate(stream, events, expected_version)
        ids = [event.id.bytes for event in events]  # validate() checked they are UUIDs
        with self._transaction() as tx:
            stored = self._lookup_ids(tx, ids)
            if stored:
                return idempotent_result(stream, rows, stored)

            head = tx.execute(_STREAM_HEAD, (stream,)).fetchone()
            current, prev_hash = (NO_STREAM, chain.GENESIS) if head is None else head
            if expected_version == NO_STREAM and current != NO_STREAM:
                raise WrongExpectedVersion(stream, expected_version, current)
            if expected_version >= 0 and expected_version != current:
                raise WrongExpectedVersion(stream, expected_version, current)

            recorded_at = chain.timestamp(datetime.now(UTC))
            params: list[tuple[bytes, str, int, str, bytes, bytes, str, str, str]] = []
            version = current
            for id_bytes, (event_id, event_type, data, metadata) in zip(ids, rows, strict=True):
                version += 1
                event_hash = chain.link(
                    prev_hash, event_id, stream, version, event_type, recorded_at, data, metadata
                )
                params.append(
                    (
                        id_bytes,
                        stream,
                        version,
                        event_type,
                        data,
                        metadata,
                        recorded_at,
                        prev_hash,
                        event_hash,
                    )
                )
                prev_hash = event_hash
            tx.executemany(_INSERT, params)
            # Writers are serialised and positions come from AUTOINCREMENT, so the batch
            # got consecutive positions ending at the last rowid.
            last = int(tx.execute("SELECT last_insert_rowid()").fetchone()[0])
        self._notify_subscribers()
        return AppendResult(
            stream_version=version, positions=list(range(last - len(rows) + 1, last + 1))
        )

    def _notify_subscribers(self) -> None:
        with self._appended:
            self._appended.notify_all()

    def wait_for_append(self, after: int, timeout: float) -> None:
        with self._appended:
            if self.head_position() > after:
                return
            self._appended.wait(timeout)

    @staticmethod
    def _lookup_ids(tx: sqlite3.Connection, ids: Sequence[bytes]) -> dict[str, Stored]:
        """The stored events with these ids, by the id's text (as ``common.Row`` has it)."""
        stored: dict[str, Stored] = {}
        for start in range(0, len(ids), _ID_CHUNK):
            chunk = ids[start : start + _ID_CHUNK]
            marks = ", ".join("?" * len(chunk))  # placeholders only, never values
            sql = f"{_LOOKUP_IDS} ({marks})"
            for event_id, stream, version, position, event_type, data in tx.execute(sql, chunk):
                key = str(uuid.UUID(bytes=event_id))
                stored[key] = Stored(stream, version, position, event_type, data)
        return stored

    # -- reading -----------------------------------------------------------------

    def read_stream(
        self,
        stream: str,
        from_version: int | None = None,
        *,
        backwards: bool = False,
        limit: int | None = None,
    ) -> list[RecordedEvent]:
        check_limit(limit)
        sql_limit = -1 if limit is None else limit
        if backwards:
            top = _MAX_VERSION if from_version is None else from_version
            cursor = self._conn().execute(_READ_BACKWARDS, (stream, top, sql_limit))
        else:
            bottom = 0 if from_version is None else from_version
            cursor = self._conn().execute(_READ_FORWARDS, (stream, bottom, sql_limit))
        return list(map(_recorded, cursor))

    def read_all(self, after: int = 0, limit: int = 1000) -> list[RecordedEvent]:
        check_limit(limit)
        cursor = self._conn().execute(_READ_ALL, (after, limit))
        return list(map(_recorded, cursor))

    def head_position(self) -> int:
        found = self._conn().execute("SELECT MAX(position) FROM events").fetchone()[0]
        return 0 if found is None else int(found)

    def stream_version(self, stream: str) -> int:
        found = (
            self._conn()
            .execute("SELECT MAX(version) FROM events WHERE stream = ?", (stream,))
            .fetchone()[0]
        )
        return NO_STREAM if found is None else int(found)


# -- helpers -----------------------------------------------------------------------


def _chain_existing(tx: sqlite3.Connection) -> None:
    """Migration to schema 2: chain the events a version-1 file holds, stream by stream."""
    last: dict[str, str] = {}
    rows = tx.execute(
        "SELECT position, event_id, stream, version, type, data, metadata, recorded_at"
        " FROM events ORDER BY stream, version"
    ).fetchall()
    for position, event_id, stream, version, event_type, data, metadata, recorded_at in rows:
        prev_hash = last.get(stream, chain.GENESIS)
        event_hash = chain.link(
            prev_hash,
            event_id,
            stream,
            version,
            event_type,
            recorded_at,
            canonical(data),
            canonical(metadata),
        )
        tx.execute(
            "UPDATE events SET prev_hash = ?, hash = ? WHERE position = ?",
            (prev_hash, event_hash, position),
        )
        last[stream] = event_hash


def _ids_as_bytes(tx: sqlite3.Connection) -> None:
    """Migration to schema 3: the table again with 16-byte ids (a column's type cannot
    be altered in place). Positions are copied, and the AUTOINCREMENT counter too, so no
    position is ever handed out twice, even one whose event was deleted."""
    tx.create_function("lincah_uuid_bytes", 1, _uuid_bytes, deterministic=True)
    counter = tx.execute("SELECT seq FROM sqlite_sequence WHERE name = 'events'").fetchone()
    tx.execute(_SCHEMA_V3.replace("events (", "events_v3 (", 1))
    tx.execute(
        "INSERT INTO events_v3 (position, event_id, stream, version, type, data, metadata,"
        " recorded_at, prev_hash, hash) SELECT position, lincah_uuid_bytes(event_id), stream,"
        " version, type, data, metadata, recorded_at, prev_hash, hash FROM events"
        " ORDER BY position"
    )
    tx.execute("DROP TABLE events")
    tx.execute("ALTER TABLE events_v3 RENAME TO events")
    if counter is not None:
        kept = tx.execute(
            "UPDATE sqlite_sequence SET seq = MAX(seq, ?) WHERE name = 'events'", (counter[0],)
        ).rowcount
        if not kept:  # every event had been deleted: the new table has no counter yet
            tx.execute("INSERT INTO sqlite_sequence (name, seq) VALUES ('events', ?)", counter)


def _uuid_bytes(text: str) -> bytes:
    return uuid.UUID(text).bytes


def canonical(raw: bytes) -> bytes:
    return chain.canonical_json(orjson.loads(raw))


def _recorded(row: tuple[Any, ...]) -> RecordedEvent:
    # The row's columns are RecordedEvent's fields in order; JSON, id and time decode
    # when read.
    return RecordedEvent.from_row(row)
