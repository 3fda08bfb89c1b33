"""Inputs, updates and query results of the application workflow (pydantic, so the
pydantic data converter carries them, definition included, through Temporal)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from domain.definition import ServiceDefinition


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


class CompleteTask(BaseModel):
    task_id: str
    outcome: str
    comment: str = Field(default="", max_length=2000)
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


class LiveState(BaseModel):
    application_id: str
    service_id: str
    service_version: int
    status: str
    current_step: str | None
    outcomes: dict[str, str]
    tasks: list[TaskView]
    position: int
