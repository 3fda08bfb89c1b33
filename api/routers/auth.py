from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, HTTPException, status
from pydantic import BaseModel, Field

from api import limits, security
from api.deps import RuntimeDep

router = APIRouter(prefix="/auth", tags=["auth"])


class DevLogin(BaseModel):
    subject: str = Field(min_length=1, max_length=100, examples=["siti@example.id"])
    role: Literal["citizen", "officer", "supervisor", "agency_admin", "auditor"]
    agency: str | None = Field(default=None, pattern=r"^[A-Z]{2,6}$", examples=["BWI"])


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth2 token type, no secret
    expires_in: int


@router.post("/dev-token", response_model=TokenOut, dependencies=[limits.DevLogin])
def dev_token(body: DevLogin, rt: RuntimeDep) -> TokenOut:
    """Development login: any subject, any role. Staff roles need their agency code."""
    if body.role in security.STAFF and body.agency is None:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            f'role {body.role!r} needs an agency code, e.g. "BWI"',
        )
    ttl = rt.settings.token_ttl_s
    token = security.issue(security.Principal(**body.model_dump()), rt.signing_key, ttl)
    return TokenOut(access_token=token, expires_in=ttl)
