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


def apply(state: ApplicationState | None, event: EventLike) -> ApplicationState:
    """Return the state after ``event``. Unknown event types are recorded, never fatal,
    so that older code can fold newer streams."""
    if event.type == ev.APPLICATION_SUBMITTED:
        return start(event)
    if state is None:
        raise ValueError(f"{event.type} before {ev.APPLICATION_SUBMITTED}")
    s = state.model_copy(deep=True)
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
            summary = f"{d.get('step_name', step)}: {why} → {d['target']}"
        case ev.CITIZEN_NOTIFIED:
            summary = f"Citizen notified: {d['message']}"
        case ev.APPLICATION_COMPLETED:
            s.status = d["result"]
            s.result = d["result"]
            s.current_step = step
            s.completed_at = event.recorded_at
            summary = f"Application {d['result']}"
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


def fold(events: list[EventLike]) -> ApplicationState | None:
    state: ApplicationState | None = None
    for e in events:
        state = apply(state, e)
    return state
