"""Domain event types, their payload models, stream names and deterministic event ids.

Each application event is a frozen pydantic model whose ``payload()`` is exactly the
dict stored in the event store (same keys, same order, same values): the workflow
appends models, ``domain.state`` folds them by type. A key that older events lack, or
that only some events carry, is a field with a default that ``payload()`` leaves out
unless it was given (``exclude_unset``), so no stored payload gains a ``null``.

Event ids are UUIDv5 of the stream and the event's index in it, so an activity that is
retried, or a workflow that is replayed, produces the very same ids and the event
store's idempotent append writes nothing twice.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any, ClassVar, Final

from pydantic import BaseModel, ConfigDict

from domain.wallet import AttachmentRef

# Applications (stream ``application-<number>``), written by workflow activities.
APPLICATION_SUBMITTED: Final = "ApplicationSubmitted"
TASK_ASSIGNED: Final = "TaskAssigned"
TASK_COMPLETED: Final = "TaskCompleted"
DECISION_TAKEN: Final = "DecisionTaken"
CITIZEN_NOTIFIED: Final = "CitizenNotified"
APPLICATION_COMPLETED: Final = "ApplicationCompleted"
TASK_CLAIMED: Final = "TaskClaimed"  # an officer took the task from the shared inbox
TASK_CANCELLED: Final = "TaskCancelled"
# withdrawn: join "first", cancellation, timeout
TASK_REASSIGNED: Final = "TaskReassigned"  # escalation on a breached step deadline
REMINDER_SENT: Final = "ReminderSent"
SLA_BREACHED: Final = "SlaBreached"  # a step's or the whole service's time limit passed
DEADLINE_SET: Final = "DeadlineSet"  # expected completion of a step or the service
CORRECTION_REQUESTED: Final = "CorrectionRequested"
CORRECTION_SUBMITTED: Final = "CorrectionSubmitted"
CORRECTION_ABANDONED: Final = "CorrectionAbandoned"
WAITING_FOR_EVENT: Final = "WaitingForEvent"
PAYMENT_REQUESTED: Final = "PaymentRequested"
PAYMENT_RECEIVED: Final = "PaymentReceived"
PAYMENT_WAIVED: Final = "PaymentWaived"  # zero fee
REFUND_RECORDED: Final = "RefundRecorded"
DOCUMENT_ISSUED: Final = "DocumentIssued"
EXTERNAL_EVENT_RECEIVED: Final = "ExternalEventReceived"
EXTERNAL_EVENT_TIMED_OUT: Final = "ExternalEventTimedOut"
APPOINTMENT_REQUESTED: Final = "AppointmentRequested"
VISIT_RECORDED: Final = "VisitRecorded"
VISIT_MISSED: Final = "VisitMissed"
SUBSERVICE_STARTED: Final = "SubserviceStarted"
SUBSERVICE_COMPLETED: Final = "SubserviceCompleted"
FACE_VERIFIED: Final = "FaceVerified"  # outcome, backend and distance only
BRANCHES_STARTED: Final = "BranchesStarted"
BRANCHES_JOINED: Final = "BranchesJoined"
CANCELLATION_REQUESTED: Final = "CancellationRequested"
INCIDENT_RAISED: Final = "IncidentRaised"
INCIDENT_RESOLVED: Final = "IncidentResolved"

# Services (stream ``service-<id>``), written by the API.
SERVICE_DRAFT_SAVED: Final = "ServiceDraftSaved"
SERVICE_VERSION_PUBLISHED: Final = "ServiceVersionPublished"
SERVICE_ARCHIVED: Final = "ServiceArchived"
# The designer's work in progress on a service (stream ``draftwork-<service_id>``): saved
# as the administrator edits, problems and all, so that closing the tab loses nothing.
# It is not a version: publishing needs it saved as a draft, or discarded.
WORK_SAVED: Final = "ServiceWorkSaved"
WORK_DISCARDED: Final = "ServiceWorkDiscarded"

# Agencies (stream ``agency-<CODE>``): the working calendar deadlines are counted on,
# and the maklumat pelayanan (the agency head's public service promise).
AGENCY_CALENDAR_SET: Final = "AgencyCalendarSet"
AGENCY_MAKLUMAT_SET: Final = "AgencyMaklumatSet"

# Application numbers (stream ``appno-<AGENCY>-<YEAR>``): the stream version is the
# sequence, so optimistic concurrency hands out each number exactly once.
APPLICATION_NUMBER_RESERVED: Final = "ApplicationNumberReserved"

# The satisfaction survey (stream ``survey-<number>``): one answer per application.
SURVEY_ANSWERED: Final = "SurveyAnswered"

_NAMESPACE: Final = uuid.UUID("6f0c6a52-3d0e-4f55-9a54-9a1f1c1e7a11")


def application_stream(application_id: str) -> str:
    return f"application-{application_id}"


def service_stream(service_id: str) -> str:
    return f"service-{service_id}"


def work_stream(service_id: str) -> str:
    return f"draftwork-{service_id}"


def agency_stream(agency_code: str) -> str:
    return f"agency-{agency_code}"


def document_number_stream(agency_code: str, code: str, year: int) -> str:
    return f"docno-{agency_code}-{code}-{year}"


def number_stream(agency_code: str, year: int) -> str:
    return f"appno-{agency_code}-{year}"


def survey_stream(application_id: str) -> str:
    return f"survey-{application_id}"


def application_number(agency_code: str, year: int, sequence: int) -> str:
    """Human-readable application number, e.g. ``BWI-2026-000123``."""
    return f"{agency_code}-{year}-{sequence:06d}"


def event_id(stream: str, index: int) -> uuid.UUID:
    """The id of the ``index``-th event a deterministic writer appends to ``stream``."""
    return uuid.uuid5(_NAMESPACE, f"{stream}#{index}")


# Payload models of the application stream (written by the workflow) ----------------
class Event(BaseModel):
    """One event's payload. Unknown keys are ignored on reading, so older
    code folds newer streams; the round-trip test over recorded histories and stores
    (tests/domain/test_event_payloads.py) proves no stored key goes unmodelled."""

    # Payloads hold citizens' data: a refused payload's error must not repeat it.
    model_config = ConfigDict(frozen=True, extra="ignore", hide_input_in_errors=True)
    TYPE: ClassVar[str]

    def payload(self) -> dict[str, Any]:
        """The dict the event store keeps: only the keys this event was given."""
        return self.model_dump(mode="json", exclude_unset=True)


class ServiceRef(BaseModel):
    model_config = ConfigDict(frozen=True)
    id: str
    version: int
    name: str


class AgencyRef(BaseModel):
    model_config = ConfigDict(frozen=True)
    code: str
    name: str


class ActorRef(BaseModel):
    model_config = ConfigDict(frozen=True)
    subject: str
    role: str


class ApplicationSubmitted(Event):
    TYPE: ClassVar[str] = APPLICATION_SUBMITTED
    application_id: str
    service: ServiceRef
    agency: AgencyRef
    citizen: str
    data: dict[str, Any] = {}
    start_step: str | None = None
    provenance: dict[str, str] = {}
    """Prefilled form field -> self-declared | verified-counter | verified-face |
    changed-verified (``domain.profile``); absent when the form prefills nothing."""
    channel: str = "online"  # absent from events before the channels: all online
    filed_by: str | None = None  # only when staff filed it for the citizen
    location: str | None = None  # only when staff named where they filed it
    attachments: list[AttachmentRef] = []  # only when requirement documents were attached


class TaskAssigned(Event):
    TYPE: ClassVar[str] = TASK_ASSIGNED
    task_id: str
    step: str
    step_name: str
    role: str
    agency: str
    outcomes: list[str]
    instructions: str = ""  # absent from hand-written fixtures (lincah.bench)
    due_at: str | None = None  # only for a step with a deadline


class TaskCompleted(Event):
    TYPE: ClassVar[str] = TASK_COMPLETED
    task_id: str
    step: str
    step_name: str | None = None  # absent from the earliest events
    outcome: str
    comment: str
    actor: ActorRef
    fields: list[str] | None = None  # only for an outcome that returns for correction


class DecisionTaken(Event):
    TYPE: ClassVar[str] = DECISION_TAKEN
    step: str
    step_name: str | None = None  # absent from the earliest events
    branch: int | None
    condition: str | None
    target: str
    errors: list[str]
    on_error: bool | None = None  # only when the decision's on_error was taken


class CitizenNotified(Event):
    TYPE: ClassVar[str] = CITIZEN_NOTIFIED
    step: str
    channel: str
    citizen: str
    message: str


class ApplicationCompleted(Event):
    TYPE: ClassVar[str] = APPLICATION_COMPLETED
    step: str | None
    result: str


class TaskClaimed(Event):
    TYPE: ClassVar[str] = TASK_CLAIMED
    task_id: str
    step: str
    by: str


class TaskCancelled(Event):
    TYPE: ClassVar[str] = TASK_CANCELLED
    task_id: str
    step: str
    reason: str


class TaskReassigned(Event):
    TYPE: ClassVar[str] = TASK_REASSIGNED
    task_id: str
    step: str
    from_role: str
    to_role: str
    reason: str


class ReminderSent(Event):
    TYPE: ClassVar[str] = REMINDER_SENT
    step: str
    due_at: str
    task_id: str | None
    role: str | None


class SlaBreached(Event):
    TYPE: ClassVar[str] = SLA_BREACHED
    scope: str  # step | service
    step: str | None
    due_at: str
    task_id: str | None = None  # a step's breach names its task (None for a payment)


class DeadlineSet(Event):
    TYPE: ClassVar[str] = DEADLINE_SET
    scope: str
    due_at: str
    reason: str | None = None  # only when the clock moved (paused for a correction)


class CorrectionRequested(Event):
    TYPE: ClassVar[str] = CORRECTION_REQUESTED
    step: str
    citizen: str
    reason: str
    fields: list[str]
    by: str | None
    due_at: str


class CorrectionSubmitted(Event):
    TYPE: ClassVar[str] = CORRECTION_SUBMITTED
    step: str
    fields: list[str]
    data: dict[str, Any]
    by: str


class CorrectionAbandoned(Event):
    TYPE: ClassVar[str] = CORRECTION_ABANDONED
    step: str
    due_at: str


class WaitingForEvent(Event):
    TYPE: ClassVar[str] = WAITING_FOR_EVENT
    step: str
    event: str
    due_at: str | None


class PaymentRequested(Event):
    TYPE: ClassVar[str] = PAYMENT_REQUESTED
    step: str
    amount: int
    currency: str
    payment_code: str
    citizen: str


class PaymentReceived(Event):
    TYPE: ClassVar[str] = PAYMENT_RECEIVED
    step: str
    amount: int
    currency: str
    method: str
    reference: str
    by: str


class PaymentWaived(Event):
    TYPE: ClassVar[str] = PAYMENT_WAIVED
    step: str


class RefundRecorded(Event):
    TYPE: ClassVar[str] = REFUND_RECORDED
    amount: int
    references: list[str]
    reason: str


class DocumentIssued(Event):
    TYPE: ClassVar[str] = DOCUMENT_ISSUED
    step: str
    number: str
    sha256: str
    signature: str
    public_key_id: str
    issued_at: str
    title: str
    verify_url: str


class ExternalEventReceived(Event):
    TYPE: ClassVar[str] = EXTERNAL_EVENT_RECEIVED
    step: str
    event: str
    data: dict[str, Any]
    by: str


class ExternalEventTimedOut(Event):
    TYPE: ClassVar[str] = EXTERNAL_EVENT_TIMED_OUT
    step: str
    event: str


class AppointmentRequested(Event):
    """An appointment step started: the citizen is asked to come in person."""

    TYPE: ClassVar[str] = APPOINTMENT_REQUESTED
    step: str
    purpose: str
    locations: list[str]
    """Where the citizen may come; empty: any of the agency's locations."""
    due_at: str


