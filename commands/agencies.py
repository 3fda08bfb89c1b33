"""An agency's settings: its working calendar (weekends and public holidays that deadlines
in working days skip; new applications take the calendar as it is when they start) and its
maklumat pelayanan, the head's public service promise (UU 25/2009 art. 22). Each is an
event of the agency's stream; the newest of its type wins."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from commands.retries import stored_event
from domain import events as ev
from domain.calendar import WorkingCalendar, effective, regional_part
from eventstore.port import EventStore, NewEvent, RecordedEvent


def _latest(store: EventStore, agency_code: str, event_type: str) -> RecordedEvent | None:
    # An agency stream holds a few settings events; the newest of the type wins.
    for e in store.read_stream(ev.agency_stream(agency_code), backwards=True):
        if e.type == event_type:
            return e
    return None


def calendar_of(store: EventStore, agency_code: str) -> WorkingCalendar:
    """The calendar the agency's deadlines count on: the national holidays and cuti
    bersama plus the agency's regional holidays, on its weekend and time zone; the
    national calendar (Saturday/Sunday weekends, WIB) if the agency has set none."""
    last = _latest(store, agency_code, ev.AGENCY_CALENDAR_SET)
    if last is None:
        return effective(WorkingCalendar())
    # Calendars stored before holidays had kinds are plain date lists; they still load.
    return effective(WorkingCalendar.model_validate(last.data["calendar"]))


def maklumat_of(store: EventStore, agency_code: str) -> dict[str, Any] | None:
    """The latest maklumat with when it was set, or None if the agency has none yet."""
    last = _latest(store, agency_code, ev.AGENCY_MAKLUMAT_SET)
    if last is None:
        return None
    set_at: datetime = last.recorded_at
    return {"agency_code": agency_code, **last.data["maklumat"], "set_at": set_at.isoformat()}


def set_calendar(
    store: EventStore,
    agency_code: str,
    calendar: WorkingCalendar,
    actor: str,
    event_id: uuid.UUID | None = None,
) -> int:
    """Record the agency's calendar: its weekend, time zone and regional holidays (the
    national ones it lists are dropped: every agency has them); the event-store position
    it was written at."""
    data = {"calendar": regional_part(calendar).model_dump(mode="json"), "by": actor}
    return _append_once(store, agency_code, ev.AGENCY_CALENDAR_SET, data, event_id)


def set_maklumat(
    store: EventStore,
    agency_code: str,
    maklumat: dict[str, Any],
    actor: str,
    event_id: uuid.UUID | None = None,
) -> int:
    """Record (or replace) the agency's maklumat pelayanan; its position."""
    data = {"maklumat": maklumat, "by": actor}
    return _append_once(store, agency_code, ev.AGENCY_MAKLUMAT_SET, data, event_id)


def _append_once(
    store: EventStore,
    agency_code: str,
    event_type: str,
    data: dict[str, Any],
    event_id: uuid.UUID | None,
) -> int:
    """Append one settings event; a retry with the same ``event_id`` (derived from an
    Idempotency-Key) finds the event it wrote."""
    stream = ev.agency_stream(agency_code)
    done = stored_event(store, stream, event_id)
    if done is not None:
        return done.position
    event = NewEvent(event_id or uuid.uuid4(), event_type, data)
    return store.append(stream, [event]).last_position
