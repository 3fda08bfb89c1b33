"""``review``: a task for a role; each allowed outcome names the step it leads to."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Literal

from pydantic import Field

from domain.checks import Names, Problem, check_deadline, check_role
from domain.primitives import Identifier, Model, Name, StepDeadline
from domain.steps.kind import BpmnElement, DryRun, Move, StepKind, Transition
from domain.wording import ROLES, duration_text


class ReviewStep(Model):
    """A human task for a role; each allowed outcome names the step it leads to. An
    outcome leading to a correction step returns the application to the citizen."""

    kind: Literal["review"] = "review"
    id: Identifier
    name: Name
    role: str
    instructions: str = ""
    outcomes: dict[Identifier, Identifier] = Field(min_length=1)
    deadline: StepDeadline | None = None


def exits(step: ReviewStep) -> list[Transition]:
    return [
        Transition(target, outcome, condition=f'{step.id} == "{outcome}"')
        for outcome, target in step.outcomes.items()
    ]


def check(step: ReviewStep, i: int, names: Names) -> Iterator[Problem]:
    at = f"steps[{i}]"
    yield from check_role(f"{at}.role", step.role)
    for outcome, goto in step.outcomes.items():
        yield from names.target(at, f"outcomes.{outcome}", goto)
    if step.deadline is not None:
        yield from check_deadline(f"{at}.deadline", step.deadline)


def bpmn(step: ReviewStep) -> BpmnElement:
    return BpmnElement(
        "userTask",
        documentation=f"Role: {step.role}. {step.instructions}".strip(),
        escalation=step.deadline,
    )


def simulate(step: ReviewStep, run: DryRun) -> Move:
    outcome, scripted = run.scripted(step)
    run.outcomes[step.id] = outcome
    how = "scripted" if scripted else "first outcome, not scripted"
    allowed = step.deadline.within if step.deadline else None
    return Move(step.outcomes[outcome], f"{step.role} answers '{outcome}' ({how})", allowed)


def procedure(step: ReviewStep) -> str:
    line = f"{step.name} ({ROLES.get(step.role, step.role)})"
    if step.deadline:
        line += f", paling lama {duration_text(step.deadline.within)}"
    return line


KIND = StepKind(
    kind="review",
    label="Review by an officer",
    model=ReviewStep,
    exits=exits,
    references=("outcomes",),
    check=check,
    choices=lambda step: tuple(step.outcomes),
    waits=lambda step: True,
    simulate=simulate,
    bpmn=bpmn,
    procedure=procedure,
)
