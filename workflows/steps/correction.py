"""``correction`` (perbaikan berkas): the application goes back to the citizen with the
reason and the fields to fix; the service clock pauses if ``pause_clock``; no answer
within ``abandon_after`` goes to ``on_abandon``. The citizen answers through the
workflow's ``submit_correction`` update, checked here."""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from domain import calendar
    from domain import events as ev
    from domain.definition import CorrectionStep
    from domain.validation import validate_fields
    from workflows import errors
    from workflows.flow import Flow
    from workflows.messages import CommandResult, SubmitCorrection
    from workflows.steps.contract import Next, StepKind
    from workflows.waiting import Scope, Wait


async def run(flow: Flow, step: CorrectionStep, visit: int, scope: Scope) -> Next:
    ret = flow.returned
    due = calendar.add(flow.inp.calendar, workflow.now(), step.abandon_after)
    await flow.append(
        ev.CorrectionRequested(
            step=step.id,
            citizen=flow.inp.citizen,
            reason=ret.get("reason", ""),
            fields=ret.get("fields", []),
            by=ret.get("by"),
            due_at=due.isoformat(),
        )
    )
    wait = flow.waits[step.id] = Wait(
        step.id,
        "correction",
        {
            "fields": ret.get("fields", []),
            "reason": ret.get("reason", ""),
            "due_at": due.isoformat(),
        },
    )
    if step.pause_clock:
        flow.pause_clock()
    try:
        answered = await flow.wait(scope, lambda: wait.done, due)
    finally:
        del flow.waits[step.id]
        if step.pause_clock:
            await flow.resume_clock()
    if answered:
        return step.resume
    await flow.append(ev.CorrectionAbandoned(step=step.id, due_at=due.isoformat()))
    return step.on_abandon


KIND = StepKind(CorrectionStep, run, waits=True)


async def submit(flow: Flow, cmd: SubmitCorrection) -> CommandResult:
    wait = check_submit(flow, cmd)
    wait.closing = True
    await flow.append(
        ev.CorrectionSubmitted(
            step=wait.step, fields=sorted(cmd.data), data=cmd.data, by=cmd.actor.subject
        )
    )
    flow.data.update(cmd.data)
    return await flow.after(lambda: setattr(wait, "done", True))


def check_submit(flow: Flow, cmd: SubmitCorrection) -> Wait:
    flow.check_visible(cmd.actor)
    if cmd.actor.role != "citizen" or cmd.actor.subject != flow.inp.citizen:
        raise ApplicationError(
            "only the citizen who applied can submit corrections", type=errors.NOT_ALLOWED
        )
    wait = flow.open_wait("correction", "a correction")
    asked = set(wait.detail["fields"])
    missing, extra = sorted(asked - set(cmd.data)), sorted(set(cmd.data) - asked)
    if missing or extra:
        raise ApplicationError(
            "send exactly the fields the officer asked for: "
            + ", ".join(sorted(asked))
            + (f" (missing: {', '.join(missing)})" if missing else "")
            + (f" (not asked for: {', '.join(extra)})" if extra else ""),
            type=errors.INVALID_INPUT,
        )
    problems = validate_fields(flow.definition.fields, cmd.data, partial=True)
    if problems:
        raise ApplicationError(
            "; ".join(f"{p.path}: {p.message}" for p in problems), type=errors.INVALID_INPUT
        )
    return wait
