"""``end``: the application ends approved, rejected or cancelled."""

from __future__ import annotations

from typing import Literal

from domain.primitives import Identifier, Model, Name
from domain.steps.kind import (
    BpmnElement,
    StepKind,
    never_waits,
    no_choices,
    no_problems,
    not_procedure,
)


class EndStep(Model):
    kind: Literal["end"] = "end"
    id: Identifier
    name: Name
    result: Literal["approved", "rejected", "cancelled"]


KIND = StepKind(
    kind="end",
    label="End",
    model=EndStep,
    exits=lambda step: [],
    references=(),
    check=no_problems,
    choices=no_choices,
    waits=never_waits,
    simulate=None,
    bpmn=lambda step: BpmnElement("endEvent"),
    procedure=not_procedure,
)
