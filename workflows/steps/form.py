"""``form``: data captured at submission; the flow moves straight on."""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.definition import FormStep
    from workflows.flow import Flow
    from workflows.steps.contract import Next, StepKind
    from workflows.waiting import Scope


async def run(flow: Flow, step: FormStep, visit: int, scope: Scope) -> Next:
    return step.next


KIND = StepKind(FormStep, run)
