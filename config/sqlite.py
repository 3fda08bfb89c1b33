"""SQLite files shared by several processes (the event store, the read models, the face
templates): switching a new file to WAL needs the file to itself, and SQLite answers
"database is locked" at once rather than waiting out the busy timeout, so processes
that open a new file together retry for a while."""

from __future__ import annotations

import sqlite3
import time

WAL_WAIT_S = 10.0


def use_wal(conn: sqlite3.Connection, wait_s: float = WAL_WAIT_S) -> str:
    """Put ``conn``'s file in WAL mode; the journal mode it ends in."""
    deadline = time.monotonic() + wait_s
    while True:
        try:
            return str(conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]).lower()
        except sqlite3.OperationalError as e:
            if "locked" not in str(e) or time.monotonic() >= deadline:
                raise
            time.sleep(0.05)
