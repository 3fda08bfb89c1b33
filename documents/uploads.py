"""Where uploaded requirement documents rest: one encrypted file each, outside the event
store, under ``uploads_dir`` (``var/uploads``), named by a random document id
(``doc-<32 hex>``), never by anything the citizen chose.

Each file is sealed with AES-256-GCM under a key derived (HKDF-SHA256) from the
``upload_key`` setting, with the document id and its owner as associated data: a file
copied under another id or owner, altered, or read with another key does not open
(``Unreadable``), and no byte of the document is on disk in the clear. Events name a
document by its id and the SHA-256 of its plain bytes only (``domain.wallet``).
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
from pathlib import Path
from typing import Final

from config.settings import Settings
from face.store import Sealer

DOCUMENT_ID: Final = re.compile(r"^doc-[0-9a-f]{32}$")
MAGIC: Final = b"LNCUP1\n"
"""Begins every stored file: the format, so a later one can be told apart."""


class Unreadable(Exception):
    """A stored upload does not open: altered, or sealed with another key."""


class UploadStore:
    """Encrypted files by document id. Each call works on its own file, so threads and
    processes share it safely; a file appears whole or not at all."""

    def __init__(self, root: Path, secret: str) -> None:
        self.root = root
        self._sealer = Sealer(secret, info=b"lincah uploads v1")

    @classmethod
    def from_settings(cls, settings: Settings) -> UploadStore:
        return cls(settings.uploads_dir, settings.upload_secret())

    @staticmethod
    def new_id() -> str:
        return f"doc-{secrets.token_hex(16)}"

    def path(self, document_id: str) -> Path:
        """The file of ``document_id``; ValueError for anything that is not an id (so
        no request can name a path of its own)."""
        if not DOCUMENT_ID.match(document_id):
            raise ValueError(f"{document_id!r} is not a document id")
        return self.root / document_id[4:6] / document_id

    def put(self, document_id: str, owner: str, data: bytes) -> None:
        """Seal and store ``data``: written to a temporary file, flushed to disk, then
        renamed into place."""
        final = self.path(document_id)
        final.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        sealed = MAGIC + self._sealer.seal(data, _context(document_id, owner))
        temporary = final.with_name(f".{final.name}.{secrets.token_hex(4)}.tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(sealed)
                f.flush()
                os.fsync(f.fileno())
            os.replace(temporary, final)
        except BaseException:
            with contextlib.suppress(OSError):
                temporary.unlink()
            raise
        _sync_directory(final.parent)

    def get(self, document_id: str, owner: str) -> bytes | None:
        """The plain bytes; None when there is no such file (or no such id). Raises
        ``Unreadable`` when the file is there but does not open."""
        try:
            sealed = self.path(document_id).read_bytes()
        except (ValueError, FileNotFoundError):
            return None
        if not sealed.startswith(MAGIC):
            raise Unreadable(f"the stored file of {document_id} is not in the uploads' format")
        plain = self._sealer.open(sealed[len(MAGIC) :], _context(document_id, owner))
        if plain is None:
            raise Unreadable(
                f"the stored file of {document_id} does not open: it was altered, or sealed "
                "with another upload_key"
            )
        return plain

    def delete(self, document_id: str) -> bool:
        """Remove the file; whether there was one."""
        try:
            self.path(document_id).unlink()
        except (ValueError, FileNotFoundError):
            return False
        return True


def _context(document_id: str, owner: str) -> str:
    return f"upload:{document_id}:{owner}"


def _sync_directory(directory: Path) -> None:
    """Make a rename in ``directory`` durable (where the platform allows)."""
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
