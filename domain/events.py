"""Domain event types, stream names and deterministic event ids.

Event ids are UUIDv5 of the stream and the event's index in it, so an activity that is
retried, or a workflow that is replayed, produces the very same ids and the event
store's idempotent append writes nothing twice.
"""

from __future__ import annotations

import uuid
from typing import Final

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

# Agencies (stream ``agency-<CODE>``): the working calendar deadlines are counted on,
# and the maklumat pelayanan (the agency head's public service promise).
AGENCY_CALENDAR_SET: Final = "AgencyCalendarSet"
AGENCY_MAKLUMAT_SET: Final = "AgencyMaklumatSet"

# Application numbers (stream ``appno-<AGENCY>-<YEAR>``): the stream version is the
# sequence, so optimistic concurrency hands out each number exactly once.
APPLICATION_NUMBER_RESERVED: Final = "ApplicationNumberReserved"

_NAMESPACE: Final = uuid.UUID("6f0c6a52-3d0e-4f55-9a54-9a1f1c1e7a11")


def application_stream(application_id: str) -> str:
    return f"application-{application_id}"


def service_stream(service_id: str) -> str:
    return f"service-{service_id}"


def agency_stream(agency_code: str) -> str:
    return f"agency-{agency_code}"


def document_number_stream(agency_code: str, code: str, year: int) -> str:
    return f"docno-{agency_code}-{code}-{year}"


def number_stream(agency_code: str, year: int) -> str:
    return f"appno-{agency_code}-{year}"


def application_number(agency_code: str, year: int, sequence: int) -> str:
    """Human-readable application number, e.g. ``BWI-2026-000123``."""
    return f"{agency_code}-{year}-{sequence:06d}"


def event_id(stream: str, index: int) -> uuid.UUID:
    """The id of the ``index``-th event a deterministic writer appends to ``stream``."""
    return uuid.uuid5(_NAMESPACE, f"{stream}#{index}")
