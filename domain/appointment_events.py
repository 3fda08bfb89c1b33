"""The events of appointments (``domain.appointments`` holds their rules and folds).

Two kinds of stream: a slot's places (``slot-<slot id>``: ``SlotHeld``, ``SlotConfirmed``,
``SlotReleased``) and one application step's appointment (``appointment-<id>``). Times
are UTC instants; ``time_zone`` names the location's zone for wording them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Final, Literal

from pydantic import AwareDatetime, Field

from domain.events import Event
from domain.locations import TimeZoneName

ReleaseReason = Literal["cancelled", "rescheduled", "expired", "lost_race"]


# Slot stream events ------------------------------------------------------------------
class SlotHeld(Event):
    TYPE: ClassVar[str] = "SlotHeld"
    appointment_id: str
    citizen: str
    until: AwareDatetime | None
    """When the hold runs out; None for a place taken confirmed (a reschedule)."""


class SlotConfirmed(Event):
    TYPE: ClassVar[str] = "SlotConfirmed"
    appointment_id: str


class SlotReleased(Event):
    TYPE: ClassVar[str] = "SlotReleased"
    appointment_id: str
    reason: ReleaseReason


# Appointment stream events -----------------------------------------------------------
class AppointmentHeld(Event):
    TYPE: ClassVar[str] = "AppointmentHeld"
    appointment_id: str
    application_id: str
    step: str
    citizen: str
    agency: str
    location_id: str
    service_id: str
    slot_id: str
    start: AwareDatetime
    end: AwareDatetime
    time_zone: TimeZoneName
    """The location's zone, in which messages word the times."""
    hold_until: AwareDatetime


class AppointmentConfirmed(Event):
    TYPE: ClassVar[str] = "AppointmentConfirmed"
    appointment_id: str
    by: str


class AppointmentRescheduled(Event):
    TYPE: ClassVar[str] = "AppointmentRescheduled"
    appointment_id: str
    from_slot_id: str
    slot_id: str
    start: AwareDatetime
    end: AwareDatetime
    by: str


class AppointmentCancelled(Event):
    TYPE: ClassVar[str] = "AppointmentCancelled"
    appointment_id: str
    slot_id: str
    reason: str = Field(max_length=500)
    by: str


class AppointmentHoldExpired(Event):
    TYPE: ClassVar[str] = "AppointmentHoldExpired"
    appointment_id: str
    slot_id: str


class AppointmentReminded(Event):
    TYPE: ClassVar[str] = "AppointmentReminded"
    appointment_id: str
    slot_id: str
    channel: str


class CitizenCheckedIn(Event):
    TYPE: ClassVar[str] = "CitizenCheckedIn"
    appointment_id: str
    location_id: str
    service_id: str
    ticket: str
    """The queue number the citizen was given (``domain.queue``)."""
    at: AwareDatetime
    late: bool
    """Past the grace: queued as a walk-in, the slot's turn lost."""
    by: str


class NoShowRecorded(Event):
    TYPE: ClassVar[str] = "NoShowRecorded"
    appointment_id: str
    location_id: str
    service_id: str
    slot_id: str
    at: AwareDatetime


SLOT_EVENTS: Final[dict[str, type[Event]]] = {
    m.TYPE: m for m in (SlotHeld, SlotConfirmed, SlotReleased)
}
APPOINTMENT_EVENTS: Final[dict[str, type[Event]]] = {
    m.TYPE: m
    for m in (
        AppointmentHeld,
        AppointmentConfirmed,
        AppointmentRescheduled,
        AppointmentCancelled,
        AppointmentHoldExpired,
        AppointmentReminded,
        CitizenCheckedIn,
        NoShowRecorded,
    )
}
EVENTS: Final[dict[str, type[Event]]] = {**SLOT_EVENTS, **APPOINTMENT_EVENTS}


def parse(event_type: str, data: Mapping[str, Any]) -> Event | None:
    """The model of a stored slot or appointment event; None for a type not known here."""
    cls = EVENTS.get(event_type)
    return None if cls is None else cls.model_validate(data)
