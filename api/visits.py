"""Recording the outcome of a citizen's visit for an appointment step: the one core that
the visit route (``api/routers/visits.py``) and the counter's "done" in the queue call,
so a visit is recorded the same way wherever the officer presses the button."""

from __future__ import annotations

from typing import Literal

from api import updates
from api.idempotency import Key
from api.runtime import Runtime
from api.security import Principal
from workflows.application import ApplicationWorkflow
from workflows.messages import CommandResult, RecordVisit

Outcome = Literal["served", "no_show"]


async def record_visit(
    rt: Runtime,
    application_id: str,
    step: str,
    outcome: Outcome,
    by: Principal,
    note: str = "",
    *,
    key: Key | None = None,
    closed_reason: str | None = None,
) -> CommandResult:
    """Record that the citizen was served (the flow goes on) or did not come (the step's
    no-show exit) at ``step``; answers once the flow has moved on. The workflow refuses
    another agency's staff as an unknown application (404), a role that does not serve
    the step (403) and a step that is not waiting for a visit (409). ``key``: the
    Idempotency-Key; ``closed_reason``: the 409 answer when the application has ended
    (None: 404, for a caller who may not see it)."""
    updates.check_application_id(application_id)
    return await updates.send(
        rt,
        key,
        application_id,
        ApplicationWorkflow.record_visit,
        RecordVisit(actor=updates.actor(by), step=step, outcome=outcome, note=note),
        what=f"the visit at step {step!r} of application {application_id}",
        closed_reason=closed_reason,
    )