class VisitRecorded(Event):
    """The officer who served the citizen (or saw they did not come) recorded the visit."""

    TYPE: ClassVar[str] = VISIT_RECORDED
    step: str
    outcome: str  # served | no_show
    by: str
    note: str


class VisitMissed(Event):
    """The appointment step's deadline passed before the citizen was served."""

    TYPE: ClassVar[str] = VISIT_MISSED
    step: str
    due_at: str


class SubserviceStarted(Event):
    TYPE: ClassVar[str] = SUBSERVICE_STARTED
    step: str
    service: str
    child_application_id: str


class SubserviceCompleted(Event):
    TYPE: ClassVar[str] = SUBSERVICE_COMPLETED
    step: str
    child_application_id: str
    result: str


class FaceVerified(Event):
    TYPE: ClassVar[str] = FACE_VERIFIED
    step: str
    outcome: str  # match | mismatch | unusable
    backend: str
    distance: int | float | None  # int first: a stored 0 stays 0, never becomes 0.0


class BranchesStarted(Event):
    TYPE: ClassVar[str] = BRANCHES_STARTED
    step: str
    branches: list[str]
    join: str
    mode: str


class BranchesJoined(Event):
    TYPE: ClassVar[str] = BRANCHES_JOINED
    step: str
    mode: str
    finished: list[str]
    withdrawn: list[str]


