"""Agencies' working calendars and their maklumat pelayanan over HTTP; the commands are
``commands/agencies.py``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import BaseModel, StringConstraints
from starlette.concurrency import run_in_threadpool

from api import errors, idempotency
from api.deps import AgencyAdmin, CurrentUser, StoreDep
from api.idempotency import IdempotencyKey, Key
from api.security import Principal
from commands import agencies
from domain.calendar import WorkingCalendar, effective, regional_part
from domain.refusals import Forbidden

router = APIRouter(prefix="/agencies", tags=["agencies"])


@router.get("/{agency_code}/calendar", response_model=WorkingCalendar)
def get_calendar(agency_code: str, user: CurrentUser, store: StoreDep) -> WorkingCalendar:
    """The calendar the agency's deadlines count on: each holiday with its kind
    (libur_nasional, cuti_bersama, libur_daerah) and source (national or regional)."""
    return agencies.calendar_of(store, agency_code)


def _own_agency(user: Principal, agency_code: str) -> None:
    if user.agency != agency_code:
        raise Forbidden(f"you administer agency {user.agency}, not {agency_code}")


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
        position = await run_in_threadpool(
            agencies.set_calendar,
            store,
            agency_code,
            calendar,
            user.subject,
            key.event_id if key else None,
        )
        return {
            "agency_code": agency_code,
            "position": position,
            # Only the regional holidays are stored; the national ones come with every
            # calendar. "holidays" counts what deadlines skip.
            "holidays": len(effective(calendar).holidays),
            "regional_holidays": len(regional_part(calendar).holidays),
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
        position = await run_in_threadpool(
            agencies.set_maklumat,
            store,
            agency_code,
            maklumat.model_dump(mode="json"),
            user.subject,
            key.event_id if key else None,
        )
        return {"agency_code": agency_code, "position": position}

    return await idempotency.once(store, key, run, idempotency.as_dict)
