"""Signing issued documents: the agency's Ed25519 key (``var/document-signing-key.pem``,
generated on first use, mode 0600) signs a canonical JSON of the registry record (number,
application, service, sha256, issue time, holder). Ed25519 is deterministic, so a retried
issuance that renders identical bytes gets the same signature."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import secrets
from pathlib import Path

import orjson
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey


def signed_payload(
    *,
    number: str,
    application_id: str,
    service_id: str,
    sha256: str,
    issued_at: str,
    holder: str,
) -> bytes:
    """The canonical bytes a document's signature covers."""
    record = {
        "number": number,
        "application_id": application_id,
        "service_id": service_id,
        "sha256": sha256,
        "issued_at": issued_at,
        "holder": holder,
    }
    return orjson.dumps(record, option=orjson.OPT_SORT_KEYS)


def load_signing_key(path: Path) -> Ed25519PrivateKey:
    """The document-signing key at ``path``, generated (mode 0600) when missing. Two
    processes creating it at once end with one key: it is written to a private temporary
    file and hard-linked into place, which fails when another process won."""
    if not path.exists():
        _create_key(path)
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path} holds a {type(key).__name__}, not an Ed25519 private key")
    return key


def _create_key(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(6)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(pem)
            f.flush()
            os.fsync(f.fileno())
        with contextlib.suppress(FileExistsError):  # another process won: use theirs
            os.link(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def public_key_pem(key: Ed25519PublicKey) -> str:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")


def public_key_id(key: Ed25519PublicKey) -> str:
    """First 16 hex digits of the sha256 of the raw 32-byte public key."""
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def sign(key: Ed25519PrivateKey, payload: bytes) -> str:
    return base64.b64encode(key.sign(payload)).decode("ascii")


def signature_valid(key: Ed25519PublicKey, payload: bytes, signature: str) -> bool:
    try:
        raw = base64.b64decode(signature, validate=True)
        key.verify(raw, payload)
    except (InvalidSignature, ValueError):  # binascii.Error is a ValueError
        return False
    return True


def rotate_signing_key(path: Path, retired_dir: Path) -> tuple[str, str]:
    """Retire the key at ``path`` and put a new one there: the retired key's public half
    is kept as ``retired_dir/<key id>.pem`` first, so documents it signed still verify.
    The ids of the retired and the new key."""
    old = load_signing_key(path).public_key()
    old_id = public_key_id(old)
    retired_dir.mkdir(parents=True, exist_ok=True)
    (retired_dir / f"{old_id}.pem").write_text(public_key_pem(old))
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(6)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    return old_id, public_key_id(load_signing_key(path).public_key())


def retired_public_key(retired_dir: Path, key_id: str) -> Ed25519PublicKey | None:
    """The retired public key with this id, if it was kept (and is what its name says)."""
    if not (len(key_id) == 16 and all(c in "0123456789abcdef" for c in key_id)):
        return None
    path = retired_dir / f"{key_id}.pem"
    if not path.is_file():
        return None
    key = serialization.load_pem_public_key(path.read_bytes())
    if not isinstance(key, Ed25519PublicKey) or public_key_id(key) != key_id:
        return None
    return key
