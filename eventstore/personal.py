"""Crypto-shredding around any backend: ``PersonalDataStore`` encrypts the personal
fields of each appended event (``domain.personal_data.PERSONAL``) with the data key of
the citizen they belong to (``crypto.data_keys``), and decrypts them on every read.
Once a citizen is erased their key is gone, and every reader gets
``domain.personal_data.ERASED`` in place of their values, for good.

What the backend stores, and what the hash chain covers, is the ciphertext: the chain
is untouched by erasure, and ``stored(store)`` gives auditors the events as stored.

An encrypted value is a small marked dict::

    {"$pd": 1, "k": "<key id>", "c": "<base64 of nonce || AES-256-GCM ciphertext>"}

of the value's JSON, with the event id and the field's path as associated data (a value
copied into another event or field does not open). The nonce is synthetic, an HMAC of
the event id, the path and the plain value under the data key: a retried append of the
same event encrypts to the very same bytes, so the backend's duplicate check (which
compares stored data) still absorbs it, and a nonce repeats only for the same value at
the same place of the same event, which gives nothing away.

Events written before this existed (plain values, no marker) read as they are.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable
from typing import Any, Final

import orjson
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from crypto.data_keys import DataKeys
from domain import personal_data as pd
from eventstore.port import ANY, AppendResult, EventStore, NewEvent, RecordedEvent

MARK: Final = "$pd"
VERSION: Final = 1
_OWNER_CACHE: Final = 50_000


def is_sealed(value: object) -> bool:
    return isinstance(value, dict) and value.get(MARK) == VERSION and "k" in value


def _aad(event_id: str, path: str) -> bytes:
    return f"lincah-pd-v1|{event_id}|{path}".encode()


def seal(key_id: str, key: bytes, event_id: str, path: str, value: Any) -> dict[str, Any]:
    plain = orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    nonce = hmac.new(key, b"nonce|" + _aad(event_id, path) + b"|" + plain, hashlib.sha256)
    iv = nonce.digest()[:12]
    sealed = iv + AESGCM(key).encrypt(iv, plain, _aad(event_id, path))
    return {MARK: VERSION, "k": key_id, "c": base64.b64encode(sealed).decode()}


def unseal(key: bytes | None, event_id: str, path: str, value: dict[str, Any]) -> Any:
    """The plain value; ERASED when the key is gone."""
    if key is None:
        return pd.ERASED
    raw = base64.b64decode(value["c"])
    try:
        return orjson.loads(AESGCM(key).decrypt(raw[:12], raw[12:], _aad(event_id, path)))
    except InvalidTag as e:
        raise ValueError(
            f"the personal value at {path} of event {event_id} does not decrypt: it was "
            "altered or moved after it was written (run `lincah audit verify`)"
        ) from e


class PersonalDataStore(EventStore):
    """Any ``EventStore`` with the citizens' personal fields encrypted at rest."""

    def __init__(self, inner: EventStore, keys: DataKeys) -> None:
        self.inner = inner
        self.keys = keys
        self.backend = inner.backend
        self.dense_positions = inner.dense_positions
        self._owners: dict[str, str | None] = {}

    # -- writing ------------------------------------------------------------------------
    def append(
        self, stream: str, events: list[NewEvent], expected_version: int = ANY
    ) -> AppendResult:
        if isinstance(events, list | tuple) and any(
            isinstance(e, NewEvent) and e.type in pd.PERSONAL and isinstance(e.data, dict)
            for e in events
        ):
            events = [self._sealed(stream, e, events) for e in events]
        return self.inner.append(stream, events, expected_version)

    def _sealed(self, stream: str, event: NewEvent, batch: Iterable[NewEvent]) -> NewEvent:
        spec = pd.PERSONAL.get(event.type) if isinstance(event, NewEvent) else None
        if spec is None or not isinstance(event.data, dict):
            return event
        owner = (
            self._stream_owner(stream, batch)
            if spec.owner == pd.STREAM_OWNER
            else pd.owner_of(event.type, stream, event.data)
        )
        if owner is None:
            return event
        key_id, key = self.keys.key_for(owner)
        event_id = str(event.id)

        def change(path: str, value: Any) -> Any:
            return value if is_sealed(value) else seal(key_id, key, event_id, path, value)

        data = pd.transform(event.data, spec.paths, change)
        return NewEvent(event.id, event.type, data, event.metadata)

    def _stream_owner(self, stream: str, batch: Iterable[NewEvent]) -> str | None:
        """Whoever the stream's first event names (stored, or first in this batch)."""
        if stream in self._owners:
            return self._owners[stream]
        first = self.inner.read_stream(stream, 0, limit=1)
        if first:
            owner = pd.owner_of(first[0].type, stream, first[0].data)
            if len(self._owners) >= _OWNER_CACHE:
                self._owners.clear()
            self._owners[stream] = owner  # a stream's first event never changes
            return owner
        for e in batch:
            if isinstance(e, NewEvent) and isinstance(e.data, dict):
                return pd.owner_of(e.type, stream, e.data)
        return None

    # -- reading ------------------------------------------------------------------------
    def read_stream(
        self,
        stream: str,
        from_version: int | None = None,
        *,
        backwards: bool = False,
        limit: int | None = None,
    ) -> list[RecordedEvent]:
        return self._opened(
            self.inner.read_stream(stream, from_version, backwards=backwards, limit=limit)
        )

    def read_all(self, after: int = 0, limit: int = 1000) -> list[RecordedEvent]:
        return self._opened(self.inner.read_all(after, limit))

    def _opened(self, events: list[RecordedEvent]) -> list[RecordedEvent]:
        found: list[tuple[int, dict[str, Any], pd.Personal]] = []
        key_ids: set[str] = set()
        for index, event in enumerate(events):
            spec = pd.PERSONAL.get(event.type)
            if spec is None:
                continue
            data = event.data
            sealed = [v for _, v in pd.values(data, spec.paths) if is_sealed(v)]
            if sealed:
                key_ids.update(str(v["k"]) for v in sealed)
                found.append((index, data, spec))
        if not found:
            return events
        keys = self.keys.keys(key_ids)
        out = list(events)
        for index, data, spec in found:
            event = events[index]
            event_id = str(event.id)

            def change(path: str, value: Any, event_id: str = event_id) -> Any:
                if not is_sealed(value):
                    return value
                return unseal(keys.get(str(value["k"])), event_id, path, value)

            opened = pd.transform(data, spec.paths, change)
            out[index] = event.replace(data=orjson.dumps(opened))
        return out

    def head_position(self) -> int:
        return self.inner.head_position()

    def stream_version(self, stream: str) -> int:
        return self.inner.stream_version(stream)

    def wait_for_append(self, after: int, timeout: float) -> None:
        self.inner.wait_for_append(after, timeout)

    def close(self) -> None:
        self.inner.close()
        self.keys.close()


def stored(store: EventStore) -> EventStore:
    """The store as it keeps the events (ciphertext): what the hash chain covers."""
    return store.inner if isinstance(store, PersonalDataStore) else store
