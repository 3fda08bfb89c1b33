"""Erasure of a citizen's personal data (crypto-shredding, ``commands.erasure``): by the
citizen themself (``DELETE /me``, after the retention periods) or by a region's
administrator, whose reason is recorded (``POST /admin/citizens/{account_id}/erase``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from api import errors, security
from api.deps import Citizen, RuntimeDep, require_role
from commands.erasure import SELF_SERVICE_REASON, Erased, erase_citizen

router = APIRouter(tags=["personal data"])

RegionAdmin = Annotated[security.Principal, Depends(require_role("region_admin"))]


class ErasureOrder(BaseModel):
    reason: str = Field(
        min_length=1,
        max_length=500,
        description="The legal basis (a court order, the authority's decision, ...), "
        "without personal data: it is kept for good",
        examples=["Putusan PN Banyuwangi No. 12/Pdt.P/2026"],
    )


class ErasureDone(BaseModel):
    citizen: str
    position: int
    """Where the erasure was recorded; ``min_position`` for reads that should show it."""
    keys_erased: int
    documents_deleted: list[str]
    """Numbers of the documents whose files were deleted; their verification now says
    they are revoked."""


def _done(e: Erased) -> ErasureDone:
    return ErasureDone(
        citizen=e.citizen, position=e.position, keys_erased=e.keys, documents_deleted=e.documents
    )


@router.delete(
    "/me",
    response_model=ErasureDone,
    responses=errors.answers(
        409,
        _409="An application or complaint of yours is still running, or the agency must "
        "still keep its records (the retention period); the detail says until when",
    ),
)
async def erase_me(user: Citizen, rt: RuntimeDep) -> ErasureDone:
    """Erase your personal data for good: your account closes, your profile, your
    applications' data and your documents become unreadable everywhere ("[dihapus]"),
    and the documents issued to you are revoked. What remains is that you applied, what
    was decided and when, which the agency must keep."""
    erased = await run_in_threadpool(
        erase_citizen,
        rt.store,
        rt.models,
        rt.settings,
        user.subject,
        reason=SELF_SERVICE_REASON,
        by=user.subject,
        role=user.role,
        self_service=True,
    )
    return _done(erased)


@router.post(
    "/admin/citizens/{account_id}/erase",
    response_model=ErasureDone,
    responses=errors.answers(
        404,
        409,
        422,
        _404="No citizen has this account id",
        _409="An application or complaint of the citizen is still running, or the "
        "citizen was erased already",
    ),
)
async def erase_citizen_by_order(
    account_id: str, order: ErasureOrder, user: RegionAdmin, rt: RuntimeDep
) -> ErasureDone:
    """Erase a citizen's personal data on an order (its reason recorded, not held by
    the retention period): as ``DELETE /me`` does."""
    erased = await run_in_threadpool(
        erase_citizen,
        rt.store,
        rt.models,
        rt.settings,
        account_id,
        reason=order.reason,
        by=user.subject,
        role=user.role,
        self_service=False,
    )
    return _done(erased)
