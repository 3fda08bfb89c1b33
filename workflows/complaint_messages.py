"""Input, updates and answers of the complaint workflow (pydantic, carried by the
pydantic data converter)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from domain.calendar import WorkingCalendar
from domain.complaints import Anonymity, Subject
from workflows.messages import Actor

COMPLAINT_WORKFLOW = "ComplaintWorkflow"


class ComplaintInput(BaseModel):
    complaint_id: str
    agency: str
    calendar: WorkingCalendar = Field(default_factory=WorkingCalendar)
    """The handling agency's working calendar when the complaint was filed."""
    subject: Subject
    text: str = Field(min_length=1, max_length=10_000)
    attachments: list[str] = Field(default_factory=list)
    complainant: str | None = None
    """The complainant's account id; None when anonymous (nobody can answer for them)."""
    anonymity: Anonymity = "named"
    channel: str = "api"


class Verify(BaseModel):
    actor: Actor
    decision: Literal["accept", "ask_info", "reject", "forward"]
    reason: str = Field(default="", max_length=2000)
    to_agency: str | None = None
    """For ``forward``: the competent agency."""
    to_calendar: WorkingCalendar | None = None
    """For ``forward``: the receiving agency's calendar (its clock starts on forwarding)."""


class ProvideInfo(BaseModel):
    actor: Actor
    text: str = Field(min_length=1, max_length=10_000)
    attachments: list[str] = Field(default_factory=list)


class FollowUp(BaseModel):
    actor: Actor
    unit: str = Field(min_length=1, max_length=200)
    text: str = Field(min_length=1, max_length=10_000)


class Respond(BaseModel):
    actor: Actor
    decision: Literal["accept", "reopen"]
    comment: str = Field(default="", max_length=2000)


class Rate(BaseModel):
    actor: Actor
    score: int = Field(ge=1, le=5)
    comment: str = Field(default="", max_length=2000)


class ComplaintResult(BaseModel):
    """What a command answers: the position to read your own write, and the status."""

    complaint_id: str
    position: int
    status: str
