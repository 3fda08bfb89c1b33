"""``notify``: a message to the citizen, its ``{field}`` placeholders filled in."""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain import interpreter
    from domain.definition import NotifyStep
    from workflows.flow import Flow
    from workflows.steps.contract import Next, StepKind
    from workflows.waiting import Scope


async def run(flow: Flow, step: NotifyStep, visit: int, scope: Scope) -> Next:
    await flow.notify(step.id, interpreter.render_message(step.message, flow.data))
    return step.next


KIND = StepKind(NotifyStep, run)
