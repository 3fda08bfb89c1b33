"""``external``: waits for an event another system posts (the workflow's
``deliver_event`` update, checked here against the step's fields), with an optional
timeout that goes to ``on_timeout``."""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from domain import calendar
    from domain import events as ev
    from domain.definition import STAFF_ROLES, ExternalStep
    from domain.validation import validate_fields
    from workflows import errors
    from workflows.flow import Flow
    from workflows.messages import CommandResult, DeliverEvent
    from workflows.steps.contract import Next, StepKind
    from workflows.waiting import Scope, Wait


async def run(flow: Flow, step: ExternalStep, visit: int, scope: Scope) -> Next:
    due = (
        calendar.add(flow.inp.calendar, workflow.now(), step.timeout)
        if step.timeout is not None
        else None
    )
    await flow.append(
        ev.WaitingForEvent(step=step.id, event=step.event, due_at=due.isoformat() if due else None)
    )
    wait = flow.waits[step.id] = Wait(step.id, "external", {"event": step.event})
    try:
        arrived = await flow.wait(scope, lambda: wait.done, due)
    finally:
        del flow.waits[step.id]
    if arrived:
        return step.next
    await flow.append(ev.ExternalEventTimedOut(step=step.id, event=step.event))
    assert step.on_timeout is not None  # the validator pairs timeout with on_timeout
    return step.on_timeout


KIND = StepKind(ExternalStep, run, waits=True)


async def deliver(flow: Flow, cmd: DeliverEvent) -> CommandResult:
    wait, step = check_deliver(flow, cmd)
    wait.closing = True
    await flow.append(
        ev.ExternalEventReceived(step=step.id, event=cmd.event, data=cmd.data, by=cmd.actor.subject)
    )
    flow.data.update(cmd.data)
    return await flow.after(lambda: setattr(wait, "done", True))


def check_deliver(flow: Flow, cmd: DeliverEvent) -> tuple[Wait, ExternalStep]:
    flow.check_visible(cmd.actor)
    for wait in flow.waits.values():
        if (
            wait.kind == "external"
            and wait.detail["event"] == cmd.event
            and not (wait.done or wait.closing)
        ):
            break
    else:
        raise ApplicationError(
            f"application {flow.inp.application_id} is not waiting for event {cmd.event!r}",
            type=errors.NOT_WAITING,
        )
    if not (
        cmd.actor.role in STAFF_ROLES | {"integration"}
        and cmd.actor.agency == flow.definition.agency.code
    ):
        raise ApplicationError(
            f"events for this application come from agency {flow.definition.agency.code}",
            type=errors.NOT_ALLOWED,
        )
    step = flow.definition.step(wait.step)
    assert isinstance(step, ExternalStep)
    problems = validate_fields(step.fields, cmd.data)
    if problems:
        raise ApplicationError(
            "; ".join(f"{p.path}: {p.message}" for p in problems), type=errors.INVALID_INPUT
        )
    return wait, step
