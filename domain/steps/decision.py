"""``decision``: an exclusive gateway over conditions in the safe expression language."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from domain.checks import Names, Problem, check_condition
from domain.primitives import Identifier, Model, Name
from domain.steps.kind import (
    BpmnElement,
    DryRun,
    Move,
    StepKind,
    Transition,
    never_waits,
    no_choices,
    not_procedure,
)


class DecisionBranch(Model):
    when: Annotated[str, StringConstraints(min_length=1)]
    goto: Identifier


class DecisionStep(Model):
    """Exclusive gateway: the first branch whose condition holds wins, else the default."""

    kind: Literal["decision"] = "decision"
    id: Identifier
    name: Name
    branches: list[DecisionBranch] = Field(default_factory=list)
    default: Identifier | None = None
    on_error: Identifier | None = None
    """Where the flow goes when a condition cannot be evaluated (e.g. a text compared
    with a number). Without it such an error is an incident for the administrator; it
    never counts as a branch that does not hold."""


def exits(step: DecisionStep) -> list[Transition]:
    found = [Transition(b.goto, b.when, condition=b.when) for b in step.branches]
    if step.default:
        found.append(Transition(step.default, "default", default=True))
    if step.on_error:
        found.append(Transition(step.on_error, "condition error"))
    return found


def check(step: DecisionStep, i: int, names: Names) -> Iterator[Problem]:
    at = f"steps[{i}]"
    for k, branch in enumerate(step.branches):
        yield from check_condition(f"{at}.branches[{k}].when", branch.when, names)
        yield from names.target(at, f"branches[{k}].goto", branch.goto)
    if step.default is None:
        yield Problem(f"{at}.default", "decision has no default step (used when no branch matches)")
    else:
        yield from names.target(at, "default", step.default)
    if step.on_error is not None:
        yield from names.target(at, "on_error", step.on_error)


def simulate(step: DecisionStep, run: DryRun) -> Move:
    choice = run.decide(step)
    for error in choice.errors:
        run.warnings.append(f"{step.id}.{error}")
    if choice.failed:
        detail = f"branch {(choice.branch or 0) + 1} cannot be evaluated: on_error"
    elif choice.branch is None:
        detail = "no branch holds: the default is taken"
    else:
        detail = f"branch {choice.branch + 1} holds: {choice.condition}"
    return Move(choice.target, detail)


KIND = StepKind(
    kind="decision",
    label="Decision (condition)",
    model=DecisionStep,
    exits=exits,
    references=("default", "on_error", "branches"),
    check=check,
    choices=no_choices,
    waits=never_waits,
    simulate=simulate,
    bpmn=lambda step: BpmnElement("exclusiveGateway", gateway="exclusive"),
    procedure=not_procedure,
)
