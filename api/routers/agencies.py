"""Agencies' working calendars: weekends and public holidays that deadlines in working
days skip. New applications take the calendar as it is when they start."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, HTTPException, status
from starlette.concurrency import run_in_threadpool

from api import idempotency
from api.commands import stored_event
from api.deps import AgencyAdmin, CurrentUser, StoreDep
from api.idempotency import IdempotencyKey, Key
from domain import events as ev
from domain.calendar import WorkingCalendar
from eventstore.port import EventStore, NewEvent

router = APIRouter(prefix="/agencies", tags=["agencies"])


def calendar_of(store: EventStore, agency_code: str) -> WorkingCalendar:
    """The agency's latest calendar; Saturday/Sunday weekends and no holidays if none."""
    last = store.read_stream(ev.agency_stream(agency_code), backwards=True, limit=1)
    if not last:
        return WorkingCalendar()
    return WorkingCalendar.model_validate(last[0].data["calendar"])


@router.get("/{agency_code}/calendar", response_model=WorkingCalendar)
def get_calendar(agency_code: str, user: CurrentUser, store: StoreDep) -> WorkingCalendar:
    return calendar_of(store, agency_code)


@router.put("/{agency_code}/calendar")
async def set_calendar(
    agency_code: str,
    calendar: WorkingCalendar,
    user: AgencyAdmin,
    store: StoreDep,
    idempotency_key: IdempotencyKey = None,
) -> dict[str, Any]:
    if user.agency != agency_code:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN, f"you administer agency {user.agency}, not {agency_code}"
        )
    request = {"agency_code": agency_code, "calendar": calendar}
    key = Key.of(idempotency_key, user.subject, "set-calendar", request)
    stream = ev.agency_stream(agency_code)

    def write() -> int:
        done = stored_event(store, stream, key.event_id if key else None)
        if done is not None:
            return done.position
        event = NewEvent(
            key.event_id if key else uuid.uuid4(),
            ev.AGENCY_CALENDAR_SET,
            {"calendar": calendar.model_dump(mode="json"), "by": user.subject},
        )
        return store.append(stream, [event]).last_position

    async def run() -> dict[str, Any]:
        return {
            "agency_code": agency_code,
            "position": await run_in_threadpool(write),
            "holidays": len(calendar.holidays),
        }

    return await idempotency.once(store, key, run, idempotency.as_dict)
