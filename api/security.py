"""Access tokens: short-lived HS256 JWTs naming the account (``sub``), its role and its
scope (agency, region, services). POST /auth/login and /auth/refresh issue them for real
accounts; in development POST /auth/dev-token issues them for any subject, marked
``dev`` so that production refuses them even if someone signed one with its key."""

from __future__ import annotations

import functools
import time
import uuid
from typing import Any

import jwt
from pydantic import BaseModel

from domain.accounts import AGENCY_ROLES, ROLES

STAFF = AGENCY_ROLES
"""Roles that act for one agency (and see its applications)."""
ISSUER = "lincah"
AUDIENCE = "lincah-api"


class Principal(BaseModel):
    subject: str
    """The account id (for dev tokens: whatever subject was asked for)."""
    role: str
    agency: str | None = None
    region: str | None = None
    services: list[str] = []
    """For an officer limited to some services: their ids; empty means all."""
    epoch: int | None = None
    """The account's epoch when the token was issued; None on dev tokens."""
    dev: bool = False
    channel: str | None = None
    """``kiosk`` for a kiosk session (POST /auth/kiosk): its applications are recorded
    as filed at the kiosk. None for every other sign-in."""

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF


class InvalidToken(Exception):
    pass


def issue(principal: Principal, key: str, ttl_s: int) -> str:
    now = int(time.time())
    claims = {
        "sub": principal.subject,
        "role": principal.role,
        "agency": principal.agency,
        "region": principal.region,
        "services": principal.services,
        "iss": ISSUER,
        "aud": AUDIENCE,
        "iat": now,
        "exp": now + ttl_s,
        "jti": uuid.uuid4().hex,
    }
    if principal.channel is not None:
        claims["channel"] = principal.channel
    if principal.dev:
        claims["dev"] = True
    else:
        claims["epoch"] = principal.epoch
    return jwt.encode(claims, key, algorithm="HS256")


@functools.lru_cache(maxsize=4096)
def _verified_claims(token: str, key: str) -> dict[str, Any]:
    """The claims of a token whose signature, issuer and audience were checked once: a
    client sends the same token with every request for minutes, and PyJWT's checks
    cost more than the rest of a cached read. Failures are not cached; expiry is
    checked again on every use (``verify``). Read-only: callers never change it."""
    claims: dict[str, Any] = jwt.decode(
        token,
        key,
        algorithms=["HS256"],
        issuer=ISSUER,
        audience=AUDIENCE,
        options={"require": ["sub", "exp", "iat", "iss", "aud", "jti"]},
    )
    return claims


def verify(token: str, key: str) -> Principal:
    expired = "the token has expired; log in again (or POST /auth/refresh)"
    try:
        claims = _verified_claims(token, key)
    except jwt.ExpiredSignatureError as e:
        raise InvalidToken(expired) from e
    except jwt.PyJWTError as e:
        raise InvalidToken(f"the token is not valid: {e}") from e
    # PyJWT's own test, for a token that expired since it was first verified.
    if not isinstance(claims["exp"], int) or claims["exp"] <= time.time():
        raise InvalidToken(expired)
    if claims.get("role") not in ROLES:
        raise InvalidToken("the token carries no known role")
    dev = claims.get("dev") is True
    if not dev and not isinstance(claims.get("epoch"), int):
        raise InvalidToken("the token is not valid: it names no account epoch")
    return Principal(
        subject=claims["sub"],
        role=claims["role"],
        agency=claims.get("agency"),
        region=claims.get("region"),
        services=list(claims.get("services") or []),
        epoch=None if dev else claims["epoch"],
        dev=dev,
        channel=claims["channel"] if claims.get("channel") == "kiosk" else None,
    )
