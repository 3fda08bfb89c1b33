"""``end``: approved, rejected or cancelled."""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.definition import EndStep
    from workflows.flow import Flow
    from workflows.steps.contract import End, Next, StepKind
    from workflows.waiting import Scope


async def run(flow: Flow, step: EndStep, visit: int, scope: Scope) -> Next:
    flow.status = step.result
    return End(step.result, step.id)


KIND = StepKind(EndStep, run)
