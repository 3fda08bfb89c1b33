"""Sending a command to an application's workflow as a Temporal Update, and turning
its refusals into HTTP answers."""

from __future__ import annotations

import asyncio
import re
from typing import Any

from fastapi import HTTPException, status
from temporalio.client import (
    Client,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.service import RPCError, RPCStatusCode

from api import errors
from api.commands import CommandRefused
from api.security import Principal
from workflows.messages import Actor, CommandResult

UPDATE_WAIT_S = 15.0
# Application numbers, e.g. BWI-2026-000123; a sub-service's child application adds
# "-<step id>[visit]": BWI-2026-000123-fire_check.
APPLICATION_ID = r"[A-Z]{2,6}-\d{4}-\d{6}(?:-[a-z][a-z0-9_]*)?"
_APPLICATION = re.compile(rf"^{APPLICATION_ID}$")


def actor(user: Principal) -> Actor:
    """The caller as the workflow's validators see them."""
    return Actor(subject=user.subject, role=user.role, agency=user.agency)


def check_application_id(application_id: str) -> None:

    if not _APPLICATION.match(application_id):
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, f"there is no application {application_id!r}"
        )


async def send(
    client: Client, application_id: str, update: Any, arg: Any, closed_reason: str | None = None
) -> CommandResult:
    """Run ``update`` on the application's workflow. ``closed_reason`` is the 409
    answer when the workflow has already ended (None: answer 404)."""
    handle = client.get_workflow_handle(application_id)
    try:
        result: CommandResult = await asyncio.wait_for(
            handle.execute_update(update, arg), timeout=UPDATE_WAIT_S
        )
    except WorkflowUpdateFailedError as e:
        raise errors.refusal_from_update(e) from e
    except RPCError as e:
        if e.status != RPCStatusCode.NOT_FOUND:
            raise
        if closed_reason is not None:
            raise CommandRefused(409, closed_reason) from e
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, f"application {application_id} is not running"
        ) from e
    except (TimeoutError, WorkflowUpdateRPCTimeoutOrCancelledError) as e:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            "the workflow worker did not answer in time; nothing was recorded, try again",
        ) from e
    return result
