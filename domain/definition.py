"""Service-definition language, schema version 1.

A service definition is what an agency designs and publishes: the citizen's input
form and a graph of typed steps. It is plain pydantic so that it serialises to JSON,
travels as Temporal workflow input, and is parsed and validated before any workflow
starts (see ``domain.validation``). Each step kind's model lives with the rest of that
kind in ``domain.steps``; this module assembles the definition from them.
"""

from __future__ import annotations

from typing import Final, Literal

from pydantic import Field, model_validator

from domain.primitives import (
    ALL_ROLES,
    STAFF_ROLES,
    Agency,
    AgencyCode,
    Duration,
    DurationUnit,
    FieldType,
    FormField,
    Identifier,
    Model,
    Name,
    ServiceId,
    StepDeadline,
)
from domain.steps import (
    STEP_KINDS,
    AnyStep,
    AppointmentStep,
    CorrectionStep,
    DecisionBranch,
    DecisionStep,
    DocumentStep,
    DocumentTemplate,
    EndStep,
    ExternalStep,
    FaceVerifyStep,
    Fee,
    FeeRule,
    FormStep,
    JoinStep,
    NotifyStep,
    ParallelStep,
    PaymentStep,
    ReviewStep,
    Step,
    SubserviceStep,
    successors,
)

# The step models and the building blocks live with their kinds (``domain.steps``) and in
# ``domain.primitives``; this module keeps exporting them, so ``domain.definition`` stays
# the one place to import the definition language from.
__all__ = [
    "ALL_ROLES",
    "SCHEMA_VERSION",
    "STAFF_ROLES",
    "STEP_KINDS",
    "Agency",
    "AgencyCode",
    "AnyStep",
    "AppointmentStep",
    "CorrectionStep",
    "DecisionBranch",
    "DecisionStep",
    "DeliveryStandard",
    "DocumentStep",
    "DocumentTemplate",
    "Duration",
    "DurationUnit",
    "EndStep",
    "ExternalStep",
    "FaceVerifyStep",
    "Fee",
    "FeeRule",
    "FieldType",
    "FormField",
    "FormStep",
    "Identifier",
    "JoinStep",
    "ManagementStandard",
    "Name",
    "NotifyStep",
    "ParallelStep",
    "PaymentStep",
    "ReviewStep",
    "ServiceDefinition",
    "ServiceId",
    "ServiceStandard",
    "Step",
    "StepDeadline",
    "SubserviceStep",
    "successors",
]

SCHEMA_VERSION: Final = 1


class DeliveryStandard(Model):
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


class ManagementStandard(Model):
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


class ServiceStandard(Model):
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


class ServiceDefinition(Model):
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
