"""``document``: produk pelayanan, a signed PDF with a unique number and a QR code."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Final, Literal

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

BUILTINS: Final = (
    "application_id",
    "document_number",
    "issued_date",
    "service_name",
    "citizen",
)
"""Placeholders a document template may use besides the declared field ids."""


class DocumentTemplate(Model):
    code: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2,10}$")]
    """Part of the document number, e.g. SKD for BWI/SKD/2026/000001."""
    title: Name
    body: Annotated[str, StringConstraints(min_length=1, max_length=10000)]
    """Text with ``{field_id}`` placeholders, filled from the application."""
    signatory: Name = "Kepala Dinas"


class DocumentStep(Model):
    """Produk pelayanan: issue a signed PDF with a unique number and a QR code."""

    kind: Literal["document"] = "document"
    id: Identifier
    name: Name
    template: DocumentTemplate
    next: Identifier


def check(step: DocumentStep, i: int, names: Names) -> Iterator[Problem]:
    at = f"steps[{i}]"
    builtins = ", ".join(BUILTINS)
    yield from check_placeholders(
        f"{at}.template.body",
        step.template.body,
        {*names.declared, *BUILTINS},
        f"is not a declared field id or a built-in ({builtins})",
    )
    yield from names.target(at, "next", step.next)


def bpmn(step: DocumentStep) -> BpmnElement:
    t = step.template
    signed = f"{t.title} ({t.code}), signed by {t.signatory}"
    return BpmnElement("serviceTask", documentation=signed)


def simulate(step: DocumentStep, run: DryRun) -> Move:
    body = run.render(step.template.body)
    run.documents.append(f"{step.template.title}: {body}")
    return Move(step.next, f"document issued: {step.template.title}")


def procedure(step: DocumentStep) -> str:
    return f"{step.name} (sistem menerbitkan {step.template.title})"


KIND = StepKind(
    kind="document",
    label="Issue a document",
    model=DocumentStep,
    exits=straight_on,
    references=("next",),
    check=check,
    choices=no_choices,
    waits=never_waits,
    simulate=simulate,
    bpmn=bpmn,
    procedure=procedure,
)
