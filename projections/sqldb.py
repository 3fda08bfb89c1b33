"""The two databases a follower of the event log can write its rows to, behind one small
DB-API surface, so the view SQL (``projections.views`` and the modules it calls, the
queries of ``projections.readmodels``) is written once:

- SQLite (a file path): the embedded default, WAL so readers never block the writer.
- PostgreSQL (a ``postgresql://`` URL): read models shared by several API processes
  and machines (README "Scaling out").

What differs is kept here: the placeholder style (the SQL says ``?``; PostgreSQL gets
``%s``), the column types of the DDL (``BLOB`` -> ``bytea``, ``INTEGER`` -> ``bigint``:
positions outgrow 32 bits), the schema version (``PRAGMA user_version`` or a row of
``readmodel_meta``), how a write transaction starts (SQLite's ``BEGIN IMMEDIATE``; on
PostgreSQL a transaction-scoped advisory lock, so writers are serialised the same way
and a checkpoint read inside the transaction stays true until it commits) and the row
factory (rows read by index, by column name, and as ``dict(row)`` on both). The upsert
syntax (``INSERT ... ON CONFLICT (...) DO UPDATE SET x = excluded.x``) and savepoints
are the same on both.
"""

from __future__ import annotations

import hashlib
import re
import sqlite3
from collections.abc import Iterator, Sequence
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal, Protocol

from config.sqlite import use_wal

if TYPE_CHECKING:
    import psycopg

POSTGRES_SCHEMES: Final = ("postgresql://", "postgres://")
CONNECT_TIMEOUT_S: Final = 10


def is_postgres(location: str | Path) -> bool:
    return isinstance(location, str) and location.startswith(POSTGRES_SCHEMES)


class Cursor(Protocol):
    @property
    def rowcount(self) -> int: ...
    def fetchone(self) -> Any: ...
    def fetchall(self) -> list[Any]: ...
    def __iter__(self) -> Iterator[Any]: ...


class Db(Protocol):
    """What view and query code may call: ``execute`` with ``?`` placeholders. Rows
    answer ``row[0]``, ``row["column"]``, ``dict(row)`` and ``tuple(row)``."""

    def execute(self, sql: str, params: Sequence[Any] = (), /) -> Cursor: ...


class Connection(Db, Protocol):
    """One connection of a follower (per thread), with what differs between the two."""

    def begin(self) -> None: ...
    def commit(self) -> None: ...
    def rollback(self) -> None: ...
    def script(self, ddl: str) -> None:
        """Run DDL statements (SQLite: ``executescript``; PostgreSQL: one by one in a
        transaction under the write lock, the column types mapped)."""
        ...

    def ensure_schema(self, ddl: str, version: int, derived: Sequence[str]) -> None:
        """Create the tables of ``ddl``; where the stored schema version is not
        ``version``, first drop the ``derived`` tables (rebuilt from the log)."""
        ...

    def close(self) -> None: ...
    @property
    def usable(self) -> bool: ...


def _statements(script: str) -> list[str]:
    """A script's statements, whole (a trigger's body stays with its CREATE)."""
    found: list[str] = []
    pending = ""
    for piece in script.split(";"):
        pending += piece + ";"
        if sqlite3.complete_statement(pending):
            if pending.strip().strip(";").strip():
                found.append(pending.strip())
            pending = ""
    return found


class SqliteConnection:
    def __init__(self, path: Path, synchronous: Literal["NORMAL", "FULL"]) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.raw = sqlite3.connect(path, timeout=10, isolation_level=None, check_same_thread=False)
        self.raw.row_factory = sqlite3.Row
        use_wal(self.raw)
        self.raw.execute(f"PRAGMA synchronous={synchronous}")

    def execute(self, sql: str, params: Sequence[Any] = (), /) -> Cursor:
        return self.raw.execute(sql, params)

    def begin(self) -> None:
        self.raw.execute("BEGIN IMMEDIATE")

    def commit(self) -> None:
        self.raw.execute("COMMIT")

    def rollback(self) -> None:
        self.raw.execute("ROLLBACK")

    def script(self, ddl: str) -> None:
        self.raw.executescript(ddl)  # executescript manages its own transaction

    def ensure_schema(self, ddl: str, version: int, derived: Sequence[str]) -> None:
        # One write transaction: processes opening together must not drop the tables
        # another is creating ("no such table" halfway through its script). Statement by
        # statement, as executescript would commit the transaction first.
        self.begin()
        try:
            if int(self.raw.execute("PRAGMA user_version").fetchone()[0]) != version:
                for table in derived:
                    self.raw.execute(f"DROP TABLE IF EXISTS {table}")
            for statement in _statements(ddl):
                self.raw.execute(statement)
            self.raw.execute(f"PRAGMA user_version = {int(version)}")
        except BaseException:
            self.rollback()
            raise
        self.commit()

    def close(self) -> None:
        self.raw.close()

    @property
    def usable(self) -> bool:
        return True


class Row(tuple[Any, ...]):
    """A PostgreSQL row that reads like ``sqlite3.Row``: by index, by column name, and
    as a mapping (``dict(row)``)."""

    _names: tuple[str, ...]

    def keys(self) -> tuple[str, ...]:
        return self._names

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            return tuple.__getitem__(self, self._names.index(key))
        return tuple.__getitem__(self, key)


@lru_cache(maxsize=256)
def _row_class(names: tuple[str, ...]) -> type[Row]:
    return type("Row", (Row,), {"_names": names})


