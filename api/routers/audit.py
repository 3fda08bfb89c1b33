"""Auditors' replay: an application's state at any point of its history, and every
event with who caused it, when, and whether its hash chain verifies. Only the auditor
role may call these."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, status
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from api import errors, security
from api.deps import AgencyScope, StoreDep, require_role
from audit import trail
from domain.state import ApplicationState
from eventstore.personal import stored
from eventstore.port import RecordedEvent

router = APIRouter(prefix="/audit", tags=["audit"])

Auditor = Annotated[security.Principal, Depends(require_role("auditor"))]


class PointInTime(BaseModel):
    position: int | None = None
    time: datetime | None = None


class ReplayedState(BaseModel):
    application_id: str
    at: PointInTime
    events_applied: int
    """Events of the application folded to reach ``state``."""
    last_position: int | None
    state: ApplicationState | None
    """None when ``at`` lies before the application was submitted."""


class AuditEvent(BaseModel):
    position: int
    version: int
    type: str
    recorded_at: datetime
    actor: str | None
    summary: str
    hash: str
    prev_hash: str
    verified: bool
    """The hash chain verifies up to and including this event."""


class AuditTrail(BaseModel):
    application_id: str
    chain_intact: bool
    first_break: str | None
    events: list[AuditEvent]


def _events_or_404(
    store: StoreDep, application_id: str, scope: frozenset[str] | None
) -> list[RecordedEvent]:
    # Application numbers begin with their agency's code (BWI-2026-000001).
    if scope is not None and application_id.split("-", 1)[0] not in scope:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"there is no application {application_id}")
    events = trail.application_events(store, application_id)
    if not events:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"there is no application {application_id}")
    return events


@router.get(
    "/applications/{application_id}", response_model=ReplayedState, responses=errors.answers(404)
)
async def replay_application(
    application_id: str,
    _: Auditor,
    scope: AgencyScope,
    store: StoreDep,
    at: Annotated[
        str | None,
        Query(
            description="An event-store position, or an ISO 8601 timestamp (UTC when "
            "without offset); default: now",
            examples=["2026-11-28T08:30:00Z", "42"],
            max_length=64,
        ),
    ] = None,
) -> ReplayedState:
    """The application's state at ``at``, rebuilt by folding its events with the same
    fold the projections use."""
    point = None if at is None else trail.parse_at(at)
    events = await run_in_threadpool(_events_or_404, store, application_id, scope)
    replayed = trail.state_at(events, point)
    return ReplayedState(
        application_id=application_id,
        at=PointInTime(
            position=point if isinstance(point, int) else None,
            time=point if isinstance(point, datetime) else None,
        ),
        events_applied=replayed.events_applied,
        last_position=replayed.last_position,
        state=replayed.state,
    )


@router.get(
    "/applications/{application_id}/events",
    response_model=AuditTrail,
    responses=errors.answers(404),
)
async def application_events(
    application_id: str, _: Auditor, scope: AgencyScope, store: StoreDep
) -> AuditTrail:
    """Every event of the application: actor, time, hash, and whether the chain
    verifies up to it."""
    events = await run_in_threadpool(_events_or_404, store, application_id, scope)
    as_stored = await run_in_threadpool(trail.application_events, stored(store), application_id)
    audited, broken = trail.audit_trail(events, as_stored)
    return AuditTrail(
        application_id=application_id,
        chain_intact=broken is None,
        first_break=None if broken is None else str(broken),
        events=[AuditEvent(**asdict(e)) for e in audited],
    )
