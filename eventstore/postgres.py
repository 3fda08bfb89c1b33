"""PostgreSQL backend of the event-store port (psycopg 3, a connection pool).

One append is one round trip: the server-side function ``lincah_append`` checks the
idempotency and the expected version, hashes the events into their stream's chain
(``eventstore.chain``, the same encoding computed in SQL), inserts them and notifies
subscribers, in one transaction.

The sequence-gap problem, and how this backend avoids it. With positions from a
sequence (``bigserial``), two writers can take positions 7 and 8, and the one holding 8
can commit first; a reader that then reads "after 6" sees 8, moves its checkpoint to 8,
and never sees 7 when it commits a moment later. Here positions are not taken from a
sequence: every append first locks the single row of ``events_head`` (``FOR UPDATE``)
and numbers its events from the head it finds there, so appends are numbered one after
the other, in commit order. PostgreSQL makes a transaction visible before it releases
its locks, so by the time the next writer holds the row, the previous append is visible
to every new snapshot: a reader can never see position N+1 before N, and a rolled-back
append leaves no hole (the positions are dense). The price is that appends are
serialised, each holding the lock through its commit (a WAL flush); reads never wait.

Durability: ``synchronous_commit`` is left at the server's setting (``on`` by default:
an append returns once its commit is flushed to the WAL).

Connection URL: a libpq URI or key/value string, e.g. ``postgresql://lincah@db/lincah``.
The tables are created in the first schema of the connection's ``search_path`` (pass
``options=-csearch_path%3Dmyschema`` in the URI to pick one); the schema is created or
migrated when the store opens.
"""

from __future__ import annotations

import hashlib
import threading
from typing import Any, Final

import psycopg
from psycopg import sql
from psycopg.rows import TupleRow
from psycopg_pool import ConnectionPool

from eventstore.common import Stored, check_limit, idempotent_result, validate
from eventstore.port import (
    ANY,
    NO_STREAM,
    AppendResult,
    EventStore,
    EventStoreError,
    NewEvent,
    RecordedEvent,
    Subscription,
    WrongExpectedVersion,
)

SCHEMA_VERSION: Final = 1
POOL_MAX: Final = 16
CONNECT_TIMEOUT_S: Final = 10.0
_MAX_VERSION: Final = (1 << 63) - 1
_LOCK_KEY: Final = 0x6C696E636168  # "lincah": serialises schema creation across processes

_SCHEMA: Final = [
    """
    CREATE TABLE IF NOT EXISTS lincah_meta (
        name  text PRIMARY KEY,
        value bigint NOT NULL
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS events (
        position    bigint      PRIMARY KEY,
        event_id    uuid        NOT NULL UNIQUE,
        stream      text        NOT NULL,
        version     bigint      NOT NULL,
        type        text        NOT NULL,
        data        bytea       NOT NULL,
        metadata    bytea       NOT NULL,
        recorded_at timestamptz NOT NULL,
        prev_hash   text        NOT NULL,
        hash        text        NOT NULL,
        UNIQUE (stream, version)
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS events_head (
        id       boolean PRIMARY KEY DEFAULT true CHECK (id),
        position bigint  NOT NULL
    )
    """,
    "INSERT INTO events_head (id, position) VALUES (true, 0) ON CONFLICT DO NOTHING",
    # field(b) of eventstore.chain: 4-byte big-endian length, then the bytes.
    """
    CREATE OR REPLACE FUNCTION lincah_field(b bytea) RETURNS bytea
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $$ SELECT int4send(octet_length(b)) || b $$
    """,
    """
    CREATE OR REPLACE FUNCTION lincah_append(
        p_stream   text,
        p_expected bigint,
        p_ids      uuid[],
        p_types    text[],
        p_data     bytea[],
        p_metadata bytea[],
        p_channel  text
    ) RETURNS TABLE (
        o_kind     text,
        o_event_id uuid,
        o_stream   text,
        o_version  bigint,
        o_position bigint,
        o_type     text,
        o_data     bytea
    )
    LANGUAGE plpgsql
    AS $fn$
    DECLARE
        v_head    bigint;
        v_current bigint;
        v_prev    text;
        v_hash    text;
        v_at      timestamptz;
        v_at_text bytea;
    BEGIN
        -- Serialise appends: positions follow commit order (see eventstore/postgres.py).
        SELECT h.position INTO v_head FROM events_head h WHERE h.id FOR UPDATE;

        -- Idempotency: any of the ids stored? Then the caller decides from those rows.
        RETURN QUERY
            SELECT 'stored', e.event_id, e.stream, e.version, e.position, e.type, e.data
            FROM events e WHERE e.event_id = ANY (p_ids);
        IF FOUND THEN
            RETURN;
        END IF;

        SELECT e.version, e.hash INTO v_current, v_prev
        FROM events e WHERE e.stream = p_stream ORDER BY e.version DESC LIMIT 1;
        IF NOT FOUND THEN
            v_current := -1;
            v_prev := repeat('0', 64);
        END IF;
        IF (p_expected = -1 AND v_current <> -1)
           OR (p_expected >= 0 AND p_expected <> v_current) THEN
            RETURN QUERY SELECT 'wrong_version', NULL::uuid, p_stream, v_current,
                                NULL::bigint, NULL::text, NULL::bytea;
            RETURN;
        END IF;

        v_at := clock_timestamp();
        v_at_text := convert_to(
            to_char(v_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"'), 'UTF8');
        FOR i IN 1 .. cardinality(p_ids) LOOP
            v_current := v_current + 1;
            v_head := v_head + 1;
            v_hash := encode(sha256(
                convert_to('lincah-event-v1', 'UTF8')
                || lincah_field(decode(v_prev, 'hex'))
                || lincah_field(convert_to(p_ids[i]::text, 'UTF8'))
                || lincah_field(convert_to(p_stream, 'UTF8'))
                || lincah_field(convert_to(v_current::text, 'UTF8'))
                || lincah_field(convert_to(p_types[i], 'UTF8'))
                || lincah_field(v_at_text)
                || lincah_field(p_data[i])
                || lincah_field(p_metadata[i])), 'hex');
            INSERT INTO events (position, event_id, stream, version, type, data, metadata,
                                recorded_at, prev_hash, hash)
            VALUES (v_head, p_ids[i], p_stream, v_current, p_types[i], p_data[i],
                    p_metadata[i], v_at, v_prev, v_hash);
            o_kind := 'appended';
            o_event_id := p_ids[i];
            o_stream := p_stream;
            o_version := v_current;
            o_position := v_head;
            o_type := NULL;
            o_data := NULL;
            RETURN NEXT;
            v_prev := v_hash;
        END LOOP;
        UPDATE events_head SET position = v_head WHERE id;
        PERFORM pg_notify(p_channel, v_head::text);
    END
    $fn$
    """,
]

