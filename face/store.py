"""Where face data rests, encrypted: enrolled embeddings (one per citizen and backend) and
photos waiting for their check (selfies, enrolment photos), which expire.

Both live in one SQLite file (``var/faces.db``) that the API and the face worker open.
Every blob is sealed with AES-256-GCM under a key derived from the ``face_key`` setting;
the row's identity is the associated data, so a blob copied to another row does not
open. ``secure_delete`` overwrites deleted rows in the file.
"""

from __future__ import annotations

import os
import secrets
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from config.settings import Settings
from config.sqlite import use_wal
from face.replay import Fingerprint

SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS enrolments (
    citizen     TEXT NOT NULL,
    backend     TEXT NOT NULL,
    sealed      BLOB NOT NULL,
    enrolled_at REAL NOT NULL,
    PRIMARY KEY (citizen, backend)
);
CREATE TABLE IF NOT EXISTS photos (
    ref        TEXT PRIMARY KEY,
    citizen    TEXT NOT NULL,
    purpose    TEXT NOT NULL,
    sealed     BLOB NOT NULL,
    expires_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS photos_expiry ON photos (expires_at);
"""
ADDED_COLUMNS: Final = (
    ("fingerprint", "BLOB"),
    ("provenance", "TEXT NOT NULL DEFAULT 'self-service'"),
    ("officer", "TEXT"),
)
"""Columns added to ``enrolments`` after its first release (issue 18): the sealed
fingerprint of the enrolment photo (replays), how the enrolment was made and by whom."""

SELF_SERVICE: Final = "self-service"
COUNTER: Final = "counter"
"""At the counter, by an officer who checked the citizen's KTP (the officer is kept)."""
PROVENANCES: Final = (SELF_SERVICE, COUNTER)

SELFIE: Final = "selfie"
ENROLMENT: Final = "enrolment"
ENROLMENT_PHOTO_TTL_S: Final = 600
"""An enrolment photo is deleted as soon as its embedding is stored; this bounds it if the
face worker never takes it."""


class Sealer:
    """AES-256-GCM with a key derived (HKDF-SHA256) from a secret string; ``info``
    separates the keys of different uses (face data, profiles, uploads)."""

    def __init__(self, secret: str, info: bytes = b"lincah face data v1") -> None:
        if not secret:
            raise ValueError(f"the encryption key for {info.decode()} is empty")
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(
            secret.encode()
        )
        self._aead = AESGCM(key)

    def seal(self, plain: bytes, context: str) -> bytes:
        nonce = os.urandom(12)
        return nonce + self._aead.encrypt(nonce, plain, context.encode())

    def open(self, sealed: bytes, context: str) -> bytes | None:
        """The plain bytes, or None when the blob was not sealed for this context or key."""
        try:
            return self._aead.decrypt(sealed[:12], sealed[12:], context.encode())
        except (InvalidTag, ValueError):
            return None


@dataclass(frozen=True)
class Enrolment:
    backend: str
    enrolled_at: float
    provenance: str = SELF_SERVICE
    officer: str | None = None


@dataclass(frozen=True)
class EnrolledFace:
    embedding: np.ndarray
    fingerprint: Fingerprint | None
    """None for enrolments made before fingerprints were kept."""
    provenance: str


class CounterEnrolmentHeld(Exception):
    """A self-service enrolment may not replace one an officer made at the counter."""


class FaceStore:
    """Enrolments and waiting photos. Safe to share between threads and processes: each
    call opens its own short connection (WAL, busy timeout)."""

    def __init__(self, path: Path, secret: str) -> None:
        self.path = path
        self._sealer = Sealer(secret)
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._db() as db:
            db.executescript(SCHEMA)
            have = {row[1] for row in db.execute("PRAGMA table_info(enrolments)")}
            for name, kind in ADDED_COLUMNS:
                if name not in have:
                    try:
                        db.execute(f"ALTER TABLE enrolments ADD COLUMN {name} {kind}")
                    except sqlite3.OperationalError as e:
                        # The API and the face worker open the file together; one of
                        # them adds the column first.
                        if "duplicate column" not in str(e):
                            raise

    @classmethod
    def from_settings(cls, settings: Settings) -> FaceStore:
        return cls(settings.var_dir / "faces.db", settings.face_secret())

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=10, isolation_level=None)
        try:
            use_wal(db)
            db.execute("PRAGMA secure_delete=ON")
            db.execute("PRAGMA synchronous=FULL")
            yield db
        finally:
            db.close()

    # Enrolments --------------------------------------------------------------
    def enrol(
        self,
        citizen: str,
        backend: str,
        embedding: np.ndarray,
        fingerprint: Fingerprint | None = None,
        provenance: str = SELF_SERVICE,
        officer: str | None = None,
    ) -> bool:
        """Store (or replace) the citizen's embedding; True when it replaced one. Raises
        :class:`CounterEnrolmentHeld` when a self-service enrolment would replace a
        counter one (checked and written in one transaction)."""
        if provenance not in PROVENANCES or (provenance == COUNTER) != bool(officer):
            raise ValueError("a counter enrolment names its officer; a self-service one none")
        context = f"enrolment:{citizen}:{backend}"
        sealed = self._sealer.seal(np.asarray(embedding, dtype="<f4").tobytes(), context)
        print_ = None if fingerprint is None else self._sealer.seal(fingerprint.to_bytes(), context)
        with self._db() as db:
            db.execute("BEGIN IMMEDIATE")
            held = db.execute(
                "SELECT provenance FROM enrolments WHERE citizen = ? AND backend = ?",
                (citizen, backend),
            ).fetchone()
            if held is not None and held[0] == COUNTER and provenance != COUNTER:
                db.execute("ROLLBACK")
                raise CounterEnrolmentHeld()
            db.execute(
                "INSERT OR REPLACE INTO enrolments (citizen, backend, sealed, enrolled_at, "
                "fingerprint, provenance, officer) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (citizen, backend, sealed, time.time(), print_, provenance, officer),
            )
            db.execute("COMMIT")
        return held is not None

    def embedding(self, citizen: str, backend: str) -> np.ndarray | None:
        face = self.enrolled(citizen, backend)
        return None if face is None else face.embedding

    def enrolled(self, citizen: str, backend: str) -> EnrolledFace | None:
        """The citizen's enrolment for a backend, opened; None if absent or unreadable."""
        with self._db() as db:
            row = db.execute(
                "SELECT sealed, fingerprint, provenance FROM enrolments "
                "WHERE citizen = ? AND backend = ?",
                (citizen, backend),
            ).fetchone()
        if row is None:
            return None
        context = f"enrolment:{citizen}:{backend}"
        plain = self._sealer.open(row[0], context)
        if plain is None:
            return None
        opened = None if row[1] is None else self._sealer.open(row[1], context)
        return EnrolledFace(
            embedding=np.frombuffer(plain, dtype="<f4").copy(),
            fingerprint=None if opened is None else Fingerprint.from_bytes(opened),
            provenance=row[2],
        )

    def enrolments(self, citizen: str) -> list[Enrolment]:
        with self._db() as db:
            rows = db.execute(
                "SELECT backend, enrolled_at, provenance, officer FROM enrolments "
                "WHERE citizen = ? ORDER BY enrolled_at DESC",
                (citizen,),
            ).fetchall()
        return [Enrolment(*row) for row in rows]

    def forget(self, citizen: str) -> int:
        """Delete every embedding of the citizen; the number deleted."""
        with self._db() as db:
            return db.execute("DELETE FROM enrolments WHERE citizen = ?", (citizen,)).rowcount

    # Photos waiting for their check -----------------------------------------
    def put_photo(self, citizen: str, purpose: str, data: bytes, ttl_s: float) -> tuple[str, float]:
        """Keep a photo until it is checked or expires; its reference and expiry."""
        ref = f"{purpose[:2]}_{secrets.token_urlsafe(24)}"
        expires_at = time.time() + ttl_s
        sealed = self._sealer.seal(data, _photo_context(ref, citizen, purpose))
        with self._db() as db:
            db.execute("DELETE FROM photos WHERE expires_at < ?", (time.time(),))
            db.execute(
                "INSERT INTO photos (ref, citizen, purpose, sealed, expires_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (ref, citizen, purpose, sealed, expires_at),
            )
        return ref, expires_at

    def photo(self, ref: str, citizen: str, purpose: str) -> bytes | None:
        """The photo, if it exists, has not expired, and belongs to this citizen."""
        with self._db() as db:
            db.execute("DELETE FROM photos WHERE expires_at < ?", (time.time(),))
            row = db.execute(
                "SELECT sealed FROM photos WHERE ref = ? AND citizen = ? AND purpose = ?",
                (ref, citizen, purpose),
            ).fetchone()
        if row is None:
            return None
        return self._sealer.open(row[0], _photo_context(ref, citizen, purpose))

    def has_photo(self, ref: str, citizen: str, purpose: str = SELFIE) -> bool:
        with self._db() as db:
            row = db.execute(
                "SELECT 1 FROM photos WHERE ref = ? AND citizen = ? AND purpose = ? "
                "AND expires_at >= ?",
                (ref, citizen, purpose, time.time()),
            ).fetchone()
        return row is not None

    def delete_photo(self, ref: str, citizen: str) -> None:
        with self._db() as db:
            db.execute("DELETE FROM photos WHERE ref = ? AND citizen = ?", (ref, citizen))

    def purge_expired(self) -> int:
        with self._db() as db:
            return db.execute("DELETE FROM photos WHERE expires_at < ?", (time.time(),)).rowcount

    def rekey(self, new_secret: str) -> tuple[int, int]:
        """Seal every enrolment and waiting photo under ``new_secret`` instead of this
        store's key, in one transaction. Rows already sealed under the new key are left
        as they are, so a rotation interrupted before its key file was switched can be run
        again. (re-sealed, unreadable): unreadable rows were under neither key."""
        new = Sealer(new_secret)
        resealed = unreadable = 0
        with self._db() as db:
            db.execute("BEGIN IMMEDIATE")
            rows = db.execute(
                "SELECT 'enrolments', rowid, 'enrolment:' || citizen || ':' || backend, sealed "
                "FROM enrolments UNION ALL "
                "SELECT 'photos', rowid, 'photo:' || ref || ':' || citizen || ':' || purpose, "
                "sealed FROM photos"
            ).fetchall()
            for table, rowid, context, sealed in rows:
                if new.open(sealed, context) is not None:
                    continue
                plain = self._sealer.open(sealed, context)
                if plain is None:
                    unreadable += 1
                    continue
                db.execute(
                    f"UPDATE {table} SET sealed = ? WHERE rowid = ?",  # noqa: S608 - ours
                    (new.seal(plain, context), rowid),
                )
                resealed += 1
            db.execute("COMMIT")
        self._sealer = new
        return resealed, unreadable

    def count_photos(self) -> int:
        with self._db() as db:
            row = db.execute("SELECT count(*) FROM photos").fetchone()
        return int(row[0])


def _photo_context(ref: str, citizen: str, purpose: str) -> str:
    return f"photo:{ref}:{citizen}:{purpose}"
