"""``correction``: perbaikan berkas, the citizen fixes what the reviewer named."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Literal

from pydantic import Field

from domain.checks import Names, Problem
from domain.primitives import Duration, DurationUnit, Identifier, Model, Name
from domain.steps.kind import BpmnElement, DryRun, Move, StepKind, Transition, words

VALUES = ("resumed", "abandoned")
"""What a simulation may script: the citizen answers, or not in time."""


class CorrectionStep(Model):
    """Perbaikan berkas: the citizen fixes the fields or files the reviewer named, then
    the flow resumes at ``resume``. Without an answer within ``abandon_after`` the flow
    goes to ``on_abandon`` (usually an end step with result cancelled)."""

    kind: Literal["correction"] = "correction"
    id: Identifier
    name: Name
    resume: Identifier
    pause_clock: bool = True
    """Whether the service time limit stops while the citizen holds the application."""
    abandon_after: Duration = Field(
        default_factory=lambda: Duration(amount=14, unit=DurationUnit.DAYS)
    )
    on_abandon: Identifier


def exits(step: CorrectionStep) -> list[Transition]:
    return [
        Transition(step.resume, "corrected"),
        Transition(
            step.on_abandon,
            f"abandoned ({words(step.abandon_after)})",
            timer=step.abandon_after,
        ),
    ]


def check(step: CorrectionStep, i: int, names: Names) -> Iterator[Problem]:
    at = f"steps[{i}]"
    if step.resume == step.id:
        yield Problem(
            f"{at}.resume",
            "a correction cannot resume at itself; resume at the step that checks"
            " the corrected data",
        )
    else:
        yield from names.target(at, "resume", step.resume)
    yield from names.target(at, "on_abandon", step.on_abandon)


def simulate(step: CorrectionStep, run: DryRun) -> Move:
    value, _ = run.scripted(step)
    if step.pause_clock:
        run.paused.append(step.abandon_after)
    if value == "resumed":
        move = step.resume, "the citizen corrects the application"
    else:
        move = step.on_abandon, "the citizen does not answer in time"
    return Move(*move, allowed=step.abandon_after, paused=step.pause_clock)


def procedure(step: CorrectionStep) -> str:
    return f"{step.name} (pemohon memperbaiki berkas bila diminta)"


KIND = StepKind(
    kind="correction",
    label="Correction by the citizen (perbaikan)",
    model=CorrectionStep,
    exits=exits,
    references=("resume", "on_abandon"),
    check=check,
    choices=lambda step: VALUES,
    waits=lambda step: True,
    simulate=simulate,
    bpmn=lambda step: BpmnElement("userTask"),
    procedure=procedure,
)
