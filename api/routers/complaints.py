"""Complaints (pengaduan) on the SP4N-LAPOR rules: filing (by a citizen, or anonymously
without a token), the complainant's history, the agency's inbox, one complaint, and the
commands of its workflow (``workflows.complaint``).

Another party's complaint answers every read and command as an unknown one. A
confidential complaint shows its complainant only to the complainant and to the
handling agency's complaint officers; an anonymous one names nobody.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request, status
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from temporalio.client import WithStartWorkflowOperation
from temporalio.common import WorkflowIDConflictPolicy

from api import errors, idempotency, limits, temporal_errors
from api.deps import Consistent, ModelsDep, OptionalUser, RuntimeDep, require_role
from api.idempotency import IdempotencyKey, Key
from api.runtime import Runtime
from api.security import Principal
from api.updates import actor, run_update
from commands.agencies import calendar_of
from domain import complaints as c
from domain.refusals import Forbidden, Invalid, NotFound
from workflows.complaint import ComplaintWorkflow
from workflows.complaint_messages import (
    ComplaintInput,
    ComplaintResult,
    FollowUp,
    ProvideInfo,
    Rate,
    Respond,
    Verify,
)

router = APIRouter(tags=["complaints"])

DESK_ROLES = ("complaint_officer", "supervisor")
Desk = Annotated[Principal, Depends(require_role(*DESK_ROLES))]
FollowUpStaff = Annotated[Principal, Depends(require_role(*DESK_ROLES, "officer"))]
Complainant = Annotated[Principal, Depends(require_role("citizen"))]
Reader = Annotated[Principal, Depends(require_role("citizen", *DESK_ROLES))]
COMPLAINT_ID = r"^lpr-[0-9a-f]{32}$"
ComplaintId = Annotated[str, Path(max_length=40, examples=["lpr-" + "0" * 32])]


class NewComplaint(BaseModel):
    agency: str = Field(pattern=r"^[A-Z]{2,6}$", examples=["BWI"])
    """The agency the complaint is addressed to."""
    subject: c.Subject
    text: str = Field(min_length=1, max_length=10_000)
    attachments: list[Annotated[str, Field(min_length=1, max_length=200)]] = Field(
        default_factory=list, max_length=10
    )
    """References of attached files (e.g. document numbers or upload references)."""
    anonymity: c.Anonymity = "named"
    """``anonymous``: nobody is named (required without a token); ``confidential``:
    only the handling agency's complaint officers see who complained."""
    channel: str = Field(default="api", pattern=r"^[a-z_]{1,30}$")


class VerifyIn(BaseModel):
    decision: Literal["accept", "ask_info", "reject", "forward"]
    reason: str = Field(default="", max_length=2000)
    to_agency: str | None = Field(default=None, pattern=r"^[A-Z]{2,6}$")


class InfoIn(BaseModel):
    text: str = Field(min_length=1, max_length=10_000)
    attachments: list[Annotated[str, Field(min_length=1, max_length=200)]] = Field(
        default_factory=list, max_length=10
    )


class FollowUpIn(BaseModel):
    unit: str = Field(min_length=1, max_length=200)
    text: str = Field(min_length=1, max_length=10_000)


class RespondIn(BaseModel):
    decision: Literal["accept", "reopen"]
    comment: str = Field(default="", max_length=2000)


class RateIn(BaseModel):
    score: int = Field(ge=1, le=5)
    comment: str = Field(default="", max_length=2000)


