"""One complaint (pengaduan) on the SP4N-LAPOR clock, as a durable workflow.

Workflow id = ``complaint-<id>``'s id. Deterministic and free of I/O: events go through
the append activity with ids ``domain.events.event_id(stream, index)``, so a retried
append or a replay writes nothing twice. The rules (states, deadlines) are in
``domain.complaints``.

The updates change the state and append their event at once; the run loop watches each
phase's deadline on the handling agency's working calendar: a missed verification or
follow-up deadline is a breach escalated to the supervisor (the complaint stays open),
an unanswered follow-up closes by itself. Every transition bumps ``_epoch``, which is
what a deadline's wait watches, so a command never races a timer into two outcomes.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.events import AppendOutcome, AppendRequest, EventActivities
    from domain import complaints as c
    from domain.events import Event
    from workflows import errors
    from workflows.complaint_messages import (
        COMPLAINT_WORKFLOW,
        ComplaintInput,
        ComplaintResult,
        FollowUp,
        ProvideInfo,
        Rate,
        Respond,
        Verify,
    )
    from workflows.flow import APPEND_TIMEOUT
    from workflows.messages import Actor

# An append must never be given up: a complaint has no incident path, so the append is
# retried (with backoff up to a minute) until the event store takes it.
APPEND_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=1)
)
FOLLOW_UP_ROLES = (*c.STAFF_ROLES, "officer")
"""The responsible unit's staff may write the follow-up, besides the complaint desk."""


