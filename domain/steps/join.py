"""``join``: where parallel branches meet, waiting for all of them or for the first."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Literal

from domain.checks import Names, Problem
from domain.primitives import Identifier, Model, Name
from domain.steps.kind import BpmnElement, StepKind, Transition, never_waits, no_choices


class JoinStep(Model):
    """Where parallel branches meet: wait for all of them, or for the first (the others
    are withdrawn, their open tasks cancelled)."""

    kind: Literal["join"] = "join"
    id: Identifier
    name: Name
    mode: Literal["all", "first"] = "all"
    next: Identifier


def exits(step: JoinStep) -> list[Transition]:
    return [Transition(step.next)]


def check(step: JoinStep, i: int, names: Names) -> Iterator[Problem]:
    yield from names.target(f"steps[{i}]", "next", step.next)


def bpmn(step: JoinStep) -> BpmnElement:
    # "Wait for the first" is not a parallel gateway's meaning: BPMN's complex gateway.
    tag = "complexGateway" if step.mode == "first" else "parallelGateway"
    return BpmnElement(tag, {"gatewayDirection": "Converging"}, gateway="parallel")


KIND = StepKind(
    kind="join",
    label="Join",
    model=JoinStep,
    exits=exits,
    references=("next",),
    check=check,
    choices=no_choices,
    waits=never_waits,
    bpmn=bpmn,
)
