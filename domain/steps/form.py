"""``form``: data captured at submission; the flow moves straight on."""

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
    straight_on,
)


class FormStep(Model):
    """Data captured at submission; the flow moves straight on."""

    kind: Literal["form"] = "form"
    id: Identifier
    name: Name
    next: Identifier


def procedure(step: FormStep) -> str:
    return f"{step.name} (pemohon mengisi formulir dan mengunggah persyaratan)"


KIND = StepKind(
    kind="form",
    label="Form (pengajuan)",
    model=FormStep,
    exits=straight_on,
    references=("next",),
    check=next_exists,
    choices=no_choices,
    waits=never_waits,
    simulate=lambda step, run: Move(step.next, "the citizen's form is submitted"),
    bpmn=lambda step: BpmnElement("userTask"),
    procedure=procedure,
)
