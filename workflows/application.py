"""The one generic interpreter workflow: it walks any published service definition.

Deterministic and free of I/O: every side effect is an activity, every rule comes from
``domain``. Workflow id = application number (e.g. ``BWI-2026-000123``).

The workflow is the interpreter's core: the walk, the service's time limit,
cancellation, incidents' retry, and the Temporal surface (run, updates, signal, query).
The per-run state and the primitives the steps share (append, activities, incidents,
waits, deadlines) are in ``workflows.flow``; what each step kind does, and how its
updates are checked, is in ``workflows/steps/<kind>.py``.

Waits are cooperative: withdrawing a parallel branch or cancelling the application
flips a scope flag that every wait watches, so no event append is ever interrupted
half-way and the stream stays dense.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from domain import calendar, channels
    from domain import events as ev
    from workflows import errors
    from workflows.flow import CONDITION_ERRORS_PATCH, TERMINAL, Flow
    from workflows.messages import (
        WITHDRAW,
        WORKFLOW,
        Actor,
        ApplicationInput,
        CancelApplication,
        ClaimTask,
        CommandResult,
        CompleteTask,
        DeliverEvent,
        LiveState,
        RecordPayment,
        RecordVisit,
        RetryIncident,
        SubmitCorrection,
    )
    from workflows.steps import (
        STEP_KINDS,
        End,
        appointment,
        correction,
        external,
        payment,
        review,
    )
    from workflows.waiting import Scope, Withdrawn


@workflow.defn(name=WORKFLOW)
class ApplicationWorkflow:
    CONDITION_ERRORS_PATCH = CONDITION_ERRORS_PATCH

    @workflow.init
    def __init__(self, inp: ApplicationInput) -> None:
        self._flow = Flow(inp, self._walk)

    @workflow.run
    async def run(self, inp: ApplicationInput) -> str:
        flow, d = self._flow, self._flow.definition
        await flow.append(
            ev.ApplicationSubmitted(
                application_id=inp.application_id,
                service=ev.ServiceRef(id=d.id, version=d.version, name=d.name),
                agency=ev.AgencyRef(code=d.agency.code, name=d.agency.name),
                citizen=inp.citizen,
                data=inp.data,
                start_step=d.start_step,
                # Only when given, so an application without prefill stores what it did.
                **({"provenance": inp.provenance} if inp.provenance else {}),
                channel=inp.channel,
                # Only staff filings carry these: a citizen's own payload gains no null.
                **{
                    k: v
                    for k, v in (("filed_by", inp.filed_by), ("location", inp.location))
                    if v is not None
                },
                # Only when given: the payloads of applications without any stay as they were.
                **({"attachments": inp.attachments} if inp.attachments else {}),
            )
        )
        if inp.filed_by is not None:
            # Only new inputs carry filed_by, so no recorded history reaches this append.
            await flow.notify(
                d.start_step,
                channels.filed_for_you(
                    inp.application_id, d.name, d.agency.name, inp.channel, inp.location
                ),
            )
        watcher = None
        if d.time_limit is not None:
            flow.service_due = calendar.add(inp.calendar, workflow.now(), d.time_limit)
            await flow.append(ev.DeadlineSet(scope="service", due_at=flow.service_due.isoformat()))
            watcher = asyncio.create_task(self._watch_service_deadline())
        end_step: str | None
        try:
            result, end_step = await self._walk(d.start_step, flow.root, None)
        except Withdrawn:
            result, end_step = await self._compensate(), None
        flow.status = result
        completed = ev.ApplicationCompleted(step=end_step, result=result)
        if workflow.patched("answer-after-completion-event"):
            # A command waiting for the end (a cancellation) answers with the position
            # of ApplicationCompleted, so reading at it shows the final status.
            await flow.append(completed)
            flow.finished = True
        else:  # histories recorded before 2026-11-28 answered before the append
            flow.finished = True
            await flow.append(completed)
        flow.rests += 1

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
        flow, d = self._flow, self._flow.definition
        automatic = 0  # steps walked since the last wait
        while True:
            if step_id == stop_at:
                return "", None
            if scope.cancelled:
                raise Withdrawn
            step = d.step(step_id)
            flow.current = step_id
            if step_id == d.cancellable_until:
                flow.cancellable = False
            visit = flow.visits[step_id] = flow.visits.get(step_id, 0) + 1
            automatic += 1
            if automatic > len(d.steps) + 1:
                # The validator refuses loops without a waiting step; never spin forever.
                raise ApplicationError(
                    f"loop without a human step at {step_id!r}", non_retryable=True
                )
            kind = STEP_KINDS[step.kind]
            if kind.waits:
                automatic = 0
            after = await kind.run(flow, step, visit, scope)
            if isinstance(after, End):
                return after.result, after.step
            step_id = after

    # The service's time limit --------------------------------------------------
    async def _watch_service_deadline(self) -> None:
        flow = self._flow
        while not flow.finished:
            if flow.clock_paused_at is not None or flow.service_due is None:
                await workflow.wait_condition(lambda: flow.finished or flow.clock_paused_at is None)
                continue
            try:
                await workflow.wait_condition(
                    lambda: flow.finished or flow.clock_changed,
                    timeout=max(flow.service_due - workflow.now(), timedelta(0)),
                )
                flow.clock_changed = False
            except TimeoutError:
                await flow.append(
                    ev.SlaBreached(
                        scope="service", step=flow.current, due_at=flow.service_due.isoformat()
                    )
                )
                return

    # Cancellation ------------------------------------------------------------
    async def _compensate(self) -> str:
        flow = self._flow
        refunds = sorted(flow.payments.items())
        if refunds:
            await flow.append(
                ev.RefundRecorded(
                    amount=sum(a for _, a in refunds),
                    references=[r for r, _ in refunds],
                    reason="application cancelled",
                )
            )
        if flow.cancel is not None and flow.cancel.actor.role == "system":
            why = f"with application {flow.inp.parent} it belongs to"
        elif flow.cancel is not None and flow.cancel.actor.role != "citizen":
            why = "by the agency"
        else:
            why = "as you asked"
        await flow.notify(
            "cancelled", f"Application {flow.inp.application_id} was cancelled {why}."
        )

        return "cancelled"

    @workflow.update
    async def cancel(self, cmd: CancelApplication) -> CommandResult:
        flow = self._flow
        self._check_cancel(cmd)
        flow.cancel = cmd
        await flow.append(
            ev.CancellationRequested(reason=cmd.reason, by=cmd.actor.subject, role=cmd.actor.role)
        )
        flow.root.withdrawn = True
        await workflow.wait_condition(lambda: flow.finished)
        return flow.result()

    @cancel.validator
    def _validate_cancel(self, cmd: CancelApplication) -> None:
        self._check_cancel(cmd)

    def _check_cancel(self, cmd: CancelApplication) -> None:
        flow, d = self._flow, self._flow.definition
        flow.check_visible(cmd.actor)
        owner = cmd.actor.role == "citizen" and cmd.actor.subject == flow.inp.citizen
        admin = cmd.actor.role == "agency_admin" and cmd.actor.agency == d.agency.code
        if not (owner or admin):
            raise ApplicationError(
                "only the citizen who applied (or the agency's administrator) can cancel",
                type=errors.NOT_ALLOWED,
            )
        if flow.finished or flow.cancel is not None or flow.status in TERMINAL:
            raise ApplicationError(
                f"application {flow.inp.application_id} is already {flow.status}",
                type=errors.NOT_WAITING,
            )
        if not flow.cancellable:
            raise ApplicationError(
                f"cancellation is no longer possible: the application has reached "
                f"{d.cancellable_until!r}",
                type=errors.NOT_ALLOWED,
            )

    @workflow.signal(name=WITHDRAW)
    def withdraw(self, reason: str) -> None:
        """From the parent application: it was cancelled, so this child is too."""
        flow = self._flow
        if not flow.finished and flow.cancel is None:
            flow.cancel = CancelApplication(
                actor=Actor(subject="parent application", role="system"), reason=reason
            )
            flow.root.withdrawn = True

    # Incidents -----------------------------------------------------------------
    @workflow.update
    async def retry_incident(self, cmd: RetryIncident) -> CommandResult:
        flow = self._flow
        flow.check_visible(cmd.actor)
        if cmd.actor.role != "agency_admin" or cmd.actor.agency != flow.definition.agency.code:
            raise ApplicationError(
                "only the agency's administrator can retry an incident", type=errors.NOT_ALLOWED
            )
        if not flow.incidents:
            raise ApplicationError("there is no incident to retry", type=errors.NOT_WAITING)
        open_now = set(flow.incidents)
        flow.retries += 1
        await workflow.wait_condition(lambda: not open_now & set(flow.incidents))
        return flow.result()

    # Commands of the step kinds (checked in workflows/steps/<kind>.py) ----------------
    @workflow.update
    async def submission(self) -> CommandResult:
        """Used with update-with-start: answers once the flow has reached its first
        human task (or its end), so the answer's position covers the inbox entry."""
        await workflow.wait_condition(lambda: self._flow.rests > 0)
        return self._flow.result()

    @workflow.update
    async def complete_task(self, cmd: CompleteTask) -> CommandResult:
        return await review.complete(self._flow, cmd)

    @complete_task.validator
    def _validate_complete_task(self, cmd: CompleteTask) -> None:
        review.check_complete(self._flow, cmd)

    @workflow.update
    async def claim_task(self, cmd: ClaimTask) -> CommandResult:
        """An officer takes a task from the shared inbox; only they may complete it."""
        return await review.claim(self._flow, cmd)

    @claim_task.validator
    def _validate_claim_task(self, cmd: ClaimTask) -> None:
        review.check_claim(self._flow, cmd)

    @workflow.update
    async def submit_correction(self, cmd: SubmitCorrection) -> CommandResult:
        return await correction.submit(self._flow, cmd)

    @submit_correction.validator
    def _validate_submit_correction(self, cmd: SubmitCorrection) -> None:
        correction.check_submit(self._flow, cmd)

    @workflow.update
    async def record_payment(self, cmd: RecordPayment) -> CommandResult:
        return await payment.record(self._flow, cmd)

    @record_payment.validator
    def _validate_record_payment(self, cmd: RecordPayment) -> None:
        payment.validate_record(self._flow, cmd)

    @workflow.update
    async def deliver_event(self, cmd: DeliverEvent) -> CommandResult:
        return await external.deliver(self._flow, cmd)

    @deliver_event.validator
    def _validate_deliver_event(self, cmd: DeliverEvent) -> None:
        external.check_deliver(self._flow, cmd)

    @workflow.update
    async def record_visit(self, cmd: RecordVisit) -> CommandResult:
        return await appointment.record(self._flow, cmd)

    @record_visit.validator
    def _validate_record_visit(self, cmd: RecordVisit) -> None:
        appointment.check_record(self._flow, cmd)

    # The live state ------------------------------------------------------------
    @workflow.query
    def state(self) -> LiveState:
        flow, d = self._flow, self._flow.definition
        return LiveState(
            application_id=flow.inp.application_id,
            service_id=d.id,
            service_version=d.version,
            status=flow.live_status(),
            current_step=flow.current,
            outcomes=dict(flow.outcomes),
            tasks=[t.view for t in flow.tasks.values()],
            waiting=[w.view() for w in flow.waits.values() if not w.done],
            incident=flow.incident(),
            position=flow.position,
        )
