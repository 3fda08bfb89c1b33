"""The one generic interpreter workflow: it walks any published service definition.

Deterministic and free of I/O: every side effect is an activity, every rule comes from
``domain``. Workflow id = application number (e.g. ``BWI-2026-000123``).

Waits are cooperative: withdrawing a parallel branch or cancelling the application
flips a scope flag that every wait watches, so no event append is ever interrupted
half-way and the stream stays dense.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError, ChildWorkflowError

with workflow.unsafe.imports_passed_through():
    from activities.catalogue import CatalogueActivities
    from activities.events import AppendOutcome, AppendRequest, EventActivities, EventSpec
    from documents.contract import IssuedDocument, IssueRequest
    from domain import calendar, interpreter
    from domain import events as ev
    from domain.definition import (
        STAFF_ROLES,
        CorrectionStep,
        DecisionStep,
        DocumentStep,
        EndStep,
        ExternalStep,
        FaceVerifyStep,
        FormStep,
        JoinStep,
        NotifyStep,
        ParallelStep,
        PaymentStep,
        ReviewStep,
        StepDeadline,
        SubserviceStep,
    )
    from domain.state import WAITING_STATUS
    from domain.validation import validate_fields
    from face.contract import VERIFY_FACE, FaceCheck, FaceOutcome
    from workflows import errors
    from workflows.messages import (
        Actor,
        ApplicationInput,
        CancelApplication,
        ClaimTask,
        CommandResult,
        CompleteTask,
        DeliverEvent,
        LiveState,
        RecordPayment,
        RetryIncident,
        SubmitCorrection,
        TaskView,
    )
    from workflows.waiting import BranchGroup, OpenTask, Scope, Wait, Withdrawn

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
# A face worker that is down must not stall the flow: after this, the check counts as
# unusable and the definition's mismatch branch is taken.
FACE_TIMEOUT = timedelta(minutes=5)
FACE_HEARTBEAT_TIMEOUT = timedelta(seconds=5)
TERMINAL = ("approved", "rejected", "cancelled")


@workflow.defn(name="ApplicationWorkflow")
class ApplicationWorkflow:
    CONDITION_ERRORS_PATCH = "condition-errors-are-incidents"
    """Since 2026-11-29 a condition that cannot be evaluated is an incident (or the
    decision's on_error), never a branch or fee rule that does not hold."""

    @workflow.init
    def __init__(self, inp: ApplicationInput) -> None:
        self._inp = inp
        self._def = inp.definition
        self._data: dict[str, Any] = dict(inp.data)
        self._stream = ev.application_stream(inp.application_id)
        self._next_index = 0
        self._position = 0
        self._append_lock = asyncio.Lock()
        self._status = "submitted"
        self._current: str | None = None
        self._outcomes: dict[str, str] = {}
        self._tasks: dict[str, OpenTask] = {}
        self._waits: dict[str, Wait] = {}
        self._visits: dict[str, int] = {}
        self._root = Scope()
        self._busy = 1  # walkers running (not waiting); the main walker starts running
        self._rests = 0
        """How often the flow has come to rest (all walkers waiting, or the end): a
        command answers after the next rest, so its position covers all it set off."""
        self._returned: dict[str, Any] = {}  # the last "return for correction" request
        self._payments: dict[str, int] = {}  # provider/receipt reference -> amount
        self._cancellable = True  # until the flow reaches cancellable_until
        self._cancel: CancelApplication | None = None
        self._incidents: dict[int, str] = {}  # open incidents: number -> what failed
        self._incident_count = 0
        self._retries = 0  # how often an administrator has said "retry"
        self._finished = False
        self._service_due: datetime | None = None
        self._clock_paused_at: datetime | None = None
        self._clock_changed = False

    @workflow.run
    async def run(self, inp: ApplicationInput) -> str:
        d = self._def
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
        watcher = None
        if d.time_limit is not None:
            self._service_due = calendar.add(inp.calendar, workflow.now(), d.time_limit)
            await self._append(
                ev.DEADLINE_SET, {"scope": "service", "due_at": self._service_due.isoformat()}
            )
            watcher = asyncio.create_task(self._watch_service_deadline())
        end_step: str | None
        try:
            result, end_step = await self._walk(d.start_step, self._root, None)
        except Withdrawn:
            result, end_step = await self._compensate(), None
        self._status = result
        completed = {"step": end_step, "result": result}
        if workflow.patched("answer-after-completion-event"):
            # A command waiting for the end (a cancellation) answers with the position
            # of ApplicationCompleted, so reading at it shows the final status.
            await self._append(ev.APPLICATION_COMPLETED, completed)
            self._finished = True
        else:  # histories recorded before 2026-11-28 answered before the append
            self._finished = True
            await self._append(ev.APPLICATION_COMPLETED, completed)
        self._rests += 1

        if watcher is not None:
            await watcher
        await workflow.wait_condition(workflow.all_handlers_finished)
        return result

    # The walk ----------------------------------------------------------------
    async def _walk(
        self, step_id: str, scope: Scope, stop_at: str | None
    ) -> tuple[str, str | None]:
        """Walk from ``step_id`` until an end step (returns its result and id) or, in a
        parallel branch, until ``stop_at`` (returns ("", None))."""
        d = self._def
        automatic = 0  # steps walked since the last wait
        while True:
            if step_id == stop_at:
                return "", None
            if scope.cancelled:
                raise Withdrawn
            step = d.step(step_id)
            self._current = step_id
            if step_id == d.cancellable_until:
                self._cancellable = False
            visit = self._visits[step_id] = self._visits.get(step_id, 0) + 1
            automatic += 1
            if automatic > len(d.steps) + 1:
                # The validator refuses loops without a waiting step; never spin forever.
                raise ApplicationError(
                    f"loop without a human step at {step_id!r}", non_retryable=True
                )
            match step:
                case EndStep():
                    self._status = step.result
                    return step.result, step.id
                case FormStep() | JoinStep():
                    step_id = step.next
                case NotifyStep():
                    await self._notify(
                        step.id, interpreter.render_message(step.message, self._data)
                    )
                    step_id = step.next
                case DecisionStep():
                    step_id = await self._decide(step, scope)
                case ReviewStep():
                    automatic = 0
                    outcome = await self._review(step, visit, scope)
                    step_id = step.outcomes[outcome]
                case ParallelStep():
                    automatic = 0
                    step_id = await self._parallel(step, scope)
                case CorrectionStep():
                    automatic = 0
                    step_id = await self._correction(step, scope)
                case PaymentStep():
                    automatic = 0
                    step_id = await self._payment(step, scope)
                case DocumentStep():
                    await self._document(step, visit)
                    step_id = step.next
                case ExternalStep():
                    automatic = 0
                    step_id = await self._external(step, scope)
                case SubserviceStep():
                    automatic = 0
                    await self._subservice(step, visit, scope)
                    step_id = step.next
                case FaceVerifyStep():
                    step_id = await self._face(step)

    def _env(self) -> dict[str, object]:
        return interpreter.environment(self._def, self._data, self._outcomes)

    async def _decide(self, step: DecisionStep, scope: Scope) -> str:
        while True:
            try:
                choice = interpreter.decide(step, self._env())
                break
            except interpreter.ConditionFailed as e:
                # Only where a condition fails do the two versions issue other commands.
                if not workflow.patched(self.CONDITION_ERRORS_PATCH):
                    choice = interpreter.decide_before_errors_failed(step, self._env())
                    break
                await self._condition_incident(step.id, str(e), scope)
        data: dict[str, Any] = {
            "step": step.id,
            "step_name": step.name,
            "branch": choice.branch,
            "condition": choice.condition,
            "target": choice.target,
            "errors": list(choice.errors),
        }
        if choice.failed:  # only definitions with on_error get here: no patch needed
            data["on_error"] = True
        await self._append(ev.DECISION_TAKEN, data)
        return choice.target

    async def _fee(self, step: PaymentStep, scope: Scope) -> int:
        while True:
            try:
                return interpreter.fee_amount(step, self._env())
            except interpreter.ConditionFailed as e:
                if not workflow.patched(self.CONDITION_ERRORS_PATCH):
                    return interpreter.fee_amount_before_errors_failed(step, self._env())
                await self._condition_incident(step.id, str(e), scope)

    async def _condition_incident(self, step: str, error: str, scope: Scope) -> None:
        """A condition that cannot be evaluated: an incident. The same data gives the
        same answer, so a retry helps only after the engine changed (e.g. its limits);
        cancelling the application (the citizen or the administrator) also ends it."""
        await self._raise_incident(step, error, scope)
        if scope.cancelled:
            raise Withdrawn

    async def _wait(
        self, scope: Scope, done: Callable[[], bool], until: datetime | None = None
    ) -> bool:
        """Wait for ``done``; False once ``until`` passes first. Raises Withdrawn when
        the scope is withdrawn meanwhile."""
        if done() and workflow.patched("no-rest-when-already-done"):
            # Nothing to wait for: counting a rest here answered commands too early.
            return True
        self._busy -= 1
        if self._busy == 0:
            self._rests += 1
        try:
            timeout = None if until is None else max(until - workflow.now(), timedelta(0))
            await workflow.wait_condition(lambda: done() or scope.cancelled, timeout=timeout)
        except TimeoutError:
            return False
        finally:
            self._busy += 1
        if done():
            return True
        raise Withdrawn

    async def _deadline(
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
        cal = self._inp.calendar
        due = calendar.add(cal, now, deadline.within)
        if deadline.remind_before is not None:
            remind_at = calendar.subtract(cal, due, deadline.remind_before)
            if remind_at > now and not await self._wait(scope, done, remind_at):
                await self._append(
                    ev.REMINDER_SENT,
                    {
                        "step": step,
                        "due_at": due.isoformat(),
                        "task_id": task.view.task_id if task else None,
                        "role": task.view.role if task else None,
                    },
                )
        if await self._wait(scope, done, due):
            return "done"
        await self._append(
            ev.SLA_BREACHED,
            {
                "scope": "step",
                "step": step,
                "due_at": due.isoformat(),
                "task_id": task.view.task_id if task else None,
            },
        )
        if task is not None and deadline.escalate_to and not task.view.completed:
            before, task.view.role = task.view.role, deadline.escalate_to
            task.view.claimed_by = None  # the new role's inbox takes it afresh
            await self._append(
                ev.TASK_REASSIGNED,
                {
                    "task_id": task.view.task_id,
                    "step": step,
                    "from_role": before,
                    "to_role": deadline.escalate_to,
                    "reason": "deadline passed",
                },
            )
        return "breached"

    # Human tasks -------------------------------------------------------------
    async def _review(self, step: ReviewStep, visit: int, scope: Scope) -> str:
        task_id = f"{self._inp.application_id}.{step.id}.{visit}"
        view = TaskView(task_id=task_id, step=step.id, role=step.role, outcomes=list(step.outcomes))
        assigned: dict[str, Any] = {
            "task_id": task_id,
            "step": step.id,
            "step_name": step.name,
            "role": step.role,
            "agency": self._def.agency.code,
            "outcomes": view.outcomes,
            "instructions": step.instructions,
        }
        if step.deadline is not None:
            assigned["due_at"] = calendar.add(
                self._inp.calendar, workflow.now(), step.deadline.within
            ).isoformat()
        await self._append(ev.TASK_ASSIGNED, assigned)
        task = self._tasks[task_id] = OpenTask(view=view, step_name=step.name, scope=scope)
        self._status = "in_review"
        try:
            if step.deadline is not None:
                await self._deadline(scope, lambda: view.completed, step.deadline, step.id, task)
            await self._wait(scope, lambda: view.completed)
        except Withdrawn:
            if not view.completed and not task.closing:
                task.cancelled = True
                await self._append(
                    ev.TASK_CANCELLED,
                    {"task_id": task_id, "step": step.id, "reason": self._withdraw_reason()},
                )
            raise
        assert view.outcome is not None
        return view.outcome

    def _withdraw_reason(self) -> str:
        return "application cancelled" if self._cancel else "another branch finished first"

    async def _parallel(self, step: ParallelStep, scope: Scope) -> str:
        join = self._def.step(step.join)
        assert isinstance(join, JoinStep)
        first = join.mode == "first"
        await self._append(
            ev.BRANCHES_STARTED,
            {"step": step.id, "branches": step.branches, "join": join.id, "mode": join.mode},
        )
        group = BranchGroup(size=len(step.branches), first=first)
        scopes = [Scope(parent=scope) for _ in step.branches]
        self._busy += len(step.branches) - 1  # this walker hands its turn to the branches
        tasks = [
            asyncio.create_task(self._branch(b, sc, join.id, group))
            for b, sc in zip(step.branches, scopes, strict=True)
        ]
        if first:
            _, pending = await workflow.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for t, sc in zip(tasks, scopes, strict=True):
                if t in pending:
                    sc.withdrawn = True
        results = await asyncio.gather(*tasks, return_exceptions=True)
        self._busy += 1
        for r in results:
            if isinstance(r, BaseException) and not isinstance(r, Withdrawn):
                raise r
        if scope.cancelled:
            raise Withdrawn
        finished = [b for b, sc in zip(step.branches, scopes, strict=True) if not sc.withdrawn]
        await self._append(
            ev.BRANCHES_JOINED,
            {
                "step": join.id,
                "mode": join.mode,
                "finished": finished,
                "withdrawn": [b for b in step.branches if b not in finished],
            },
        )
        return join.next

    async def _branch(self, start: str, scope: Scope, join: str, group: BranchGroup) -> None:
        try:
            await self._walk(start, scope, join)
        finally:
            group.finished += 1
            self._busy -= 1
            if self._busy == 0 and not group.joined:
                self._rests += 1  # the other branches wait on people

    # Citizens, payments, other systems -----------------------------------------
    async def _correction(self, step: CorrectionStep, scope: Scope) -> str:
        ret = self._returned
        due = calendar.add(self._inp.calendar, workflow.now(), step.abandon_after)
        await self._append(
            ev.CORRECTION_REQUESTED,
            {
                "step": step.id,
                "citizen": self._inp.citizen,
                "reason": ret.get("reason", ""),
                "fields": ret.get("fields", []),
                "by": ret.get("by"),
                "due_at": due.isoformat(),
            },
        )
        wait = self._waits[step.id] = Wait(
            step.id,
            "correction",
            {
                "fields": ret.get("fields", []),
                "reason": ret.get("reason", ""),
                "due_at": due.isoformat(),
            },
        )
        if step.pause_clock:
            self._pause_clock()
        try:
            answered = await self._wait(scope, lambda: wait.done, due)
        finally:
            del self._waits[step.id]
            if step.pause_clock:
                await self._resume_clock()
        if answered:
            return step.resume
        await self._append(ev.CORRECTION_ABANDONED, {"step": step.id, "due_at": due.isoformat()})
        return step.on_abandon

    async def _payment(self, step: PaymentStep, scope: Scope) -> str:
        amount = await self._fee(step, scope)
        if amount == 0:
            await self._append(ev.PAYMENT_WAIVED, {"step": step.id})
            return step.next
        code = f"{self._inp.application_id}-{step.id}"
        await self._append(
            ev.PAYMENT_REQUESTED,
            {
                "step": step.id,
                "amount": amount,
                "currency": "IDR",
                "payment_code": code,
                "citizen": self._inp.citizen,
            },
        )
        wait = self._waits[step.id] = Wait(
            step.id, "payment", {"amount": amount, "payment_code": code}
        )
        try:
            if step.deadline is not None:
                outcome = await self._deadline(scope, lambda: wait.done, step.deadline, step.id)
                if outcome == "breached" and step.on_unpaid is not None and not wait.closing:
                    return step.on_unpaid
            await self._wait(scope, lambda: wait.done)
        finally:
            del self._waits[step.id]
        return step.next

    async def _external(self, step: ExternalStep, scope: Scope) -> str:
        due = (
            calendar.add(self._inp.calendar, workflow.now(), step.timeout)
            if step.timeout is not None
            else None
        )
        await self._append(
            ev.WAITING_FOR_EVENT,
            {"step": step.id, "event": step.event, "due_at": due.isoformat() if due else None},
        )
        wait = self._waits[step.id] = Wait(step.id, "external", {"event": step.event})
        try:
            arrived = await self._wait(scope, lambda: wait.done, due)
        finally:
            del self._waits[step.id]
        if arrived:
            return step.next
        await self._append(ev.EXTERNAL_EVENT_TIMED_OUT, {"step": step.id, "event": step.event})
        assert step.on_timeout is not None  # the validator pairs timeout with on_timeout
        return step.on_timeout

    async def _subservice(self, step: SubserviceStep, visit: int, scope: Scope) -> None:
        child_def = await self._activity(
            CatalogueActivities.published_definition, step.service, step.id
        )
        child_id = f"{self._inp.application_id}-{step.id}" + (f"{visit}" if visit > 1 else "")
        await self._append(
            ev.SUBSERVICE_STARTED,
            {"step": step.id, "service": step.service, "child_application_id": child_id},
        )
        handle = await workflow.start_child_workflow(
            ApplicationWorkflow.run,
            ApplicationInput(
                application_id=child_id,
                definition=child_def,
                citizen=self._inp.citizen,
                data={c: self._data.get(p) for c, p in step.inputs.items()},
                calendar=self._inp.calendar,
                parent=self._inp.application_id,
                face_task_queue=self._inp.face_task_queue,
            ),
            id=child_id,
        )
        wait = self._waits[step.id] = Wait(step.id, "subservice", {"child": child_id})

        async def result() -> None:
            try:
                wait.value = await handle
            except ChildWorkflowError:
                wait.value = "failed"
            wait.done = True

        watcher = asyncio.create_task(result())
        try:
            await self._wait(scope, lambda: wait.done)
        except Withdrawn:
            await handle.signal(ApplicationWorkflow.withdraw, "parent application withdrawn")
            # Let the child finish its own cancellation: closing first would terminate it.
            await watcher
            raise
        finally:
            del self._waits[step.id]
        await watcher
        self._outcomes[step.id] = str(wait.value)
        await self._append(
            ev.SUBSERVICE_COMPLETED,
            {"step": step.id, "child_application_id": child_id, "result": wait.value},
        )

    async def _face(self, step: FaceVerifyStep) -> str:
        try:
            out: FaceOutcome = await workflow.execute_activity(
                VERIFY_FACE,
                FaceCheck(
                    application_id=self._inp.application_id,
                    citizen=self._inp.citizen,
                    selfie_ref=self._inp.selfie_ref,
                ),
                result_type=FaceOutcome,
                task_queue=self._inp.face_task_queue,
                schedule_to_close_timeout=FACE_TIMEOUT,
                heartbeat_timeout=FACE_HEARTBEAT_TIMEOUT,
                retry_policy=RetryPolicy(maximum_attempts=3),
            )
        except ActivityError:
            out = FaceOutcome(
                match=None,
                distance=None,
                threshold=None,
                backend="none",
                reason="the face check was not available",
            )
        outcome = "match" if out.match else "unusable" if out.match is None else "mismatch"
        self._outcomes[step.id] = outcome
        await self._append(
            ev.FACE_VERIFIED,
            {
                "step": step.id,
                "outcome": outcome,
                "backend": out.backend,
                "distance": out.distance,  # the outcome, backend and distance only
            },
        )
        return step.on_match if out.match else step.on_mismatch

    async def _document(self, step: DocumentStep, visit: int) -> None:
        d = self._def
        req = IssueRequest(
            application_id=self._inp.application_id,
            step_id=step.id,
            visit=visit,
            citizen=self._inp.citizen,
            agency_code=d.agency.code,
            agency_name=d.agency.name,
            service_id=d.id,
            service_name=d.name,
            template=step.template.model_dump(),
            values={k: "" if v is None else str(v) for k, v in self._data.items()},
            issued_at=workflow.now().isoformat(),
            utc_offset_hours=self._inp.calendar.utc_offset_hours,
        )
        doc: IssuedDocument = await self._activity(
            "issue_document", req, step.id, result_type=IssuedDocument
        )
        await self._append(
            ev.DOCUMENT_ISSUED,
            {
                "step": step.id,
                "number": doc.number,
                "sha256": doc.sha256,
                "signature": doc.signature,
                "public_key_id": doc.public_key_id,
                "issued_at": doc.issued_at,
                "title": doc.title,
                "verify_url": doc.verify_url,
            },
        )

    async def _notify(self, step: str, message: str) -> None:
        await self._append(
            ev.CITIZEN_NOTIFIED,
            {"step": step, "channel": "inbox", "citizen": self._inp.citizen, "message": message},
            activity=EventActivities.notify_citizen,
        )

    # The service's time limit --------------------------------------------------
    async def _watch_service_deadline(self) -> None:
        while not self._finished:
            if self._clock_paused_at is not None or self._service_due is None:
                await workflow.wait_condition(
                    lambda: self._finished or self._clock_paused_at is None
                )
                continue
            try:
                await workflow.wait_condition(
                    lambda: self._finished or self._clock_changed,
                    timeout=max(self._service_due - workflow.now(), timedelta(0)),
                )
                self._clock_changed = False
            except TimeoutError:
                await self._append(
                    ev.SLA_BREACHED,
                    {
                        "scope": "service",
                        "step": self._current,
                        "due_at": self._service_due.isoformat(),
                    },
                )
                return

    def _pause_clock(self) -> None:
        if self._service_due is not None and self._clock_paused_at is None:
            self._clock_paused_at = workflow.now()
            self._clock_changed = True

    async def _resume_clock(self) -> None:
        if self._service_due is None or self._clock_paused_at is None:
            return
        self._service_due += workflow.now() - self._clock_paused_at
        self._clock_paused_at = None
        self._clock_changed = True
        await self._append(
            ev.DEADLINE_SET,
            {
                "scope": "service",
                "due_at": self._service_due.isoformat(),
                "reason": "paused while the citizen corrected the application",
            },
        )

    # Cancellation ------------------------------------------------------------
    async def _compensate(self) -> str:
        refunds = sorted(self._payments.items())
        if refunds:
            await self._append(
                ev.REFUND_RECORDED,
                {
                    "amount": sum(a for _, a in refunds),
                    "references": [r for r, _ in refunds],
                    "reason": "application cancelled",
                },
            )
        if self._cancel is not None and self._cancel.actor.role == "system":
            why = f"with application {self._inp.parent} it belongs to"
        elif self._cancel is not None and self._cancel.actor.role != "citizen":
            why = "by the agency"
        else:
            why = "as you asked"
        await self._notify(
            "cancelled", f"Application {self._inp.application_id} was cancelled {why}."
        )

        return "cancelled"

    # Commands ---------------------------------------------------------------
    @workflow.update
    async def submission(self) -> CommandResult:
        """Used with update-with-start: answers once the flow has reached its first
        human task (or its end), so the answer's position covers the inbox entry."""
        await workflow.wait_condition(lambda: self._rests > 0)
        return self._result()

    @workflow.update
    async def complete_task(self, cmd: CompleteTask) -> CommandResult:
        # Validators of two updates in one activation both run before either handler,
        # so the handler checks again before it claims the task.
        task = self._check(cmd)
        task.closing = True
        data: dict[str, Any] = {
            "task_id": cmd.task_id,
            "step": task.view.step,
            "step_name": task.step_name,
            "outcome": cmd.outcome,
            "comment": cmd.comment,
            "actor": {"subject": cmd.actor.subject, "role": cmd.actor.role},
        }
        if cmd.fields:
            data["fields"] = cmd.fields
        try:
            await self._append(ev.TASK_COMPLETED, data)
        except BaseException:
            task.closing = False
            raise
        if self._returns(task, cmd.outcome):
            self._returned = {"reason": cmd.comment, "fields": cmd.fields, "by": cmd.actor.subject}
        self._outcomes[task.view.step] = cmd.outcome
        task.view.outcome = cmd.outcome
        return await self._after(lambda: setattr(task.view, "completed", True))

    @complete_task.validator
    def _validate_complete_task(self, cmd: CompleteTask) -> None:
        self._check(cmd)

    def _check(self, cmd: CompleteTask) -> OpenTask:
        task = self._check_open(cmd.task_id, cmd.actor)
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
        if self._returns(task, cmd.outcome):
            field_ids = {f.id for f in self._def.fields}
            unknown = [f for f in cmd.fields if f not in field_ids]
            if not cmd.comment.strip() or not cmd.fields or unknown:
                raise ApplicationError(
                    f"outcome {cmd.outcome!r} returns the application to the citizen: give "
                    "the reason as comment and the fields to fix"
                    + (f" (unknown fields: {', '.join(unknown)})" if unknown else ""),
                    type=errors.INVALID_INPUT,
                )
        return task

    def _check_open(self, task_id: str, actor: Actor) -> OpenTask:
        """The task exists, is open, and is for the actor's role and agency."""
        task = self._tasks.get(task_id)
        if task is None:
            raise ApplicationError(
                f"task {task_id} is not a task of application {self._inp.application_id}",
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
        agency = self._def.agency.code
        if actor.role != task.view.role or actor.agency != agency:
            raise ApplicationError(
                f"task {task_id} is for role {task.view.role!r} of agency {agency}; "
                f"you act as {actor.role!r} of {actor.agency}",
                type=errors.ROLE_MISMATCH,
            )
        return task

    @workflow.update
    async def claim_task(self, cmd: ClaimTask) -> CommandResult:
        """An officer takes a task from the shared inbox; only they may complete it."""
        task = self._check_claim(cmd)
        if task.view.claimed_by == cmd.actor.subject:
            return self._result()  # claiming again is harmless
        task.view.claimed_by = cmd.actor.subject
        await self._append(
            ev.TASK_CLAIMED,
            {"task_id": cmd.task_id, "step": task.view.step, "by": cmd.actor.subject},
        )
        return self._result()

    @claim_task.validator
    def _validate_claim_task(self, cmd: ClaimTask) -> None:
        self._check_claim(cmd)

    def _check_claim(self, cmd: ClaimTask) -> OpenTask:
        task = self._check_open(cmd.task_id, cmd.actor)
        if task.view.claimed_by not in (None, cmd.actor.subject):
            raise ApplicationError(
                f"task {cmd.task_id} is already claimed by {task.view.claimed_by}",
                type=errors.TASK_NOT_OPEN,
            )
        return task

    def _returns(self, task: OpenTask, outcome: str) -> bool:
        step = self._def.step(task.view.step)
        assert isinstance(step, ReviewStep)
        return isinstance(self._def.step(step.outcomes[outcome]), CorrectionStep)

    async def _after(self, mark_done: Callable[[], None]) -> CommandResult:
        """Release the waiting walker, then answer at the flow's next rest."""
        rests = self._rests
        mark_done()
        await workflow.wait_condition(lambda: self._rests > rests)
        return self._result()

    @workflow.update
    async def submit_correction(self, cmd: SubmitCorrection) -> CommandResult:
        wait = self._check_correction(cmd)
        wait.closing = True
        await self._append(
            ev.CORRECTION_SUBMITTED,
            {
                "step": wait.step,
                "fields": sorted(cmd.data),
                "data": cmd.data,
                "by": cmd.actor.subject,
            },
        )
        self._data.update(cmd.data)
        return await self._after(lambda: setattr(wait, "done", True))

    @submit_correction.validator
    def _validate_submit_correction(self, cmd: SubmitCorrection) -> None:
        self._check_correction(cmd)

    def _check_correction(self, cmd: SubmitCorrection) -> Wait:
        wait = self._open_wait("correction", "a correction")
        if cmd.actor.role != "citizen" or cmd.actor.subject != self._inp.citizen:
            raise ApplicationError(
                "only the citizen who applied can submit corrections", type=errors.NOT_ALLOWED
            )
        asked = set(wait.detail["fields"])
        missing, extra = sorted(asked - set(cmd.data)), sorted(set(cmd.data) - asked)
        if missing or extra:
            raise ApplicationError(
                "send exactly the fields the officer asked for: "
                + ", ".join(sorted(asked))
                + (f" (missing: {', '.join(missing)})" if missing else "")
                + (f" (not asked for: {', '.join(extra)})" if extra else ""),
                type=errors.INVALID_INPUT,
            )
        problems = validate_fields(self._def.fields, cmd.data, partial=True)
        if problems:
            raise ApplicationError(
                "; ".join(f"{p.path}: {p.message}" for p in problems), type=errors.INVALID_INPUT
            )
        return wait

    @workflow.update
    async def record_payment(self, cmd: RecordPayment) -> CommandResult:
        if cmd.reference in self._payments:
            return self._result()  # the provider retried its callback: already recorded
        wait = self._check_payment(cmd)
        wait.closing = True
        self._payments[cmd.reference] = cmd.amount
        await self._append(
            ev.PAYMENT_RECEIVED,
            {
                "step": wait.step,
                "amount": cmd.amount,
                "currency": "IDR",
                "method": cmd.method,
                "reference": cmd.reference,
                "by": cmd.actor.subject,
            },
        )
        return await self._after(lambda: setattr(wait, "done", True))

    @record_payment.validator
    def _validate_record_payment(self, cmd: RecordPayment) -> None:
        if cmd.reference not in self._payments:
            self._check_payment(cmd)

    def _check_payment(self, cmd: RecordPayment) -> Wait:
        wait = self._open_wait("payment", "a payment")
        counter = (
            cmd.method == "counter"
            and cmd.actor.role in STAFF_ROLES | {"cashier"}
            and (cmd.actor.agency == self._def.agency.code)
        )
        online = cmd.method == "online" and cmd.actor.role == "payment_provider"
        if not (counter or online):
            raise ApplicationError(
                "payments are confirmed by the agency's staff at the counter or by the "
                "payment provider's signed callback",
                type=errors.NOT_ALLOWED,
            )
        if cmd.amount != wait.detail["amount"]:
            raise ApplicationError(
                f"the fee is Rp {wait.detail['amount']:,}; Rp {cmd.amount:,} was paid",
                type=errors.INVALID_INPUT,
            )
        return wait

    @workflow.update
    async def deliver_event(self, cmd: DeliverEvent) -> CommandResult:
        wait, step = self._check_event(cmd)
        wait.closing = True
        await self._append(
            ev.EXTERNAL_EVENT_RECEIVED,
            {"step": step.id, "event": cmd.event, "data": cmd.data, "by": cmd.actor.subject},
        )
        self._data.update(cmd.data)
        return await self._after(lambda: setattr(wait, "done", True))

    @deliver_event.validator
    def _validate_deliver_event(self, cmd: DeliverEvent) -> None:
        self._check_event(cmd)

    def _check_event(self, cmd: DeliverEvent) -> tuple[Wait, ExternalStep]:
        for wait in self._waits.values():
            if (
                wait.kind == "external"
                and wait.detail["event"] == cmd.event
                and not (wait.done or wait.closing)
            ):
                break
        else:
            raise ApplicationError(
                f"application {self._inp.application_id} is not waiting for event {cmd.event!r}",
                type=errors.NOT_WAITING,
            )
        if not (
            cmd.actor.role in STAFF_ROLES | {"integration"}
            and cmd.actor.agency == self._def.agency.code
        ):
            raise ApplicationError(
                f"events for this application come from agency {self._def.agency.code}",
                type=errors.NOT_ALLOWED,
            )
        step = self._def.step(wait.step)
        assert isinstance(step, ExternalStep)
        problems = validate_fields(step.fields, cmd.data)
        if problems:
            raise ApplicationError(
                "; ".join(f"{p.path}: {p.message}" for p in problems), type=errors.INVALID_INPUT
            )
        return wait, step

    def _open_wait(self, kind: str, what: str) -> Wait:
        for wait in self._waits.values():
            if wait.kind == kind and not (wait.done or wait.closing):
                return wait
        raise ApplicationError(
            f"application {self._inp.application_id} is not waiting for {what} now",
            type=errors.NOT_WAITING,
        )

    @workflow.update
    async def cancel(self, cmd: CancelApplication) -> CommandResult:
        self._check_cancel(cmd)
        self._cancel = cmd
        await self._append(
            ev.CANCELLATION_REQUESTED,
            {"reason": cmd.reason, "by": cmd.actor.subject, "role": cmd.actor.role},
        )
        self._root.withdrawn = True
        await workflow.wait_condition(lambda: self._finished)
        return self._result()

    @cancel.validator
    def _validate_cancel(self, cmd: CancelApplication) -> None:
        self._check_cancel(cmd)

    def _check_cancel(self, cmd: CancelApplication) -> None:
        owner = cmd.actor.role == "citizen" and cmd.actor.subject == self._inp.citizen
        admin = cmd.actor.role == "agency_admin" and cmd.actor.agency == self._def.agency.code
        if not (owner or admin):
            raise ApplicationError(
                "only the citizen who applied (or the agency's administrator) can cancel",
                type=errors.NOT_ALLOWED,
            )
        if self._finished or self._cancel is not None or self._status in TERMINAL:
            raise ApplicationError(
                f"application {self._inp.application_id} is already {self._status}",
                type=errors.NOT_WAITING,
            )
        if not self._cancellable:
            raise ApplicationError(
                f"cancellation is no longer possible: the application has reached "
                f"{self._def.cancellable_until!r}",
                type=errors.NOT_ALLOWED,
            )

    @workflow.signal
    def withdraw(self, reason: str) -> None:
        """From the parent application: it was cancelled, so this child is too."""
        if not self._finished and self._cancel is None:
            self._cancel = CancelApplication(
                actor=Actor(subject="parent application", role="system"), reason=reason
            )
            self._root.withdrawn = True

    @workflow.update
    async def retry_incident(self, cmd: RetryIncident) -> CommandResult:
        if cmd.actor.role != "agency_admin" or cmd.actor.agency != self._def.agency.code:
            raise ApplicationError(
                "only the agency's administrator can retry an incident", type=errors.NOT_ALLOWED
            )
        if not self._incidents:
            raise ApplicationError("there is no incident to retry", type=errors.NOT_WAITING)
        open_now = set(self._incidents)
        self._retries += 1
        await workflow.wait_condition(lambda: not open_now & set(self._incidents))
        return self._result()

    @workflow.query
    def state(self) -> LiveState:
        return LiveState(
            application_id=self._inp.application_id,
            service_id=self._def.id,
            service_version=self._def.version,
            status=self._live_status(),
            current_step=self._current,
            outcomes=dict(self._outcomes),
            tasks=[t.view for t in self._tasks.values()],
            waiting=[w.view() for w in self._waits.values() if not w.done],
            incident=self._incident(),
            position=self._position,
        )

    # Events and activities -------------------------------------------------------
    def _result(self) -> CommandResult:
        return CommandResult(
            application_id=self._inp.application_id,
            position=self._position,
            status=self._live_status(),
        )

    def _live_status(self) -> str:
        """The status the read model will show once it has this position (the same
        rule as ``domain.state``): a result, an incident, a task, or another wait."""
        if self._finished or self._status in TERMINAL:
            return self._status
        if self._incidents:
            return "incident"
        if any(not (t.view.completed or t.cancelled) for t in self._tasks.values()):
            return "in_review"
        for w in self._waits.values():
            if not w.done:
                return WAITING_STATUS.get(w.kind, "in_progress")
        return self._status

    async def _activity(
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
                await self._raise_incident(step, str(e.cause or e))

    def _incident(self) -> str | None:
        return next(iter(self._incidents.values()), None)

    async def _raise_incident(
        self, step: str | None, error: str, scope: Scope | None = None
    ) -> None:
        """Record the incident, rest until an administrator retries (or ``scope``, if
        given, is cancelled), record that. Several walkers (parallel branches) may be in
        an incident at once."""
        self._incident_count += 1
        number = self._incident_count
        self._incidents[number] = error[:500]
        async with self._append_lock:
            await self._append_now(
                ev.INCIDENT_RAISED,
                {"step": step, "error": self._incidents[number]},
                EventActivities.append_events,
                INCIDENT_RETRY,
            )
        retries = self._retries
        # A rest: a command that ran into the incident answers now, with status incident.
        self._busy -= 1
        if self._busy == 0:
            self._rests += 1
        try:
            await workflow.wait_condition(
                lambda: self._retries > retries or (scope is not None and scope.cancelled)
            )
        finally:
            self._busy += 1
        async with self._append_lock:
            await self._append_now(
                ev.INCIDENT_RESOLVED, {"step": step}, EventActivities.append_events, INCIDENT_RETRY
            )
        del self._incidents[number]

    async def _append(
        self, event_type: str, data: dict[str, Any], activity: Any = EventActivities.append_events
    ) -> int:
        # One append at a time keeps the stream's versions dense and in workflow order;
        # the lock is released while an incident waits, so other branches go on.
        while True:
            async with self._append_lock:
                try:
                    return await self._append_now(event_type, data, activity, ACTIVITY_RETRY)
                except ActivityError as e:
                    error = e
            await self._raise_incident(data.get("step"), str(error.cause or error))

    async def _append_now(
        self, event_type: str, data: dict[str, Any], activity: Any, retry: RetryPolicy
    ) -> int:
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
            start_to_close_timeout=APPEND_TIMEOUT,
            retry_policy=retry,
        )
        self._next_index = index + 1
        self._position = out.positions[-1]
        return self._position
