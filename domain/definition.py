"""Service-definition language, schema version 1.

A service definition is what an agency designs and publishes: the citizen's input
form and a graph of typed steps. It is plain pydantic so that it serialises to JSON,
travels as Temporal workflow input, and is parsed and validated before any workflow
starts (see ``domain.validation``).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

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
    min: float | None = None
    """Number fields only: the smallest value accepted (inclusive)."""
    max: float | None = None
    """Number fields only: the largest value accepted (inclusive)."""


class Agency(_Model):
    code: AgencyCode
    name: Name


class DurationUnit(StrEnum):
    WORKING_DAYS = "working_days"
    """Days the agency works: weekends and the agency's public holidays do not count."""
    DAYS = "days"
    HOURS = "hours"
    MINUTES = "minutes"
    """For counter services ("selesai dalam 30 menit")."""


class Duration(_Model):
    amount: float = Field(gt=0, le=3650)
    """Whole for working days; hours, days and minutes may be fractional."""
    unit: DurationUnit = DurationUnit.WORKING_DAYS

    @model_validator(mode="after")
    def _whole_working_days(self) -> Duration:
        if self.unit == DurationUnit.WORKING_DAYS and self.amount != int(self.amount):
            raise ValueError("working days must be a whole number")
        return self


class StepDeadline(_Model):
    """A time limit on a human step: a reminder before it, escalation when it passes."""

    within: Duration
    remind_before: Duration | None = None
    escalate_to: str | None = None
    """Role the open task moves to on breach (e.g. supervisor); None keeps the role."""


class FormStep(_Model):
    """Data captured at submission; the flow moves straight on."""

    kind: Literal["form"] = "form"
    id: Identifier
    name: Name
    next: Identifier


class ReviewStep(_Model):
    """A human task for a role; each allowed outcome names the step it leads to. An
    outcome leading to a correction step returns the application to the citizen."""

    kind: Literal["review"] = "review"
    id: Identifier
    name: Name
    role: str
    instructions: str = ""
    outcomes: dict[Identifier, Identifier] = Field(min_length=1)
    deadline: StepDeadline | None = None


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
    on_error: Identifier | None = None
    """Where the flow goes when a condition cannot be evaluated (e.g. a text compared
    with a number). Without it such an error is an incident for the administrator; it
    never counts as a branch that does not hold."""


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


class ParallelStep(_Model):
    """Split: every branch starts at once and runs until it reaches ``join``."""

    kind: Literal["parallel"] = "parallel"
    id: Identifier
    name: Name
    branches: list[Identifier] = Field(min_length=2, max_length=10)
    join: Identifier


class JoinStep(_Model):
    """Where parallel branches meet: wait for all of them, or for the first (the others
    are withdrawn, their open tasks cancelled)."""

    kind: Literal["join"] = "join"
    id: Identifier
    name: Name
    mode: Literal["all", "first"] = "all"
    next: Identifier


class CorrectionStep(_Model):
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


class FeeRule(_Model):
    when: Annotated[str, StringConstraints(min_length=1)]
    amount: int = Field(ge=0)


class Fee(_Model):
    """Amount in rupiah: the first rule whose condition holds, else ``amount``."""

    amount: int = Field(default=0, ge=0)
    rules: list[FeeRule] = Field(default_factory=list)


class PaymentStep(_Model):
    """Biaya/tarif: wait until the fee is paid at the counter or through the payment
    provider. A zero fee skips the wait."""

    kind: Literal["payment"] = "payment"
    id: Identifier
    name: Name
    fee: Fee
    next: Identifier
    deadline: StepDeadline | None = None
    on_unpaid: Identifier | None = None
    """Where the flow goes when the deadline passes unpaid; None: keep waiting."""


class DocumentTemplate(_Model):
    code: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2,10}$")]
    """Part of the document number, e.g. SKD for BWI/SKD/2026/000001."""
    title: Name
    body: Annotated[str, StringConstraints(min_length=1, max_length=10000)]
    """Text with ``{field_id}`` placeholders, filled from the application."""
    signatory: Name = "Kepala Dinas"


class DocumentStep(_Model):
    """Produk pelayanan: issue a signed PDF with a unique number and a QR code."""

    kind: Literal["document"] = "document"
    id: Identifier
    name: Name
    template: DocumentTemplate
    next: Identifier


class ExternalStep(_Model):
    """Wait for an event another system posts through the API (e.g. a field inspection
    result); its fields become names in later conditions."""

    kind: Literal["external"] = "external"
    id: Identifier
    name: Name
    event: Identifier
    fields: list[FormField] = Field(default_factory=list)
    timeout: Duration | None = None
    on_timeout: Identifier | None = None
    next: Identifier


class SubserviceStep(_Model):
    """Run another published service as a child application; its result (approved,
    rejected, cancelled) is this step's value in later conditions."""

    kind: Literal["subservice"] = "subservice"
    id: Identifier
    name: Name
    service: ServiceId
    inputs: dict[Identifier, Identifier] = Field(default_factory=dict)
    """Child field id -> this application's field id."""
    next: Identifier