# -- filing -----------------------------------------------------------------------------
@router.post(
    "/complaints",
    status_code=status.HTTP_201_CREATED,
    response_model=ComplaintResult,
    dependencies=[limits.Complaints],
    responses=errors.answers(403, 422, 503),
)
async def file_complaint(
    body: NewComplaint,
    user: OptionalUser,
    rt: RuntimeDep,
    request: Request,
    idempotency_key: IdempotencyKey = None,
) -> ComplaintResult:
    """File a complaint: as a citizen (named or confidential), or anonymously without a
    token. Its SP4N-LAPOR clock starts now: verification within 3 working days of the
    agency's calendar."""
    if user is not None and user.role != "citizen":
        raise Forbidden("complaints are filed by citizens, or anonymously without a token")
    if user is None and body.anonymity != "anonymous":
        raise Invalid("without a token a complaint can only be anonymous; log in to be named")
    caller = user.subject if user else f"anonymous:{request.client.host if request.client else ''}"
    key = Key.of(idempotency_key, caller, "complain", body)

    async def run() -> ComplaintResult:
        if await run_in_threadpool(rt.accounts.agency, body.agency) is None:
            raise Invalid(f"there is no agency {body.agency}; address a registered agency")
        cal = await run_in_threadpool(calendar_of, rt.store, body.agency)
        complaint_id = "lpr-" + (key.digest[:32] if key else uuid.uuid4().hex)
        start = WithStartWorkflowOperation(
            ComplaintWorkflow.run,
            ComplaintInput(
                complaint_id=complaint_id,
                agency=body.agency,
                calendar=cal,
                subject=body.subject,
                text=body.text,
                attachments=body.attachments,
                complainant=None if body.anonymity == "anonymous" or user is None else user.subject,
                anonymity=body.anonymity,
                channel=body.channel,
            ),
            id=workflow_id(complaint_id),
            task_queue=rt.settings.temporal.task_queues.applications,
            # The id comes from the key: a retry joins the complaint its first try started.
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        )
        client = await rt.temporal()
        wait_s = rt.settings.command_wait_s
        try:
            result: ComplaintResult = await asyncio.wait_for(
                client.execute_update_with_start_workflow(
                    ComplaintWorkflow.filed,
                    start_workflow_operation=start,
                    id=key.update_id if key else None,
                ),
                timeout=wait_s,
            )
        except temporal_errors.FAILURES as e:
            raise temporal_errors.may_have_been_recorded(
                f"the complaint {complaint_id}",
                e,
                wait_s,
                f"GET /complaints/{complaint_id}",
                key is not None,
            ) from e
        return result

    return await idempotency.once(rt.store, key, run, ComplaintResult.model_validate)


# -- reads ------------------------------------------------------------------------------
@router.get("/me/complaints", response_model=list[dict[str, Any]])
async def my_complaints(
    user: Complainant, models: ModelsDep, _: Consistent
) -> list[dict[str, Any]]:
    """Your complaints, newest first (anonymous ones name nobody, so they are not here)."""
    views = await run_in_threadpool(models.complaints, complainant=user.subject)
    return [shown(v, user) for v in views]


@router.get("/complaints", response_model=list[dict[str, Any]])
async def inbox(
    user: Desk,
    models: ModelsDep,
    _: Consistent,
    status_is: Annotated[str | None, Query(alias="status", max_length=20)] = None,
) -> list[dict[str, Any]]:
    """The agency's complaint inbox, newest first (``status`` filters, e.g. received)."""
    views = await run_in_threadpool(models.complaints, agency_code=user.agency or "")
    return [shown(v, user) for v in views if status_is is None or v.status == status_is]


@router.get(
    "/complaints/{complaint_id}",
    response_model=dict[str, Any],
    responses=errors.answers(404),
)
async def one_complaint(
    complaint_id: ComplaintId, user: Reader, models: ModelsDep, _: Consistent
) -> dict[str, Any]:
    view = await run_in_threadpool(models.complaint, complaint_id)
    if view is None or not visible(view, user):
        raise not_found(complaint_id)
    return shown(view, user)


@router.get("/stats/complaints", response_model=dict[str, Any])
async def complaint_stats(user: Desk, models: ModelsDep, _: Consistent) -> dict[str, Any]:
    """The agency's complaints dashboard: volume, by status, median hours from filing to
    follow-up, and missed SP4N-LAPOR deadlines per responsible unit."""
    views = await run_in_threadpool(models.complaints, agency_code=user.agency or "", limit=-1)
    return c.stats(views)


def visible(view: c.ComplaintView, user: Principal) -> bool:
    if user.role == "citizen":
        return view.complainant is not None and view.complainant == user.subject
    return user.agency == view.agency


def shown(view: c.ComplaintView, user: Principal) -> dict[str, Any]:
    """The view as this caller may see it: a confidential complainant only for the
    handling agency's complaint officers (and the complainant)."""
    out = view.model_dump(mode="json")
    desk = user.role == "complaint_officer" and user.agency == view.agency
    if view.anonymity == "confidential" and user.subject != view.complainant and not desk:
        out["complainant"] = None
    return out


def not_found(complaint_id: str) -> NotFound:
    return NotFound(f"there is no complaint {complaint_id} you may see")


def workflow_id(complaint_id: str) -> str:
    return f"complaint-{complaint_id}"


