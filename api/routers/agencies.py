"""Agencies' working calendars: weekends and public holidays that deadlines in working
days skip. New applications take the calendar as it is when they start."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, HTTPException, status
from starlette.concurrency import run_in_threadpool

from api import errors
from api.deps import AgencyAdmin, CurrentUser, StoreDep
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


@router.put("/{agency_code}/calendar", responses=errors.answers(403))
async def set_calendar(
    agency_code: str, calendar: WorkingCalendar, user: AgencyAdmin, store: StoreDep
) -> dict[str, Any]:
    if user.agency != agency_code:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN, f"you administer agency {user.agency}, not {agency_code}"
        )
    result = await run_in_threadpool(
        store.append,
        ev.agency_stream(agency_code),
        [
            NewEvent(
                uuid.uuid4(),
                ev.AGENCY_CALENDAR_SET,
                {"calendar": calendar.model_dump(mode="json"), "by": user.subject},
            )
        ],
    )
    return {
        "agency_code": agency_code,
        "position": result.last_position,
        "holidays": len(calendar.holidays),
    }