_APPEND: Final = sql.SQL(
    "SELECT o_kind, o_event_id, o_stream, o_version, o_position, o_type, o_data"
    " FROM lincah_append(%b, %b, %b::uuid[], %b, %b, %b, %b)"
)
_COLUMNS: Final = (
    "event_id, stream, version, position, type, data, metadata, recorded_at, hash, prev_hash"
)
_READ_FORWARDS: Final = (
    f"SELECT {_COLUMNS} FROM events"  # noqa: S608 - constant column list
    " WHERE stream = %b AND version >= %b ORDER BY version ASC LIMIT %b"
)
_READ_BACKWARDS: Final = (
    f"SELECT {_COLUMNS} FROM events"  # noqa: S608 - constant column list
    " WHERE stream = %b AND version <= %b ORDER BY version DESC LIMIT %b"
)
_READ_ALL: Final = (
    f"SELECT {_COLUMNS} FROM events"  # noqa: S608 - constant column list
    " WHERE position > %b ORDER BY position ASC LIMIT %b"
)


def _configure(conn: psycopg.Connection[Any]) -> None:
    conn.execute("SET TIME ZONE 'UTC'")


class PostgresEventStore(EventStore):
    backend = "postgres"
    dense_positions = True

    def __init__(self, url: str, *, pool_max: int = POOL_MAX) -> None:
        if not url.strip():
            raise ValueError("the postgres event store needs a connection URL")
        self._url = url
        self._pool: ConnectionPool[psycopg.Connection[TupleRow]] = ConnectionPool(
            url,
            min_size=1,
            max_size=pool_max,
            kwargs={"autocommit": True},
            configure=_configure,
            open=False,
            timeout=CONNECT_TIMEOUT_S,
            name="lincah-eventstore",
        )
        try:
            self._pool.open(wait=True, timeout=CONNECT_TIMEOUT_S)
        except psycopg.Error as exc:
            self._pool.close()
            raise EventStoreError(f"cannot connect to PostgreSQL: {exc}") from exc
        except Exception:
            self._pool.close()
            raise
        try:
            self.schema, self.channel = self._create_schema()
        except BaseException:
            self._pool.close()
            raise

    @property
    def url(self) -> str:
        return self._url

    def _create_schema(self) -> tuple[str, str]:
        with self._pool.connection() as conn, conn.transaction():
            schema = conn.execute("SELECT current_schema()").fetchone()
            if schema is None or schema[0] is None:
                raise EventStoreError(
                    "the connection has no schema to create the event store in "
                    "(check search_path and that the schema exists)"
                )
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
            conn.execute(_SCHEMA[0])
            found = conn.execute(
                "SELECT value FROM lincah_meta WHERE name = 'schema_version'"
            ).fetchone()
            version = 0 if found is None else int(found[0])
            if version > SCHEMA_VERSION:
                raise EventStoreError(
                    f"schema {schema[0]!r} has event-store schema version {version}; "
                    f"this code knows up to {SCHEMA_VERSION}"
                )
            if version < 1:
                for statement in _SCHEMA[1:]:
                    conn.execute(statement)
                conn.execute(
                    "INSERT INTO lincah_meta (name, value) VALUES ('schema_version', %s)"
                    " ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                    (SCHEMA_VERSION,),
                )
        name = str(schema[0])
        return name, "lincah_" + hashlib.sha256(name.encode()).hexdigest()[:24]

    def close(self) -> None:
        self._pool.close()

    # -- writing -----------------------------------------------------------------

    def append(
        self, stream: str, events: list[NewEvent], expected_version: int = ANY
    ) -> AppendResult:
        rows = validate(stream, events, expected_version)
        params = (
            stream,
            expected_version,
            [row.event_id for row in rows],
            [row.type for row in rows],
            [row.data for row in rows],
            [row.metadata for row in rows],
            self.channel,
        )
        with self._pool.connection() as conn:
            result = conn.execute(_APPEND, params, prepare=True).fetchall()
        kind = result[0][0]
        if kind == "wrong_version":
            raise WrongExpectedVersion(stream, expected_version, int(result[0][3]))
        if kind == "stored":
            stored = {
                str(r[1]): Stored(r[2], int(r[3]), int(r[4]), r[5], bytes(r[6])) for r in result
            }
            return idempotent_result(stream, rows, stored)
        return AppendResult(
            stream_version=int(result[-1][3]), positions=[int(r[4]) for r in result]
        )

    # -- reading -----------------------------------------------------------------

    def _query(self, query: str, params: tuple[Any, ...]) -> list[RecordedEvent]:
        with self._pool.connection() as conn, conn.cursor(binary=True) as cur:
            cur.execute(query, params, prepare=True)
            return list(map(_recorded, cur))

    def read_stream(
        self,
        stream: str,
        from_version: int | None = None,
        *,
        backwards: bool = False,
        limit: int | None = None,
    ) -> list[RecordedEvent]:
        check_limit(limit)
        if backwards:
            top = _MAX_VERSION if from_version is None else from_version
            return self._query(_READ_BACKWARDS, (stream, top, limit))
        bottom = 0 if from_version is None else from_version
        return self._query(_READ_FORWARDS, (stream, bottom, limit))

    def read_all(self, after: int = 0, limit: int = 1000) -> list[RecordedEvent]:
        check_limit(limit)
        return self._query(_READ_ALL, (after, limit))

    def head_position(self) -> int:
        with self._pool.connection() as conn:
            row = conn.execute("SELECT position FROM events_head", prepare=True).fetchone()
        return 0 if row is None else int(row[0])

    def stream_version(self, stream: str) -> int:
        with self._pool.connection() as conn:
            row = conn.execute(
                "SELECT max(version) FROM events WHERE stream = %s", (stream,), prepare=True
            ).fetchone()
        return NO_STREAM if row is None or row[0] is None else int(row[0])

    # -- subscriptions -----------------------------------------------------------

    def subscribe(self, after: int = 0, *, batch_size: int = 500) -> Subscription:
        return PostgresSubscription(self, after, batch_size)

    def wait_for_append(self, after: int, timeout: float) -> None:
        with PostgresSubscription(self, after, 1) as sub:
            if self.head_position() <= after:
                sub._wait(timeout)

    def listener(self) -> psycopg.Connection[TupleRow]:
        """A new connection (outside the pool) listening to this store's appends."""
        conn = psycopg.connect(self._url, autocommit=True, connect_timeout=10)
        conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self.channel)))
        return conn


class PostgresSubscription(Subscription):
    """Waits for LISTEN/NOTIFY wake-ups instead of polling. LISTEN is issued before the
    first read, so an append that lands between a read and the wait still wakes it."""

    def __init__(self, store: PostgresEventStore, after: int, batch_size: int) -> None:
        super().__init__(store, after, batch_size)
        self._conn = store.listener()
        self._lock = threading.Lock()

    def _wait(self, timeout: float) -> None:
        with self._lock:
            woke = False
            for _ in self._conn.notifies(timeout=timeout, stop_after=1):
                woke = True
            if woke:  # drain the wake-ups that queued meanwhile: one read covers them
                for _ in self._conn.notifies(timeout=0.0):
                    pass

    def close(self) -> None:
        super().close()
        self._conn.close()


def _recorded(row: tuple[Any, ...]) -> RecordedEvent:
    # Columns in RecordedEvent's field order; psycopg has decoded the id (uuid) and the
    # time (UTC, see _configure); the JSON decodes when read.
    return RecordedEvent.from_row(row)