class CancellationRequested(Event):
    TYPE: ClassVar[str] = CANCELLATION_REQUESTED
    reason: str
    by: str
    role: str


class IncidentRaised(Event):
    TYPE: ClassVar[str] = INCIDENT_RAISED
    step: str | None
    error: str


class IncidentResolved(Event):
    TYPE: ClassVar[str] = INCIDENT_RESOLVED
    step: str | None


APPLICATION_EVENTS: Final[Mapping[str, type[Event]]] = {
    cls.TYPE: cls
    for cls in (
        ApplicationSubmitted,
        TaskAssigned,
        TaskCompleted,
        DecisionTaken,
        CitizenNotified,
        ApplicationCompleted,
        TaskClaimed,
        TaskCancelled,
        TaskReassigned,
        ReminderSent,
        SlaBreached,
        DeadlineSet,
        CorrectionRequested,
        CorrectionSubmitted,
        CorrectionAbandoned,
        WaitingForEvent,
        PaymentRequested,
        PaymentReceived,
        PaymentWaived,
        RefundRecorded,
        DocumentIssued,
        ExternalEventReceived,
        ExternalEventTimedOut,
        AppointmentRequested,
        VisitRecorded,
        VisitMissed,
        SubserviceStarted,
        SubserviceCompleted,
        FaceVerified,
        BranchesStarted,
        BranchesJoined,
        CancellationRequested,
        IncidentRaised,
        IncidentResolved,
    )
}
"""Every event of the application stream, by its stored type name."""


