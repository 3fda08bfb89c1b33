"""Self-service kiosks: devices an agency administrator registers, each with a secret
device key that the kiosk presents to open a citizen's session by face match
(POST /auth/kiosk). Folded from the kiosk's own stream; the key is kept only as its
SHA-256 hash (256 random bits, so a plain hash is enough, as for refresh tokens).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any, Final

from domain.recorded import Recorded

KIOSK_REGISTERED: Final = "KioskRegistered"
KIOSK_REVOKED: Final = "KioskRevoked"


def kiosk_stream(kiosk_id: str) -> str:
    return f"kiosk-{kiosk_id}"


@dataclass(frozen=True)
class Kiosk:
    kiosk_id: str
    agency: str
    label: str
    key_hash: str
    version: int
    revoked: bool = False

    def public(self) -> dict[str, Any]:
        return {
            "kiosk_id": self.kiosk_id,
            "agency": self.agency,
            "label": self.label,
            "revoked": self.revoked,
        }


def fold_kiosk(events: Iterable[Recorded]) -> Kiosk | None:
    kiosk: Kiosk | None = None
    for e in events:
        if e.type == KIOSK_REGISTERED:
            d = e.data
            kiosk = Kiosk(d["kiosk_id"], d["agency"], d["label"], d["key_hash"], e.version)
        elif kiosk is not None:
            kiosk = replace(kiosk, version=e.version, revoked=kiosk.revoked or (
                e.type == KIOSK_REVOKED))  # fmt: skip
    return kiosk
