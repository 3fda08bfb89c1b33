"""The step kinds, one module each, and the map from a kind's tag to what it provides.

Adding a kind: write ``domain/steps/<kind>.py`` with its model and its ``KIND``
(``domain.steps.kind.StepKind``), add it to ``KINDS`` and to ``AnyStep`` below;
``tests/domain/test_steps_registry.py`` fails until every part is there. Its run
behaviour lives in ``workflows/steps/<kind>.py``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Annotated, Any, Final

from pydantic import Field

from domain.steps import (
    appointment,
    correction,
    decision,
    document,
    end,
    external,
    face_verify,
    form,
    join,
    notify,
    parallel,
    payment,
    review,
    subservice,
)
from domain.steps.appointment import AppointmentStep
from domain.steps.correction import CorrectionStep
from domain.steps.decision import DecisionBranch, DecisionStep
from domain.steps.document import DocumentStep, DocumentTemplate
from domain.steps.end import EndStep
from domain.steps.external import ExternalStep
from domain.steps.face_verify import FaceVerifyStep
from domain.steps.form import FormStep
from domain.steps.join import JoinStep
from domain.steps.kind import BpmnElement, StepKind, Transition
from domain.steps.notify import NotifyStep
from domain.steps.parallel import ParallelStep
from domain.steps.payment import Fee, FeeRule, PaymentStep
from domain.steps.review import ReviewStep
from domain.steps.subservice import SubserviceStep

__all__ = [
    "KINDS",
    "STEP_KINDS",
    "AnyStep",
    "AppointmentStep",
    "BpmnElement",
    "CorrectionStep",
    "DecisionBranch",
    "DecisionStep",
    "DocumentStep",
    "DocumentTemplate",
    "EndStep",
    "ExternalStep",
    "FaceVerifyStep",
    "Fee",
    "FeeRule",
    "FormStep",
    "JoinStep",
    "NotifyStep",
    "ParallelStep",
    "PaymentStep",
    "ReviewStep",
    "Step",
    "StepKind",
    "SubserviceStep",
    "Transition",
    "kind_of",
    "raw_exits",
    "retarget",
    "successors",
    "transitions",
]

AnyStep = (
    FormStep
    | ReviewStep
    | DecisionStep
    | NotifyStep
    | EndStep
    | ParallelStep
    | JoinStep
    | CorrectionStep
    | PaymentStep
    | DocumentStep
    | ExternalStep
    | SubserviceStep
    | FaceVerifyStep
    | AppointmentStep
)
Step = Annotated[AnyStep, Field(discriminator="kind")]

KINDS: Final[Mapping[str, StepKind[Any]]] = {
    k.kind: k
    for k in (
        form.KIND,
        review.KIND,
        decision.KIND,
        notify.KIND,
        end.KIND,
        parallel.KIND,
        join.KIND,
        correction.KIND,
        payment.KIND,
        document.KIND,
        external.KIND,
        subservice.KIND,
        face_verify.KIND,
        appointment.KIND,
    )
}
"""Every kind by its tag, in the palette's order."""
STEP_KINDS: Final = tuple(KINDS)

# Keys that hold step ids in some kind: how a draft of an unknown kind is still drawn.
_ANY_REFERENCES: Final = tuple(dict.fromkeys(key for k in KINDS.values() for key in k.references))


def kind_of(step: AnyStep) -> StepKind[Any]:
    return KINDS[step.kind]


def transitions(step: AnyStep) -> list[Transition]:
    """Every way out of ``step``, labelled, in definition order."""
    return kind_of(step).exits(step)


def successors(step: AnyStep) -> list[str]:
    """Every step id a step can lead to, in definition order."""
    return [t.target for t in transitions(step)]


def _references(step: Mapping[str, Any]) -> tuple[str, ...]:
    kind = step.get("kind")
    known = KINDS.get(kind) if isinstance(kind, str) else None
    return known.references if known is not None else _ANY_REFERENCES


def raw_exits(step: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """(label, target) for every way out of a raw step, even one that does not parse:
    the key for a single target, the outcome for a review's, the condition (or "branch
    N") for a decision's branch, nothing for a parallel's branch."""
    for key in _references(step):
        value = step.get(key)
        if isinstance(value, str):
            yield key, value
        elif isinstance(value, dict):
            for label, target in value.items():
                if isinstance(target, str):
                    yield label, target
        elif isinstance(value, list):
            for i, b in enumerate(value):
                if isinstance(b, dict) and isinstance(b.get("goto"), str):
                    yield str(b.get("when", f"branch {i + 1}")), b["goto"]
                elif isinstance(b, str):
                    yield "", b


def retarget(step: dict[str, Any], old: str, new: str) -> None:
    """Point every way out of a raw step that leads to ``old`` at ``new``."""
    for key in _references(step):
        value = step.get(key)
        if value == old:
            step[key] = new
        elif isinstance(value, dict):
            step[key] = {k: new if v == old else v for k, v in value.items()}
        elif isinstance(value, list):
            for i, b in enumerate(value):
                if isinstance(b, dict) and b.get("goto") == old:
                    b["goto"] = new
                elif b == old:
                    value[i] = new
