"""Commands on a running application beyond officers' tasks: a citizen's correction
or cancellation, a payment at the counter, an event from another system, and an
administrator's retry of an incident."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from api import updates
from api.deps import (
    AgencyAdmin,
    AgencyScope,
    Citizen,
    ModelsDep,
    RuntimeDep,
    Staff,
    require_role,
)
from api.idempotency import IdempotencyKey, Key
from api.routers.tasks import UPDATE_ANSWERS
from api.security import Principal
from projections.readmodels import ReadModels
from workflows.application import ApplicationWorkflow
from workflows.messages import (
    CancelApplication,
    CommandResult,
    DeliverEvent,
    RecordPayment,
    RetryIncident,
    SubmitCorrection,
)

router = APIRouter(tags=["applications"])

Canceller = Annotated[Principal, Depends(require_role("citizen", "agency_admin"))]
"""The citizen who applied, or the agency's administrator."""


def _ended(
    models: ReadModels, user: Principal, scope: frozenset[str] | None, application_id: str
) -> str | None:
    """The 409 answer for an application that has ended, for a caller the read models
    show it to; 404 for another party's, as for an unknown one (api/updates.py)."""
    if updates.check_visible(models, user, scope, application_id):
        return f"application {application_id} has ended"
    return None


class Correction(BaseModel):
    data: dict[str, Any] = Field(description="Exactly the fields the officer asked for")


class Cancellation(BaseModel):
    reason: str = Field(default="", max_length=2000)


class CounterPayment(BaseModel):
    amount: int = Field(ge=1, description="Rupiah received")
    receipt: str = Field(min_length=1, max_length=100, description="Receipt number")


class ExternalEvent(BaseModel):
    data: dict[str, Any] = Field(default_factory=dict)


@router.post(
    "/applications/{application_id}/corrections",
    response_model=CommandResult,
    responses=UPDATE_ANSWERS,
)
async def submit_correction(
    application_id: str,
    body: Correction,
    user: Citizen,
    rt: RuntimeDep,
    models: ModelsDep,
    scope: AgencyScope,
    idempotency_key: IdempotencyKey = None,
) -> CommandResult:
    """Perbaikan berkas: send the corrected fields; the flow resumes where the service
    definition says."""
    closed = _ended(models, user, scope, application_id)
    request = {"application_id": application_id, **body.model_dump()}
    return await updates.send(
        rt,
        Key.of(idempotency_key, user.subject, "submit-correction", request),
        application_id,
        ApplicationWorkflow.submit_correction,
        SubmitCorrection(actor=updates.actor(user), data=body.data),
        what=f"the correction of application {application_id}",
        closed_reason=closed,
    )


@router.post(
    "/applications/{application_id}/cancel", response_model=CommandResult, responses=UPDATE_ANSWERS
)
async def cancel(
    application_id: str,
    body: Cancellation,
    user: Canceller,
    rt: RuntimeDep,
    models: ModelsDep,
    scope: AgencyScope,
    idempotency_key: IdempotencyKey = None,
) -> CommandResult:
    """Cancel an application (its citizen, or the agency's administrator), allowed
    until the step the definition marks; a paid fee is refunded."""
    closed = _ended(models, user, scope, application_id)
    request = {"application_id": application_id, **body.model_dump()}
    return await updates.send(
        rt,
        Key.of(idempotency_key, user.subject, "cancel", request),
        application_id,
        ApplicationWorkflow.cancel,
        CancelApplication(actor=updates.actor(user), reason=body.reason),
        what=f"the cancellation of application {application_id}",
        closed_reason=closed,
    )


@router.post(
    "/applications/{application_id}/payments",
    response_model=CommandResult,
    responses=UPDATE_ANSWERS,
)
async def pay_at_counter(
    application_id: str,
    body: CounterPayment,
    user: Staff,
    rt: RuntimeDep,
    models: ModelsDep,
    scope: AgencyScope,
    idempotency_key: IdempotencyKey = None,
) -> CommandResult:
    """Staff of the agency (a cashier, or an officer) confirm a fee paid at the counter."""
    closed = _ended(models, user, scope, application_id)
    cmd = RecordPayment(
        actor=updates.actor(user), amount=body.amount, method="counter", reference=body.receipt
    )
    request = {"application_id": application_id, **body.model_dump()}
    return await updates.send(
        rt,
        Key.of(idempotency_key, user.subject, "record-payment", request),
        application_id,
        ApplicationWorkflow.record_payment,
        cmd,
        what=f"the payment with receipt {body.receipt} for application {application_id}",
        closed_reason=closed,
    )


@router.post(
    "/applications/{application_id}/events/{event}",
    response_model=CommandResult,
    responses=UPDATE_ANSWERS,
)
async def deliver_event(
    application_id: str,
    event: str,
    body: ExternalEvent,
    user: Staff,
    rt: RuntimeDep,
    models: ModelsDep,
    scope: AgencyScope,
    idempotency_key: IdempotencyKey = None,
) -> CommandResult:
    """Deliver an event the flow waits for (e.g. a field inspection result)."""
    closed = _ended(models, user, scope, application_id)
    cmd = DeliverEvent(actor=updates.actor(user), event=event, data=body.data)
    request = {"application_id": application_id, "event": event, **body.model_dump()}
    return await updates.send(
        rt,
        Key.of(idempotency_key, user.subject, "deliver-event", request),
        application_id,
        ApplicationWorkflow.deliver_event,
        cmd,
        what=f"the event {event!r} for application {application_id}",
        closed_reason=closed,
    )


@router.post(
    "/admin/applications/{application_id}/incidents/retry",
    response_model=CommandResult,
    responses=UPDATE_ANSWERS,
)
async def retry_incident(
    application_id: str,
    user: AgencyAdmin,
    rt: RuntimeDep,
    models: ModelsDep,
    scope: AgencyScope,
    idempotency_key: IdempotencyKey = None,
) -> CommandResult:
    """Retry the step whose activity failed past its retries."""
    closed = _ended(models, user, scope, application_id)
    return await updates.send(
        rt,
        Key.of(idempotency_key, user.subject, "retry-incident", {"application_id": application_id}),
        application_id,
        ApplicationWorkflow.retry_incident,
        RetryIncident(actor=updates.actor(user)),
        what=f"the retry of application {application_id}'s incident",
        closed_reason=closed,
    )
