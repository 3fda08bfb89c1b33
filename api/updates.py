"""Sending a command to an application's workflow as a Temporal Update, once per
Idempotency-Key, and turning its refusals and Temporal's failures into HTTP answers."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from typing import Any, TypeVar

from temporalio.client import WorkflowUpdateFailedError
from temporalio.service import RPCError, RPCStatusCode

from api import errors, idempotency, temporal_errors
from api.deps import may_see
from api.idempotency import Key
from api.runtime import Runtime
from api.security import Principal
from domain.refusals import Conflict, NotFound, Refusal
from projections.readmodels import ReadModels
from workflows.messages import Actor, CommandResult

# Application numbers, e.g. BWI-2026-000123; a sub-service's child application adds
# "-<step id>[visit]": BWI-2026-000123-fire_check.
APPLICATION_ID = r"[A-Z]{2,6}-\d{4}-\d{6}(?:-[a-z][a-z0-9_]*)?"
_APPLICATION = re.compile(rf"^{APPLICATION_ID}$")
T = TypeVar("T")


def actor(user: Principal) -> Actor:
    """The caller as the workflow's validators see them."""
    return Actor(subject=user.subject, role=user.role, agency=user.agency)


def check_application_id(application_id: str) -> None:
    if not _APPLICATION.match(application_id):
        raise not_found(application_id)


def check_visible(
    models: ReadModels, user: Principal, scope: frozenset[str] | None, application_id: str
) -> bool:
    """Before a command is sent: 404 for an application of another party, as for an
    unknown one, before anything about it is looked at. True when the read models show
    the caller's own application; False when they do not have it (unknown, or not
    projected yet: the workflow's validators then refuse another party the same way)."""
    check_application_id(application_id)
    app = models.application(application_id)
    if app is None:
        return False
    if not may_see(user, scope, app.citizen, app.agency_code):
        raise not_found(application_id)
    return True


def not_found(application_id: str) -> NotFound:
    """The one answer for an application the caller may not see, whether it does not
    exist or belongs to another party (the workflow's ``NotFound`` refusal says the
    same), so that no answer tells the two apart."""
    return NotFound(f"there is no application {application_id} you may see")


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
    """Run ``update`` on the application's workflow (``run_update``). ``closed_reason``
    is the 409 answer when the workflow has already ended (None: answer 404, as for an
    unknown application: give it only to a caller who may see the application)."""
    gone = Conflict(closed_reason) if closed_reason is not None else not_found(application_id)
    return await run_update(
        rt,
        key,
        application_id,
        update,
        arg,
        what=what,
        read=f"GET /applications/{application_id}",
        gone=gone,
        load=CommandResult.model_validate,
    )


async def run_update(
    rt: Runtime,
    key: Key | None,
    workflow_id: str,
    update: Any,
    arg: Any,
    *,
    what: str,
    read: str,
    gone: Refusal,
    load: Callable[[Any], T],
) -> T:
    """Run ``update`` on a workflow, once per Idempotency-Key: a retry with ``key``
    answers the first result (recorded in the event store, else Temporal's, which runs
    an update id once). ``what`` names the command in a 503 ("the completion of task
    X") and ``read`` the request that tells whether it was recorded; ``gone`` is the
    refusal when the workflow does not exist or has ended."""

    async def run() -> T:
        client = await rt.temporal()
        handle = client.get_workflow_handle(workflow_id)
        wait_s = rt.settings.command_wait_s
        try:
            result: T = await asyncio.wait_for(
                handle.execute_update(update, arg, id=key.update_id if key else None),
                timeout=wait_s,
            )
        except WorkflowUpdateFailedError as e:
            raise errors.refusal_from_update(e) from e
        except RPCError as e:
            if e.status == RPCStatusCode.NOT_FOUND:
                raise gone from e
            raise temporal_errors.may_have_been_recorded(
                what, e, wait_s, read, key is not None
            ) from e
        except temporal_errors.FAILURES as e:
            raise temporal_errors.may_have_been_recorded(
                what, e, wait_s, read, key is not None
            ) from e
        return result

    return await idempotency.once(rt.store, key, run, load)
