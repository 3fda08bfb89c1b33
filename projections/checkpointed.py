"""A database that a follower of the event log writes with its checkpoint: the read
models (``projections.readmodels``, a SQLite file or a PostgreSQL schema) and the
notification outbox (``notifications.outbox``, a SQLite file: it is one notifier's own
state). One connection per thread (``projections.sqldb``: WAL on SQLite so readers never
block the writer), and a transaction that commits the rows with their checkpoint or
nothing."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Final, Literal, Protocol

from eventstore.port import EventStore, RecordedEvent, Subscription
from projections import sqldb

log = logging.getLogger(__name__)


class CheckpointedFile:
    synchronous: Literal["NORMAL", "FULL"] = "NORMAL"
    """``FULL`` where a lost commit would do harm again (the outbox would resend);
    ``NORMAL`` for data rebuilt from the log."""
    checkpoint_name = "main"

    def __init__(self, location: str | Path) -> None:
        """``location``: a SQLite file path, or a ``postgresql://`` URL (whose
        ``search_path`` names the schema)."""
        self.location = location
        self.path: Path | None = None if sqldb.is_postgres(location) else Path(location)
        """The SQLite file (None on PostgreSQL)."""
        self._local = threading.local()

    def _conn(self) -> sqldb.Connection:
        conn: sqldb.Connection | None = getattr(self._local, "conn", None)
        if conn is not None and not conn.usable:  # the server went away: start afresh
            self._local.conn = conn = None
        if conn is None:
            conn = sqldb.connect(self.location, self.synchronous)
            self._local.conn = conn
        return conn

    @contextmanager
    def transaction(self) -> Iterator[sqldb.Db]:
        db = self._conn()
        db.begin()
        try:
            yield db
        except BaseException:
            if db.usable:
                db.rollback()
            raise
        db.commit()

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    def checkpoint(self) -> int:
        """The last position of the event log this file has taken in (0: none)."""
        row = (
            self._conn()
            .execute("SELECT position FROM checkpoints WHERE name = ?", (self.checkpoint_name,))
            .fetchone()
        )
        return int(row[0]) if row else 0

    async def reached(self, position: int, timeout_s: float) -> bool:
        """Whether the file has taken in ``position`` within ``timeout_s``: polled
        between ``await``s, so a waiting read holds no thread (each checkpoint read is
        one indexed row of a WAL database, which the writer never blocks)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while self.checkpoint() < position:
            if loop.time() >= deadline:
                return False
            await asyncio.sleep(0.02)
        return True


MAX_BACKOFF_S: Final = 5.0


class HasCheckpoint(Protocol):
    def checkpoint(self) -> int: ...


def follow(
    store: EventStore,
    into: HasCheckpoint,
    apply_batch: Callable[[int, list[RecordedEvent]], int],
    stop: threading.Event,
    what: str,
    *,
    batch_size: int,
    idle_sleep_s: float = 0.05,
) -> None:
    """Follow the store with a catch-up subscription from ``into``'s checkpoint until
    ``stop`` is set, handing each batch to ``apply_batch(checkpoint_before, batch)``
    (which writes the rows and the new checkpoint in one transaction, and answers 0 when
    another follower has moved the checkpoint on: the subscription then seeks to it). A
    failure is logged and retried from the checkpoint with backoff (at most
    ``MAX_BACKOFF_S``). ``idle_sleep_s`` bounds each wait for new events (backends that
    notify wake sooner) and so how long ``stop`` takes to be noticed."""
    log.info("%s running from position %d", what, into.checkpoint())
    sub: Subscription | None = None
    backoff = idle_sleep_s
    try:
        while not stop.is_set():
            try:
                if sub is None:
                    sub = store.subscribe(after=into.checkpoint(), batch_size=batch_size)
                before = sub.position
                batch = sub.next_batch(timeout=idle_sleep_s)
                if batch and apply_batch(before, batch) == 0:
                    sub.seek(into.checkpoint())  # another follower moved on
                backoff = idle_sleep_s
            except Exception as exc:
                log.error(
                    "%s failed after position %d (%s); retrying from the checkpoint in %.1f s",
                    what,
                    into.checkpoint(),
                    type(exc).__name__,
                    backoff,
                )
                if sub is not None:
                    sub.close()
                    sub = None
                stop.wait(backoff)
                backoff = min(max(backoff, 0.05) * 2, MAX_BACKOFF_S)
    finally:
        if sub is not None:
            sub.close()
