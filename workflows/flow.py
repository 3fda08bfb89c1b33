"""One application's run: its mutable state and the interpreter's primitives that every
step kind uses (append an event, run an activity, raise an incident, wait, watch a
deadline, pause the service clock). ``ApplicationWorkflow`` owns one ``Flow`` and walks
the definition with it; the step kinds in ``workflows/steps/`` receive it.

Deterministic and free of I/O, like the workflow: every side effect is an activity.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.events import AppendOutcome, AppendRequest, EventActivities
    from domain import calendar, interpreter
    from domain import events as ev
    from domain.definition import Duration, DurationUnit, StepDeadline
    from domain.state import WAITING_STATUS
    from workflows import errors
    from workflows.messages import Actor, ApplicationInput, CancelApplication, CommandResult
    from workflows.waiting import OpenTask, Scope, Wait, Withdrawn

# A killed worker must hold up its applications for seconds, not a whole timeout: past
# these, Temporal retries the activity on another worker (ids make retries idempotent).
# An append takes milliseconds; longer activities heartbeat (activities/heartbeat.py).
APPEND_TIMEOUT = timedelta(seconds=5)
ACTIVITY_TIMEOUT = timedelta(seconds=30)
HEARTBEAT_TIMEOUT = timedelta(seconds=3)
# Infrastructure may be briefly down: retry with backoff; past the attempts the
# application goes into an incident an administrator retries (nothing is lost).
ACTIVITY_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=30),
    maximum_attempts=8,
)
INCIDENT_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=1)
)
TERMINAL = ("approved", "rejected", "cancelled")
CONDITION_ERRORS_PATCH = "condition-errors-are-incidents"
"""Since 2026-11-29 a condition that cannot be evaluated is an incident (or the
decision's on_error), never a branch or fee rule that does not hold."""
PAUSE_IN_WORKING_DAYS_PATCH = "correction-pause-in-working-days"
"""Since 2026-11-29 a service time limit in working days is moved, after a correction,
by the working days the citizen took, not by the elapsed hours (which counted weekends
and holidays the deadline itself skips)."""

Walker = Callable[[str, Scope, "str | None"], Awaitable[tuple[str, "str | None"]]]
"""The workflow's walk: from a step until an end (its result and id) or ``stop_at``."""


class Flow:
    """The per-run state of one application and the primitives its steps use."""

    def __init__(self, inp: ApplicationInput, walk: Walker) -> None:
        self.inp = inp
        self.definition = inp.definition
        self.walk = walk
        """A parallel step walks its branches through the workflow's own walk."""
        self.data: dict[str, Any] = dict(inp.data)
        self.stream = ev.application_stream(inp.application_id)
        self.next_index = 0
        self.position = 0
        self.append_lock = asyncio.Lock()
        self.status = "submitted"
        self.current: str | None = None
        self.outcomes: dict[str, str] = {}
        self.tasks: dict[str, OpenTask] = {}
        self.waits: dict[str, Wait] = {}
        self.visits: dict[str, int] = {}
        self.root = Scope()
        self.busy = 1  # walkers running (not waiting); the main walker starts running
        self.rests = 0
        """How often the flow has come to rest (all walkers waiting, or the end): a
        command answers after the next rest, so its position covers all it set off."""
        self.returned: dict[str, Any] = {}  # the last "return for correction" request
        self.payments: dict[str, int] = {}  # provider/receipt reference -> amount
        self.cancellable = True  # until the flow reaches cancellable_until
        self.cancel: CancelApplication | None = None
        self.incidents: dict[int, str] = {}  # open incidents: number -> what failed
        self.incident_count = 0
        self.retries = 0  # how often an administrator has said "retry"
        self.finished = False
        self.service_due: datetime | None = None
        self.clock_paused_at: datetime | None = None
        self.clock_changed = False

    def env(self) -> dict[str, object]:
        return interpreter.environment(self.definition, self.data, self.outcomes)

    # Answers -------------------------------------------------------------------------
    def result(self) -> CommandResult:
        return CommandResult(
            application_id=self.inp.application_id,
            position=self.position,
            status=self.live_status(),
        )

    def live_status(self) -> str:
        """The status the read model will show once it has this position (the same
        rule as ``domain.state``): a result, an incident, a task, or another wait."""
        if self.finished or self.status in TERMINAL:
            return self.status
        if self.incidents:
            return "incident"
        if any(not (t.view.completed or t.cancelled) for t in self.tasks.values()):
            return "in_review"
        for w in self.waits.values():
            if not w.done:
                return WAITING_STATUS.get(w.kind, "in_progress")
        return self.status

    def incident(self) -> str | None:
        return next(iter(self.incidents.values()), None)

    async def after(self, mark_done: Callable[[], None]) -> CommandResult:
        """Release the waiting walker, then answer at the flow's next rest."""
        rests = self.rests
        mark_done()
        await workflow.wait_condition(lambda: self.rests > rests)
        return self.result()

    def check_visible(self, actor: Actor) -> None:
        """Refuse another party (a citizen who did not apply, staff of another agency)
        exactly as the API refuses an unknown application, before any check that could
        tell them this application exists or where it stands."""
        own = (
            actor.subject == self.inp.citizen
            if actor.role == "citizen"
            else actor.role == "payment_provider" or actor.agency == self.definition.agency.code
        )
        if not own:
            raise ApplicationError(
                f"there is no application {self.inp.application_id} you may see",
                type=errors.NOT_FOUND,
            )

    def open_wait(self, kind: str, what: str) -> Wait:
        for wait in self.waits.values():
            if wait.kind == kind and not (wait.done or wait.closing):
                return wait
        raise ApplicationError(
            f"application {self.inp.application_id} is not waiting for {what} now",
            type=errors.NOT_WAITING,
        )

    def withdraw_reason(self) -> str:
        return "application cancelled" if self.cancel else "another branch finished first"

    # Waits and deadlines ---------------------------------------------------------------
    async def wait(
        self, scope: Scope, done: Callable[[], bool], until: datetime | None = None
    ) -> bool:
        """Wait for ``done``; False once ``until`` passes first. Raises Withdrawn when
        the scope is withdrawn meanwhile."""
        if done() and workflow.patched("no-rest-when-already-done"):
            # Nothing to wait for: counting a rest here answered commands too early.
            return True
        self.busy -= 1
        if self.busy == 0:
            self.rests += 1
        try:
            timeout = None if until is None else max(until - workflow.now(), timedelta(0))
            await workflow.wait_condition(lambda: done() or scope.cancelled, timeout=timeout)
        except TimeoutError:
            return False
        finally:
            self.busy += 1
        if done():
            return True
        raise Withdrawn

    async def deadline(
        self,
        scope: Scope,
        done: Callable[[], bool],
        deadline: StepDeadline,
        step: str,
        task: OpenTask | None = None,
    ) -> str:
        """Remind, then breach (and escalate a task) if ``done`` stays false. Returns
        "done" or "breached" (the caller decides what a breach means)."""
        now = workflow.now()
        cal = self.inp.calendar
        due = calendar.add(cal, now, deadline.within)
        if deadline.remind_before is not None:
            remind_at = calendar.subtract(cal, due, deadline.remind_before)
            if remind_at > now and not await self.wait(scope, done, remind_at):
                await self.append(
                    ev.ReminderSent(
                        step=step,
                        due_at=due.isoformat(),
                        task_id=task.view.task_id if task else None,
                        role=task.view.role if task else None,
                    )
                )
        if await self.wait(scope, done, due):
            return "done"
        await self.append(
            ev.SlaBreached(
                scope="step",
                step=step,
                due_at=due.isoformat(),
                task_id=task.view.task_id if task else None,
            )
        )
        if task is not None and deadline.escalate_to and not task.view.completed:
            before, task.view.role = task.view.role, deadline.escalate_to
            task.view.claimed_by = None  # the new role's inbox takes it afresh
            await self.append(
                ev.TaskReassigned(
                    task_id=task.view.task_id,
                    step=step,
                    from_role=before,
                    to_role=deadline.escalate_to,
                    reason="deadline passed",
                )
            )
        return "breached"

    # The service's clock -----------------------------------------------------------------
    def pause_clock(self) -> None:
        if self.service_due is not None and self.clock_paused_at is None:
            self.clock_paused_at = workflow.now()
            self.clock_changed = True

    async def resume_clock(self) -> None:
        if self.service_due is None or self.clock_paused_at is None:
            return
        limit = self.definition.time_limit
        if (
            limit is not None
            and limit.unit == DurationUnit.WORKING_DAYS
            and workflow.patched(PAUSE_IN_WORKING_DAYS_PATCH)
        ):
            # The working days from the pause's day (exclusive) to today (inclusive):
            # a correction sent back the same day moves nothing, one over a weekend and
            # a holiday moves the deadline by the working days in between only.
            cal = self.inp.calendar
            waited = calendar.working_days_between(cal, self.clock_paused_at, workflow.now())
            if waited:
                self.service_due = calendar.add(
                    cal, self.service_due, Duration(amount=waited, unit=DurationUnit.WORKING_DAYS)
                )
        else:
            self.service_due += workflow.now() - self.clock_paused_at
        self.clock_paused_at = None
        self.clock_changed = True
        await self.append(
            ev.DeadlineSet(
                scope="service",
                due_at=self.service_due.isoformat(),
                reason="paused while the citizen corrected the application",
            )
        )

    # Activities and incidents -----------------------------------------------------------
    async def activity(
        self, activity: Any, arg: Any, step: str | None, result_type: type | None = None
    ) -> Any:
        """Run an activity; past its retries, raise an incident and wait for an
        administrator's retry instead of failing the application."""
        while True:
            try:
                return await workflow.execute_activity(
                    activity,
                    arg,
                    result_type=result_type,
                    start_to_close_timeout=ACTIVITY_TIMEOUT,
                    heartbeat_timeout=HEARTBEAT_TIMEOUT,
                    retry_policy=ACTIVITY_RETRY,
                )
            except ActivityError as e:
                await self.raise_incident(step, str(e.cause or e))

    async def condition_incident(self, step: str, error: str, scope: Scope) -> None:
        """A condition that cannot be evaluated: an incident. The same data gives the
        same answer, so a retry helps only after the engine changed (e.g. its limits);
        cancelling the application (the citizen or the administrator) also ends it."""
        await self.raise_incident(step, error, scope)
        if scope.cancelled:
            raise Withdrawn

    async def raise_incident(
        self, step: str | None, error: str, scope: Scope | None = None
    ) -> None:
        """Record the incident, rest until an administrator retries (or ``scope``, if
        given, is cancelled), record that. Several walkers (parallel branches) may be in
        an incident at once."""
        self.incident_count += 1
        number = self.incident_count
        self.incidents[number] = error[:500]
        async with self.append_lock:
            await self._append_now(
                ev.IncidentRaised(step=step, error=self.incidents[number]),
                EventActivities.append_events,
                INCIDENT_RETRY,
            )
        retries = self.retries
        # A rest: a command that ran into the incident answers now, with status incident.
        self.busy -= 1
        if self.busy == 0:
            self.rests += 1
        try:
            await workflow.wait_condition(
                lambda: self.retries > retries or (scope is not None and scope.cancelled)
            )
        finally:
            self.busy += 1
        async with self.append_lock:
            await self._append_now(
                ev.IncidentResolved(step=step), EventActivities.append_events, INCIDENT_RETRY
            )
        del self.incidents[number]

    # Appending events -------------------------------------------------------------------
    async def append(self, event: ev.Event, activity: Any = EventActivities.append_events) -> int:
        # One append at a time keeps the stream's versions dense and in workflow order;
        # the lock is released while an incident waits, so other branches go on.
        while True:
            async with self.append_lock:
                try:
                    return await self._append_now(event, activity, ACTIVITY_RETRY)
                except ActivityError as e:
                    error = e
            await self.raise_incident(event.payload().get("step"), str(error.cause or error))

    async def notify(self, step: str, message: str) -> None:
        await self.append(
            ev.CitizenNotified(
                step=step, channel="inbox", citizen=self.inp.citizen, message=message
            ),
            activity=EventActivities.notify_citizen,
        )

    async def _append_now(self, event: ev.Event, activity: Any, retry: RetryPolicy) -> int:
        index = self.next_index
        # A queued activity, not a local one: its input (the events, with their ids) is
        # recorded in the history, which is what `lincah audit consistency --repair`
        # appends from after a restore (README "Backup and restore"). Local activities
        # would be faster (`lincah bench e2e`) but record only their result.
        out: AppendOutcome = await workflow.execute_activity(
            activity,
            AppendRequest.nth(self.stream, index, event, self.inp.application_id),
            start_to_close_timeout=APPEND_TIMEOUT,
            retry_policy=retry,
        )
        self.next_index = index + 1
        self.position = out.positions[-1]
        return self.position
