"""Commands on a running application beyond officers' tasks: a citizen's correction
or cancellation, a payment at the counter, an event from another system, and an
administrator's retry of an incident."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from api import updates
from api.deps import AgencyAdmin, Citizen, CurrentUser, Staff, TemporalDep
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


class Correction(BaseModel):
    data: dict[str, Any] = Field(description="Exactly the fields the officer asked for")


class Cancellation(BaseModel):
    reason: str = Field(default="", max_length=2000)


class CounterPayment(BaseModel):
    amount: int = Field(ge=1, description="Rupiah received")
    receipt: str = Field(min_length=1, max_length=100, description="Receipt number")


class ExternalEvent(BaseModel):
    data: dict[str, Any] = Field(default_factory=dict)


@router.post("/applications/{application_id}/corrections", response_model=CommandResult)
async def submit_correction(
    application_id: str, body: Correction, user: Citizen, client: TemporalDep
) -> CommandResult:
    """Perbaikan berkas: send the corrected fields; the flow resumes where the service
    definition says."""
    updates.check_application_id(application_id)
    return await updates.send(
        client,
        application_id,
        ApplicationWorkflow.submit_correction,
        SubmitCorrection(actor=updates.actor(user), data=body.data),
        f"application {application_id} has ended",
    )


@router.post("/applications/{application_id}/cancel", response_model=CommandResult)
async def cancel(
    application_id: str, body: Cancellation, user: CurrentUser, client: TemporalDep
) -> CommandResult:
    """Cancel an application (its citizen, or the agency's administrator), allowed
    until the step the definition marks; a paid fee is refunded."""
    updates.check_application_id(application_id)
    return await updates.send(
        client,
        application_id,
        ApplicationWorkflow.cancel,
        CancelApplication(actor=updates.actor(user), reason=body.reason),
        f"application {application_id} has already ended",
    )


@router.post("/applications/{application_id}/payments", response_model=CommandResult)
async def pay_at_counter(
    application_id: str, body: CounterPayment, user: Staff, client: TemporalDep
) -> CommandResult:
    """Staff of the agency (a cashier, or an officer) confirm a fee paid at the counter."""
    updates.check_application_id(application_id)
    cmd = RecordPayment(
        actor=updates.actor(user), amount=body.amount, method="counter", reference=body.receipt
    )
    return await updates.send(
        client,
        application_id,
        ApplicationWorkflow.record_payment,
        cmd,
        f"application {application_id} has ended",
    )


@router.post("/applications/{application_id}/events/{event}", response_model=CommandResult)
async def deliver_event(
    application_id: str, event: str, body: ExternalEvent, user: Staff, client: TemporalDep
) -> CommandResult:
    """Deliver an event the flow waits for (e.g. a field inspection result)."""
    updates.check_application_id(application_id)
    cmd = DeliverEvent(actor=updates.actor(user), event=event, data=body.data)
    return await updates.send(
        client,
        application_id,
        ApplicationWorkflow.deliver_event,
        cmd,
        f"application {application_id} has ended",
    )


@router.post("/admin/applications/{application_id}/incidents/retry", response_model=CommandResult)
async def retry_incident(
    application_id: str, user: AgencyAdmin, client: TemporalDep
) -> CommandResult:
    """Retry the step whose activity failed past its retries."""
    updates.check_application_id(application_id)
    return await updates.send(
        client,
        application_id,
        ApplicationWorkflow.retry_incident,
        RetryIncident(actor=updates.actor(user)),
        f"application {application_id} has ended",
    )
