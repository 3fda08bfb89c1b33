"""Service-definition language, schema version 1.

A service definition is what an agency designs and publishes: the citizen's input
form and a graph of typed steps. It is plain pydantic so that it serialises to JSON,
travels as Temporal workflow input, and is parsed and validated before any workflow
starts (see ``domain.validation``).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

SCHEMA_VERSION: Final = 1

Identifier = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,62}$")]
"""Field and step ids: lower snake case, so they can be used as names in conditions."""

ServiceId = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9-]{1,62}$")]
AgencyCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2,6}$")]
Name = Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True)]

# Roles a review step can be assigned to. Citizens and auditors never work tasks.
STAFF_ROLES = frozenset({"officer", "supervisor", "agency_admin"})
ALL_ROLES = STAFF_ROLES | {"citizen", "auditor"}


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FieldType(StrEnum):
    TEXT = "text"
    NUMBER = "number"
    DATE = "date"
    CHOICE = "choice"
    NIK = "nik"
    FILE = "file"


class FormField(_Model):
    """One input the citizen supplies when applying."""

    id: Identifier
    label: Name
    type: FieldType = FieldType.TEXT
    required: bool = True
    choices: list[str] = Field(default_factory=list)
    help: str = ""


class Agency(_Model):
    code: AgencyCode
    name: Name


class FormStep(_Model):
    """Data captured at submission; the flow moves straight on."""

    kind: Literal["form"] = "form"
    id: Identifier
    name: Name
    next: Identifier


class ReviewStep(_Model):
    """A human task for a role; each allowed outcome names the step it leads to."""

    kind: Literal["review"] = "review"
    id: Identifier
    name: Name
    role: str
    instructions: str = ""
    outcomes: dict[Identifier, Identifier] = Field(min_length=1)


class DecisionBranch(_Model):
    when: Annotated[str, StringConstraints(min_length=1)]
    goto: Identifier


class DecisionStep(_Model):
    """Exclusive gateway: the first branch whose condition holds wins, else the default."""

    kind: Literal["decision"] = "decision"
    id: Identifier
    name: Name
    branches: list[DecisionBranch] = Field(default_factory=list)
    default: Identifier | None = None


class NotifyStep(_Model):
    """A message to the citizen; ``{field_id}`` placeholders are filled from the form."""

    kind: Literal["notify"] = "notify"
    id: Identifier
    name: Name
    message: Annotated[str, StringConstraints(min_length=1, max_length=2000)]
    next: Identifier


class EndStep(_Model):
    kind: Literal["end"] = "end"
    id: Identifier
    name: Name
    result: Literal["approved", "rejected", "cancelled"]


Step = Annotated[
    FormStep | ReviewStep | DecisionStep | NotifyStep | EndStep, Field(discriminator="kind")
]


class ServiceDefinition(_Model):
    """A versioned service. ``version`` is assigned by the server on create/publish."""

    schema_version: Literal[1] = SCHEMA_VERSION
    id: ServiceId
    name: Name
    agency: Agency
    version: int = Field(default=1, ge=1)
    description: str = ""
    fields: list[FormField] = Field(default_factory=list)
    steps: list[Step] = Field(min_length=1)
    start: Identifier | None = None

    @property
    def start_step(self) -> str:
        return self.start or self.steps[0].id

    def step(self, step_id: str) -> FormStep | ReviewStep | DecisionStep | NotifyStep | EndStep:
        for s in self.steps:
            if s.id == step_id:
                return s
        raise KeyError(step_id)

    def field(self, field_id: str) -> FormField:
        for f in self.fields:
            if f.id == field_id:
                return f
        raise KeyError(field_id)


def successors(step: FormStep | ReviewStep | DecisionStep | NotifyStep | EndStep) -> list[str]:
    """Every step id a step can lead to, in definition order."""
    match step:
        case FormStep() | NotifyStep():
            return [step.next]
        case ReviewStep():
            return list(step.outcomes.values())
        case DecisionStep():
            targets = [b.goto for b in step.branches]
            return [*targets, step.default] if step.default else targets
        case EndStep():
            return []
    raise TypeError(f"unknown step {step!r}")