class FaceVerifyStep(_Model):
    """Check the application's selfie against the citizen's enrolled face."""

    kind: Literal["face_verify"] = "face_verify"
    id: Identifier
    name: Name
    on_match: Identifier
    on_mismatch: Identifier
    """Also taken when the image is unusable or no face is enrolled (e.g. an identity
    check at the counter): the flow never stalls on a face check."""


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
)
Step = Annotated[AnyStep, Field(discriminator="kind")]
STEP_KINDS = (
    "form",
    "review",
    "decision",
    "notify",
    "end",
    "parallel",
    "join",
    "correction",
    "payment",
    "document",
    "external",
    "subservice",
    "face_verify",
)


class DeliveryStandard(_Model):
    """The 6 service-delivery components (komponen penyampaian pelayanan), in the
    regulation's order. Each holds only the agency's added explanation: the enforced
    part (requirements, procedure, time limit, fee, product, complaint channel) is
    generated from the flow by ``domain.standard``, so the text cannot contradict it."""

    requirements: list[str] = Field(default_factory=list)  # persyaratan (extra items)
    procedure: str = ""  # sistem, mekanisme dan prosedur
    time_limit: str = ""  # jangka waktu penyelesaian
    fee: str = ""  # biaya/tarif
    product: str = ""  # produk pelayanan
    complaints: str = ""  # penanganan pengaduan, saran dan masukan


class ManagementStandard(_Model):
    """The 8 management components (komponen pengelolaan pelayanan), in the
    regulation's order; written by the agency, nothing here is enforced by the flow."""

    legal_basis: list[str] = Field(default_factory=list)  # dasar hukum
    facilities: str = ""  # sarana dan prasarana, dan/atau fasilitas
    staff_competence: str = ""  # kompetensi pelaksana
    supervision: str = ""  # pengawasan internal
    staff_count: str = ""  # jumlah pelaksana
    guarantee: str = ""  # jaminan pelayanan
    security: str = ""  # jaminan keamanan dan keselamatan pelayanan
    evaluation: str = ""  # evaluasi kinerja pelaksana


_DELIVERY_KEYS: Final = frozenset(DeliveryStandard.model_fields)
_MANAGEMENT_KEYS: Final = frozenset(ManagementStandard.model_fields)


class ServiceStandard(_Model):
    """Standar Pelayanan (UU 25/2009, PermenPANRB 15/2014) in the regulation's two
    groups. ``domain.standard`` renders it with the parts generated from the flow."""

    delivery: DeliveryStandard = Field(default_factory=DeliveryStandard)
    management: ManagementStandard = Field(default_factory=ManagementStandard)
    complaint_channel: str = Field(default="", max_length=500)
    """Where citizens complain (phone, e-mail, URL, desk): the pengaduan component."""
    review_interval_months: int | None = Field(default=None, ge=1, le=60)
    """Evaluasi: the standard is due for review this long after its publication."""

    @model_validator(mode="before")
    @classmethod
    def _from_flat(cls, raw: object) -> object:
        # Definitions stored before the two groups (event stores, Temporal histories)
        # keep the fourteen components flat at the top level; move them into place.
        if not isinstance(raw, dict) or not (raw.keys() & (_DELIVERY_KEYS | _MANAGEMENT_KEYS)):
            return raw
        out = {k: v for k, v in raw.items() if k not in _DELIVERY_KEYS | _MANAGEMENT_KEYS}
        for group, keys in (("delivery", _DELIVERY_KEYS), ("management", _MANAGEMENT_KEYS)):
            moved = {k: v for k, v in raw.items() if k in keys}
            if moved:
                nested = out.get(group)
                out[group] = {**moved, **nested} if isinstance(nested, dict) else moved
        return out


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
    time_limit: Duration | None = None
    """Jangka waktu: the whole service's time limit, enforced and tracked."""
    cancellable_until: Identifier | None = None
    """The citizen may cancel until the flow reaches this step (None: until the end)."""
    standard: ServiceStandard = Field(default_factory=ServiceStandard)

    @property
    def start_step(self) -> str:
        return self.start or self.steps[0].id

    def step(self, step_id: str) -> AnyStep:
        for s in self.steps:
            if s.id == step_id:
                return s
        raise KeyError(step_id)

    def field(self, field_id: str) -> FormField:
        for f in self.fields:
            if f.id == field_id:
                return f
        raise KeyError(field_id)


def successors(step: AnyStep) -> list[str]:
    """Every step id a step can lead to, in definition order."""
    match step:
        case FormStep() | NotifyStep() | JoinStep() | DocumentStep() | SubserviceStep():
            return [step.next]
        case ReviewStep():
            return list(step.outcomes.values())
        case DecisionStep():
            targets = [b.goto for b in step.branches]
            if step.default:
                targets.append(step.default)
            return [*targets, step.on_error] if step.on_error else targets
        case EndStep():
            return []
        case ParallelStep():
            return list(step.branches)
        case CorrectionStep():
            return [step.resume, step.on_abandon]
        case PaymentStep():
            return [step.next, step.on_unpaid] if step.on_unpaid else [step.next]
        case ExternalStep():
            return [step.next, step.on_timeout] if step.on_timeout else [step.next]
        case FaceVerifyStep():
            return [step.on_match, step.on_mismatch]
    raise TypeError(f"unknown step {step!r}")
