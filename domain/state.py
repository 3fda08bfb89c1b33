"""Folding an application's events into its state.

One fold serves the read-model projection and the auditors' point-in-time replay, so
what an auditor reconstructs is, by construction, what citizens and officers saw.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from domain import events as ev
from domain.recorded import Recorded
from domain.wallet import AttachmentRef


class OpenTask(BaseModel):
    task_id: str
    step: str
    step_name: str
    role: str
    outcomes: list[str]
    assigned_at: datetime
    due_at: datetime | None = None
    claimed_by: str | None = None


class Breach(BaseModel):
    scope: str  # step | service
    step: str | None
    due_at: datetime
    at: datetime


class Document(BaseModel):
    number: str
    title: str
    verify_url: str
    issued_at: datetime


class Payment(BaseModel):
    step: str
    amount: int
    payment_code: str
    status: str  # requested | paid | refunded
    reference: str | None = None
    method: str | None = None


class TimelineEntry(BaseModel):
    position: int
    at: datetime
    type: str
    step: str | None = None
    actor: str | None = None
    summary: str


class ApplicationState(BaseModel):
    application_id: str
    service_id: str
    service_version: int
    service_name: str
    agency_code: str
    agency_name: str
    citizen: str
    status: str = "submitted"
    """submitted → in_review → approved | rejected | cancelled."""
    current_step: str | None = None
    result: str | None = None
    data: dict[str, Any] = Field(default_factory=dict)
    outcomes: dict[str, str] = Field(default_factory=dict)
    open_tasks: list[OpenTask] = Field(default_factory=list)
    waiting: dict[str, dict[str, Any]] = Field(default_factory=dict)
    """Steps waiting on the citizen or another system: step -> {kind, ...}."""
    payments: list[Payment] = Field(default_factory=list)
    documents: list[Document] = Field(default_factory=list)
    children: dict[str, dict[str, Any]] = Field(default_factory=dict)
    face_check: dict[str, Any] | None = None
    expected_completion: datetime | None = None
    """When the service's time limit (jangka waktu) falls due."""
    breaches: list[Breach] = Field(default_factory=list)
    incident: str | None = None
    cancellation: dict[str, Any] | None = None
    timeline: list[TimelineEntry] = Field(default_factory=list)
    submitted_at: datetime
    updated_at: datetime
    completed_at: datetime | None = None
    position: int = 0
    provenance: dict[str, str] = Field(default_factory=dict)
    """Each prefilled form field's provenance (``domain.profile``)."""
    channel: str = "online"
    """Where it was filed: online, counter, kiosk or mobile (``domain.channels``)."""
    filed_by: str | None = None
    """The officer who filed it for the citizen (counter and mobile)."""
    location: str | None = None
    """Where staff filed it: the counter, or the mobile service's stop or route."""
    attachments: list[AttachmentRef] = Field(default_factory=list)
    """Requirement documents from the citizen's wallet (id and hash; the files rest
    encrypted outside the event store)."""
    erased_at: datetime | None = None
    """When the citizen's personal data was erased (crypto-shredding,
    ``commands.erasure``): its personal values read as ``[dihapus]`` since, and its
    documents are revoked."""


def start(event: Recorded, e: ev.ApplicationSubmitted) -> ApplicationState:
    state = ApplicationState(
        application_id=e.application_id,
        service_id=e.service.id,
        service_version=e.service.version,
        service_name=e.service.name,
        agency_code=e.agency.code,
        agency_name=e.agency.name,
        citizen=e.citizen,
        current_step=e.start_step,
        data=dict(e.data),
        provenance=dict(e.provenance),
        submitted_at=event.recorded_at,
        updated_at=event.recorded_at,
        position=event.position,
        channel=e.channel,
        filed_by=e.filed_by,
        location=e.location,
        attachments=list(e.attachments),
    )
    filed = f" (filed by staff, {e.channel})" if e.filed_by else ""
    state.timeline.append(
        TimelineEntry(
            position=event.position,
            at=event.recorded_at,
            type=event.type,
            actor=e.filed_by or e.citizen,
            summary=f"Application submitted for {e.service.name}{filed}",
        )
    )
    return state


