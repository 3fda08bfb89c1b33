"""``parallel``: branches that run at once, each its own walker in its own scope, up to
the join; the join waits for all of them, or for the first (the others are withdrawn)."""

from __future__ import annotations

import asyncio

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain import events as ev
    from domain.definition import JoinStep, ParallelStep
    from workflows.flow import Flow
    from workflows.steps.contract import Next, StepKind
    from workflows.waiting import BranchGroup, Scope, Withdrawn


async def run(flow: Flow, step: ParallelStep, visit: int, scope: Scope) -> Next:
    join = flow.definition.step(step.join)
    assert isinstance(join, JoinStep)
    first = join.mode == "first"
    await flow.append(
        ev.BranchesStarted(step=step.id, branches=step.branches, join=join.id, mode=join.mode)
    )
    group = BranchGroup(size=len(step.branches), first=first)
    scopes = [Scope(parent=scope) for _ in step.branches]
    flow.busy += len(step.branches) - 1  # this walker hands its turn to the branches
    tasks = [
        asyncio.create_task(_branch(flow, b, sc, join.id, group))
        for b, sc in zip(step.branches, scopes, strict=True)
    ]
    if first:
        _, pending = await workflow.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for t, sc in zip(tasks, scopes, strict=True):
            if t in pending:
                sc.withdrawn = True
    results = await asyncio.gather(*tasks, return_exceptions=True)
    flow.busy += 1
    for r in results:
        if isinstance(r, BaseException) and not isinstance(r, Withdrawn):
            raise r
    if scope.cancelled:
        raise Withdrawn
    finished = [b for b, sc in zip(step.branches, scopes, strict=True) if not sc.withdrawn]
    await flow.append(
        ev.BranchesJoined(
            step=join.id,
            mode=join.mode,
            finished=finished,
            withdrawn=[b for b in step.branches if b not in finished],
        )
    )
    return join.next


async def _branch(flow: Flow, start: str, scope: Scope, join: str, group: BranchGroup) -> None:
    try:
        await flow.walk(start, scope, join)
    finally:
        group.finished += 1
        flow.busy -= 1
        if flow.busy == 0 and not group.joined:
            flow.rests += 1  # the other branches wait on people


KIND = StepKind(ParallelStep, run, waits=True)
