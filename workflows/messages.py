"""Inputs, updates and query results of the application workflow (pydantic, so the
pydantic data converter carries them, definition included, through Temporal)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from domain.calendar import WorkingCalendar
from domain.definition import ServiceDefinition
from domain.wallet import AttachmentRef

WORKFLOW = "ApplicationWorkflow"
"""The interpreter workflow's Temporal name (``workflows.application``); a subservice
step starts its child application by it."""
WITHDRAW = "withdraw"
"""Its signal from a parent application that was withdrawn."""


class Actor(BaseModel):
    subject: str
    role: str
    agency: str | None = None


class ApplicationInput(BaseModel):
    application_id: str
    definition: ServiceDefinition
    """The published version the application started with; it keeps it to the end."""
    data: dict[str, Any]
    citizen: str
    calendar: WorkingCalendar = Field(default_factory=WorkingCalendar)
    """The agency's working calendar when the application started: deadlines count on it."""
    selfie_ref: str | None = None
    """A selfie in the transient store, for a face_verify step; deleted after the check."""
    second_selfie_ref: str | None = None
    """The optional head-turn check: a second selfie, taken after the head ``turn``."""
    turn: str | None = None
    parent: str | None = None
    """The application that started this one through a subservice step."""
    face_task_queue: str = "lincah-face"
    provenance: dict[str, str] = Field(default_factory=dict)
    """Prefilled form field -> its provenance (``domain.profile``), for the first event."""
    channel: str = "online"
    """Where it was filed (``domain.channels``): online, counter, kiosk or mobile."""
    filed_by: str | None = None
    """The officer's account id when staff filed it on the citizen's behalf."""
    location: str | None = None
    """Where staff filed it: the counter, or the mobile service's stop or route."""
    attachments: list[AttachmentRef] = Field(default_factory=list)
    """Requirement documents attached from the citizen's wallet (ids and hashes)."""


class CompleteTask(BaseModel):
    task_id: str
    outcome: str
    comment: str = Field(default="", max_length=2000)
    fields: list[str] = Field(default_factory=list)
    """For an outcome that returns the application for correction: what to fix."""
    actor: Actor


class ClaimTask(BaseModel):
    task_id: str
    actor: Actor


class SubmitCorrection(BaseModel):
    actor: Actor
    data: dict[str, Any]


class RecordPayment(BaseModel):
    actor: Actor
    amount: int
    method: str  # counter | online
    reference: str = Field(min_length=1, max_length=100)
    """Receipt number at the counter, or the provider's reference (idempotency key)."""


class DeliverEvent(BaseModel):
    actor: Actor
    event: str
    data: dict[str, Any] = Field(default_factory=dict)


class RecordVisit(BaseModel):
    """The outcome of the citizen's visit for an appointment step."""

    actor: Actor
    step: str
    outcome: Literal["served", "no_show"]
    note: str = Field(default="", max_length=2000)


class CancelApplication(BaseModel):
    actor: Actor
    reason: str = Field(default="", max_length=2000)


class RetryIncident(BaseModel):
    actor: Actor


class CommandResult(BaseModel):
    """What a command answers: the event-store position to read your own write."""

    application_id: str
    position: int
    status: str


class TaskView(BaseModel):
    task_id: str
    step: str
    role: str
    outcomes: list[str]
    completed: bool = False
    outcome: str | None = None
    claimed_by: str | None = None


class Waiting(BaseModel):
    """Something the flow waits for besides an officer's task."""

    step: str
    kind: str  # correction | payment | external | subservice | visit
    detail: dict[str, Any] = Field(default_factory=dict)


class LiveState(BaseModel):
    application_id: str
    service_id: str
    service_version: int
    status: str
    current_step: str | None
    outcomes: dict[str, str]
    tasks: list[TaskView]
    waiting: list[Waiting] = Field(default_factory=list)
    incident: str | None = None
    position: int
