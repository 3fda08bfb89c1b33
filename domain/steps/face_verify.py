"""``face_verify``: check the application's selfie against the citizen's enrolled face."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Literal

from domain.checks import Names, Problem
from domain.primitives import Identifier, Model, Name
from domain.steps.kind import BpmnElement, DryRun, Move, StepKind, Transition, never_waits

VALUES = ("match", "mismatch", "unusable")
"""What a simulation may script: what the face service answers."""


class FaceVerifyStep(Model):
    """Check the application's selfie against the citizen's enrolled face."""

    kind: Literal["face_verify"] = "face_verify"
    id: Identifier
    name: Name
    on_match: Identifier
    on_mismatch: Identifier
    """Also taken when the image is unusable or no face is enrolled (e.g. an identity
    check at the counter): the flow never stalls on a face check."""
    require_counter_enrolment: bool = False
    """Accept only a face an officer enrolled at the counter after checking the KTP
    (``POST /counter/face``); a self-service enrolment then takes ``on_mismatch``."""


def exits(step: FaceVerifyStep) -> list[Transition]:
    return [
        Transition(step.on_match, "match", condition=f'{step.id} == "match"'),
        Transition(step.on_mismatch, "mismatch", default=True),
    ]


def check(step: FaceVerifyStep, i: int, names: Names) -> Iterator[Problem]:
    at = f"steps[{i}]"
    yield from names.target(at, "on_match", step.on_match)
    yield from names.target(at, "on_mismatch", step.on_mismatch)
    if step.require_counter_enrolment and step.on_mismatch == step.on_match:
        yield Problem(
            f"{at}.require_counter_enrolment",
            "a counter-verified enrolment is required, but a face that fails the check "
            "goes on to the same step as one that passes; send on_mismatch to an identity "
            "check at the counter",
        )


def simulate(step: FaceVerifyStep, run: DryRun) -> Move:
    value, _ = run.scripted(step)
    run.outcomes[step.id] = value
    target = step.on_match if value == "match" else step.on_mismatch
    return Move(target, f"face check: {value}")


def procedure(step: FaceVerifyStep) -> str:
    return f"{step.name} (verifikasi wajah pemohon)"


KIND = StepKind(
    kind="face_verify",
    label="Face verification",
    model=FaceVerifyStep,
    exits=exits,
    references=("on_match", "on_mismatch"),
    check=check,
    choices=lambda step: VALUES,
    waits=never_waits,
    simulate=simulate,
    bpmn=lambda step: BpmnElement("serviceTask"),
    procedure=procedure,
)
