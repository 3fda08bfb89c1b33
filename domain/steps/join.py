"""``join``: where parallel branches meet, waiting for all of them or for the first."""

from __future__ import annotations

from typing import Literal

from domain.primitives import Identifier, Model, Name
from domain.steps.kind import (
    BpmnElement,
    Move,
    StepKind,
    never_waits,
    next_exists,
    no_choices,
    not_procedure,
    straight_on,
)


class JoinStep(Model):
    """Where parallel branches meet: wait for all of them, or for the first (the others
    are withdrawn, their open tasks cancelled)."""

    kind: Literal["join"] = "join"
    id: Identifier
    name: Name
    mode: Literal["all", "first"] = "all"
    next: Identifier


def bpmn(step: JoinStep) -> BpmnElement:
    # "Wait for the first" is not a parallel gateway's meaning: BPMN's complex gateway.
    tag = "complexGateway" if step.mode == "first" else "parallelGateway"
    return BpmnElement(tag, {"gatewayDirection": "Converging"}, gateway="parallel")


KIND = StepKind(
    kind="join",
    label="Join",
    model=JoinStep,
    exits=straight_on,
    references=("next",),
    check=next_exists,
    choices=no_choices,
    waits=never_waits,
    simulate=lambda step, run: Move(step.next, f"branches joined ({step.mode})"),
    bpmn=bpmn,
    procedure=not_procedure,
)
