"""``lincah keys rotate``: a new key without losing what the old one protects.

- ``document-signing``: the retired key's public half stays in
  ``var/document-signing-retired/<key id>.pem``; verification picks the key by the id
  each document names, so documents issued before still verify.
- ``face``: every enrolment and waiting photo is re-encrypted under the new key. The new
  key is written to ``var/face-key.next`` first and moved into place only after the
  re-encryption committed; a rotation cut short is finished by running it again.
- ``jwt``: a new token-signing secret, and one ``AllSessionsEnded`` event that ends every
  refresh-token family: everyone logs in again; nothing else changes.

Secrets set in the configuration (``LINCAH_FACE_KEY``, ``LINCAH_JWT_SECRET``) are the
configuration's: the command refuses and says what to do instead.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from pathlib import Path

from accounts.sessions import Sessions
from config.settings import Settings
from documents.signing import rotate_signing_key
from eventstore.factory import open_event_store
from face.store import FaceStore


class CannotRotate(Exception):
    pass


def _write_secret(path: Path, value: str) -> None:
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(value)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def rotate_document_signing(settings: Settings) -> str:
    path = settings.document_key_location
    if not path.is_file():
        raise CannotRotate(f"there is no document-signing key at {path} to rotate")
    old, new = rotate_signing_key(path, settings.retired_document_keys_dir)
    return (
        f"documents are now signed with key {new}; key {old} is retired, its public half "
        f"kept in {settings.retired_document_keys_dir}, so documents it signed still verify. "
        "Restart the worker and the API (lincah up restarts them), and back up again: the "
        "new key is in no backup yet"
    )


def rotate_face(settings: Settings) -> str:
    if settings.face_key:
        raise CannotRotate(
            "the face key is set in the configuration (LINCAH_FACE_KEY), not generated: "
            "this command rotates only the generated var/face-key"
        )
    current = settings.var_dir / "face-key"
    pending = settings.var_dir / "face-key.next"
    if not pending.exists():
        _write_secret(pending, secrets.token_urlsafe(48))
    new = pending.read_text().strip()
    store = FaceStore.from_settings(settings)
    resealed, unreadable = store.rekey(new)
    os.replace(pending, current)
    lost = (
        f"; {unreadable} rows were readable under neither key and were left as they are"
        if unreadable
        else ""
    )
    return (
        f"re-encrypted {resealed} face records under a new key in {current}{lost}. Restart "
        "the API and the face worker, and back up again: the new key is in no backup yet"
    )


def rotate_jwt(settings: Settings) -> str:
    if settings.jwt_secret:
        raise CannotRotate(
            "the JWT secret is set in the configuration (LINCAH_JWT_SECRET): put a new "
            "random value there and restart the API; run this command only for the "
            "generated var/jwt-secret"
        )
    _write_secret(settings.var_dir / "jwt-secret", secrets.token_urlsafe(48))
    store = open_event_store(settings.eventstore, settings.eventstore_location)
    try:
        Sessions(store, settings.refresh_token_ttl_s).end_all("JWT secret rotated", "operator")
    finally:
        store.close()
    return (
        "new JWT secret in var/jwt-secret and every session ended: everyone logs in again. "
        "Restart the API (it reads the secret at start)"
    )


ROTATIONS: dict[str, Callable[[Settings], str]] = {
    "document-signing": rotate_document_signing,
    "face": rotate_face,
    "jwt": rotate_jwt,
}
