"""One active copy of a follower (the projector, the notifier) however many are started:
each copy takes a lease before it works, and the others stand by until the holder dies.

- Read models on PostgreSQL: a session advisory lock (``pg_try_advisory_lock``) held on
  a connection of its own. PostgreSQL releases it when that connection ends, so a
  killed holder's lease is free at once, and a dead machine's within the server's
  TCP keepalive time (set short on the lease's session).
- A SQLite file: an exclusive ``fcntl`` lock on a file beside it, which the kernel
  releases when the holding process ends.

A standby tries again every ``lease_poll_s`` seconds, so it takes over within about that
long. The lease saves work, it is not what keeps rows right: a batch is applied only
while the checkpoint it was read after is still the stored one
(``projections.projector``), so even two active copies would not apply an event twice.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from projections import sqldb

log = logging.getLogger(__name__)

_KEEPALIVE = (
    "SET tcp_keepalives_idle = 5",
    "SET tcp_keepalives_interval = 2",
    "SET tcp_keepalives_count = 3",
)
"""The server notices a vanished holder's connection (a dead machine) in about 11 s."""


class Lease(Protocol):
    description: str

    def try_acquire(self) -> bool:
        """Take the lease if it is free; True when this process holds it now."""
        ...

    def held(self) -> bool:
        """Whether the lease is still ours (False once its connection is lost)."""
        ...

    def release(self) -> None: ...


class FileLease:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.description = f"the lock file {path}"
        self._fd: int | None = None

    def try_acquire(self) -> bool:
        if self._fd is not None:
            return True
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def held(self) -> bool:
        return self._fd is not None

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor drops the lock
            self._fd = None


class PostgresLease:
    def __init__(self, url: str, name: str) -> None:
        self.url = url
        self.name = name
        self.description = f"the PostgreSQL advisory lock {name!r}"
        self._conn: Any = None

    def try_acquire(self) -> bool:
        import psycopg

        if self._conn is None or self._conn.closed or self._conn.broken:
            self._conn = psycopg.connect(
                self.url, autocommit=True, connect_timeout=sqldb.CONNECT_TIMEOUT_S
            )
            for statement in _KEEPALIVE:
                self._conn.execute(statement)
        schema = self._conn.execute("SELECT current_schema()").fetchone()[0]
        key = sqldb.advisory_key(f"{schema}/lease/{self.name}")
        got = bool(self._conn.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()[0])
        if not got:
            self._close()
        return got

    def held(self) -> bool:
        import psycopg

        if self._conn is None:
            return False
        try:
            self._conn.execute("SELECT 1")
        except psycopg.Error:
            self._close()
            return False
        return True

    def release(self) -> None:
        self._close()  # ending the session releases its advisory locks

    def _close(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):
                self._conn.close()
            self._conn = None


def lease_for(location: str | Path, name: str) -> Lease:
    """The lease named ``name`` of the database at ``location`` (a SQLite file path or a
    ``postgresql://`` URL): one holder per database, whatever the machine."""
    if sqldb.is_postgres(location):
        return PostgresLease(str(location), name)
    path = Path(location)
    return FileLease(path.with_name(f"{path.name}.{name}.lock"))


def run_leased(
    lease: Lease,
    work: Callable[[threading.Event], None],
    stop: threading.Event,
    what: str,
    poll_s: float,
) -> None:
    """Run ``work(its_stop)`` while holding ``lease``, until ``stop`` is set. Without the
    lease, stand by and try again every ``poll_s``; if the lease is lost (its connection
    gone), stop the work and stand by again."""
    standing_by = False
    while not stop.is_set():
        try:
            got = lease.try_acquire()
        except Exception as exc:
            log.error(
                "%s could not ask for %s (%s); trying again in %.1f s",
                what,
                lease.description,
                type(exc).__name__,
                poll_s,
            )
            got = False
        if not got:
            if not standing_by:
                log.info(
                    "%s standing by: another %s holds %s; trying every %.1f s to take over",
                    what,
                    what,
                    lease.description,
                    poll_s,
                )
                standing_by = True
            stop.wait(poll_s)
            continue
        standing_by = False
        log.info("%s active: it holds %s", what, lease.description)
        working = threading.Event()
        worker = threading.Thread(target=work, args=(working,), name=what)
        worker.start()
        try:
            while not stop.wait(poll_s) and worker.is_alive():
                if not lease.held():
                    log.warning(
                        "%s lost %s (its database connection ended); stopping, then standing by",
                        what,
                        lease.description,
                    )
                    break
        finally:
            working.set()
            worker.join()
            lease.release()
