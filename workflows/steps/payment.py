"""``payment``: a fee (flat, or rules over form data; a rule that cannot be evaluated is
an incident), paid at the counter or through the provider's callback, both through the
workflow's ``record_payment`` update, checked here; a zero fee skips the step."""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from domain import events as ev
    from domain import interpreter
    from domain.definition import STAFF_ROLES, PaymentStep
    from workflows import errors
    from workflows.flow import CONDITION_ERRORS_PATCH, Flow
    from workflows.messages import CommandResult, RecordPayment
    from workflows.steps.contract import Next, StepKind
    from workflows.waiting import Scope, Wait


async def run(flow: Flow, step: PaymentStep, visit: int, scope: Scope) -> Next:
    amount = await _fee(flow, step, scope)
    if amount == 0:
        await flow.append(ev.PaymentWaived(step=step.id))
        return step.next
    code = f"{flow.inp.application_id}-{step.id}"
    await flow.append(
        ev.PaymentRequested(
            step=step.id,
            amount=amount,
            currency="IDR",
            payment_code=code,
            citizen=flow.inp.citizen,
        )
    )
    wait = flow.waits[step.id] = Wait(step.id, "payment", {"amount": amount, "payment_code": code})
    try:
        if step.deadline is not None:
            outcome = await flow.deadline(scope, lambda: wait.done, step.deadline, step.id)
            if outcome == "breached" and step.on_unpaid is not None and not wait.closing:
                return step.on_unpaid
        await flow.wait(scope, lambda: wait.done)
    finally:
        del flow.waits[step.id]
    return step.next


KIND = StepKind(PaymentStep, run, waits=True)


async def _fee(flow: Flow, step: PaymentStep, scope: Scope) -> int:
    while True:
        try:
            return interpreter.fee_amount(step, flow.env())
        except interpreter.ConditionFailed as e:
            if not workflow.patched(CONDITION_ERRORS_PATCH):
                return interpreter.fee_amount_before_errors_failed(step, flow.env())
            await flow.condition_incident(step.id, str(e), scope)


async def record(flow: Flow, cmd: RecordPayment) -> CommandResult:
    flow.check_visible(cmd.actor)
    if cmd.reference in flow.payments:
        return flow.result()  # the provider retried its callback: already recorded
    wait = check_record(flow, cmd)
    wait.closing = True
    flow.payments[cmd.reference] = cmd.amount
    await flow.append(
        ev.PaymentReceived(
            step=wait.step,
            amount=cmd.amount,
            currency="IDR",
            method=cmd.method,
            reference=cmd.reference,
            by=cmd.actor.subject,
        )
    )
    return await flow.after(lambda: setattr(wait, "done", True))


def validate_record(flow: Flow, cmd: RecordPayment) -> None:
    flow.check_visible(cmd.actor)
    if cmd.reference not in flow.payments:  # a retried callback is answered, not refused
        check_record(flow, cmd)


def check_record(flow: Flow, cmd: RecordPayment) -> Wait:
    counter = (
        cmd.method == "counter"
        and cmd.actor.role in STAFF_ROLES | {"cashier"}
        and (cmd.actor.agency == flow.definition.agency.code)
    )
    online = cmd.method == "online" and cmd.actor.role == "payment_provider"
    if not (counter or online):
        raise ApplicationError(
            "payments are confirmed by the agency's staff at the counter or by the "
            "payment provider's signed callback",
            type=errors.NOT_ALLOWED,
        )
    wait = flow.open_wait("payment", "a payment")
    if cmd.amount != wait.detail["amount"]:
        raise ApplicationError(
            f"the fee is Rp {wait.detail['amount']:,}; Rp {cmd.amount:,} was paid",
            type=errors.INVALID_INPUT,
        )
    return wait
