"""Complaints (pengaduan) on the SP4N-LAPOR rules (Perpres 76/2013, PermenPANRB 62/2018).

Pure: the complaint's events (stream ``complaint-<id>``, appended by
``workflows.complaint``), its states, the SP4N-LAPOR deadlines in working days on the
handling agency's calendar, and the fold the read models use.

The clock: verification (accept, ask for information, reject, forward) within 3
working days of filing (or of the information asked for, or of forwarding, at the
receiving agency); the follow-up (tindak lanjut) within 5 working days of verification
(or of a reopening); a follow-up the complainant does not answer closes by itself 10
working days after it. A missed deadline is a breach, escalated to the supervisor.
"""

from __future__ import annotations

import statistics
from datetime import datetime
from typing import Any, ClassVar, Final, Literal

from pydantic import BaseModel, ConfigDict, Field

from domain import calendar
from domain.calendar import WorkingCalendar
from domain.definition import Duration
from domain.events import Event

Phase = Literal["verification", "follow_up", "response"]
Anonymity = Literal["named", "anonymous", "confidential"]
SubjectKind = Literal["service", "application", "officer", "unit"]

DEADLINES: Final[dict[str, int]] = {"verification": 3, "follow_up": 5, "response": 10}
"""Working days per phase: ``response`` is the wait before the automatic close."""
ESCALATE_TO: Final = "supervisor"
STAFF_ROLES: Final = ("complaint_officer", "supervisor")
"""Who handles complaints at the agency (verification, follow-up)."""

# States
RECEIVED: Final = "received"  # waits for verification
INFO_REQUESTED: Final = "info_requested"  # waits for the complainant's information
VERIFIED: Final = "verified"  # accepted; waits for the follow-up
FOLLOWED_UP: Final = "followed_up"  # waits for the complainant (or the automatic close)
CLOSED: Final = "closed"
REJECTED: Final = "rejected"
OPEN_STATES: Final = (RECEIVED, INFO_REQUESTED, VERIFIED, FOLLOWED_UP)

# Event types
COMPLAINT_FILED: Final = "ComplaintFiled"
COMPLAINT_DEADLINE_SET: Final = "ComplaintDeadlineSet"
COMPLAINT_VERIFIED: Final = "ComplaintVerified"
COMPLAINT_INFO_PROVIDED: Final = "ComplaintInfoProvided"
COMPLAINT_FORWARDED: Final = "ComplaintForwarded"
COMPLAINT_FOLLOWED_UP: Final = "ComplaintFollowedUp"
COMPLAINT_RESPONDED: Final = "ComplaintResponded"
COMPLAINT_CLOSED: Final = "ComplaintClosed"
COMPLAINT_RATED: Final = "ComplaintRated"
COMPLAINT_BREACHED: Final = "ComplaintDeadlineBreached"


def complaint_stream(complaint_id: str) -> str:
    return f"complaint-{complaint_id}"


def due(cal: WorkingCalendar, start: datetime, phase: Phase) -> datetime:
    """The end of the phase's last working day, counted from ``start``'s next day."""
    return calendar.add(cal, start, Duration(amount=DEADLINES[phase]))


class Subject(BaseModel):
    """What the complaint is about: a service, an application, an officer or a unit."""

    model_config = ConfigDict(frozen=True)
    kind: SubjectKind
    ref: str = Field(min_length=1, max_length=200)


class ComplaintFiled(Event):
    TYPE: ClassVar[str] = COMPLAINT_FILED
    complaint_id: str
    agency: str
    subject: Subject
    text: str
    attachments: list[str] = Field(default_factory=list)
    complainant: str | None = None
    """The account id; None for an anonymous complaint."""
    anonymity: Anonymity = "named"
    channel: str = "api"


class ComplaintDeadlineSet(Event):
    TYPE: ClassVar[str] = COMPLAINT_DEADLINE_SET
    phase: Phase
    agency: str
    due_at: str


class ComplaintDeadlineBreached(Event):
    TYPE: ClassVar[str] = COMPLAINT_BREACHED
    phase: Phase
    agency: str
    due_at: str
    escalated_to: str = ESCALATE_TO


class ComplaintVerified(Event):
    """The agency's verification: accepted, information asked for, or rejected."""

    TYPE: ClassVar[str] = COMPLAINT_VERIFIED
    decision: Literal["accepted", "info_requested", "rejected"]
    by: str
    reason: str = ""


class ComplaintInfoProvided(Event):
    TYPE: ClassVar[str] = COMPLAINT_INFO_PROVIDED
    text: str
    attachments: list[str] = Field(default_factory=list)


class ComplaintForwarded(Event):
    """Sent to the competent agency; its verification clock starts now."""

    TYPE: ClassVar[str] = COMPLAINT_FORWARDED
    from_agency: str
    to_agency: str
    by: str
    reason: str = ""


class ComplaintFollowedUp(Event):
    TYPE: ClassVar[str] = COMPLAINT_FOLLOWED_UP
    by: str
    unit: str
    text: str


class ComplaintResponded(Event):
    TYPE: ClassVar[str] = COMPLAINT_RESPONDED
    decision: Literal["accept", "reopen"]
    comment: str = ""


