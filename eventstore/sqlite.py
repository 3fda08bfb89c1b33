"""SQLite backend of the event-store port: one file, many threads, many processes.

Every append runs in a ``BEGIN IMMEDIATE`` transaction, which takes SQLite's single
write lock before reading anything, so the idempotency check, the expected-version
check and the inserts see one consistent state and writers (threads of this process,
other processes on the same file) are serialised. Because writers are serialised and
positions come from ``AUTOINCREMENT``, a reader never sees position N+1 committed
before N: ``read_all(after=...)`` is safe for catch-up subscriptions without gaps.
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

from eventstore.port import (
    ANY,
    MAX_EVENT_BYTES,
    MAX_STREAM_NAME,
    NO_STREAM,
    AppendResult,
    DuplicateEventIds,
    EventStore,
    EventStoreError,
    InvalidEvent,
    NewEvent,
    RecordedEvent,
    WrongExpectedVersion,
)

SCHEMA_VERSION: Final = 1
"""Stored in ``PRAGMA user_version``; bump it and add a migration step when the schema changes."""

MAX_EVENT_TYPE: Final = 200
BUSY_TIMEOUT_S: Final = 10.0
_ID_CHUNK: Final = 500
"""Ids per ``IN (...)`` lookup, well under SQLite's bound-parameter limit."""

_SCHEMA_V1: Final = """
CREATE TABLE IF NOT EXISTS events (
    position    INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id    TEXT    NOT NULL UNIQUE,
    stream      TEXT    NOT NULL,
    version     INTEGER NOT NULL,
    type        TEXT    NOT NULL,
    data        BLOB    NOT NULL,
    metadata    BLOB    NOT NULL,
    recorded_at TEXT    NOT NULL,
    UNIQUE (stream, version)
);
"""

