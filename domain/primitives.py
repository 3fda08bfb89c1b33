"""The building blocks of service definitions, shared by the definition itself
(``domain.definition``) and every step kind (``domain.steps``): ids and names, form
fields, durations and deadlines."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

Identifier = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,62}$")]
"""Field and step ids: lower snake case, so they can be used as names in conditions."""

ServiceId = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9-]{1,62}$")]
AgencyCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2,6}$")]
Name = Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True)]

# Roles a review step can be assigned to. Citizens and auditors never work tasks.
STAFF_ROLES = frozenset({"officer", "supervisor", "agency_admin"})
ALL_ROLES = STAFF_ROLES | {"citizen", "auditor"}


class Model(BaseModel):
    """Definitions are documents: unknown keys are refused and nothing changes once read."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class FieldType(StrEnum):
    TEXT = "text"
    NUMBER = "number"
    DATE = "date"
    CHOICE = "choice"
    NIK = "nik"
    FILE = "file"


class FormField(Model):
    """One input the citizen supplies when applying."""

    id: Identifier
    label: Name
    type: FieldType = FieldType.TEXT
    required: bool = True
    choices: list[str] = Field(default_factory=list)
    help: str = ""
    min: float | None = None
    """Number fields only: the smallest value accepted (inclusive)."""
    max: float | None = None
    """Number fields only: the largest value accepted (inclusive)."""
    prefill: str | None = Field(default=None, max_length=100)
    """Where a citizen's form takes the field's value from, e.g. ``profile.full_name``
    or ``profile.address.kecamatan`` (``domain.profile.prefill_paths``)."""
    kinds: list[str] = Field(default_factory=list)
    """File fields only: the wallet document kinds that satisfy it (e.g. ``[ktp]``, from
    ``domain.wallet.DOCUMENT_KINDS``); such a field takes an uploaded document, attached
    by the citizen. Empty: it takes a file reference typed into the form, as before."""


class Agency(Model):
    code: AgencyCode
    name: Name


class DurationUnit(StrEnum):
    WORKING_DAYS = "working_days"
    """Days the agency works: weekends and the agency's public holidays do not count."""
    DAYS = "days"
    HOURS = "hours"
    MINUTES = "minutes"
    """For counter services ("selesai dalam 30 menit")."""


class Duration(Model):
    amount: float = Field(gt=0, le=3650)
    """Whole for working days; hours, days and minutes may be fractional."""
    unit: DurationUnit = DurationUnit.WORKING_DAYS

    @model_validator(mode="after")
    def _whole_working_days(self) -> Duration:
        if self.unit == DurationUnit.WORKING_DAYS and self.amount != int(self.amount):
            raise ValueError("working days must be a whole number")
        return self


class StepDeadline(Model):
    """A time limit on a human step: a reminder before it, escalation when it passes."""

    within: Duration
    remind_before: Duration | None = None
    escalate_to: str | None = None
    """Role the open task moves to on breach (e.g. supervisor); None keeps the role."""