class ComplaintClosed(Event):
    TYPE: ClassVar[str] = COMPLAINT_CLOSED
    reason: Literal["accepted", "no_response", "rejected"]


class ComplaintRated(Event):
    TYPE: ClassVar[str] = COMPLAINT_RATED
    score: int = Field(ge=1, le=5)
    comment: str = ""


EVENTS: Final[dict[str, type[Event]]] = {
    m.TYPE: m
    for m in (
        ComplaintFiled,
        ComplaintDeadlineSet,
        ComplaintDeadlineBreached,
        ComplaintVerified,
        ComplaintInfoProvided,
        ComplaintForwarded,
        ComplaintFollowedUp,
        ComplaintResponded,
        ComplaintClosed,
        ComplaintRated,
    )
}


# The fold -----------------------------------------------------------------------------
class ComplaintView(BaseModel):
    """One complaint as the inbox, the history and the dashboard read it."""

    complaint_id: str
    agency: str
    subject: Subject
    text: str
    attachments: list[str] = Field(default_factory=list)
    complainant: str | None
    anonymity: Anonymity
    channel: str
    status: str = RECEIVED
    filed_at: str = ""
    due_at: str | None = None
    phase: Phase | None = "verification"
    breaches: list[str] = Field(default_factory=list)
    """The phases whose deadline passed (one entry per breach)."""
    escalated_to: str | None = None
    forwarded_from: list[str] = Field(default_factory=list)
    followed_up_at: str | None = None
    follow_up: str | None = None
    unit: str | None = None
    reopened: int = 0
    closed_reason: str | None = None
    rating: int | None = None


def apply(
    view: ComplaintView | None, event_type: str, data: dict[str, Any], at: str
) -> ComplaintView:
    """Fold one event (``at``: its recorded time, ISO 8601) into the view."""
    if event_type == COMPLAINT_FILED:
        f = ComplaintFiled.model_validate(data)
        return ComplaintView(
            complaint_id=f.complaint_id,
            agency=f.agency,
            subject=f.subject,
            text=f.text,
            attachments=list(f.attachments),
            complainant=f.complainant,
            anonymity=f.anonymity,
            channel=f.channel,
            filed_at=at,
        )
    if view is None:
        raise ValueError(f"{event_type} before ComplaintFiled")
    v = view.model_copy(deep=True)
    if event_type == COMPLAINT_DEADLINE_SET:
        d = ComplaintDeadlineSet.model_validate(data)
        v.phase, v.due_at = d.phase, d.due_at
    elif event_type == COMPLAINT_BREACHED:
        b = ComplaintDeadlineBreached.model_validate(data)
        v.breaches.append(b.phase)
        v.escalated_to = b.escalated_to
    elif event_type == COMPLAINT_VERIFIED:
        decision = ComplaintVerified.model_validate(data).decision
        v.status = {"accepted": VERIFIED, "info_requested": INFO_REQUESTED}.get(decision, REJECTED)
        v.due_at = v.phase = None
        v.escalated_to = None
    elif event_type == COMPLAINT_INFO_PROVIDED:
        v.status = RECEIVED
        v.attachments += ComplaintInfoProvided.model_validate(data).attachments
    elif event_type == COMPLAINT_FORWARDED:
        fw = ComplaintForwarded.model_validate(data)
        v.forwarded_from.append(fw.from_agency)
        v.agency, v.status, v.escalated_to = fw.to_agency, RECEIVED, None
    elif event_type == COMPLAINT_FOLLOWED_UP:
        fu = ComplaintFollowedUp.model_validate(data)
        v.status, v.followed_up_at, v.follow_up, v.unit = FOLLOWED_UP, at, fu.text, fu.unit
        v.escalated_to = None
    elif event_type == COMPLAINT_RESPONDED:
        if ComplaintResponded.model_validate(data).decision == "reopen":
            v.status, v.reopened = VERIFIED, v.reopened + 1
    elif event_type == COMPLAINT_CLOSED:
        reason = ComplaintClosed.model_validate(data).reason
        v.status = REJECTED if reason == "rejected" else CLOSED
        v.closed_reason, v.due_at, v.phase = reason, None, None
    elif event_type == COMPLAINT_RATED:
        v.rating = ComplaintRated.model_validate(data).score
    return v


def stats(views: list[ComplaintView]) -> dict[str, Any]:
    """The dashboard's figures: volume, by status, the median time from filing to the
    (first) follow-up, and deadline breaches per responsible unit (``unassigned`` while
    no unit has followed up)."""
    hours = sorted(
        (
            datetime.fromisoformat(v.followed_up_at) - datetime.fromisoformat(v.filed_at)
        ).total_seconds()
        / 3600
        for v in views
        if v.followed_up_at and v.filed_at
    )
    by_status: dict[str, int] = {}
    breaches: dict[str, int] = {}
    for v in views:
        by_status[v.status] = by_status.get(v.status, 0) + 1
        if v.breaches:
            unit = v.unit or "unassigned"
            breaches[unit] = breaches.get(unit, 0) + len(v.breaches)
    return {
        "volume": len(views),
        "by_status": by_status,
        "median_hours_to_follow_up": round(statistics.median(hours), 2) if hours else None,
        "breaches_by_unit": breaches,
    }
