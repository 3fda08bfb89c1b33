"""``notify``: a message to the citizen, ``{field_id}`` placeholders filled from the form."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Literal

from pydantic import StringConstraints

from domain.checks import Names, Problem, check_placeholders
from domain.primitives import Identifier, Model, Name
from domain.steps.kind import (
    BpmnElement,
    DryRun,
    Move,
    StepKind,
    never_waits,
    no_choices,
    straight_on,
)


class NotifyStep(Model):
    """A message to the citizen; ``{field_id}`` placeholders are filled from the form."""

    kind: Literal["notify"] = "notify"
    id: Identifier
    name: Name
    message: Annotated[str, StringConstraints(min_length=1, max_length=2000)]
    next: Identifier


def check(step: NotifyStep, i: int, names: Names) -> Iterator[Problem]:
    at = f"steps[{i}]"
    yield from check_placeholders(
        f"{at}.message", step.message, names.declared, "is not a declared field id"
    )
    yield from names.target(at, "next", step.next)


def simulate(step: NotifyStep, run: DryRun) -> Move:
    message = run.render(step.message)
    run.notifications.append(message)
    return Move(step.next, f"message to the citizen: {message}")


def procedure(step: NotifyStep) -> str:
    return f"{step.name} (pemberitahuan kepada pemohon)"


KIND = StepKind(
    kind="notify",
    label="Notify the citizen",
    model=NotifyStep,
    exits=straight_on,
    references=("next",),
    check=check,
    choices=no_choices,
    waits=never_waits,
    simulate=simulate,
    bpmn=lambda step: BpmnElement("sendTask", documentation=step.message),
    procedure=procedure,
)
