"""Development login: HS256 bearer tokens carrying subject, role and agency."""

from __future__ import annotations

import time

import jwt
from pydantic import BaseModel

ROLES = ("citizen", "officer", "supervisor", "agency_admin", "auditor")
STAFF = frozenset({"officer", "supervisor", "agency_admin"})
ISSUER = "lincah-dev"


class Principal(BaseModel):
    subject: str
    role: str
    agency: str | None = None

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
        "iss": ISSUER,
        "iat": now,
        "exp": now + ttl_s,
    }
    return jwt.encode(claims, key, algorithm="HS256")


def verify(token: str, key: str) -> Principal:
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=["HS256"],
            issuer=ISSUER,
            options={"require": ["sub", "exp", "iss"]},
        )
    except jwt.ExpiredSignatureError as e:
        raise InvalidToken("the token has expired; log in again") from e
    except jwt.PyJWTError as e:
        raise InvalidToken(f"the token is not valid: {e}") from e
    if claims.get("role") not in ROLES:
        raise InvalidToken("the token carries no known role")
    return Principal(subject=claims["sub"], role=claims["role"], agency=claims.get("agency"))
