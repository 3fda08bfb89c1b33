from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Response, status
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from temporalio.client import WithStartWorkflowOperation
from temporalio.common import WorkflowIDConflictPolicy

from activities.face.store import FaceStore
from api import commands
from api.deps import (
    AgencyScope,
    Citizen,
    Consistent,
    CurrentUser,
    ModelsDep,
    SettingsDep,
    StoreDep,
    TemporalDep,
)
from api.routers.agencies import calendar_of
from api.security import Principal
from domain.state import ApplicationState
from domain.validation import validate_application_data
from workflows.application import ApplicationWorkflow
from workflows.messages import ApplicationInput, CommandResult

router = APIRouter(tags=["applications"])

START_WAIT_S = 15.0


class NewApplication(BaseModel):
    service_id: str = Field(min_length=1, max_length=64, examples=["surat-keterangan-domisili"])
    data: dict[str, Any] = Field(default_factory=dict)
    selfie_ref: str | None = Field(
        default=None,
        max_length=200,
        description="From POST /me/selfies, for services with a face check",
    )


class Submitted(BaseModel):
    application_id: str
    status: str
    position: int | None
    """Pass as ``min_position`` to a read to see this submission; null when the worker
    has not confirmed yet (answered 202)."""


@router.post("/applications", status_code=status.HTTP_201_CREATED, response_model=Submitted)
async def submit(
    body: NewApplication,
    user: Citizen,
    store: StoreDep,
    client: TemporalDep,
    settings: SettingsDep,
    response: Response,
) -> Submitted:
    """Apply for a service: the data is checked against the latest published version,
    which the application keeps to its end."""
    definition = await run_in_threadpool(commands.published_definition, store, body.service_id)
    problems = validate_application_data(definition, body.data)
    if problems:
        raise commands.CommandRefused(422, "the application data has problems", problems)
    if body.selfie_ref and not await run_in_threadpool(
        FaceStore.from_settings(settings).has_photo, body.selfie_ref, user.subject
    ):
        raise commands.CommandRefused(
            422,
            "the selfie_ref is unknown, expired or not yours; upload the selfie again "
            "(POST /me/selfies)",
        )
    number = await run_in_threadpool(
        commands.reserve_number, store, definition.agency.code, definition.id
    )
    calendar = await run_in_threadpool(calendar_of, store, definition.agency.code)
    start = WithStartWorkflowOperation(
        ApplicationWorkflow.run,
        ApplicationInput(
            application_id=number,
            definition=definition,
            data=body.data,
            citizen=user.subject,
            calendar=calendar,
            selfie_ref=body.selfie_ref,
            face_task_queue=settings.temporal.task_queues.face,
        ),
        id=number,
        task_queue=settings.temporal.task_queues.applications,
        id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
    )
    try:
        result: CommandResult = await asyncio.wait_for(
            client.execute_update_with_start_workflow(
                ApplicationWorkflow.submission, start_workflow_operation=start
            ),
            timeout=START_WAIT_S,
        )
    except TimeoutError:
        # Started and durable in Temporal; the worker will record it when it is back.
        response.status_code = status.HTTP_202_ACCEPTED
        return Submitted(application_id=number, status="accepted", position=None)
    return Submitted(application_id=number, status=result.status, position=result.position)


@router.get("/applications/{application_id}", response_model=ApplicationState)
def get_application(
    application_id: str,
    user: CurrentUser,
    scope: AgencyScope,
    models: ModelsDep,
    _: Consistent,
) -> ApplicationState:
    """Status, current step and timeline. Citizens see only their own applications."""
    app = models.application(application_id)
    if app is None or not _may_see(user, scope, app.citizen, app.agency_code):
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, f"there is no application {application_id} you may see"
        )
    return app


@router.get("/applications")
def list_applications(
    user: CurrentUser,
    scope: AgencyScope,
    models: ModelsDep,
    _: Consistent,
    status_filter: Annotated[str | None, Query(alias="status")] = None,
    limit: int = 100,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """A citizen's own applications; staff and auditors see their agency's, or their
    region's agencies'."""
    limit = max(1, min(limit, 500))
    if user.role == "citizen":
        return models.applications(
            citizen=user.subject, status=status_filter, limit=limit, offset=offset
        )
    if scope is None:
        return models.applications(status=status_filter, limit=limit, offset=offset)
    # Each agency's newest first, merged: enough rows of each to fill the page.
    rows = [
        row
        for agency in sorted(scope)
        for row in models.applications(
            agency_code=agency, status=status_filter, limit=limit + offset
        )
    ]
    rows.sort(key=lambda r: (r["submitted_at"], r["application_id"]), reverse=True)
    return rows[offset : offset + limit]


@router.get("/me/notifications")
def my_notifications(user: Citizen, models: ModelsDep, _: Consistent) -> list[dict[str, Any]]:
    return models.notifications(user.subject)


def _may_see(user: Principal, scope: frozenset[str] | None, citizen: str, agency_code: str) -> bool:
    if user.role == "citizen":
        return user.subject == citizen
    return scope is None or agency_code in scope
