"""Where citizens are served in person: an agency administrator defines its locations
(``commands/locations.py``); anyone reads them and their free appointment slots, as the
service catalogue is public."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any, Final

from fastapi import APIRouter, Query
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from api import errors, idempotency
from api.deps import AgencyAdmin, SettingsDep, StoreDep
from api.idempotency import IdempotencyKey, Key
from commands import agencies, locations
from commands import appointments as booking
from domain.appointments import BookingPolicy
from domain.checks import Problem
from domain.locations import Location, LocationId
from domain.primitives import AgencyCode
from domain.refusals import Forbidden, Invalid, NotFound
from domain.slots import MAX_HORIZON_DAYS, Slot, generate

router = APIRouter(tags=["locations"])

MAX_SLOT_DAYS: Final = 14
"""Days of slots one query lists: each slot's places are read from its own stream."""
MAX_SLOTS: Final = 500


class LocationBody(Location):
    """A location as its administrator writes it: ``id`` and ``agency`` come from the
    path (left out, or the same)."""

    id: LocationId | None = None  # type: ignore[assignment]
    agency: AgencyCode | None = None  # type: ignore[assignment]


class Defined(BaseModel):
    location: Location
    position: int


class FreeSlot(Slot):
    remaining: int
    """Places still free (capacity minus holds and confirmed bookings)."""


@router.put(
    "/agencies/{agency_code}/locations/{location_id}",
    response_model=Defined,
    responses=errors.answers(403, 409, 422),
)
async def define_location(
    agency_code: str,
    location_id: str,
    body: LocationBody,
    user: AgencyAdmin,
    store: StoreDep,
    idempotency_key: IdempotencyKey = None,
) -> Defined:
    """Define (or replace as a whole) one of your agency's locations: its counters, each
    with the services it serves and its officers, and its weekly hours (a building) or
    its route (a mobile unit). The agency's working calendar closes it on holidays."""
    if user.agency != agency_code:
        raise Forbidden(f"you administer agency {user.agency}, not {agency_code}")
    for name, sent, path in (("id", body.id, location_id), ("agency", body.agency, agency_code)):
        if sent is not None and sent != path:
            raise Invalid(
                f"the body's {name} {sent!r} differs from the path's {path!r}; leave it out "
                "or send the same"
            )
    raw = body.model_dump(mode="json") | {"id": location_id, "agency": agency_code}
    location = Location.model_validate(raw)
    key = Key.of(idempotency_key, user.subject, "define-location", raw)

    async def run() -> Defined:
        written = await run_in_threadpool(locations.define, store, location, user.subject)
        return Defined(location=written.location, position=written.position)

    return await idempotency.once(store, key, run, Defined.model_validate)


def _public(store: Any, location_id: str) -> Location:
    location = locations.load(store, location_id)
    if location is None:
        raise NotFound(f"there is no location {location_id}")
    return location


@router.get("/public/locations", response_model=list[Location], responses=errors.answers(422))
def public_locations(
    store: StoreDep,
    agency: Annotated[str, Query(min_length=1, max_length=20, description="Agency code")],
) -> list[Location]:
    """An agency's locations: name, address, time zone, counters and the services each
    serves, weekly hours or a mobile unit's route."""
    return locations.of_agency(store, agency)


@router.get(
    "/public/locations/{location_id}", response_model=Location, responses=errors.answers(404)
)
def public_location(location_id: str, store: StoreDep) -> Location:
    """One location, as ``GET /public/locations`` lists it."""
    return _public(store, location_id)


@router.get(
    "/public/locations/{location_id}/slots",
    response_model=list[FreeSlot],
    responses=errors.answers(404, 422),
)
def public_slots(
    location_id: str,
    store: StoreDep,
    settings: SettingsDep,
    service: Annotated[str, Query(min_length=1, max_length=100, description="Service id")],
    from_: Annotated[
        date | None,
        Query(alias="from", description="First local day (default: today at the location)"),
    ] = None,
    days: Annotated[int, Query(ge=1, le=MAX_SLOT_DAYS)] = 7,
) -> list[FreeSlot]:
    """The service's bookable slots at the location, in time order (at most 500), each
    with its free places; full slots are listed with ``remaining`` 0. Slots closer than
    the booking notice are left out; holidays of the agency's calendar have none."""
    location = _public(store, location_id)
    now = datetime.now(UTC)
    policy = BookingPolicy()
    today = location.local_day(now)
    first = from_ or today
    if not today <= first <= today + timedelta(days=MAX_HORIZON_DAYS):
        raise Invalid(
            f"slots are offered from today ({today}) up to {MAX_HORIZON_DAYS} days ahead; "
            f"{first} is outside that",
            [Problem("query.from", "outside the booking horizon")],
        )
    slots = generate(
        location,
        agencies.calendar_of(store, location.agency),
        service,
        timedelta(minutes=settings.appointment_handling_minutes),
        first,
        days,
        not_before=now + timedelta(minutes=policy.notice_minutes),
        limit=MAX_SLOTS,
    )
    return [
        FreeSlot(**s.model_dump(), remaining=max(0, s.capacity - booking.taken(store, s, now)))
        for s in slots
    ]
