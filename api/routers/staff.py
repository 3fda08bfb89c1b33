"""Staff accounts: an administrator invites (a one-time code by e-mail), the invitee
accepts with the code and a password, an administrator suspends or reinstates. Agency
administrators manage their agency's staff; region administrators invite agency
administrators and auditors of their region."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, status
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from accounts import passwords
from api import errors
from api.deps import Administrator, RuntimeDep
from api.routers.auth import client_address, refuse_if_limited
from api.security import Principal
from domain import accounts as acc
from domain.refusals import Unverified

router = APIRouter(prefix="/staff", tags=["staff"])


def _manager(user: Principal) -> acc.Inviter:
    return acc.Inviter(role=user.role, agency=user.agency, region=user.region)


class InvitationIn(BaseModel):
    email: str = Field(max_length=254, examples=["budi@banyuwangikab.go.id"])
    full_name: str = Field(min_length=1, max_length=200, examples=["Budi Santoso"])
    role: str = Field(examples=["officer"])
    agency: str | None = Field(
        default=None, description="Default: the administrator's own agency", examples=["BWI"]
    )
    region: str | None = Field(default=None, description="For region administrators and "
                               "region auditors", examples=["35.10"])  # fmt: skip
    services: list[str] = Field(
        default_factory=list, max_length=100, description="Limit an officer to these services"
    )


@router.post(
    "/invitations", status_code=status.HTTP_201_CREATED, responses=errors.answers(403, 404, 409)
)
async def invite(body: InvitationIn, user: Administrator, rt: RuntimeDep) -> dict[str, Any]:
    """Invite a member of staff; the code goes to their e-mail and is valid for
    ``invitation_ttl_s``. Inviting an address whose invitation is still open sends a new
    code."""
    region_scoped = body.role == acc.REGION_ADMIN or (body.role == acc.AUDITOR and body.region)
    agency = None if region_scoped else (body.agency or user.agency)
    inv = await run_in_threadpool(
        rt.accounts.invite, _manager(user), user.subject, body.email, body.full_name,
        body.role, agency, body.region or (user.region if region_scoped else None),
        body.services,
    )  # fmt: skip
    return {
        "account_id": inv.account_id,
        "email": inv.email,
        "expires_at": inv.expires_at.isoformat(),
        "position": inv.position,
    }


class AcceptIn(BaseModel):
    email: str = Field(max_length=254)
    code: str = Field(max_length=64)
    password: str = Field(max_length=passwords.MAX_LENGTH)


@router.post("/accept", responses=errors.answers(400, 409, 429))
async def accept(body: AcceptIn, request: Request, rt: RuntimeDep) -> dict[str, Any]:
    """Accept an invitation with the code from the e-mail and choose a password; then
    log in with POST /auth/login."""
    key = f"accept:{body.email.strip().lower()}"
    refuse_if_limited(rt, key, request)
    try:
        account = await run_in_threadpool(
            rt.accounts.accept_invitation, body.email, body.code, body.password
        )
    except Unverified:
        rt.sign_in_limits.failed(key, client_address(request))
        raise
    rt.sign_in_limits.succeeded(key)
    return account.public()


class SuspensionIn(BaseModel):
    reason: str = Field(min_length=1, max_length=500)


@router.post("/{account_id}/suspend", responses=errors.answers(403, 404, 409))
async def suspend(
    account_id: str, body: SuspensionIn, user: Administrator, rt: RuntimeDep
) -> dict[str, Any]:
    """Suspend a member of staff: their sign-ins end at once and they cannot log in."""
    account = await run_in_threadpool(
        rt.accounts.set_suspended, _manager(user), user.subject, account_id, True, body.reason
    )
    return account.public()


@router.post("/{account_id}/reinstate", responses=errors.answers(403, 404, 409))
async def reinstate(account_id: str, user: Administrator, rt: RuntimeDep) -> dict[str, Any]:
    account = await run_in_threadpool(
        rt.accounts.set_suspended, _manager(user), user.subject, account_id, False
    )
    return account.public()


@router.get("", responses=errors.answers(403))
async def list_staff(user: Administrator, rt: RuntimeDep) -> list[dict[str, Any]]:
    """The staff you administer, with their status."""
    accounts = await run_in_threadpool(rt.accounts.staff, _manager(user))
    return [a.public() for a in accounts]
