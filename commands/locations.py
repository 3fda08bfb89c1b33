"""Defining an agency's service locations and reading them back (``domain.locations``).

A definition replaces the location's previous one as a whole (the administrator edits
the location, counters and hours together); the location's stream keeps every version,
so what a day's slots were cut from stays auditable."""

from __future__ import annotations

import contextlib
import uuid
from dataclasses import dataclass

from domain import location_events as le
from domain.locations import Location
from domain.refusals import Conflict, Forbidden
from eventstore.port import ANY, DuplicateEventIds, EventStore, NewEvent, WrongExpectedVersion


@dataclass(frozen=True)
class Written:
    location: Location
    position: int


def load(store: EventStore, location_id: str) -> Location | None:
    latest = None
    for e in store.read_stream(le.location_stream(location_id)):
        if e.type == le.LocationDefined.TYPE:
            latest = e.data["location"]
    return Location.model_validate(latest) if latest is not None else None


def of_agency(store: EventStore, agency: str) -> list[Location]:
    """The agency's locations, in the order they were first defined."""
    ids = [
        e.data["location_id"]
        for e in store.read_stream(le.agency_locations_stream(agency))
        if e.type == le.LocationListed.TYPE
    ]
    found = (load(store, i) for i in ids)
    return [loc for loc in found if loc is not None]


def define(store: EventStore, location: Location, by: str) -> Written:
    """Record ``location`` as its agency's administrator ``by`` set it. A location id
    belongs to the agency that first defined it."""
    stream = le.location_stream(location.id)
    events = list(store.read_stream(stream))
    current = next(
        (e.data["location"] for e in reversed(events) if e.type == le.LocationDefined.TYPE), None
    )
    if current is not None and current["agency"] != location.agency:
        raise Forbidden(
            f"the location id {location.id!r} belongs to another agency; choose another id"
        )
    version = events[-1].version if events else -1
    event = le.LocationDefined(location=location.model_dump(mode="json"), by=by)
    try:
        written = store.append(
            stream, [NewEvent(uuid.uuid4(), event.TYPE, event.payload())], version
        )
    except WrongExpectedVersion as e:
        raise Conflict(
            f"the location {location.id} was changed at the same moment; load it again and "
            "repeat your change"
        ) from e
    # Listed on every definition, with one id per location: the first lists it, the
    # rest (also the retry of one that crashed right here) record nothing.
    listed = le.LocationListed(location_id=location.id)
    with contextlib.suppress(DuplicateEventIds):
        store.append(
            le.agency_locations_stream(location.agency),
            [NewEvent(uuid.uuid5(uuid.NAMESPACE_URL, stream), listed.TYPE, listed.payload())],
            ANY,
        )
    return Written(location, written.positions[-1])
