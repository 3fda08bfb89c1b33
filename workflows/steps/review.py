"""``review``: a task for a role with allowed outcomes, each leading to a step; an
optional deadline reminds, breaches and escalates. Officers claim and complete the
task through the workflow's updates, checked here (validator and handler alike)."""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from domain import calendar
    from domain import events as ev
    from domain.definition import CorrectionStep, ReviewStep
    from workflows import errors
    from workflows.flow import Flow
    from workflows.messages import Actor, ClaimTask, CommandResult, CompleteTask, TaskView
    from workflows.steps.contract import Next, StepKind
    from workflows.waiting import OpenTask, Scope, Withdrawn


async def run(flow: Flow, step: ReviewStep, visit: int, scope: Scope) -> Next:
    task_id = f"{flow.inp.application_id}.{step.id}.{visit}"
    view = TaskView(task_id=task_id, step=step.id, role=step.role, outcomes=list(step.outcomes))
    assigned = ev.TaskAssigned(
        task_id=task_id,
        step=step.id,
        step_name=step.name,
        role=step.role,
        agency=flow.definition.agency.code,
        outcomes=view.outcomes,
        instructions=step.instructions,
    )
    if step.deadline is not None:
        due = calendar.add(flow.inp.calendar, workflow.now(), step.deadline.within)
        assigned = assigned.model_copy(update={"due_at": due.isoformat()})
    await flow.append(assigned)
    task = flow.tasks[task_id] = OpenTask(view=view, step_name=step.name, scope=scope)
    flow.status = "in_review"
    try:
        if step.deadline is not None:
            await flow.deadline(scope, lambda: view.completed, step.deadline, step.id, task)
        await flow.wait(scope, lambda: view.completed)
    except Withdrawn:
        if not view.completed and not task.closing:
            task.cancelled = True
            await flow.append(
                ev.TaskCancelled(task_id=task_id, step=step.id, reason=flow.withdraw_reason())
            )
        raise
    assert view.outcome is not None
    return step.outcomes[view.outcome]


KIND = StepKind(ReviewStep, run, waits=True)


# Completing a task ---------------------------------------------------------------------
async def complete(flow: Flow, cmd: CompleteTask) -> CommandResult:
    # Validators of two updates in one activation both run before either handler,
    # so the handler checks again before it claims the task.
    task = check_complete(flow, cmd)
    task.closing = True
    completed = ev.TaskCompleted(
        task_id=cmd.task_id,
        step=task.view.step,
        step_name=task.step_name,
        outcome=cmd.outcome,
        comment=cmd.comment,
        actor=ev.ActorRef(subject=cmd.actor.subject, role=cmd.actor.role),
    )
    if cmd.fields:
        completed = completed.model_copy(update={"fields": cmd.fields})
    try:
        await flow.append(completed)
    except BaseException:
        task.closing = False
        raise
    if _returns(flow, task, cmd.outcome):
        flow.returned = {"reason": cmd.comment, "fields": cmd.fields, "by": cmd.actor.subject}
    flow.outcomes[task.view.step] = cmd.outcome
    task.view.outcome = cmd.outcome
    return await flow.after(lambda: setattr(task.view, "completed", True))


def check_complete(flow: Flow, cmd: CompleteTask) -> OpenTask:
    task = _check_open(flow, cmd.task_id, cmd.actor)
    if task.view.claimed_by not in (None, cmd.actor.subject):
        raise ApplicationError(
            f"task {cmd.task_id} is claimed by {task.view.claimed_by}",
            type=errors.ROLE_MISMATCH,
        )
    if cmd.outcome not in task.view.outcomes:
        raise ApplicationError(
            f"outcome {cmd.outcome!r} is not allowed; choose one of "
            f"{', '.join(task.view.outcomes)}",
            type=errors.OUTCOME_NOT_ALLOWED,
        )
    if _returns(flow, task, cmd.outcome):
        field_ids = {f.id for f in flow.definition.fields}
        unknown = [f for f in cmd.fields if f not in field_ids]
        if not cmd.comment.strip() or not cmd.fields or unknown:
            raise ApplicationError(
                f"outcome {cmd.outcome!r} returns the application to the citizen: give "
                "the reason as comment and the fields to fix"
                + (f" (unknown fields: {', '.join(unknown)})" if unknown else ""),
                type=errors.INVALID_INPUT,
            )
    return task


def _returns(flow: Flow, task: OpenTask, outcome: str) -> bool:
    step = flow.definition.step(task.view.step)
    assert isinstance(step, ReviewStep)
    return isinstance(flow.definition.step(step.outcomes[outcome]), CorrectionStep)


# Claiming a task -----------------------------------------------------------------------
async def claim(flow: Flow, cmd: ClaimTask) -> CommandResult:
    """An officer takes a task from the shared inbox; only they may complete it."""
    task = check_claim(flow, cmd)
    if task.view.claimed_by == cmd.actor.subject:
        return flow.result()  # claiming again is harmless
    task.view.claimed_by = cmd.actor.subject
    await flow.append(
        ev.TaskClaimed(task_id=cmd.task_id, step=task.view.step, by=cmd.actor.subject)
    )
    return flow.result()


def check_claim(flow: Flow, cmd: ClaimTask) -> OpenTask:
    task = _check_open(flow, cmd.task_id, cmd.actor)
    if task.view.claimed_by not in (None, cmd.actor.subject):
        raise ApplicationError(
            f"task {cmd.task_id} is already claimed by {task.view.claimed_by}",
            type=errors.TASK_NOT_OPEN,
        )
    return task


def _check_open(flow: Flow, task_id: str, actor: Actor) -> OpenTask:
    """The task exists, is open, and is for the actor's role and agency."""
    flow.check_visible(actor)
    task = flow.tasks.get(task_id)
    if task is None:
        raise ApplicationError(
            f"task {task_id} is not a task of application {flow.inp.application_id}",
            type=errors.TASK_NOT_FOUND,
        )
    if task.cancelled:
        raise ApplicationError(f"task {task_id} was withdrawn", type=errors.TASK_NOT_OPEN)
    if task.view.completed or task.closing:
        raise ApplicationError(
            f"task {task_id} was already completed"
            + (f" with outcome {task.view.outcome!r}" if task.view.outcome else ""),
            type=errors.TASK_NOT_OPEN,
        )
    agency = flow.definition.agency.code
    if actor.role != task.view.role or actor.agency != agency:
        raise ApplicationError(
            f"task {task_id} is for role {task.view.role!r} of agency {agency}; "
            f"you act as {actor.role!r} of {actor.agency}",
            type=errors.ROLE_MISMATCH,
        )
    return task