@workflow.defn(name=COMPLAINT_WORKFLOW)
class ComplaintWorkflow:
    @workflow.init
    def __init__(self, inp: ComplaintInput) -> None:
        self._inp = inp
        self._stream = c.complaint_stream(inp.complaint_id)
        self._agency = inp.agency
        self._calendar = inp.calendar
        self._status = c.RECEIVED
        self._epoch = 0
        self._followed_up = False
        self._rated = False
        self._next_index = 0
        self._position = 0
        self._lock = asyncio.Lock()

    @workflow.run
    async def run(self, inp: ComplaintInput) -> str:
        await self._append(
            c.ComplaintFiled(
                complaint_id=inp.complaint_id,
                agency=inp.agency,
                subject=inp.subject,
                text=inp.text,
                attachments=inp.attachments,
                complainant=inp.complainant,
                anonymity=inp.anonymity,
                channel=inp.channel,
            )
        )
        while self._status not in (c.CLOSED, c.REJECTED):
            if self._status == c.RECEIVED:
                await self._deadline("verification")
            elif self._status == c.VERIFIED:
                await self._deadline("follow_up")
            elif self._status == c.FOLLOWED_UP:
                await self._deadline("response")
            else:  # information asked for: the complainant's turn, no agency clock
                await self._moved_on(self._epoch)
        if self._status == c.CLOSED and self._inp.complainant is not None and not self._rated:
            # The complainant may still rate the answer for as long as they could answer.
            until = c.due(self._calendar, workflow.now(), "response")
            with contextlib.suppress(TimeoutError):
                await workflow.wait_condition(lambda: self._rated, timeout=_left(until))
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self._status

    async def _deadline(self, phase: c.Phase) -> None:
        """Watch one phase's deadline until a command moves the complaint on."""
        epoch = self._epoch
        due_at = c.due(self._calendar, workflow.now(), phase)
        await self._append(
            c.ComplaintDeadlineSet(phase=phase, agency=self._agency, due_at=due_at.isoformat())
        )
        if epoch != self._epoch:
            return
        try:
            await workflow.wait_condition(lambda: self._epoch != epoch, timeout=_left(due_at))
            return
        except TimeoutError:
            pass
        if phase == "response":
            self._transition(c.CLOSED)
            await self._append(c.ComplaintClosed(reason="no_response"))
            return
        await self._append(
            c.ComplaintDeadlineBreached(
                phase=phase,
                agency=self._agency,
                due_at=due_at.isoformat(),
                escalated_to=c.ESCALATE_TO,
            )
        )
        await self._moved_on(epoch)

    async def _moved_on(self, epoch: int) -> None:
        await workflow.wait_condition(lambda: self._epoch != epoch)

    def _transition(self, status: str) -> None:
        self._status = status
        self._epoch += 1

    # Updates -------------------------------------------------------------------------
    @workflow.update
    async def filed(self) -> ComplaintResult:
        """Used with update-with-start: answers once ComplaintFiled is recorded, so the
        answer's position covers the complaint in the read models."""
        await workflow.wait_condition(lambda: self._next_index > 0)
        return self._result()

    @workflow.update
    async def verify(self, cmd: Verify) -> ComplaintResult:
        self._check_verify(cmd)
        by = cmd.actor.subject
        if cmd.decision == "accept":
            self._transition(c.VERIFIED)
            await self._append(c.ComplaintVerified(decision="accepted", by=by, reason=cmd.reason))
        elif cmd.decision == "ask_info":
            self._transition(c.INFO_REQUESTED)
            await self._append(
                c.ComplaintVerified(decision="info_requested", by=by, reason=cmd.reason)
            )
        elif cmd.decision == "reject":
            self._transition(c.REJECTED)
            await self._append(c.ComplaintVerified(decision="rejected", by=by, reason=cmd.reason))
            await self._append(c.ComplaintClosed(reason="rejected"))
        else:
            assert cmd.to_agency is not None  # checked
            old, self._agency = self._agency, cmd.to_agency
            if cmd.to_calendar is not None:
                self._calendar = cmd.to_calendar
            self._transition(c.RECEIVED)
            await self._append(
                c.ComplaintForwarded(
                    from_agency=old, to_agency=cmd.to_agency, by=by, reason=cmd.reason
                )
            )
        return self._result()

    @verify.validator
    def _check_verify(self, cmd: Verify) -> None:
        self._check_staff(cmd.actor, c.STAFF_ROLES, c.RECEIVED, "verified")
        if cmd.decision in ("reject", "ask_info") and not cmd.reason.strip():
            raise ApplicationError(
                "say why: a rejection or a request for information needs a reason the "
                "complainant can read",
                type=errors.INVALID_INPUT,
            )
        if cmd.decision == "forward" and (not cmd.to_agency or cmd.to_agency == self._agency):
            raise ApplicationError(
                "name the competent agency to forward to (another agency than this one)",
                type=errors.INVALID_INPUT,
            )

    @workflow.update
    async def provide_info(self, cmd: ProvideInfo) -> ComplaintResult:
        self._check_provide_info(cmd)
        self._transition(c.RECEIVED)  # the verification clock starts again
        await self._append(c.ComplaintInfoProvided(text=cmd.text, attachments=cmd.attachments))
        return self._result()

    @provide_info.validator
    def _check_provide_info(self, cmd: ProvideInfo) -> None:
        self._check_complainant(cmd.actor, c.INFO_REQUESTED, "asking you for information")

    @workflow.update
    async def follow_up(self, cmd: FollowUp) -> ComplaintResult:
        self._check_follow_up(cmd)
        self._followed_up = True
        self._transition(c.FOLLOWED_UP)
        await self._append(
            c.ComplaintFollowedUp(by=cmd.actor.subject, unit=cmd.unit, text=cmd.text)
        )
        return self._result()

    @follow_up.validator
    def _check_follow_up(self, cmd: FollowUp) -> None:
        self._check_staff(cmd.actor, FOLLOW_UP_ROLES, c.VERIFIED, "waiting for a follow-up")

    @workflow.update
    async def respond(self, cmd: Respond) -> ComplaintResult:
        self._check_respond(cmd)
        self._transition(c.CLOSED if cmd.decision == "accept" else c.VERIFIED)
        await self._append(c.ComplaintResponded(decision=cmd.decision, comment=cmd.comment))
        if cmd.decision == "accept":
            await self._append(c.ComplaintClosed(reason="accepted"))
        return self._result()

    @respond.validator
    def _check_respond(self, cmd: Respond) -> None:
        self._check_complainant(cmd.actor, c.FOLLOWED_UP, "waiting for your response")

    @workflow.update
    async def rate(self, cmd: Rate) -> ComplaintResult:
        self._check_rate(cmd)
        self._rated = True
        await self._append(c.ComplaintRated(score=cmd.score, comment=cmd.comment))
        return self._result()

    @rate.validator
    def _check_rate(self, cmd: Rate) -> None:
        self._check_visible(cmd.actor)
        if cmd.actor.subject != self._inp.complainant:
            raise ApplicationError("only the complainant rates the answer", type=errors.NOT_ALLOWED)
        if not self._followed_up or self._status == c.REJECTED or self._rated:
            raise ApplicationError(
                "there is no answer to rate: rate once, after the agency's follow-up",
                type=errors.NOT_WAITING,
            )

    @workflow.query
    def state(self) -> ComplaintResult:
        return self._result()

    # Checks ----------------------------------------------------------------------------
    def _check_visible(self, actor: Actor) -> None:
        """Another party's complaint answers as an unknown one, before anything else."""
        own = self._inp.complainant is not None and actor.subject == self._inp.complainant
        staff = actor.agency == self._agency and actor.role in FOLLOW_UP_ROLES
        if not (own or staff):
            raise ApplicationError(
                f"there is no complaint {self._inp.complaint_id} you may see",
                type=errors.NOT_FOUND,
            )

    def _check_staff(self, actor: Actor, roles: tuple[str, ...], status: str, what: str) -> None:
        self._check_visible(actor)
        if actor.agency != self._agency or actor.role not in roles:
            raise ApplicationError(
                f"only the handling agency's {' or '.join(roles)} can do this",
                type=errors.NOT_ALLOWED,
            )
        self._check_status(status, what)

    def _check_complainant(self, actor: Actor, status: str, what: str) -> None:
        self._check_visible(actor)
        if actor.subject != self._inp.complainant:
            raise ApplicationError("only the complainant can do this", type=errors.NOT_ALLOWED)
        self._check_status(status, what)

    def _check_status(self, status: str, what: str) -> None:
        if self._status != status:
            raise ApplicationError(
                f"complaint {self._inp.complaint_id} is {self._status}, not {what}",
                type=errors.NOT_WAITING,
            )

    # Appends ---------------------------------------------------------------------------
    def _result(self) -> ComplaintResult:
        return ComplaintResult(
            complaint_id=self._inp.complaint_id, position=self._position, status=self._status
        )

    async def _append(self, event: Event) -> int:
        # One append at a time keeps the stream dense and in workflow order.
        async with self._lock:
            index = self._next_index
            out: AppendOutcome = await workflow.execute_activity_method(
                EventActivities.append_events,
                AppendRequest.nth(self._stream, index, event, workflow.info().workflow_id),
                start_to_close_timeout=APPEND_TIMEOUT,
                retry_policy=APPEND_RETRY,
            )
            self._next_index = index + 1
            self._position = out.positions[-1]
            return self._position


def _left(due_at: datetime) -> timedelta:
    return max(due_at - workflow.now(), timedelta(0))
