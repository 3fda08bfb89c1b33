from __future__ import annotations

import asyncio
import re
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, status
from pydantic import BaseModel, Field
from temporalio.client import WorkflowUpdateFailedError
from temporalio.service import RPCError, RPCStatusCode

from api import errors
from api.commands import CommandRefused
from api.deps import Consistent, ModelsDep, Staff, TemporalDep
from workflows.application import ApplicationWorkflow
from workflows.messages import Actor, CommandResult, CompleteTask

router = APIRouter(prefix="/tasks", tags=["tasks"])

UPDATE_WAIT_S = 15.0
# Task ids are "<application number>.<step id>.<visit>", e.g. BWI-2026-000123.review.1
_TASK_ID = re.compile(r"^(?P<app>[A-Z]{2,6}-\d{4}-\d{6})\.[a-z][a-z0-9_]*\.\d+$")


class Completion(BaseModel):
    outcome: str = Field(min_length=1, max_length=64, examples=["approve"])
    comment: str = Field(default="", max_length=2000)


@router.get("")
def inbox(
    user: Staff,
    models: ModelsDep,
    _: Consistent,
    status_filter: Annotated[str, Query(alias="status")] = "open",
    limit: int = 100,
) -> list[dict[str, Any]]:
    """Open tasks for the caller's role and agency, oldest first."""
    return models.tasks(
        agency_code=user.agency, role=user.role, status=status_filter, limit=max(1, min(limit, 500))
    )


@router.post("/{task_id}/complete", response_model=CommandResult)
async def complete(
    task_id: str, body: Completion, user: Staff, client: TemporalDep, models: ModelsDep
) -> CommandResult:
    """Complete a task. 409 when it is already completed; 403 when it is for another
    role or agency; 422 for an outcome the step does not allow."""
    m = _TASK_ID.match(task_id)
    if m is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"there is no task {task_id!r}")
    handle = client.get_workflow_handle(m["app"])
    cmd = CompleteTask(
        task_id=task_id,
        outcome=body.outcome,
        comment=body.comment,
        actor=Actor(subject=user.subject, role=user.role, agency=user.agency),
    )
    try:
        result: CommandResult = await asyncio.wait_for(
            handle.execute_update(ApplicationWorkflow.complete_task, cmd), timeout=UPDATE_WAIT_S
        )
    except WorkflowUpdateFailedError as e:
        raise errors.refusal_from_update(e) from e
    except RPCError as e:
        if e.status != RPCStatusCode.NOT_FOUND:
            raise
        # The workflow is gone or closed: tell a finished task from an unknown one.
        task = models.task(task_id)
        if task is not None and task["status"] == "completed":
            raise CommandRefused(
                409, f"task {task_id} was already completed with outcome {task['outcome']!r}"
            ) from e
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"there is no open task {task_id!r}") from e
    except TimeoutError as e:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            "the workflow worker did not answer in time; nothing was recorded, try again",
        ) from e
    return result
