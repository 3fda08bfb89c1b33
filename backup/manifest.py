"""A backup's manifest (``manifest.json``): when, which Lincah, the event store's head
position, and every file with its size and SHA-256, each named with where a restore puts
it. A restore trusts nothing the manifest does not vouch for."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any, Final

MANIFEST: Final = "manifest.json"
FORMAT: Final = 1


@dataclass(frozen=True)
class Entry:
    path: str
    """Inside the backup directory (``data/...``)."""
    restore_to: str
    """``eventstore``, ``temporal``, ``var/<relative path>`` or ``uploads/<relative path>``
    (where the settings of the restoring machine put them)."""
    sha256: str
    bytes: int


@dataclass
class Manifest:
    created_at: str
    lincah_version: str
    eventstore_backend: str
    head_position: int
    """The event store's head in this backup (SQLite), or when `lincah backup` ran
    (PostgreSQL: the dump taken after it holds at least this)."""
    files: list[Entry] = field(default_factory=list)
    keys_file: str = ""
    keys_sha256: str = ""
    keys: list[str] = field(default_factory=list)
    """The key files inside the keys file."""
    configured_secrets: list[str] = field(default_factory=list)
    """Secrets set in the configuration, not in files: not in this backup."""
    notes: list[str] = field(default_factory=list)
    format: int = FORMAT

    def write(self, directory: Path) -> None:
        (directory / MANIFEST).write_text(json.dumps(asdict(self), indent=1) + "\n")

    @classmethod
    def read(cls, directory: Path) -> Manifest:
        raw: dict[str, Any] = json.loads((directory / MANIFEST).read_text())
        if raw.get("format") != FORMAT:
            raise ValueError(
                f"{directory / MANIFEST} has format {raw.get('format')!r}; this Lincah "
                f"reads format {FORMAT}"
            )
        files = [Entry(**e) for e in raw.pop("files")]
        return cls(files=files, **raw)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def lincah_version() -> str:
    try:
        return metadata.version("lincah")
    except metadata.PackageNotFoundError:
        return "unknown"
