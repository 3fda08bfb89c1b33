"""``subservice``: runs another published service as a child application (id
``<parent>-<step>``, its own tasks); its result feeds later decisions. Withdrawing the
parent withdraws the child."""

from __future__ import annotations

import asyncio

from temporalio import workflow
from temporalio.exceptions import ChildWorkflowError

with workflow.unsafe.imports_passed_through():
    from activities.catalogue import CatalogueActivities
    from domain import events as ev
    from domain.definition import SubserviceStep
    from workflows.flow import Flow
    from workflows.messages import WITHDRAW, WORKFLOW, ApplicationInput
    from workflows.steps.contract import Next, StepKind
    from workflows.waiting import Scope, Wait, Withdrawn


async def run(flow: Flow, step: SubserviceStep, visit: int, scope: Scope) -> Next:
    inp = flow.inp
    child_def = await flow.activity(CatalogueActivities.published_definition, step.service, step.id)
    child_id = f"{inp.application_id}-{step.id}" + (f"{visit}" if visit > 1 else "")
    await flow.append(
        ev.SubserviceStarted(step=step.id, service=step.service, child_application_id=child_id)
    )
    # The child runs this same workflow, by name: this module cannot import the class.
    handle = await workflow.start_child_workflow(
        WORKFLOW,
        ApplicationInput(
            application_id=child_id,
            definition=child_def,
            citizen=inp.citizen,
            data={c: flow.data.get(p) for c, p in step.inputs.items()},
            calendar=inp.calendar,
            parent=inp.application_id,
            face_task_queue=inp.face_task_queue,
        ),
        id=child_id,
        result_type=str,
    )
    wait = flow.waits[step.id] = Wait(step.id, "subservice", {"child": child_id})

    async def result() -> None:
        try:
            wait.value = await handle
        except ChildWorkflowError:
            wait.value = "failed"
        wait.done = True

    watcher = asyncio.create_task(result())
    try:
        await flow.wait(scope, lambda: wait.done)
    except Withdrawn:
        await handle.signal(WITHDRAW, "parent application withdrawn")
        # Let the child finish its own cancellation: closing first would terminate it.
        await watcher
        raise
    finally:
        del flow.waits[step.id]
    await watcher
    flow.outcomes[step.id] = str(wait.value)
    await flow.append(
        ev.SubserviceCompleted(step=step.id, child_application_id=child_id, result=str(wait.value))
    )
    return step.next


KIND = StepKind(SubserviceStep, run, waits=True)
