"""``join``: where parallel branches meet. The parallel step waits for its branches
(``workflows/steps/parallel.py``); a walker that reaches the join goes on."""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.definition import JoinStep
    from workflows.flow import Flow
    from workflows.steps.contract import Next, StepKind
    from workflows.waiting import Scope


async def run(flow: Flow, step: JoinStep, visit: int, scope: Scope) -> Next:
    return step.next


KIND = StepKind(JoinStep, run)
