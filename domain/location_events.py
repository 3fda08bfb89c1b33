"""The events of a service location (an MPP building or a mobile unit, ``domain.locations``).

One stream per location, ``location-<id>``, holding each definition the agency gave it
(the latest counts), and one index stream per agency, ``agency-locations-<code>``, that
lists its locations once each, so the agency's locations are read without a scan.
"""

from __future__ import annotations

from typing import Any, ClassVar, Final

from domain.events import Event


def location_stream(location_id: str) -> str:
    return f"location-{location_id}"


def agency_locations_stream(agency: str) -> str:
    return f"agency-locations-{agency}"


class LocationDefined(Event):
    """The location as its agency's administrator set it, in full (``Location``)."""

    TYPE: ClassVar[str] = "LocationDefined"
    location: dict[str, Any]
    by: str


class LocationListed(Event):
    """A location joined its agency's list (on its first definition)."""

    TYPE: ClassVar[str] = "LocationListed"
    location_id: str


EVENTS: Final[dict[str, type[Event]]] = {e.TYPE: e for e in (LocationDefined, LocationListed)}