def _row_factory(cursor: Any) -> Any:
    cls = _row_class(tuple(d.name for d in cursor.description or ()))

    def make(values: Sequence[Any]) -> Row:
        return cls(values)

    return make


@lru_cache(maxsize=512)
def _pg_sql(sql: str) -> str:
    # Our SQL never holds a literal "?" or "%"; escape "%" anyway so psycopg never
    # reads one as a placeholder.
    return sql.replace("%", "%%").replace("?", "%s")


_TYPES: Final = ((re.compile(r"\bBLOB\b"), "BYTEA"), (re.compile(r"\bINTEGER\b"), "BIGINT"))


def pg_ddl(ddl: str) -> list[str]:
    """SQLite DDL as PostgreSQL statements: one per ``;``, with the column types mapped."""
    for pattern, replacement in _TYPES:
        ddl = pattern.sub(replacement, ddl)
    return [s.strip() for s in ddl.split(";") if s.strip()]


class PostgresConnection:
    def __init__(self, url: str) -> None:
        self.url = url
        self.raw = self._connect()
        schema = self.raw.execute("SELECT current_schema()").fetchone()
        if schema is None or schema[0] is None:
            raise RuntimeError(
                "the read-model connection has no schema to write to (check search_path "
                "and that the schema exists)"
            )
        self.schema = str(schema[0])
        self._write_lock = advisory_key(f"{self.schema}/write")

    def _connect(self) -> psycopg.Connection[Any]:
        import psycopg

        raw: psycopg.Connection[Any] = psycopg.connect(
            self.url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S, row_factory=_row_factory
        )
        raw.execute("SET TIME ZONE 'UTC'")
        return raw

    def execute(self, sql: str, params: Sequence[Any] = (), /) -> Cursor:
        # Always a sequence, even an empty one: psycopg then reads "%%" as "%", as the
        # escaping in _pg_sql expects.
        return self._run(_pg_sql(sql), tuple(params))

    def _run(self, query: str, params: tuple[Any, ...]) -> Cursor:
        """Outside a transaction a statement that finds the connection gone (the server
        restarted, a proxy dropped it) is sent once more on a new connection: it is a
        read, or the BEGIN of a transaction, so nothing happens twice. Inside one the
        error stands, and the transaction's owner starts it again."""
        import psycopg
        from psycopg import pq

        idle = self.raw.info.transaction_status == pq.TransactionStatus.IDLE
        try:
            cursor: Cursor = self.raw.execute(query, params)
        except psycopg.OperationalError:
            if not (idle and self.raw.broken):
                raise
            self.raw.close()
            self.raw = self._connect()
            cursor = self.raw.execute(query, params)
        return cursor

    def begin(self) -> None:
        self._run("BEGIN", ())
        # Serialise writers as SQLite's BEGIN IMMEDIATE does: whoever checks the
        # checkpoint inside a transaction keeps it true until commit.
        self.raw.execute("SELECT pg_advisory_xact_lock(%s)", (self._write_lock,))

    def commit(self) -> None:
        self.raw.execute("COMMIT")

    def rollback(self) -> None:
        self.raw.execute("ROLLBACK")

    def script(self, ddl: str) -> None:
        self.begin()
        try:
            for statement in pg_ddl(ddl):
                self.raw.execute(statement)
        except BaseException:
            self.rollback()
            raise
        self.commit()

    def ensure_schema(self, ddl: str, version: int, derived: Sequence[str]) -> None:
        # In one transaction under the write lock: processes starting together must not
        # race their CREATE TABLEs (PostgreSQL answers the loser with a unique violation).
        self.begin()
        try:
            self.raw.execute(
                "CREATE TABLE IF NOT EXISTS readmodel_meta"
                " (name text PRIMARY KEY, value bigint NOT NULL)"
            )
            row = self.raw.execute(
                "SELECT value FROM readmodel_meta WHERE name = 'schema_version'"
            ).fetchone()
            if row is None or int(row[0]) != version:
                for table in derived:
                    self.raw.execute(f"DROP TABLE IF EXISTS {table}")
            for statement in pg_ddl(ddl):
                self.raw.execute(statement)
            self.raw.execute(
                "INSERT INTO readmodel_meta (name, value) VALUES ('schema_version', %s)"
                " ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                (version,),
            )
        except BaseException:
            self.rollback()
            raise
        self.commit()

    def close(self) -> None:
        self.raw.close()

    @property
    def usable(self) -> bool:
        """False once the server has gone away: the follower then opens a new one."""
        return not self.raw.closed and not self.raw.broken


def connect(location: str | Path, synchronous: Literal["NORMAL", "FULL"]) -> Connection:
    if is_postgres(location):
        return PostgresConnection(str(location))
    return SqliteConnection(Path(location), synchronous)


def advisory_key(name: str) -> int:
    """A PostgreSQL advisory-lock key (signed 64 bits) for ``name``."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


def infrastructure_errors() -> tuple[type[BaseException], ...]:
    """Failures of the database itself (disk, locks, a lost connection), never of an
    event: a follower rolls back and retries instead of parking the event."""
    errors: tuple[type[BaseException], ...] = (
        sqlite3.OperationalError,
        sqlite3.InterfaceError,
        sqlite3.InternalError,
        MemoryError,
    )
    try:
        import psycopg
    except ImportError:  # pragma: no cover - psycopg is a dependency
        return errors
    return (*errors, psycopg.OperationalError, psycopg.InterfaceError, psycopg.InternalError)
