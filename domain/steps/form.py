"""``form``: data captured at submission; the flow moves straight on."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Literal

from domain.checks import Names, Problem
from domain.primitives import Identifier, Model, Name
from domain.steps.kind import BpmnElement, StepKind, Transition, never_waits, no_choices


class FormStep(Model):
    """Data captured at submission; the flow moves straight on."""

    kind: Literal["form"] = "form"
    id: Identifier
    name: Name
    next: Identifier


def exits(step: FormStep) -> list[Transition]:
    return [Transition(step.next)]


def check(step: FormStep, i: int, names: Names) -> Iterator[Problem]:
    yield from names.target(f"steps[{i}]", "next", step.next)


KIND = StepKind(
    kind="form",
    label="Form (pengajuan)",
    model=FormStep,
    exits=exits,
    references=("next",),
    check=check,
    choices=no_choices,
    waits=never_waits,
    bpmn=lambda step: BpmnElement("userTask"),
)
