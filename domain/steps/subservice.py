"""``subservice``: run another published service as a child application."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Literal

from pydantic import Field

from domain.checks import Names, Problem
from domain.primitives import Identifier, Model, Name, ServiceId
from domain.steps.kind import BpmnElement, DryRun, Move, StepKind, straight_on

VALUES = ("approved", "rejected", "cancelled")
"""What a simulation may script: how the child application ends."""


class SubserviceStep(Model):
    """Run another published service as a child application; its result (approved,
    rejected, cancelled) is this step's value in later conditions."""

    kind: Literal["subservice"] = "subservice"
    id: Identifier
    name: Name
    service: ServiceId
    inputs: dict[Identifier, Identifier] = Field(default_factory=dict)
    """Child field id -> this application's field id."""
    next: Identifier


def check(step: SubserviceStep, i: int, names: Names) -> Iterator[Problem]:
    at = f"steps[{i}]"
    if step.service == names.service:
        yield Problem(
            f"{at}.service",
            f"service '{step.service}' cannot run itself as a sub-service",
        )
    for child, parent in step.inputs.items():
        if parent not in names.declared:
            yield Problem(
                f"{at}.inputs.{child}",
                f"'{parent}' is not a declared field id (form or external-step field)",
            )
    yield from names.target(at, "next", step.next)


def simulate(step: SubserviceStep, run: DryRun) -> Move:
    value, _ = run.scripted(step)
    run.outcomes[step.id] = value
    return Move(step.next, f"service '{step.service}' ends {value}")


def procedure(step: SubserviceStep) -> str:
    return f"{step.name} (layanan {step.service})"


KIND = StepKind(
    kind="subservice",
    label="Sub-service",
    model=SubserviceStep,
    exits=straight_on,
    references=("next",),
    check=check,
    choices=lambda step: VALUES,
    waits=lambda step: True,
    simulate=simulate,
    bpmn=lambda step: BpmnElement("callActivity", {"calledElement": step.service}),
    procedure=procedure,
)
