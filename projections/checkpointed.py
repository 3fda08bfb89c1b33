"""A SQLite file that a follower of the event log writes with its checkpoint: the read
models (``projections.readmodels``) and the notification outbox
(``notifications.outbox``). One connection per thread, WAL so readers never block the
writer, and a transaction that commits the rows with their checkpoint or nothing."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Literal


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
