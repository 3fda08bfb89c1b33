"""A SQLite file that a follower of the event log writes with its checkpoint: the read
models (``projections.readmodels``) and the notification outbox
(``notifications.outbox``). One connection per thread, WAL so readers never block the
writer, and a transaction that commits the rows with their checkpoint or nothing."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Final, Literal

from eventstore.port import EventStore, RecordedEvent, Subscription

log = logging.getLogger(__name__)


class CheckpointedFile:
    synchronous: Literal["NORMAL", "FULL"] = "NORMAL"
    """``FULL`` where a lost commit would do harm again (the outbox would resend);
    ``NORMAL`` for data rebuilt from the log."""
    checkpoint_name = "main"

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(
                self.path, timeout=10, isolation_level=None, check_same_thread=False
            )
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute(f"PRAGMA synchronous={self.synchronous}")
            self._local.conn = conn
        return conn

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        db = self._conn()
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

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


def follow(
    store: EventStore,
    into: CheckpointedFile,
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
