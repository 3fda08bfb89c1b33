from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, status
from pydantic import BaseModel, Field

from api import errors, updates
from api.deps import AgencyScope, Consistent, ModelsDep, RuntimeDep, Staff
from api.idempotency import IdempotencyKey, Key
from api.security import Principal
from projections.readmodels import ReadModels
from workflows.application import ApplicationWorkflow
from workflows.messages import ClaimTask, CommandResult, CompleteTask

router = APIRouter(prefix="/tasks", tags=["tasks"])

UPDATE_ANSWERS = errors.answers(403, 404, 409, 422, 503)
"""What a command sent to an application's workflow may answer (api/updates.py)."""

# Task ids are "<application number>.<step id>.<visit>", e.g. BWI-2026-000123.review.1
_TASK_ID = re.compile(rf"^(?P<app>{updates.APPLICATION_ID})\.[a-z][a-z0-9_]*\.\d+$")


class Completion(BaseModel):
    outcome: str = Field(min_length=1, max_length=64, examples=["approve"])
    comment: str = Field(default="", max_length=2000)
    fields: list[str] = Field(default_factory=list, max_length=100)
    """With an outcome that returns the application for correction: fields to fix."""


@router.get("")
def inbox(
    user: Staff,
    models: ModelsDep,
    _: Consistent,
    status_filter: Annotated[str, Query(alias="status")] = "open",
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[dict[str, Any]]:
    """Open tasks for the caller's role and agency (and services, for an officer
    limited to some), oldest first."""
    rows = models.tasks(agency_code=user.agency, role=user.role, status=status_filter, limit=limit)
    return [r for r in rows if not user.services or r["service_id"] in user.services]


@router.post("/{task_id}/claim", response_model=CommandResult, responses=UPDATE_ANSWERS)
async def claim(
    task_id: str,
    user: Staff,
    rt: RuntimeDep,
    models: ModelsDep,
    scope: AgencyScope,
    idempotency_key: IdempotencyKey = None,
) -> CommandResult:
    """Take a task from the shared inbox: only its claimer may then complete it (until
    an escalation moves it to another role). 409 when someone else holds it."""
    app = _application_of(task_id)
    visible = updates.check_visible(models, user, scope, app)
    _check_service_scope(user, models, task_id)
    cmd = ClaimTask(task_id=task_id, actor=updates.actor(user))
    key = Key.of(idempotency_key, user.subject, "claim-task", {"task_id": task_id})
    return await updates.send(
        rt,
        key,
        app,
        ApplicationWorkflow.claim_task,
        cmd,
        what=f"the claim of task {task_id}",
        closed_reason=f"task {task_id} is no longer open" if visible else None,
    )


@router.post("/{task_id}/complete", response_model=CommandResult, responses=UPDATE_ANSWERS)
async def complete(
    task_id: str,
    body: Completion,
    user: Staff,
    rt: RuntimeDep,
    models: ModelsDep,
    scope: AgencyScope,
    idempotency_key: IdempotencyKey = None,
) -> CommandResult:
    """Complete a task. 409 when it is already completed; 403 when it is for another
    role; 404 when it is another agency's, as for an unknown one; 422 for an outcome
    the step does not allow. An outcome that returns the application for correction
    needs the reason as ``comment`` and ``fields``."""
    app = _application_of(task_id)
    visible = updates.check_visible(models, user, scope, app)
    _check_service_scope(user, models, task_id)
    cmd = CompleteTask(
        task_id=task_id,
        outcome=body.outcome,
        comment=body.comment,
        fields=body.fields,
        actor=updates.actor(user),
    )
    # When the workflow has ended, tell a finished task from an unknown one.
    task = models.task(task_id)
    closed: str | None = None
    if visible and task is not None and task["status"] == "completed":
        closed = f"task {task_id} was already completed with outcome {task['outcome']!r}"
    elif visible:
        # The read models may not show it yet: a request racing the one that completed
        # the task reaches the workflow after it ended (appends are local activities, so
        # it ends within milliseconds). Its application has ended all the same.
        closed = f"application {app} has ended, so task {task_id} is already completed or closed"
    request = {"task_id": task_id, **body.model_dump()}
    key = Key.of(idempotency_key, user.subject, "complete-task", request)
    return await updates.send(
        rt,
        key,
        app,
        ApplicationWorkflow.complete_task,
        cmd,
        what=f"the completion of task {task_id}",
        closed_reason=closed,
    )


def _check_service_scope(user: Principal, models: ReadModels, task_id: str) -> None:
    """The workflow checks role and agency; an officer limited to some services is
    checked here, on the task's service as the inbox shows it."""
    if not user.services:
        return
    task = models.task(task_id)
    if task is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"there is no task {task_id!r} (yet)")
    if task["service_id"] not in user.services:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            f"task {task_id} belongs to service {task['service_id']!r}; you work on "
            f"{', '.join(user.services)} only",
        )


def _application_of(task_id: str) -> str:
    m = _TASK_ID.match(task_id)
    if m is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"there is no task {task_id!r}")
    return m["app"]
