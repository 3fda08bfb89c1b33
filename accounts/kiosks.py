"""Kiosk devices: an agency administrator registers one and gets its device key once
(``<kiosk id>.<secret>``, shown only then); the kiosk sends it with every sign-in
(``X-Kiosk-Key``); revoking the kiosk ends it at once. Events name their actor."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import uuid

from domain import kiosks as ks
from domain.refusals import Conflict, NotFound, Unauthenticated
from eventstore.port import EventStore, NewEvent, WrongExpectedVersion

_NOT_A_KIOSK = (
    "this device is not a registered kiosk (its key is unknown or was revoked); ask the "
    "agency administrator to register it (POST /agencies/{code}/kiosks)"
)


_KIOSK_ID = re.compile(r"^k-[0-9a-f]{24}$")


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class Kiosks:
    def __init__(self, store: EventStore) -> None:
        self.store = store

    def kiosk(self, kiosk_id: str) -> ks.Kiosk | None:
        return ks.fold_kiosk(self.store.read_stream(ks.kiosk_stream(kiosk_id)))

    def register(self, agency: str, label: str, by: str) -> tuple[ks.Kiosk, str]:
        """A new kiosk of ``agency`` and its device key (returned only here)."""
        kiosk_id = f"k-{uuid.uuid4().hex[:24]}"
        key = f"{kiosk_id}.{secrets.token_urlsafe(32)}"
        data = {
            "kiosk_id": kiosk_id,
            "agency": agency,
            "label": label,
            "key_hash": _hash(key),
            "by": by,
        }
        self.store.append(
            ks.kiosk_stream(kiosk_id), [NewEvent(uuid.uuid4(), ks.KIOSK_REGISTERED, data)], -1
        )
        kiosk = self.kiosk(kiosk_id)
        assert kiosk is not None
        return kiosk, key

    def revoke(self, agency: str, kiosk_id: str, by: str) -> ks.Kiosk:
        kiosk = self.kiosk(kiosk_id)
        if kiosk is None or kiosk.agency != agency:
            raise NotFound(f"agency {agency} has no kiosk {kiosk_id}")
        if kiosk.revoked:
            raise Conflict(f"kiosk {kiosk_id} is already revoked")
        event = NewEvent(uuid.uuid4(), ks.KIOSK_REVOKED, {"by": by})
        try:
            self.store.append(ks.kiosk_stream(kiosk_id), [event], kiosk.version)
        except WrongExpectedVersion as e:
            raise Conflict(f"kiosk {kiosk_id} changed meanwhile; try again") from e
        revoked = self.kiosk(kiosk_id)
        assert revoked is not None
        return revoked

    def authenticate(self, key: str | None) -> ks.Kiosk:
        """The registered, unrevoked kiosk whose device key this is."""
        kiosk_id, _, secret = (key or "").partition(".")
        kiosk = self.kiosk(kiosk_id) if _KIOSK_ID.match(kiosk_id) and secret else None
        if (
            kiosk is None
            or kiosk.revoked
            or not hmac.compare_digest(kiosk.key_hash, _hash(key or ""))
        ):
            raise Unauthenticated(_NOT_A_KIOSK)
        return kiosk
