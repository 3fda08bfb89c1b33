"""Per-citizen data keys for crypto-shredding: one AES-256 key per citizen, kept in
its own SQLite file (``var/data-keys.db``), never in the event store, because a key must
be deletable while events are immutable.

Each key rests wrapped (AES-256-GCM) by a key derived from the ``data_master_key``
setting, with the key's id as associated data, so a wrapped key copied to another row
does not open. ``erase`` deletes a citizen's keys (``secure_delete`` overwrites the
freed pages) and records that it did, when, why and by whom, without personal data.
After that, everything encrypted under those keys is unreadable for good; a later event
of the same citizen gets a fresh key.

One connection per thread; WAL and a busy timeout let the API, the workers and the
projector share the file.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS data_keys (
    key_id     TEXT PRIMARY KEY,
    citizen    TEXT NOT NULL,
    wrapped    BLOB,
    created_at TEXT NOT NULL,
    erased_at  TEXT
);
CREATE UNIQUE INDEX IF NOT EXISTS data_keys_current ON data_keys (citizen)
    WHERE erased_at IS NULL;
CREATE TABLE IF NOT EXISTS erasures (
    citizen   TEXT NOT NULL,
    erased_at TEXT NOT NULL,
    reason    TEXT NOT NULL,
    by        TEXT NOT NULL,
    keys      INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS erasures_citizen ON erasures (citizen);
"""
_INFO: Final = b"lincah data-key wrapping v1"


@dataclass(frozen=True)
class Erasure:
    citizen: str
    erased_at: datetime
    reason: str
    by: str
    keys: int
    """How many keys were deleted."""


def _use_wal(conn: sqlite3.Connection, wait_s: float = 10.0) -> None:
    """As config.sqlite.use_wal (crypto imports nothing of Lincah): processes opening a
    new file together retry the switch to WAL, which SQLite does not wait for."""
    deadline = time.monotonic() + wait_s
    while True:
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as e:
            if "locked" not in str(e) or time.monotonic() >= deadline:
                raise
            time.sleep(0.05)


class DataKeys:
    def __init__(self, path: str | Path, master_secret: str) -> None:
        if not master_secret:
            raise ValueError("the data master key (data_master_key) is empty")
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        master = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(
            master_secret.encode()
        )
        self._wrap = AESGCM(master)
        self._local = threading.local()
        self._conn().executescript(SCHEMA)

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(
                self.path, timeout=30, isolation_level=None, check_same_thread=False
            )
            _use_wal(conn)
            # A lost key would make data unreadable: every commit reaches the disk.
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("PRAGMA secure_delete=ON")
            self._local.conn = conn
        return conn

    def key_for(self, citizen: str) -> tuple[str, bytes]:
        """The citizen's current key (id, 32 bytes), made on first use. Two processes
        asking at once get the same one: the unique index lets one insert win."""
        db = self._conn()
        found = self._current(db, citizen)
        if found is not None:
            return found
        key_id = uuid.uuid4().hex
        key = AESGCM.generate_key(bit_length=256)
        wrapped = self._seal(key_id, key)
        db.execute(
            "INSERT OR IGNORE INTO data_keys (key_id, citizen, wrapped, created_at)"
            " VALUES (?, ?, ?, ?)",
            (key_id, citizen, wrapped, _now().isoformat()),
        )
        found = self._current(db, citizen)
        if found is None:  # pragma: no cover - erased between the insert and the read
            raise RuntimeError(f"no data key could be made for citizen {citizen}")
        return found

    def _current(self, db: sqlite3.Connection, citizen: str) -> tuple[str, bytes] | None:
        row = db.execute(
            "SELECT key_id, wrapped FROM data_keys WHERE citizen = ? AND erased_at IS NULL",
            (citizen,),
        ).fetchone()
        return None if row is None else (row[0], self._open(row[0], row[1]))

    def has_key(self, citizen: str) -> bool:
        """Whether the citizen has a current (not erased) key."""
        row = (
            self._conn()
            .execute("SELECT 1 FROM data_keys WHERE citizen = ? AND erased_at IS NULL", (citizen,))
            .fetchone()
        )
        return row is not None

    def keys(self, key_ids: Iterable[str]) -> dict[str, bytes]:
        """The keys of these ids that still exist; an erased or unknown id is absent."""
        wanted = sorted(set(key_ids))
        found: dict[str, bytes] = {}
        db = self._conn()
        for start in range(0, len(wanted), 500):  # SQLite's limit on bound values
            chunk = wanted[start : start + 500]
            marks = ", ".join("?" * len(chunk))  # placeholders only; the ids are bound
            rows = db.execute(
                f"SELECT key_id, wrapped FROM data_keys WHERE key_id IN ({marks})"  # noqa: S608
                " AND wrapped IS NOT NULL",
                chunk,
            ).fetchall()
            for key_id, wrapped in rows:
                found[key_id] = self._open(key_id, wrapped)
        return found

    def erase(self, citizen: str, reason: str, by: str) -> Erasure:
        """Delete every key of the citizen and record the erasure."""
        at = _now()
        db = self._conn()
        db.execute("BEGIN IMMEDIATE")
        try:
            erased = db.execute(
                "UPDATE data_keys SET wrapped = NULL, erased_at = ?"
                " WHERE citizen = ? AND erased_at IS NULL",
                (at.isoformat(), citizen),
            ).rowcount
            db.execute(
                "INSERT INTO erasures (citizen, erased_at, reason, by, keys)"
                " VALUES (?, ?, ?, ?, ?)",
                (citizen, at.isoformat(), reason, by, erased),
            )
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
        return Erasure(citizen, at, reason, by, erased)

    def erasures(self, citizen: str) -> list[Erasure]:
        rows = self._conn().execute(
            "SELECT citizen, erased_at, reason, by, keys FROM erasures WHERE citizen = ?"
            " ORDER BY erased_at",
            (citizen,),
        )
        return [Erasure(r[0], datetime.fromisoformat(r[1]), r[2], r[3], r[4]) for r in rows]

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    def _seal(self, key_id: str, key: bytes) -> bytes:
        nonce = os.urandom(12)
        return nonce + self._wrap.encrypt(nonce, key, key_id.encode())

    def _open(self, key_id: str, wrapped: bytes) -> bytes:
        try:
            return self._wrap.decrypt(wrapped[:12], wrapped[12:], key_id.encode())
        except (InvalidTag, ValueError) as e:
            raise RuntimeError(
                f"data key {key_id} does not open with the data_master_key setting "
                "(LINCAH_DATA_MASTER_KEY): was the master key changed?"
            ) from e


def _now() -> datetime:
    return datetime.now(UTC)
