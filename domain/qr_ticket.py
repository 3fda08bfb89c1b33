"""The QR ticket of an appointment: a compact signed token the counter scans at check-in.

``LQ1.<payload>.<tag>``: the payload is the appointment id, the location and the slot as
compact JSON in unpadded base64url; the tag is HMAC-SHA256 over ``LQ1.<payload>`` with
the agency's ticket key, cut to 128 bits (forging one still takes 2^128 tries, and the
token stays short enough for a small QR code). Pure: the key is an argument, never read
here. A rescheduled appointment's old ticket still verifies but names the old slot; the
check-in compares it with the appointment's slot (:func:`matches`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from typing import Final

from pydantic import BaseModel, ConfigDict, ValidationError

from domain.refusals import Unverified

PREFIX: Final = "LQ1"
MIN_KEY_BYTES: Final = 32
MAX_TOKEN_CHARS: Final = 600
"""A ticket longer than this is refused before any work: ids are at most ~200 characters."""
_TAG_BYTES: Final = 16


class TicketPayload(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    appointment_id: str
    location_id: str
    slot_id: str


def issue(key: bytes, payload: TicketPayload) -> str:
    """The token to print as the appointment's QR code."""
    _check_key(key)
    body = json.dumps(
        {"a": payload.appointment_id, "l": payload.location_id, "s": payload.slot_id},
        separators=(",", ":"),
        ensure_ascii=True,
    )
    signed = f"{PREFIX}.{_b64(body.encode())}"
    return f"{signed}.{_b64(_tag(key, signed))}"


def read(key: bytes, token: str) -> TicketPayload:
    """The payload of a ticket this key signed; ``Unverified`` for any other string (a
    different key, a changed character, a truncated scan), with nothing more said."""
    _check_key(key)
    refused = Unverified("this QR ticket is not valid here; ask the citizen to show it again")
    if len(token) > MAX_TOKEN_CHARS or not token.isascii():
        raise refused
    parts = token.split(".")
    if len(parts) != 3 or parts[0] != PREFIX:
        raise refused
    signed = f"{parts[0]}.{parts[1]}"
    try:
        tag = _unb64(parts[2])
        if not hmac.compare_digest(tag, _tag(key, signed)):
            raise refused
        raw = json.loads(_unb64(parts[1]))
        return TicketPayload(appointment_id=raw["a"], location_id=raw["l"], slot_id=raw["s"])
    except (binascii.Error, ValueError, KeyError, TypeError, ValidationError):
        raise refused from None


def matches(payload: TicketPayload, appointment_id: str, slot_id: str) -> bool:
    """Whether a verified ticket is the appointment's current one (not an older slot's)."""
    return payload.appointment_id == appointment_id and payload.slot_id == slot_id


def _check_key(key: bytes) -> None:
    if len(key) < MIN_KEY_BYTES:
        raise ValueError(f"the ticket key must be at least {MIN_KEY_BYTES} bytes")


def _tag(key: bytes, signed: str) -> bytes:
    return hmac.new(key, signed.encode(), hashlib.sha256).digest()[:_TAG_BYTES]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
