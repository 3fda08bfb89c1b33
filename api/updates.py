"""Sending a command to an application's workflow as a Temporal Update, once per
Idempotency-Key, and turning its refusals and Temporal's failures into HTTP answers."""

from __future__ import annotations

import asyncio
import re
from typing import Any

from fastapi import HTTPException, status
from temporalio.client import WorkflowUpdateFailedError
from temporalio.service import RPCError, RPCStatusCode

from api import errors, idempotency, temporal_errors
from api.idempotency import Key
from api.runtime import Runtime
from api.security import Principal
from domain.refusals import Conflict
from workflows.messages import Actor, CommandResult

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
    rt: Runtime,
    key: Key | None,
    application_id: str,
    update: Any,
    arg: Any,
    *,
    what: str,
    closed_reason: str | None = None,
) -> CommandResult:
    """Run ``update`` on the application's workflow, once per Idempotency-Key: a retry
    with ``key`` answers the first result (recorded in the event store, else Temporal's,
    which runs an update id once). ``what`` names the command in a 503 ("the completion
    of task X"); ``closed_reason`` is the 409 answer when the workflow has already
    ended (None: answer 404)."""

    async def run() -> CommandResult:
        client = await rt.temporal()
        handle = client.get_workflow_handle(application_id)
        wait_s = rt.settings.command_wait_s
        try:
            result: CommandResult = await asyncio.wait_for(
                handle.execute_update(update, arg, id=key.update_id if key else None),
                timeout=wait_s,
            )
        except WorkflowUpdateFailedError as e:
            raise errors.refusal_from_update(e) from e
        except RPCError as e:
            if e.status != RPCStatusCode.NOT_FOUND:
                raise temporal_errors.may_have_been_recorded(
                    what, e, wait_s, f"GET /applications/{application_id}", key is not None
                ) from e
            if closed_reason is not None:
                raise Conflict(closed_reason) from e
            raise HTTPException(
                status.HTTP_404_NOT_FOUND, f"application {application_id} is not running"
            ) from e
        except temporal_errors.FAILURES as e:
            raise temporal_errors.may_have_been_recorded(
                what, e, wait_s, f"GET /applications/{application_id}", key is not None
            ) from e
        return result

    return await idempotency.once(rt.store, key, run, CommandResult.model_validate)
