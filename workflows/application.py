"""The one generic interpreter workflow: it walks any published service definition.

Deterministic and free of I/O: every side effect is an activity, every rule comes from
``domain.interpreter``. Workflow id = application number (e.g. ``BWI-2026-000123``).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.events import AppendOutcome, AppendRequest, EventActivities, EventSpec
    from domain import events as ev
    from domain import interpreter
    from domain.definition import DecisionStep, EndStep, FormStep, NotifyStep, ReviewStep
    from workflows import errors
    from workflows.messages import (
        ApplicationInput,
        CommandResult,
        CompleteTask,
        LiveState,
        TaskView,
    )

ACTIVITY_TIMEOUT = timedelta(seconds=30)
# The event store may be briefly unavailable: keep retrying with backoff, never give up
# on a citizen's application. Business refusals are raised non-retryable.
ACTIVITY_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=30),
)


@dataclass
class _Task:
    view: TaskView
    step_name: str
    closing: bool = False
    """Set when an update starts completing it, so a racing second update is refused."""


@workflow.defn(name="ApplicationWorkflow")
class ApplicationWorkflow:
    @workflow.init
    def __init__(self, inp: ApplicationInput) -> None:
        self._inp = inp
        self._stream = ev.application_stream(inp.application_id)
        self._next_index = 0
        self._position = 0
        self._append_lock = asyncio.Lock()
        self._status = "submitted"
        self._current: str | None = None
        self._outcomes: dict[str, str] = {}
        self._tasks: dict[str, _Task] = {}
        self._wait_points = 0
        """How often the flow has come to rest (a human task opened, or the end): a
        command answers after the next rest, so its position covers all it set off."""

    @workflow.run
    async def run(self, inp: ApplicationInput) -> str:
        d = inp.definition
        await self._append(
            ev.APPLICATION_SUBMITTED,
            {
                "application_id": inp.application_id,
                "service": {"id": d.id, "version": d.version, "name": d.name},
                "agency": {"code": d.agency.code, "name": d.agency.name},
                "citizen": inp.citizen,
                "data": inp.data,
                "start_step": d.start_step,
            },
        )
        step_id = d.start_step
        visits: dict[str, int] = {}
        automatic = 0  # steps walked since the last human task
        while True:
            step = d.step(step_id)
            self._current = step_id
            visits[step_id] = visits.get(step_id, 0) + 1
            automatic += 1
            if automatic > len(d.steps) + 1:
                # The validator refuses loops without a human step; never spin forever.
                raise ApplicationError(
                    f"loop without a human step at {step_id!r}", non_retryable=True
                )
            match step:
                case EndStep():
                    self._status = step.result
                    await self._append(
                        ev.APPLICATION_COMPLETED, {"step": step.id, "result": step.result}
                    )
                    self._wait_points += 1
                    await workflow.wait_condition(workflow.all_handlers_finished)
                    return step.result
                case FormStep():
                    step_id = step.next
                case NotifyStep():
                    message = interpreter.render_message(step.message, inp.data)
                    await self._append(
                        ev.CITIZEN_NOTIFIED,
                        {
                            "step": step.id,
                            "channel": "inbox",
                            "citizen": inp.citizen,
                            "message": message,
                        },
                        activity=EventActivities.notify_citizen,
                    )
                    step_id = step.next
                case DecisionStep():
                    env = interpreter.environment(d, inp.data, self._outcomes)
                    choice = interpreter.decide(step, env)
                    await self._append(
                        ev.DECISION_TAKEN,
                        {
                            "step": step.id,
                            "step_name": step.name,
                            "branch": choice.branch,
                            "condition": choice.condition,
                            "target": choice.target,
                            "errors": list(choice.errors),
                        },
                    )
                    step_id = choice.target
                case ReviewStep():
                    automatic = 0
                    outcome = await self._review(step, visits[step_id])
                    step_id = step.outcomes[outcome]

    async def _review(self, step: ReviewStep, visit: int) -> str:
        task_id = f"{self._inp.application_id}.{step.id}.{visit}"
        view = TaskView(task_id=task_id, step=step.id, role=step.role, outcomes=list(step.outcomes))
        await self._append(
            ev.TASK_ASSIGNED,
            {
                "task_id": task_id,
                "step": step.id,
                "step_name": step.name,
                "role": step.role,
                "agency": self._inp.definition.agency.code,
                "outcomes": view.outcomes,
                "instructions": step.instructions,
            },
        )
        self._tasks[task_id] = _Task(view=view, step_name=step.name)
        self._status = "in_review"
        self._wait_points += 1
        await workflow.wait_condition(lambda: view.completed)
        assert view.outcome is not None
        return view.outcome

    # Commands ---------------------------------------------------------------
    @workflow.update
    async def submission(self) -> CommandResult:
        """Used with update-with-start: answers once the flow has reached its first
        human task (or its end), so the answer's position covers the inbox entry."""
        await workflow.wait_condition(lambda: self._wait_points > 0)
        return self._result()

    @workflow.update
    async def complete_task(self, cmd: CompleteTask) -> CommandResult:
        # Validators of two updates in one activation both run before either handler,
        # so the handler checks again before it claims the task.
        task = self._check(cmd)
        task.closing = True
        try:
            await self._append(
                ev.TASK_COMPLETED,
                {
                    "task_id": cmd.task_id,
                    "step": task.view.step,
                    "step_name": task.step_name,
                    "outcome": cmd.outcome,
                    "comment": cmd.comment,
                    "actor": {"subject": cmd.actor.subject, "role": cmd.actor.role},
                },
            )
        except BaseException:
            task.closing = False
            raise
        self._outcomes[task.view.step] = cmd.outcome
        task.view.outcome = cmd.outcome
        rests = self._wait_points
        task.view.completed = True
        # Answer once the flow has moved on to its next rest, so the caller's next read
        # (with this position) shows where the application went.
        await workflow.wait_condition(lambda: self._wait_points > rests)
        return self._result()

    @complete_task.validator
    def _validate_complete_task(self, cmd: CompleteTask) -> None:
        self._check(cmd)

    def _check(self, cmd: CompleteTask) -> _Task:
        task = self._tasks.get(cmd.task_id)
        if task is None:
            raise ApplicationError(
                f"task {cmd.task_id} is not a task of application {self._inp.application_id}",
                type=errors.TASK_NOT_FOUND,
            )
        if task.view.completed or task.closing:
            raise ApplicationError(
                f"task {cmd.task_id} was already completed"
                + (f" with outcome {task.view.outcome!r}" if task.view.outcome else ""),
                type=errors.TASK_NOT_OPEN,
            )
        agency = self._inp.definition.agency.code
        if cmd.actor.role != task.view.role or cmd.actor.agency != agency:
            raise ApplicationError(
                f"task {cmd.task_id} is for role {task.view.role!r} of agency {agency}; "
                f"you act as {cmd.actor.role!r} of {cmd.actor.agency}",
                type=errors.ROLE_MISMATCH,
            )
        if cmd.outcome not in task.view.outcomes:
            raise ApplicationError(
                f"outcome {cmd.outcome!r} is not allowed; choose one of "
                f"{', '.join(task.view.outcomes)}",
                type=errors.OUTCOME_NOT_ALLOWED,
            )
        return task

    @workflow.query
    def state(self) -> LiveState:
        return LiveState(
            application_id=self._inp.application_id,
            service_id=self._inp.definition.id,
            service_version=self._inp.definition.version,
            status=self._status,
            current_step=self._current,
            outcomes=dict(self._outcomes),
            tasks=[t.view for t in self._tasks.values()],
            position=self._position,
        )

    # Events -----------------------------------------------------------------
    def _result(self) -> CommandResult:
        return CommandResult(
            application_id=self._inp.application_id, position=self._position, status=self._status
        )

    async def _append(
        self, event_type: str, data: dict[str, Any], activity: Any = EventActivities.append_events
    ) -> int:
        # One append at a time keeps the stream's versions dense and in workflow order.
        async with self._append_lock:
            index = self._next_index
            spec = EventSpec(
                id=str(ev.event_id(self._stream, index)),
                type=event_type,
                data=data,
                metadata={"workflow_id": self._inp.application_id},
            )
            out: AppendOutcome = await workflow.execute_activity(
                activity,
                AppendRequest(stream=self._stream, expected_version=index - 1, events=[spec]),
                start_to_close_timeout=ACTIVITY_TIMEOUT,
                retry_policy=ACTIVITY_RETRY,
            )
            self._next_index = index + 1
            self._position = out.positions[-1]
            return self._position
