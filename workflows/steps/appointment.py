"""``appointment``: asks the citizen to come in person, then waits for the visit's
outcome (the workflow's ``record_visit`` update, checked here) or the deadline: served
goes on to ``next``; a no-show, recorded or by the deadline passing, to ``no_show``."""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from domain import calendar
    from domain import events as ev
    from domain.definition import AppointmentStep
    from domain.steps.appointment import SERVERS
    from workflows import errors
    from workflows.flow import Flow
    from workflows.messages import CommandResult, RecordVisit
    from workflows.steps.contract import Next, StepKind
    from workflows.waiting import Scope, Wait


async def run(flow: Flow, step: AppointmentStep, visit: int, scope: Scope) -> Next:
    due = calendar.add(flow.inp.calendar, workflow.now(), step.deadline)
    await flow.append(
        ev.AppointmentRequested(
            step=step.id,
            purpose=step.purpose,
            locations=list(step.locations),
            due_at=due.isoformat(),
        )
    )
    wait = flow.waits[step.id] = Wait(
        step.id, "visit", {"purpose": step.purpose, "locations": list(step.locations)}
    )
    try:
        came = await flow.wait(scope, lambda: wait.done, due)
        if not came and wait.closing:
            # The officer's record started just as the deadline passed: it wins.
            came = await flow.wait(scope, lambda: wait.done)
    finally:
        del flow.waits[step.id]
    if not came:
        await flow.append(ev.VisitMissed(step=step.id, due_at=due.isoformat()))
        return step.no_show
    return step.next if wait.value == "served" else step.no_show


KIND = StepKind(AppointmentStep, run, waits=True)


async def record(flow: Flow, cmd: RecordVisit) -> CommandResult:
    wait = check_record(flow, cmd)
    wait.closing = True
    await flow.append(
        ev.VisitRecorded(step=wait.step, outcome=cmd.outcome, by=cmd.actor.subject, note=cmd.note)
    )

    def done() -> None:
        wait.value, wait.done = cmd.outcome, True

    return await flow.after(done)


def check_record(flow: Flow, cmd: RecordVisit) -> Wait:
    """Who may record the visit, and that the flow waits for it at ``cmd.step``."""
    flow.check_visible(cmd.actor)
    wait = flow.waits.get(cmd.step)
    if wait is None or wait.kind != "visit" or wait.done or wait.closing:
        raise ApplicationError(
            f"application {flow.inp.application_id} is not waiting for a visit at step"
            f" {cmd.step!r} now",
            type=errors.NOT_WAITING,
        )
    step = flow.definition.step(cmd.step)
    assert isinstance(step, AppointmentStep)
    if not (
        cmd.actor.agency == flow.definition.agency.code
        and cmd.actor.role in SERVERS
        and cmd.actor.role in {step.role, "supervisor"}
    ):
        raise ApplicationError(
            f"the visit at step {cmd.step!r} is recorded by the agency's {step.role}"
            " who served the citizen (or a supervisor)",
            type=errors.NOT_ALLOWED,
        )
    return wait