def apply(
    state: ApplicationState | None, event: Recorded, *, in_place: bool = False
) -> ApplicationState:
    """Return the state after ``event``. Unknown event types are recorded, never fatal,
    so that older code can fold newer streams. ``in_place`` mutates ``state`` instead of
    copying it: for a caller that owns it (the projector's batch), as copying dominates
    the cost of a fold."""
    e = ev.parse(event.type, event.data)
    if isinstance(e, ev.ApplicationSubmitted):
        return start(event, e)
    if state is None:
        raise ValueError(f"{event.type} before {ev.APPLICATION_SUBMITTED}")
    s = state if in_place else state.model_copy(deep=True)
    step: str | None = event.data.get("step")
    actor: str | None = None
    summary = event.type
    match e:
        case ev.TaskAssigned():
            s.status = "in_review"
            s.current_step = step
            s.open_tasks.append(
                OpenTask(
                    task_id=e.task_id,
                    step=e.step,
                    step_name=e.step_name,
                    role=e.role,
                    outcomes=list(e.outcomes),
                    assigned_at=event.recorded_at,
                    due_at=e.due_at,
                )
            )
            summary = f"{e.step_name}: task assigned to {e.role}"
        case ev.TaskCompleted():
            s.open_tasks = [t for t in s.open_tasks if t.task_id != e.task_id]
            s.outcomes[e.step] = e.outcome
            actor = e.actor.subject
            summary = f"{e.step_name or step}: {e.outcome}"
            if e.comment:
                summary += f" — {e.comment}"
        case ev.DecisionTaken():
            s.current_step = e.target
            why = f"condition {e.condition!r} held" if e.condition else "default"
            if e.on_error:
                why = f"condition {e.condition!r} could not be evaluated"
            summary = f"{e.step_name or step}: {why} → {e.target}"
        case ev.CitizenNotified():
            summary = f"Citizen notified: {e.message}"
        case ev.ApplicationCompleted():
            s.status = e.result
            s.result = e.result
            s.current_step = step
            s.completed_at = event.recorded_at
            s.open_tasks, s.waiting = [], {}
            summary = f"Application {e.result}"
        case None:
            pass  # a newer event type: recorded in the timeline as it is
        case _:
            summary, actor = _apply_engine_event(s, e, event.recorded_at)
    s.status = _status(s)
    s.updated_at = event.recorded_at
    s.position = event.position
    s.timeline.append(
        TimelineEntry(
            position=event.position,
            at=event.recorded_at,
            type=event.type,
            step=step,
            actor=actor,
            summary=summary,
        )
    )
    return s


WAITING_STATUS = {
    "correction": "awaiting_correction",
    "payment": "awaiting_payment",
    "external": "awaiting_event",
    "subservice": "awaiting_subservice",
    "visit": "awaiting_visit",
}


def _status(s: ApplicationState) -> str:
    """The status follows from the state: a result, an incident, an officer's task,
    or what else the flow waits on."""
    if s.result:
        return s.result
    if s.incident:
        return "incident"
    if s.open_tasks:
        return "in_review"
    for w in s.waiting.values():
        return WAITING_STATUS.get(w["kind"], "in_progress")
    return s.status if s.status in ("submitted", "in_review") else "in_review"


