"""``parallel``: branches that run at once until they meet at their join step."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Literal

from pydantic import Field

from domain.checks import Names, Problem
from domain.primitives import Identifier, Model, Name
from domain.steps.join import JoinStep
from domain.steps.kind import (
    BpmnElement,
    StepKind,
    Transition,
    never_waits,
    no_choices,
    not_procedure,
)


class ParallelStep(Model):
    """Split: every branch starts at once and runs until it reaches ``join``."""

    kind: Literal["parallel"] = "parallel"
    id: Identifier
    name: Name
    branches: list[Identifier] = Field(min_length=2, max_length=10)
    join: Identifier


def exits(step: ParallelStep) -> list[Transition]:
    return [Transition(b) for b in step.branches]


def check(step: ParallelStep, i: int, names: Names) -> Iterator[Problem]:
    """The step's own references; how its branches fit together with the rest of the
    flow is ``domain.validation``'s check of parallels, which needs the whole graph."""
    at = f"steps[{i}]"
    listed: dict[str, int] = {}
    for k, start in enumerate(step.branches):
        if start in listed:
            yield Problem(
                f"{at}.branches[{k}]",
                f"branch '{start}' is listed twice (see branches[{listed[start]}])",
            )
            continue
        listed[start] = k
        yield from names.target(at, f"branches[{k}]", start)
    join = names.steps.get(step.join)
    if join is None:
        yield Problem(f"{at}.join", f"join step '{step.join}' does not exist")
    elif not isinstance(join, JoinStep):
        yield Problem(f"{at}.join", f"step '{step.join}' is a {join.kind} step, not a join step")


KIND = StepKind(
    kind="parallel",
    label="Parallel split",
    model=ParallelStep,
    exits=exits,
    references=("join", "branches"),
    check=check,
    choices=no_choices,
    waits=never_waits,
    simulate=None,
    bpmn=lambda step: BpmnElement(
        "parallelGateway", {"gatewayDirection": "Diverging"}, gateway="parallel"
    ),
    procedure=not_procedure,
)
