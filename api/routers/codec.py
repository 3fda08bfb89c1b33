"""The codec server of the Temporal Web UI (and of ``temporal workflow show
--codec-endpoint``): Temporal holds only encrypted payloads (``crypto/payload_codec.py``),
and these two routes turn them into readable ones and back for authorised staff.

The UI's protocol: ``POST <endpoint>/decode`` (or ``/encode``) with the body
``{"payloads": [{"metadata": {key: base64}, "data": base64}]}``, answered in the same
shape, from the browser at the UI's origin, with an ``X-Namespace`` header. Only the
region's auditors and administrators may call them: a payload names no agency, so the
per-agency scope of other staff cannot be checked on it, and a Lincah deployment serves
one region."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, HTTPException, status
from pydantic import BaseModel, Field
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send
from temporalio.api.common.v1 import Payload

from api import errors, security
from api.deps import SettingsDep, require_role
from config.settings import Settings
from crypto.payload_codec import EncryptionCodec, PayloadKeyMissing

PREFIX = "/codec"
ROLES = ("auditor", "region_admin")

router = APIRouter(prefix=PREFIX, tags=["codec"])

Decoder = Annotated[security.Principal, Depends(require_role(*ROLES))]


class WirePayload(BaseModel):
    """A Temporal payload in protobuf's JSON form: bytes as base64."""

    metadata: dict[str, str] = Field(default_factory=dict)
    data: str = ""


class WirePayloads(BaseModel):
    payloads: list[WirePayload]


def _from_wire(body: WirePayloads) -> list[Payload]:
    try:
        return [
            Payload(
                metadata={k: base64.b64decode(v, validate=True) for k, v in p.metadata.items()},
                data=base64.b64decode(p.data, validate=True),
            )
            for p in body.payloads
        ]
    except (binascii.Error, ValueError) as e:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            "a payload's metadata values and data must be base64 (as the Temporal Web UI "
            f"sends them): {e}",
        ) from e


def _to_wire(payloads: list[Payload]) -> WirePayloads:
    return WirePayloads(
        payloads=[
            WirePayload(
                metadata={k: base64.b64encode(v).decode() for k, v in p.metadata.items()},
                data=base64.b64encode(p.data).decode(),
            )
            for p in payloads
        ]
    )


def _codec(settings: Settings) -> EncryptionCodec:
    return EncryptionCodec(settings.payload_key_ring())


@router.post("/decode", response_model=WirePayloads, responses=errors.answers(422))
async def decode(body: WirePayloads, _: Decoder, settings: SettingsDep) -> WirePayloads:
    """The payloads readable: each encrypted one decrypted with the key it names, others
    as they came."""
    try:
        return _to_wire(await _codec(settings).decode(_from_wire(body)))
    except PayloadKeyMissing as e:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(e)) from e


@router.post("/encode", response_model=WirePayloads)
async def encode(body: WirePayloads, _: Decoder, settings: SettingsDep) -> WirePayloads:
    """The payloads encrypted with the newest key, as a worker would send them (the UI
    encodes what a person types, e.g. a signal's input)."""
    return _to_wire(await _codec(settings).encode(_from_wire(body)))


class _CodecCors:
    """CORS for the codec routes only: the UI's origin may call them from the browser
    (with the bearer token or cookies it is told to pass); every other route keeps
    refusing cross-origin calls."""

    def __init__(self, app: ASGIApp, origins: list[str]) -> None:
        self.app = app
        self.cors = CORSMiddleware(
            app,
            allow_origins=origins,
            allow_methods=["POST"],
            allow_headers=["authorization", "content-type", "x-namespace"],
            allow_credentials=True,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(PREFIX + "/"):
            await self.cors(scope, receive, send)
        else:
            await self.app(scope, receive, send)


def install(app: FastAPI, settings: Settings) -> None:
    """Add the codec's CORS; call it last, so that it wraps every other middleware and
    the answers they give (413, 415) carry its headers too."""
    app.add_middleware(_CodecCors, origins=settings.codec_origins)
