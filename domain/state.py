"""Folding an application's events into its state.

One fold serves the read-model projection and the auditors' point-in-time replay, so
what an auditor reconstructs is, by construction, what citizens and officers saw.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from pydantic import BaseModel, Field

from domain import events as ev


class EventLike(Protocol):
    @property
    def type(self) -> str: ...
    @property
    def data(self) -> dict[str, Any]: ...
    @property
    def position(self) -> int: ...
    @property
    def recorded_at(self) -> datetime: ...


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


def start(event: EventLike) -> ApplicationState:
    d = event.data
    state = ApplicationState(
        application_id=d["application_id"],
        service_id=d["service"]["id"],
        service_version=d["service"]["version"],
        service_name=d["service"]["name"],
        agency_code=d["agency"]["code"],
        agency_name=d["agency"]["name"],
        citizen=d["citizen"],
        current_step=d.get("start_step"),
        data=d.get("data", {}),
        submitted_at=event.recorded_at,
        updated_at=event.recorded_at,
        position=event.position,
    )
    state.timeline.append(
        TimelineEntry(
            position=event.position,
            at=event.recorded_at,
            type=event.type,
            actor=d["citizen"],
            summary=f"Application submitted for {d['service']['name']}",
        )
    )
    return state


def apply(
    state: ApplicationState | None, event: EventLike, *, in_place: bool = False
) -> ApplicationState:
    """Return the state after ``event``. Unknown event types are recorded, never fatal,
    so that older code can fold newer streams. ``in_place`` mutates ``state`` instead of
    copying it: for a caller that owns it (the projector's batch), as copying dominates
    the cost of a fold."""
    if event.type == ev.APPLICATION_SUBMITTED:
        return start(event)
    if state is None:
        raise ValueError(f"{event.type} before {ev.APPLICATION_SUBMITTED}")
    s = state if in_place else state.model_copy(deep=True)
    d = event.data
    step: str | None = d.get("step")
    actor: str | None = None
    summary = event.type
    match event.type:
        case ev.TASK_ASSIGNED:
            s.status = "in_review"
            s.current_step = step
            s.open_tasks.append(
                OpenTask(
                    task_id=d["task_id"],
                    step=d["step"],
                    step_name=d["step_name"],
                    role=d["role"],
                    outcomes=d["outcomes"],
                    assigned_at=event.recorded_at,
                    due_at=d.get("due_at"),
                )
            )
            summary = f"{d['step_name']}: task assigned to {d['role']}"
        case ev.TASK_COMPLETED:
            s.open_tasks = [t for t in s.open_tasks if t.task_id != d["task_id"]]
            s.outcomes[d["step"]] = d["outcome"]
            actor = d["actor"]["subject"]
            summary = f"{d.get('step_name', step)}: {d['outcome']}"
            if d.get("comment"):
                summary += f" — {d['comment']}"
        case ev.DECISION_TAKEN:
            s.current_step = d["target"]
            why = f"condition {d['condition']!r} held" if d.get("condition") else "default"
            if d.get("on_error"):
                why = f"condition {d['condition']!r} could not be evaluated"
            summary = f"{d.get('step_name', step)}: {why} → {d['target']}"
        case ev.CITIZEN_NOTIFIED:
            summary = f"Citizen notified: {d['message']}"
        case ev.APPLICATION_COMPLETED:
            s.status = d["result"]
            s.result = d["result"]
            s.current_step = step
            s.completed_at = event.recorded_at
            s.open_tasks, s.waiting = [], {}
            summary = f"Application {d['result']}"
        case _:
            summary, actor = _apply_engine_event(s, event)
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


def _apply_engine_event(s: ApplicationState, event: EventLike) -> tuple[str, str | None]:
    """The steps beyond review/decision/notify. Returns (summary, actor)."""
    d = event.data
    step: str = d.get("step") or ""
    at = event.recorded_at
    match event.type:
        case ev.DEADLINE_SET:
            s.expected_completion = datetime.fromisoformat(d["due_at"])
            return f"Expected completion {d['due_at'][:10]}", None
        case ev.REMINDER_SENT:
            return f"{step}: reminder, due {d['due_at'][:16]}", None
        case ev.SLA_BREACHED:
            s.breaches.append(Breach(scope=d["scope"], step=step, due_at=d["due_at"], at=at))
            what = "the service's time limit" if d["scope"] == "service" else f"{step}'s deadline"
            return f"Deadline passed: {what}", None
        case ev.TASK_CLAIMED:
            for t in s.open_tasks:
                if t.task_id == d["task_id"]:
                    t.claimed_by = d["by"]
            return f"{step}: claimed by {d['by']}", d["by"]
        case ev.TASK_REASSIGNED:
            for t in s.open_tasks:
                if t.task_id == d["task_id"]:
                    t.role, t.claimed_by = d["to_role"], None
            return f"{step}: escalated from {d['from_role']} to {d['to_role']}", None
        case ev.TASK_CANCELLED:
            s.open_tasks = [t for t in s.open_tasks if t.task_id != d["task_id"]]
            return f"{step}: task withdrawn ({d['reason']})", None
        case ev.BRANCHES_STARTED:
            return f"{step}: parallel branches {', '.join(d['branches'])}", None
        case ev.BRANCHES_JOINED:
            return f"{step}: branches joined ({', '.join(d['finished'])})", None
        case ev.CORRECTION_REQUESTED:
            s.current_step = step
            s.waiting[step] = {
                "kind": "correction",
                "fields": d["fields"],
                "reason": d["reason"],
                "due_at": d["due_at"],
            }
            return f"Returned for correction: {d['reason']} ({', '.join(d['fields'])})", d["by"]
        case ev.CORRECTION_SUBMITTED:
            s.waiting.pop(step, None)
            s.data.update(d["data"])
            return f"Correction submitted: {', '.join(d['fields'])}", d["by"]
        case ev.CORRECTION_ABANDONED:
            s.waiting.pop(step, None)
            return "No correction within the time allowed", None
        case ev.PAYMENT_REQUESTED:
            s.current_step = step
            s.waiting[step] = {
                "kind": "payment",
                "amount": d["amount"],
                "payment_code": d["payment_code"],
            }
            s.payments.append(
                Payment(
                    step=step,
                    amount=d["amount"],
                    payment_code=d["payment_code"],
                    status="requested",
                )
            )
            return f"Fee of Rp {d['amount']:,} requested (code {d['payment_code']})", None
        case ev.PAYMENT_RECEIVED:
            s.waiting.pop(step, None)
            for p in s.payments:
                if p.step == step and p.status == "requested":
                    p.status, p.reference, p.method = "paid", d["reference"], d["method"]
            return f"Fee of Rp {d['amount']:,} paid ({d['method']})", d["by"]
        case ev.PAYMENT_WAIVED:
            return f"{step}: no fee due", None
        case ev.REFUND_RECORDED:
            for p in s.payments:
                if p.status == "paid":
                    p.status = "refunded"
            return f"Refund of Rp {d['amount']:,} recorded", None
        case ev.DOCUMENT_ISSUED:
            s.documents.append(
                Document(
                    number=d["number"],
                    title=d["title"],
                    verify_url=d["verify_url"],
                    issued_at=d["issued_at"],
                )
            )
            return f"Document issued: {d['title']} no. {d['number']}", None
        case ev.WAITING_FOR_EVENT:
            s.current_step = step
            s.waiting[step] = {"kind": "external", "event": d["event"], "due_at": d["due_at"]}
            return f"Waiting for {d['event']}", None
        case ev.EXTERNAL_EVENT_RECEIVED:
            s.waiting.pop(step, None)
            s.data.update(d["data"])
            return f"{d['event']} received", d["by"]
        case ev.EXTERNAL_EVENT_TIMED_OUT:
            s.waiting.pop(step, None)
            return f"{d['event']} did not arrive in time", None
        case ev.SUBSERVICE_STARTED:
            s.current_step = step
            s.waiting[step] = {"kind": "subservice", "child": d["child_application_id"]}
            s.children[step] = {
                "application_id": d["child_application_id"],
                "service": d["service"],
                "result": None,
            }
            return f"Started {d['service']} as {d['child_application_id']}", None
        case ev.SUBSERVICE_COMPLETED:
            s.waiting.pop(step, None)
            s.children[step]["result"] = d["result"]
            s.outcomes[step] = d["result"]
            return f"{d['child_application_id']} {d['result']}", None
        case ev.FACE_VERIFIED:
            s.face_check = {
                "outcome": d["outcome"],
                "backend": d["backend"],
                "distance": d["distance"],
            }
            s.outcomes[step] = d["outcome"]
            return f"Face check: {d['outcome']}", None
        case ev.CANCELLATION_REQUESTED:
            s.cancellation = {"reason": d["reason"], "by": d["by"]}
            return f"Cancellation requested: {d['reason']}" if d["reason"] else (
                "Cancellation requested"
            ), d["by"]
        case ev.INCIDENT_RAISED:
            s.incident = d["error"]
            return f"Incident: {d['error']}", None
        case ev.INCIDENT_RESOLVED:
            s.incident = None
            return "Incident resolved; retried", None
    return event.type, None


def fold(events: list[EventLike]) -> ApplicationState | None:
    state: ApplicationState | None = None
    for e in events:
        state = apply(state, e, in_place=True)  # the fold owns every state it makes
    return state