# -- commands ---------------------------------------------------------------------------
async def send(
    rt: Runtime,
    user: Principal,
    complaint_id: str,
    command: str,
    update: Any,
    arg: Any,
    header: str | None,
    body: BaseModel,
) -> ComplaintResult:
    """Run ``update`` on the complaint's workflow once per Idempotency-Key. Another
    party's complaint answers 404 before anything is sent (the workflow refuses such a
    caller the same way while the read models have not caught up)."""
    if not re.match(COMPLAINT_ID, complaint_id):
        raise not_found(complaint_id)
    view = await run_in_threadpool(rt.models.complaint, complaint_id)
    if view is not None and not visible(view, user):
        raise not_found(complaint_id)
    key = Key.of(
        header, user.subject, f"complaint-{command}", {"id": complaint_id, **body.model_dump()}
    )

    return await run_update(
        rt,
        key,
        workflow_id(complaint_id),
        update,
        arg,
        what=f"the {command} of complaint {complaint_id}",
        read=f"GET /complaints/{complaint_id}",
        gone=not_found(complaint_id),  # unknown, or ended (closed, its rating time over)
        load=ComplaintResult.model_validate,
    )


COMMAND_ANSWERS = errors.answers(404, 409, 422, 503)


@router.post("/complaints/{complaint_id}/verify", responses=COMMAND_ANSWERS)
async def verify(
    complaint_id: ComplaintId,
    body: VerifyIn,
    user: Desk,
    rt: RuntimeDep,
    idempotency_key: IdempotencyKey = None,
) -> ComplaintResult:
    """Verify within 3 working days: accept, ask for information, reject (with a
    reason), or forward to the competent agency (its clock starts on forwarding)."""
    to_calendar = None
    if body.decision == "forward" and body.to_agency:
        if await run_in_threadpool(rt.accounts.agency, body.to_agency) is None:
            raise Invalid(f"there is no agency {body.to_agency} to forward to")
        to_calendar = await run_in_threadpool(calendar_of, rt.store, body.to_agency)
    cmd = Verify(actor=actor(user), to_calendar=to_calendar, **body.model_dump())
    return await send(
        rt, user, complaint_id, "verification", ComplaintWorkflow.verify, cmd, idempotency_key, body
    )


@router.post("/complaints/{complaint_id}/provide-info", responses=COMMAND_ANSWERS)
async def provide_info(
    complaint_id: ComplaintId,
    body: InfoIn,
    user: Complainant,
    rt: RuntimeDep,
    idempotency_key: IdempotencyKey = None,
) -> ComplaintResult:
    """The information the agency asked for; its verification clock starts again."""
    cmd = ProvideInfo(actor=actor(user), **body.model_dump())
    return await send(
        rt, user, complaint_id, "information", ComplaintWorkflow.provide_info, cmd,
        idempotency_key, body,
    )  # fmt: skip


@router.post("/complaints/{complaint_id}/follow-up", responses=COMMAND_ANSWERS)
async def follow_up(
    complaint_id: ComplaintId,
    body: FollowUpIn,
    user: FollowUpStaff,
    rt: RuntimeDep,
    idempotency_key: IdempotencyKey = None,
) -> ComplaintResult:
    """The responsible unit's follow-up (tindak lanjut), within 5 working days."""
    cmd = FollowUp(actor=actor(user), **body.model_dump())
    return await send(
        rt, user, complaint_id, "follow-up", ComplaintWorkflow.follow_up, cmd,
        idempotency_key, body,
    )  # fmt: skip


@router.post("/complaints/{complaint_id}/respond", responses=COMMAND_ANSWERS)
async def respond(
    complaint_id: ComplaintId,
    body: RespondIn,
    user: Complainant,
    rt: RuntimeDep,
    idempotency_key: IdempotencyKey = None,
) -> ComplaintResult:
    """Accept the follow-up (closes the complaint) or reopen it (a new follow-up is due
    in 5 working days). Without an answer it closes 10 working days after the follow-up."""
    cmd = Respond(actor=actor(user), **body.model_dump())
    return await send(
        rt, user, complaint_id, "response", ComplaintWorkflow.respond, cmd, idempotency_key, body
    )


@router.post("/complaints/{complaint_id}/rate", responses=COMMAND_ANSWERS)
async def rate(
    complaint_id: ComplaintId,
    body: RateIn,
    user: Complainant,
    rt: RuntimeDep,
    idempotency_key: IdempotencyKey = None,
) -> ComplaintResult:
    """Rate the answer (1 to 5), once, after the follow-up."""
    cmd = Rate(actor=actor(user), **body.model_dump())
    return await send(
        rt, user, complaint_id, "rating", ComplaintWorkflow.rate, cmd, idempotency_key, body
    )