_READ_FORWARDS: Final = (
    "SELECT event_id, stream, version, position, type, data, metadata, recorded_at"
    " FROM events WHERE stream = ? AND version >= ? ORDER BY version ASC LIMIT ?"
)
_READ_BACKWARDS: Final = (
    "SELECT event_id, stream, version, position, type, data, metadata, recorded_at"
    " FROM events WHERE stream = ? AND version <= ? ORDER BY version DESC LIMIT ?"
)
_READ_ALL: Final = (
    "SELECT event_id, stream, version, position, type, data, metadata, recorded_at"
    " FROM events WHERE position > ? ORDER BY position ASC LIMIT ?"
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


class SqliteEventStore(EventStore):
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
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
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
                tx.execute(_SCHEMA_V1)
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
        rows = _validate(stream, events, expected_version)
        ids = [row[0] for row in rows]
        with self._transaction() as tx:
            stored = self._lookup_ids(tx, ids)
            if stored:
                return _idempotent_result(stream, rows, stored)

            found = tx.execute(
                "SELECT MAX(version) FROM events WHERE stream = ?", (stream,)
            ).fetchone()[0]
            current = NO_STREAM if found is None else int(found)
            if expected_version == NO_STREAM and current != NO_STREAM:
                raise WrongExpectedVersion(stream, expected_version, current)
            if expected_version >= 0 and expected_version != current:
                raise WrongExpectedVersion(stream, expected_version, current)

            recorded_at = datetime.now(UTC).isoformat(timespec="microseconds")
            positions: list[int] = []
            version = current
            for event_id, event_type, data, metadata in rows:
                version += 1
                cursor = tx.execute(
                    "INSERT INTO events"
                    " (event_id, stream, version, type, data, metadata, recorded_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (event_id, stream, version, event_type, data, metadata, recorded_at),
                )
                assert cursor.lastrowid is not None
                positions.append(cursor.lastrowid)
            return AppendResult(stream_version=version, positions=positions)

    @staticmethod
    def _lookup_ids(
        tx: sqlite3.Connection, ids: Sequence[str]
    ) -> dict[str, tuple[str, int, int, str, bytes]]:
        stored: dict[str, tuple[str, int, int, str, bytes]] = {}
        for start in range(0, len(ids), _ID_CHUNK):
            chunk = ids[start : start + _ID_CHUNK]
            marks = ", ".join("?" * len(chunk))  # placeholders only, never values
            sql = f"{_LOOKUP_IDS} ({marks})"
            for event_id, stream, version, position, event_type, data in tx.execute(sql, chunk):
                stored[event_id] = (stream, version, position, event_type, data)
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
        if limit is not None and limit < 0:
            raise ValueError(f"limit must be >= 0, got {limit}")
        sql_limit = -1 if limit is None else limit
        if backwards:
            top = _MAX_VERSION if from_version is None else from_version
            cursor = self._conn().execute(_READ_BACKWARDS, (stream, top, sql_limit))
        else:
            bottom = 0 if from_version is None else from_version
            cursor = self._conn().execute(_READ_FORWARDS, (stream, bottom, sql_limit))
        return [_recorded(row) for row in cursor]

    def read_all(self, after: int = 0, limit: int = 1000) -> list[RecordedEvent]:
        if limit < 0:
            raise ValueError(f"limit must be >= 0, got {limit}")
        cursor = self._conn().execute(_READ_ALL, (after, limit))
        return [_recorded(row) for row in cursor]

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

_Row = tuple[str, str, bytes, bytes]
"""event id, type, serialised data, serialised metadata."""


def _validate(stream: object, events: object, expected_version: object) -> list[_Row]:
    if not isinstance(stream, str) or not stream:
        raise InvalidEvent(f"stream name must be a non-empty string, got {stream!r}")
    if len(stream) > MAX_STREAM_NAME:
        raise InvalidEvent(
            f"stream name is {len(stream)} characters, the limit is {MAX_STREAM_NAME}: "
            f"{stream[:40]!r}..."
        )
    if "\x00" in stream:
        raise InvalidEvent(f"stream name must not contain NUL characters: {stream!r}")
    if (
        not isinstance(expected_version, int)
        or isinstance(expected_version, bool)
        or expected_version < ANY
    ):
        raise InvalidEvent(
            "expected_version must be ANY (-2), NO_STREAM (-1) or a stream version >= 0, "
            f"got {expected_version!r}"
        )
    if not isinstance(events, list | tuple) or not events:
        raise InvalidEvent(f"an append needs a non-empty list of events (stream {stream!r})")

    rows: list[_Row] = []
    seen: set[str] = set()
    for index, event in enumerate(events):
        where = f"event #{index} of the batch for stream {stream!r}"
        if not isinstance(event, NewEvent):
            raise InvalidEvent(f"{where} is a {type(event).__name__}, not a NewEvent")
        if not isinstance(event.id, uuid.UUID):
            raise InvalidEvent(f"{where} has id {event.id!r}, which is not a uuid.UUID")
        event_id = str(event.id)
        if event_id in seen:
            raise InvalidEvent(f"{where} repeats event id {event_id} within the batch")
        seen.add(event_id)
        if not isinstance(event.type, str) or not event.type:
            raise InvalidEvent(f"{where} ({event_id}) has an empty event type")
        if len(event.type) > MAX_EVENT_TYPE:
            raise InvalidEvent(
                f"{where} ({event_id}) has a {len(event.type)}-character event type; "
                f"the limit is {MAX_EVENT_TYPE}"
            )
        data = _serialise(event.data, f"data of {where} ({event_id}, {event.type})")
        metadata = _serialise(event.metadata, f"metadata of {where} ({event_id}, {event.type})")
        size = len(data) + len(metadata)
        if size > MAX_EVENT_BYTES:
            raise InvalidEvent(
                f"{where} ({event_id}, {event.type}) serialises to {size} bytes of data and "
                f"metadata; the limit is {MAX_EVENT_BYTES} (keep large files in the "
                "document store and put a reference in the event)"
            )
        rows.append((event_id, event.type, data, metadata))
    return rows


def _serialise(value: object, what: str) -> bytes:
    if not isinstance(value, dict):
        raise InvalidEvent(f"{what} must be a dict, got {type(value).__name__}")
    try:
        # Sorted keys make the bytes canonical, so an idempotent retry whose dict was
        # built in another order still matches the stored event.
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    except TypeError as exc:  # orjson.JSONEncodeError is a TypeError
        raise InvalidEvent(f"{what} is not JSON-serialisable: {exc}") from exc


def _idempotent_result(
    stream: str, rows: list[_Row], stored: dict[str, tuple[str, int, int, str, bytes]]
) -> AppendResult:
    """The stored result when every id of the batch is stored as this very event;
    DuplicateEventIds otherwise. The expected version is deliberately not checked: a
    retry of an append that succeeded must succeed again, whatever was appended since.
    Metadata is not compared (a retry may carry a new trace or attempt number)."""
    new = [row[0] for row in rows if row[0] not in stored]
    if new:
        raise DuplicateEventIds(
            f"the batch for stream {stream!r} mixes stored and new event ids: "
            f"stored {_id_list([row[0] for row in rows if row[0] in stored])}, "
            f"new {_id_list(new)}; a retry must resend exactly the stored events"
        )
    conflicts: list[str] = []
    for event_id, event_type, data, _metadata in rows:
        other_stream, _version, _position, other_type, other_data = stored[event_id]
        if other_stream != stream:
            conflicts.append(f"{event_id} is stored in stream {other_stream!r}")
        elif other_type != event_type:
            conflicts.append(f"{event_id} is stored with type {other_type!r}, not {event_type!r}")
        elif bytes(other_data) != data:
            conflicts.append(f"{event_id} is stored with different data")
    if conflicts:
        raise DuplicateEventIds(
            f"event ids of the batch for stream {stream!r} are already used by other "
            f"events: {'; '.join(conflicts)}"
        )
    return AppendResult(
        stream_version=stored[rows[-1][0]][1],
        positions=[stored[row[0]][2] for row in rows],
    )


def _id_list(ids: list[str], shown: int = 10) -> str:
    text = ", ".join(ids[:shown])
    return text if len(ids) <= shown else f"{text} and {len(ids) - shown} more"


def _recorded(row: tuple[Any, ...]) -> RecordedEvent:
    event_id, stream, version, position, event_type, data, metadata, recorded_at = row
    return RecordedEvent(
        id=uuid.UUID(event_id),
        stream=stream,
        version=version,
        position=position,
        type=event_type,
        data=orjson.loads(data),
        metadata=orjson.loads(metadata),
        recorded_at=datetime.fromisoformat(recorded_at),
    )
