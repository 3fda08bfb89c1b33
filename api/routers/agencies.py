"""Agencies' working calendars (weekends and public holidays that deadlines in working
days skip; new applications take the calendar as it is when they start) and their
maklumat pelayanan, the head's public service promise (UU 25/2009 art. 22)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, status
from pydantic import BaseModel, StringConstraints
from starlette.concurrency import run_in_threadpool

from api import errors, idempotency
from api.commands import stored_event
from api.deps import AgencyAdmin, CurrentUser, StoreDep
from api.idempotency import IdempotencyKey, Key
from api.security import Principal
from domain import events as ev
from domain.calendar import WorkingCalendar
from eventstore.port import EventStore, NewEvent, RecordedEvent

router = APIRouter(prefix="/agencies", tags=["agencies"])


def _latest(store: EventStore, agency_code: str, event_type: str) -> RecordedEvent | None:
    # An agency stream holds a few settings events; the newest of the type wins.
    for e in store.read_stream(ev.agency_stream(agency_code), backwards=True):
        if e.type == event_type:
            return e
    return None


def calendar_of(store: EventStore, agency_code: str) -> WorkingCalendar:
    """The agency's latest calendar; Saturday/Sunday weekends and no holidays if none."""
    last = _latest(store, agency_code, ev.AGENCY_CALENDAR_SET)
    if last is None:
        return WorkingCalendar()
    return WorkingCalendar.model_validate(last.data["calendar"])


@router.get("/{agency_code}/calendar", response_model=WorkingCalendar)
def get_calendar(agency_code: str, user: CurrentUser, store: StoreDep) -> WorkingCalendar:
    return calendar_of(store, agency_code)


def _own_agency(user: Principal, agency_code: str) -> None:
    if user.agency != agency_code:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN, f"you administer agency {user.agency}, not {agency_code}"
        )


async def _append_once(
    store: EventStore, key: Key | None, agency_code: str, event_type: str, data: dict[str, Any]
) -> int:
    """Append one settings event to the agency's stream; a retry with the same
    Idempotency-Key finds the event it wrote (its id derives from the key)."""
    stream = ev.agency_stream(agency_code)

    def write() -> int:
        done = stored_event(store, stream, key.event_id if key else None)
        if done is not None:
            return done.position
        event = NewEvent(key.event_id if key else uuid.uuid4(), event_type, data)
        return store.append(stream, [event]).last_position

    return await run_in_threadpool(write)


@router.put("/{agency_code}/calendar", responses=errors.answers(403))
async def set_calendar(
    agency_code: str,
    calendar: WorkingCalendar,
    user: AgencyAdmin,
    store: StoreDep,
    idempotency_key: IdempotencyKey = None,
) -> dict[str, Any]:
    _own_agency(user, agency_code)
    request = {"agency_code": agency_code, "calendar": calendar}
    key = Key.of(idempotency_key, user.subject, "set-calendar", request)

    async def run() -> dict[str, Any]:
        data = {"calendar": calendar.model_dump(mode="json"), "by": user.subject}
        position = await _append_once(store, key, agency_code, ev.AGENCY_CALENDAR_SET, data)
        return {
            "agency_code": agency_code,
            "position": position,
            "holidays": len(calendar.holidays),
        }

    return await idempotency.once(store, key, run, idempotency.as_dict)


Line = Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True)]


class Maklumat(BaseModel):
    """Maklumat pelayanan: the promise the agency head signs and displays."""

    text: Annotated[str, StringConstraints(min_length=1, max_length=5000, strip_whitespace=True)]
    signed_by: Line
    """The agency head's name, as signed."""
    position_title: Line = "Kepala Dinas"
    place: Annotated[str, StringConstraints(max_length=200, strip_whitespace=True)] = ""
    """Where it was signed (printed beside the date), e.g. Banyuwangi."""


def maklumat_of(store: EventStore, agency_code: str) -> dict[str, Any] | None:
    """The latest maklumat with when it was set, or None if the agency has none yet."""
    last = _latest(store, agency_code, ev.AGENCY_MAKLUMAT_SET)
    if last is None:
        return None
    set_at: datetime = last.recorded_at
    return {"agency_code": agency_code, **last.data["maklumat"], "set_at": set_at.isoformat()}


@router.put("/{agency_code}/maklumat", responses=errors.answers(403))
async def set_maklumat(
    agency_code: str,
    maklumat: Maklumat,
    user: AgencyAdmin,
    store: StoreDep,
    idempotency_key: IdempotencyKey = None,
) -> dict[str, Any]:
    """Set (or replace) the agency's maklumat pelayanan; public at
    GET /public/agencies/{code}/maklumat."""
    _own_agency(user, agency_code)
    request = {"agency_code": agency_code, "maklumat": maklumat}
    key = Key.of(idempotency_key, user.subject, "set-maklumat", request)

    async def run() -> dict[str, Any]:
        data = {"maklumat": maklumat.model_dump(mode="json"), "by": user.subject}
        position = await _append_once(store, key, agency_code, ev.AGENCY_MAKLUMAT_SET, data)
        return {"agency_code": agency_code, "position": position}

    return await idempotency.once(store, key, run, idempotency.as_dict)
