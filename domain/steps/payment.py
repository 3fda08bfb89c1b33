"""``payment``: biaya/tarif, a fee paid at the counter or through the provider."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from domain.checks import Names, Problem, check_condition, check_deadline
from domain.primitives import Identifier, Model, Name, StepDeadline
from domain.steps.kind import BpmnElement, DryRun, Move, StepKind, Transition, words
from domain.wording import duration_text

VALUES = ("paid", "unpaid")
"""What a simulation may script; ``unpaid`` only where the step has ``on_unpaid``."""


class FeeRule(Model):
    when: Annotated[str, StringConstraints(min_length=1)]
    amount: int = Field(ge=0)


class Fee(Model):
    """Amount in rupiah: the first rule whose condition holds, else ``amount``."""

    amount: int = Field(default=0, ge=0)
    rules: list[FeeRule] = Field(default_factory=list)


class PaymentStep(Model):
    """Biaya/tarif: wait until the fee is paid at the counter or through the payment
    provider. A zero fee skips the wait."""

    kind: Literal["payment"] = "payment"
    id: Identifier
    name: Name
    fee: Fee
    next: Identifier
    deadline: StepDeadline | None = None
    on_unpaid: Identifier | None = None
    """Where the flow goes when the deadline passes unpaid; None: keep waiting."""


def exits(step: PaymentStep) -> list[Transition]:
    paid = [Transition(step.next, "paid")]
    if step.on_unpaid:
        within = step.deadline.within if step.deadline else None
        label = f"unpaid ({words(within)})" if within else "unpaid"
        paid.append(Transition(step.on_unpaid, label, timer=within))
    return paid


def check(step: PaymentStep, i: int, names: Names) -> Iterator[Problem]:
    at = f"steps[{i}]"
    for k, rule in enumerate(step.fee.rules):
        yield from check_condition(f"{at}.fee.rules[{k}].when", rule.when, names)
    yield from names.target(at, "next", step.next)
    if step.deadline is not None:
        yield from check_deadline(f"{at}.deadline", step.deadline)
    if step.on_unpaid is not None:
        yield from names.target(at, "on_unpaid", step.on_unpaid)
        if step.deadline is None:
            yield Problem(
                f"{at}.on_unpaid",
                "on_unpaid needs a deadline: without one the payment is never overdue",
            )


def waits(step: PaymentStep) -> bool:
    """A fee that is zero whatever the data never waits: the step is skipped."""
    return step.fee.amount > 0 or any(rule.amount > 0 for rule in step.fee.rules)


def bpmn(step: PaymentStep) -> BpmnElement:
    rules = " (rules apply)" if step.fee.rules else ""
    return BpmnElement("receiveTask", documentation=f"Fee: Rp {step.fee.amount}{rules}")


def simulate(step: PaymentStep, run: DryRun) -> Move:
    fee = run.fee_of(step)
    value, _ = run.scripted(step)
    if fee == 0:
        return Move(step.next, "no fee: the payment is skipped")
    allowed = step.deadline.within if step.deadline else None
    if value == "paid":
        run.fee += fee
        return Move(step.next, f"Rp {fee:,} paid".replace(",", "."), allowed)
    unpaid = f"Rp {fee:,} left unpaid past the deadline".replace(",", ".")
    return Move(step.on_unpaid, unpaid, allowed)


def procedure(step: PaymentStep) -> str:
    line = f"{step.name} (pemohon membayar)"
    if step.deadline:
        line += f", paling lama {duration_text(step.deadline.within)}"
    return line


KIND = StepKind(
    kind="payment",
    label="Payment (biaya/tarif)",
    model=PaymentStep,
    exits=exits,
    references=("next", "on_unpaid"),
    check=check,
    choices=lambda step: VALUES if step.on_unpaid else VALUES[:1],
    waits=waits,
    simulate=simulate,
    bpmn=bpmn,
    procedure=procedure,
)