# Payload models of the catalogue's streams (written by the API's commands) ------------
class ServiceDraftSaved(Event):
    TYPE: ClassVar[str] = SERVICE_DRAFT_SAVED
    definition: dict[str, Any]
    """As saved (``ServiceDefinition.model_dump(mode="json")``); kept as stored, since
    reading it migrates older forms (``domain.services`` parses it)."""
    by: str


class ServiceVersionPublished(Event):
    TYPE: ClassVar[str] = SERVICE_VERSION_PUBLISHED
    version: int
    by: str


class ServiceArchived(Event):
    TYPE: ClassVar[str] = SERVICE_ARCHIVED
    by: str


class ServiceWorkSaved(Event):
    TYPE: ClassVar[str] = WORK_SAVED
    definition: dict[str, Any]
    """As the designer holds it: possibly with problems, so not a ``ServiceDefinition``."""
    agency: str
    by: str
    problems: int
    """How many problems it had when saved (the list is the validator's, on reading)."""


class ServiceWorkDiscarded(Event):
    TYPE: ClassVar[str] = WORK_DISCARDED
    agency: str
    by: str
    why: str
    """``saved`` (it became a draft version) or ``discarded`` (the administrator threw it
    away)."""


class AgencyCalendarSet(Event):
    TYPE: ClassVar[str] = AGENCY_CALENDAR_SET
    calendar: dict[str, Any]  # a WorkingCalendar, as stored
    by: str


class AgencyMaklumatSet(Event):
    TYPE: ClassVar[str] = AGENCY_MAKLUMAT_SET
    maklumat: dict[str, Any]  # text, signed_by, position_title, place, as stored
    by: str


class ApplicationNumberReserved(Event):
    TYPE: ClassVar[str] = APPLICATION_NUMBER_RESERVED
    application_id: str
    service_id: str
    idempotency_key: str | None = None  # the digest, for a submission that had a key


CATALOGUE_EVENTS: Final[Mapping[str, type[Event]]] = {
    cls.TYPE: cls
    for cls in (
        ServiceDraftSaved,
        ServiceVersionPublished,
        ServiceArchived,
        ServiceWorkSaved,
        ServiceWorkDiscarded,
        AgencyCalendarSet,
        AgencyMaklumatSet,
        ApplicationNumberReserved,
    )
}
"""Events of the service, agency and application-number streams, by type name."""

EVENTS: Final[Mapping[str, type[Event]]] = {**APPLICATION_EVENTS, **CATALOGUE_EVENTS}
"""Every event type in this module."""


def parse(event_type: str, data: Mapping[str, Any]) -> Event | None:
    """The model of a stored event; None for a type this code does not know (a newer
    one: the application fold records it and goes on)."""
    cls = EVENTS.get(event_type)
    return None if cls is None else cls.model_validate(data)
