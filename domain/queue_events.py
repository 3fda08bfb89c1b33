"""The events of a location's counter queue (``domain.queue`` holds its rules and fold).

One stream per location and local day, ``queue-<location>-<YYYYMMDD>``: numbers start
again every morning. Every event carries its instant (``at``, ``arrived_at``): the call
order and the waiting-time figures are decided on them, not on when the event was stored.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any, ClassVar, Final, Literal

from pydantic import AwareDatetime, Field

from domain.events import Event

TicketKind = Literal["appointment", "walk_in"]
MAX_TICKETS_PER_DAY: Final = 5000
"""Tickets one location's queue issues in a day; the kiosk refuses more."""


def queue_stream(location_id: str, day: date) -> str:
    return f"queue-{location_id}-{day:%Y%m%d}"


class TicketIssued(Event):
    """A number taken at the kiosk or the counter (walk-in), or given at an appointment's
    check-in. A late check-in is issued as a walk-in."""

    TYPE: ClassVar[str] = "TicketIssued"
    ticket: str
    location_id: str
    service_id: str
    kind: TicketKind
    arrived_at: AwareDatetime
    priority: str | None = None
    """The priority group (``QueuePolicy.groups``) the citizen belongs to, if any."""
    appointment_id: str | None = None
    slot_start: AwareDatetime | None = None
    """An appointment's booked time: it is called from then."""
    citizen: str | None = None
    """The citizen's account, when known (an appointment's check-in): ``GET /me/queue``."""
    application_id: str | None = None
    step: str | None = None
    """The application step the visit is for, when known: serving it records the visit."""


class TicketCalled(Event):
    TYPE: ClassVar[str] = "TicketCalled"
    ticket: str
    counter: str
    at: AwareDatetime
    reason: str
    """Why this number now, in Bahasa Indonesia, as the hall's display shows it."""
    passed_over: list[str] = Field(default_factory=list)
    """Waiting numbers that came earlier and could have been called at this counter."""


class TicketServed(Event):
    TYPE: ClassVar[str] = "TicketServed"
    ticket: str
    counter: str
    at: AwareDatetime


class TicketMissed(Event):
    """Called, but the citizen did not come to the counter."""

    TYPE: ClassVar[str] = "TicketMissed"
    ticket: str
    counter: str
    at: AwareDatetime


def policy_stream(location_id: str) -> str:
    return f"queue-policy-{location_id}"


def citizen_queue_stream(citizen: str, day: date) -> str:
    """The citizen's numbers of one day, wherever taken: what ``GET /me/queue`` reads."""
    return f"queue-citizen-{citizen}-{day:%Y%m%d}"


class QueuePolicySet(Event):
    """The location's call order settings (``domain.queue.QueuePolicy``), in full; the
    latest counts."""

    TYPE: ClassVar[str] = "QueuePolicySet"
    location_id: str
    policy: dict[str, Any]
    by: str


class CitizenQueued(Event):
    """A number of the citizen's, listed in their day's stream."""

    TYPE: ClassVar[str] = "CitizenQueued"
    location_id: str
    ticket: str


EVENTS: Final[dict[str, type[Event]]] = {
    m.TYPE: m
    for m in (
        TicketIssued,
        TicketCalled,
        TicketServed,
        TicketMissed,
        QueuePolicySet,
        CitizenQueued,
    )
}


def parse(event_type: str, data: Mapping[str, Any]) -> Event | None:
    """The model of a stored queue event; None for a type not known here."""
    cls = EVENTS.get(event_type)
    return None if cls is None else cls.model_validate(data)
