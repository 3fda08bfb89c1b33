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

# Services (stream ``service-<id>``), written by the API.
SERVICE_DRAFT_SAVED: Final = "ServiceDraftSaved"
SERVICE_VERSION_PUBLISHED: Final = "ServiceVersionPublished"

# Application numbers (stream ``appno-<AGENCY>-<YEAR>``): the stream version is the
# sequence, so optimistic concurrency hands out each number exactly once.
APPLICATION_NUMBER_RESERVED: Final = "ApplicationNumberReserved"

_NAMESPACE: Final = uuid.UUID("6f0c6a52-3d0e-4f55-9a54-9a1f1c1e7a11")


def application_stream(application_id: str) -> str:
    return f"application-{application_id}"


def service_stream(service_id: str) -> str:
    return f"service-{service_id}"


def number_stream(agency_code: str, year: int) -> str:
    return f"appno-{agency_code}-{year}"


def application_number(agency_code: str, year: int, sequence: int) -> str:
    """Human-readable application number, e.g. ``BWI-2026-000123``."""
    return f"{agency_code}-{year}-{sequence:06d}"


def event_id(stream: str, index: int) -> uuid.UUID:
    """The id of the ``index``-th event a deterministic writer appends to ``stream``."""
    return uuid.uuid5(_NAMESPACE, f"{stream}#{index}")
