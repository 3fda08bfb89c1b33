"""The codec that keeps personal data out of Temporal: every payload Lincah hands
Temporal (workflow inputs and results, updates, queries, activity arguments and
results, failure messages) is sealed with AES-256-GCM before it leaves the process, so
Temporal's database, its history and its Web UI hold ciphertext only.

Keys have ids so they can rotate: the newest key seals, and each sealed payload names
its key in its metadata, so a history sealed under an older key stays readable while
that key is kept. Payloads without the encrypted encoding (histories recorded before
the codec, payloads of other tools) pass through untouched."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from temporalio.api.common.v1 import Payload
from temporalio.converter import PayloadCodec

ENCODING: Final = b"binary/encrypted"
"""The metadata ``encoding`` of a sealed payload (the name Temporal's samples use)."""
KEY_ID: Final = "encryption-key-id"
"""The metadata entry naming the key a payload was sealed with."""
_INFO: Final = b"lincah temporal payloads v1"
_NONCE_BYTES: Final = 12


class PayloadKeyMissing(Exception):
    """A payload does not open: sealed with a key this process does not hold, or with
    another secret under the same id, or damaged."""


class EncryptionCodec(PayloadCodec):
    """AES-256-GCM over the whole serialized payload (data and metadata, so the payload
    converter's own ``encoding`` is hidden too). ``keys`` maps key id to secret, oldest
    first: the last one seals. Each key is derived from its secret with HKDF-SHA256; the
    key id is authenticated data, so a payload cannot be passed off under another id."""

    def __init__(self, keys: Mapping[str, str]) -> None:
        if not keys:
            raise ValueError("the payload codec needs at least one key (setting payload_keys)")
        self._keys = {key_id: AESGCM(_derive(secret)) for key_id, secret in keys.items()}
        self.current_key_id = list(keys)[-1]

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.seal(p) for p in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.open(p) for p in payloads]

    def seal(self, payload: Payload) -> Payload:
        key_id = self.current_key_id
        nonce = os.urandom(_NONCE_BYTES)
        sealed = self._keys[key_id].encrypt(nonce, payload.SerializeToString(), key_id.encode())
        return Payload(
            metadata={"encoding": ENCODING, KEY_ID: key_id.encode()}, data=nonce + sealed
        )

    def open(self, payload: Payload) -> Payload:
        if payload.metadata.get("encoding") != ENCODING:
            return payload
        key_id = payload.metadata.get(KEY_ID, b"").decode(errors="replace")
        aead = self._keys.get(key_id)
        if aead is None:
            raise PayloadKeyMissing(
                f"a Temporal payload is encrypted with key {key_id!r}, which is not among "
                f"this process's payload keys ({', '.join(self._keys)}); add it to the "
                "setting payload_keys (LINCAH_PAYLOAD_KEYS) with its old secret"
            )
        try:
            plain = aead.decrypt(
                payload.data[:_NONCE_BYTES], payload.data[_NONCE_BYTES:], key_id.encode()
            )
        except (InvalidTag, ValueError) as exc:  # ValueError: too short to hold a nonce
            raise PayloadKeyMissing(
                f"a Temporal payload encrypted with key {key_id!r} does not open with this "
                f"process's key {key_id!r}: it is damaged, or the secret of that id was "
                "changed. Give the key id its old secret again (a new secret needs a new id)"
            ) from exc
        return Payload.FromString(plain)


def _derive(secret: str) -> bytes:
    if not secret:
        raise ValueError("a payload key's secret is empty")
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(secret.encode())
