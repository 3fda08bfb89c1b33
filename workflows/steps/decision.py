"""``decision``: the first branch whose condition holds, else the default; a condition
that cannot be evaluated takes ``on_error`` or is an incident."""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain import events as ev
    from domain import interpreter
    from domain.definition import DecisionStep
    from workflows.flow import CONDITION_ERRORS_PATCH, Flow
    from workflows.steps.contract import Next, StepKind
    from workflows.waiting import Scope


async def run(flow: Flow, step: DecisionStep, visit: int, scope: Scope) -> Next:
    while True:
        try:
            choice = interpreter.decide(step, flow.env())
            break
        except interpreter.ConditionFailed as e:
            # Only where a condition fails do the two versions issue other commands.
            if not workflow.patched(CONDITION_ERRORS_PATCH):
                choice = interpreter.decide_before_errors_failed(step, flow.env())
                break
            await flow.condition_incident(step.id, str(e), scope)
    taken = ev.DecisionTaken(
        step=step.id,
        step_name=step.name,
        branch=choice.branch,
        condition=choice.condition,
        target=choice.target,
        errors=list(choice.errors),
    )
    if choice.failed:  # only definitions with on_error get here: no patch needed
        taken = taken.model_copy(update={"on_error": True})
    await flow.append(taken)
    return choice.target


KIND = StepKind(DecisionStep, run)
