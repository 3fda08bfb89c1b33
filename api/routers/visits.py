"""The officer at the counter records a citizen's visit for an appointment step."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from api import updates
from api.deps import AgencyScope, ModelsDep, RuntimeDep, require_role
from api.idempotency import IdempotencyKey, Key
from api.routers.tasks import UPDATE_ANSWERS
from api.security import Principal
from api.visits import Outcome, record_visit
from domain.steps.appointment import SERVERS
from workflows.messages import CommandResult

router = APIRouter(tags=["applications"])

Server = Annotated[Principal, Depends(require_role(*sorted(SERVERS)))]
"""Who serves citizens at the counter: officers and supervisors."""


class Visit(BaseModel):
    outcome: Outcome = Field(
        description="served: the flow goes on; no_show: the step's no-show exit"
    )
    note: str = Field(default="", max_length=2000)


@router.post(
    "/applications/{application_id}/visits/{step}",
    response_model=CommandResult,
    responses=UPDATE_ANSWERS,
)
async def record(
    application_id: str,
    step: str,
    body: Visit,
    user: Server,
    rt: RuntimeDep,
    models: ModelsDep,
    scope: AgencyScope,
    idempotency_key: IdempotencyKey = None,
) -> CommandResult:
    """Record the citizen's visit for an appointment step (served, or did not come);
    answers once the flow has moved on. 409 when the step is not waiting for a visit."""
    closed = (
        f"application {application_id} has ended"
        if updates.check_visible(models, user, scope, application_id)
        else None
    )
    request = {"application_id": application_id, "step": step, **body.model_dump()}
    return await record_visit(
        rt,
        application_id,
        step,
        body.outcome,
        user,
        body.note,
        key=Key.of(idempotency_key, user.subject, "record-visit", request),
        closed_reason=closed,
    )
