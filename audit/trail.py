"""An application's events as an auditor sees them: each with its actor, summary and
whether the hash chain verifies up to it, and the application's state at any point of
its history. Both fold events with the projection's own fold (``domain.state.apply``),
so what an auditor reconstructs is what citizens and officers saw."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from domain import events as ev
from domain import state as application_fold
from domain.refusals import Invalid
from eventstore import chain
from eventstore.port import EventStore, RecordedEvent


@dataclass(frozen=True)
class AuditedEvent:
    position: int
    version: int
    type: str
    recorded_at: datetime
    actor: str | None
    hash: str
    prev_hash: str
    verified: bool
    """Whether the chain verifies up to and including this event."""
    summary: str


def application_events(store: EventStore, application_id: str) -> list[RecordedEvent]:
    return store.read_stream(ev.application_stream(application_id))


def audit_trail(
    events: Sequence[RecordedEvent], as_stored: Sequence[RecordedEvent] | None = None
) -> tuple[list[AuditedEvent], chain.Break | None]:
    """Every event with its actor and summary (from the projection's fold) and whether
    the chain verifies up to it; and the first break, if any. ``as_stored``: the same
    events as the backend keeps them (personal fields encrypted,
    ``eventstore.personal.stored``), which is what the chain covers; default ``events``."""
    walker = chain.ChainWalker()
    first_break: chain.Break | None = None
    state: application_fold.ApplicationState | None = None
    out: list[AuditedEvent] = []
    checked = events if as_stored is None else as_stored
    for index, event in enumerate(events):
        problem = walker.check(checked[index] if index < len(checked) else event)
        if problem is not None and first_break is None:
            first_break = problem
        actor, summary = _actor(event), event.type
        try:
            state = application_fold.apply(state, event)
            entry = state.timeline[-1] if state.timeline else None
            if entry is not None and entry.position == event.position:
                actor, summary = entry.actor or actor, entry.summary
        except Exception:  # noqa: S110 - a malformed event is still listed, as stored
            pass
        out.append(
            AuditedEvent(
                position=event.position,
                version=event.version,
                type=event.type,
                recorded_at=event.recorded_at,
                actor=actor,
                hash=event.hash,
                prev_hash=event.prev_hash,
                verified=first_break is None,
                summary=summary,
            )
        )
    return out, first_break


def _actor(event: RecordedEvent) -> str | None:
    """Who caused the event, where the event says so (None for an unreadable row)."""
    try:
        data, metadata = event.data, event.metadata
    except (ValueError, TypeError):  # reported by the chain check as a broken link
        return None
    if not isinstance(data, dict) or not isinstance(metadata, dict):
        return None
    actor = data.get("actor")
    if isinstance(actor, dict) and isinstance(actor.get("subject"), str):
        return str(actor["subject"])
    for candidate in (actor, data.get("by"), metadata.get("actor")):
        if isinstance(candidate, str):
            return candidate
    if event.type == ev.APPLICATION_SUBMITTED:
        # Filed at the counter or by the mobile service: the officer acted.
        for who in (data.get("filed_by"), data.get("citizen")):
            if isinstance(who, str):
                return who
    return None


# -- state at a point in time --------------------------------------------------------

_POSITION = re.compile(r"^\d+$")


class BadPointInTime(Invalid):
    """``at`` is neither a position nor a timestamp."""


def parse_at(text: str) -> int | datetime:
    """``at``: an event-store position (digits) or an ISO 8601 timestamp (UTC when it
    carries no offset)."""
    value = text.strip()
    if _POSITION.match(value):
        return int(value)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise BadPointInTime(
            "at must be an event-store position (an integer) or an ISO 8601 timestamp "
            f"such as 2026-11-28T08:00:00Z, got {text!r}"
        ) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


@dataclass(frozen=True)
class StateAt:
    state: application_fold.ApplicationState | None
    """None when the point lies before the application was submitted."""
    events_applied: int
    last_position: int | None


def state_at(events: Sequence[RecordedEvent], at: int | datetime | None) -> StateAt:
    """Fold the events up to ``at`` (a position, or a time: events recorded at or
    before it) with the projection's fold."""
    state: application_fold.ApplicationState | None = None
    applied: list[RecordedEvent] = []
    for event in events:
        if isinstance(at, int) and event.position > at:
            break
        if isinstance(at, datetime) and event.recorded_at > at:
            break
        state = application_fold.apply(state, event)
        applied.append(event)
    return StateAt(state, len(applied), applied[-1].position if applied else None)
