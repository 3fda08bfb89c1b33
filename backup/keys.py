"""Which files are keys: the secrets ``Settings.generated_secret`` writes (the one list
``config.settings.SECRET_FILES``) and the document-signing key. ``lincah backup`` puts
exactly these in the keys file the operator stores apart from the data; secrets set in
the configuration instead (``LINCAH_JWT_SECRET``, ...) are the configuration's to keep."""

from __future__ import annotations

import io
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from config.settings import SECRET_FILES, Settings

KEYS_FILE: Final = "KEYS-store-apart.tar"
"""The keys file's name in a backup: the operator moves it somewhere else than the data."""
DOCUMENT_KEY: Final = "document-signing-key.pem"
"""The document-signing key's name inside the keys file."""


@dataclass(frozen=True)
class KeyFile:
    name: str
    """Its name inside the keys file."""
    path: Path
    """Where it lives under these settings."""


def key_files(settings: Settings) -> list[KeyFile]:
    """Every key file these settings use, whether it exists yet or not."""
    files = [KeyFile(name, settings.var_dir / name) for name in SECRET_FILES]
    files.append(KeyFile(DOCUMENT_KEY, settings.document_key_location))
    return files


def pack(files: list[KeyFile]) -> tuple[bytes, list[str]]:
    """A tar of the key files that exist (mode 0600 inside), and their names."""
    buffer = io.BytesIO()
    names = []
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for key in files:
            if not key.path.is_file():
                continue
            data = key.path.read_bytes()
            info = tarfile.TarInfo(key.name)
            info.size, info.mode = len(data), 0o600
            tar.addfile(info, io.BytesIO(data))
            names.append(key.name)
    return buffer.getvalue(), names


def unpack(data: bytes) -> dict[str, bytes]:
    """The keys file's contents by name; only plain files with plain names."""
    out: dict[str, bytes] = {}
    with tarfile.open(fileobj=io.BytesIO(data), mode="r") as tar:
        for member in tar.getmembers():
            if not member.isfile() or "/" in member.name or member.name.startswith("."):
                raise ValueError(f"the keys file holds an unexpected entry {member.name!r}")
            f = tar.extractfile(member)
            assert f is not None  # a regular file
            out[member.name] = f.read()
    return out