def _apply_engine_event(s: ApplicationState, e: ev.Event, at: datetime) -> tuple[str, str | None]:
    """The steps beyond review/decision/notify. Returns (summary, actor)."""
    step: str = getattr(e, "step", None) or ""
    match e:
        case ev.DeadlineSet():
            s.expected_completion = datetime.fromisoformat(e.due_at)
            return f"Expected completion {e.due_at[:10]}", None
        case ev.ReminderSent():
            return f"{step}: reminder, due {e.due_at[:16]}", None
        case ev.SlaBreached():
            s.breaches.append(Breach(scope=e.scope, step=step, due_at=e.due_at, at=at))
            what = "the service's time limit" if e.scope == "service" else f"{step}'s deadline"
            return f"Deadline passed: {what}", None
        case ev.TaskClaimed():
            for t in s.open_tasks:
                if t.task_id == e.task_id:
                    t.claimed_by = e.by
            return f"{step}: claimed by {e.by}", e.by
        case ev.TaskReassigned():
            for t in s.open_tasks:
                if t.task_id == e.task_id:
                    t.role, t.claimed_by = e.to_role, None
            return f"{step}: escalated from {e.from_role} to {e.to_role}", None
        case ev.TaskCancelled():
            s.open_tasks = [t for t in s.open_tasks if t.task_id != e.task_id]
            return f"{step}: task withdrawn ({e.reason})", None
        case ev.BranchesStarted():
            return f"{step}: parallel branches {', '.join(e.branches)}", None
        case ev.BranchesJoined():
            return f"{step}: branches joined ({', '.join(e.finished)})", None
        case ev.CorrectionRequested():
            s.current_step = step
            s.waiting[step] = {
                "kind": "correction",
                "fields": list(e.fields),
                "reason": e.reason,
                "due_at": e.due_at,
            }
            return f"Returned for correction: {e.reason} ({', '.join(e.fields)})", e.by
        case ev.CorrectionSubmitted():
            s.waiting.pop(step, None)
            s.data.update(e.data)
            return f"Correction submitted: {', '.join(e.fields)}", e.by
        case ev.CorrectionAbandoned():
            s.waiting.pop(step, None)
            return "No correction within the time allowed", None
        case ev.PaymentRequested():
            s.current_step = step
            s.waiting[step] = {
                "kind": "payment",
                "amount": e.amount,
                "payment_code": e.payment_code,
            }
            s.payments.append(
                Payment(
                    step=step,
                    amount=e.amount,
                    payment_code=e.payment_code,
                    status="requested",
                )
            )
            return f"Fee of Rp {e.amount:,} requested (code {e.payment_code})", None
        case ev.PaymentReceived():
            s.waiting.pop(step, None)
            for p in s.payments:
                if p.step == step and p.status == "requested":
                    p.status, p.reference, p.method = "paid", e.reference, e.method
            return f"Fee of Rp {e.amount:,} paid ({e.method})", e.by
        case ev.PaymentWaived():
            return f"{step}: no fee due", None
        case ev.RefundRecorded():
            for p in s.payments:
                if p.status == "paid":
                    p.status = "refunded"
            return f"Refund of Rp {e.amount:,} recorded", None
        case ev.DocumentIssued():
            s.documents.append(
                Document(
                    number=e.number,
                    title=e.title,
                    verify_url=e.verify_url,
                    issued_at=e.issued_at,
                )
            )
            return f"Document issued: {e.title} no. {e.number}", None
        case ev.WaitingForEvent():
            s.current_step = step
            s.waiting[step] = {"kind": "external", "event": e.event, "due_at": e.due_at}
            return f"Waiting for {e.event}", None
        case ev.ExternalEventReceived():
            s.waiting.pop(step, None)
            s.data.update(e.data)
            return f"{e.event} received", e.by
        case ev.ExternalEventTimedOut():
            s.waiting.pop(step, None)
            return f"{e.event} did not arrive in time", None
        case ev.AppointmentRequested():
            s.current_step = step
            s.waiting[step] = {
                "kind": "visit",
                "purpose": e.purpose,
                "locations": list(e.locations),
                "due_at": e.due_at,
            }
            return f"Visit in person requested: {e.purpose}, by {e.due_at[:10]}", None
        case ev.VisitRecorded():
            s.waiting.pop(step, None)
            return f"Visit recorded: {e.outcome.replace('_', ' ')}", e.by
        case ev.VisitMissed():
            s.waiting.pop(step, None)
            return "The citizen did not come in time", None
        case ev.SubserviceStarted():
            s.current_step = step
            s.waiting[step] = {"kind": "subservice", "child": e.child_application_id}
            s.children[step] = {
                "application_id": e.child_application_id,
                "service": e.service,
                "result": None,
            }
            return f"Started {e.service} as {e.child_application_id}", None
        case ev.SubserviceCompleted():
            s.waiting.pop(step, None)
            s.children[step]["result"] = e.result
            s.outcomes[step] = e.result
            return f"{e.child_application_id} {e.result}", None
        case ev.FaceVerified():
            s.face_check = {
                "outcome": e.outcome,
                "backend": e.backend,
                "distance": e.distance,
            }
            s.outcomes[step] = e.outcome
            return f"Face check: {e.outcome}", None
        case ev.CancellationRequested():
            s.cancellation = {"reason": e.reason, "by": e.by}
            return f"Cancellation requested: {e.reason}" if e.reason else (
                "Cancellation requested"
            ), e.by
        case ev.IncidentRaised():
            s.incident = e.error
            return f"Incident: {e.error}", None
        case ev.IncidentResolved():
            s.incident = None
            return "Incident resolved; retried", None
    return e.TYPE, None


def fold(events: list[Recorded]) -> ApplicationState | None:
    state: ApplicationState | None = None
    for e in events:
        state = apply(state, e, in_place=True)  # the fold owns every state it makes
    return state
