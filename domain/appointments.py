"""Appointments: a citizen books a slot for an in-person step, and its rules.

Pure: the booking policy, the folds and the booking decisions (the events are in
``domain.appointment_events``; the reminder, check-in and no-show in
``domain.appointment_visits``). The commands read the streams, call a decision with the
state and the clock, and append what it returns with the expected version.

Two kinds of stream, because two rules need two consistency boundaries:

* ``slot-<slot id>`` (``domain.slots.slot_stream``) holds the slot's places: ``SlotHeld``,
  ``SlotConfirmed``, ``SlotReleased``. No overbooking: :func:`decide_booking` sees every
  place of the slot at the stream's version V and the command appends its ``SlotHeld``
  with expected version V. Two bookings that read the same V cannot both append: the
  loser gets ``WrongExpectedVersion``, reads the stream again and decides again, now
  seeing the winner's place (full: refused). Retries are bounded by the slot's capacity
  plus the racing bookings, so a bounded loop (as ``commands.numbering``) ends.
* ``appointment-<application>.<step>`` (:func:`appointment_stream`) holds one
  application step's appointment: held, confirmed, rescheduled, cancelled, reminded,
  checked in, no-show. One active booking per citizen per application step: the id is
  the step's, and :func:`decide_hold` refuses while one is active; the append's expected
  version settles two racing bookings of the same step.

Booking, in the command: :func:`decide_hold` on the appointment's state first (refusing
early, appending nothing yet), then ``SlotHeld`` on the slot (retrying on a version conflict), then
``AppointmentHeld`` with the appointment's expected version; if that last append loses,
``release`` the slot. A crash between the two appends leaves a hold without an
appointment, which runs out after ``hold_minutes``: the place comes back by itself.
Confirming goes slot first (``SlotConfirmed``), then the appointment; a reschedule asks
:func:`may_reschedule`, takes the new slot (confirmed at once), records
``AppointmentRescheduled``, then releases the old slot, so a citizen never stands without
a place.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from typing import Any, Final, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from domain.appointment_events import (
    AppointmentCancelled,
    AppointmentConfirmed,
    AppointmentHeld,
    AppointmentHoldExpired,
    AppointmentReminded,
    AppointmentRescheduled,
    CitizenCheckedIn,
    NoShowRecorded,
    ReleaseReason,
    SlotConfirmed,
    SlotHeld,
    SlotReleased,
)
from domain.events import Event
from domain.locations import TIME_ZONES, TimeZoneName
from domain.refusals import Conflict, Invalid, NotFound, Refusal
from domain.slots import MAX_HORIZON_DAYS, Slot

Status = Literal["held", "confirmed", "cancelled", "expired", "checked_in", "no_show"]
ACTIVE: Final[frozenset[str]] = frozenset({"held", "confirmed", "checked_in"})


def appointment_id(application_id: str, step: str) -> str:
    """``BWI-2026-000001.ambil_sidik_jari``: one appointment per application step."""
    return f"{application_id}.{step}"


def appointment_stream(appointment: str) -> str:
    return f"appointment-{appointment}"


class BookingPolicy(BaseModel):
    """An agency's booking rules. Minutes and hours count plain time, not working days."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    hold_minutes: int = Field(default=10, ge=1, le=60)
    """How long a held slot waits for the citizen's confirmation."""
    notice_minutes: int = Field(default=30, ge=0, le=1440)
    """The latest a slot can be booked: this long before it starts."""
    horizon_days: int = Field(default=30, ge=1, le=MAX_HORIZON_DAYS)
    change_until_minutes: int = Field(default=60, ge=0, le=2880)
    """A confirmed appointment is cancelled or rescheduled until this long before it."""
    max_reschedules: int = Field(default=3, ge=0, le=10)
    remind_before_hours: int = Field(default=24, ge=1, le=72)
    check_in_early_minutes: int = Field(default=60, ge=0, le=240)
    grace_minutes: int = Field(default=15, ge=0, le=120)
    """After the slot starts, how long a citizen may still check in; then a no-show."""


# The slot's places -------------------------------------------------------------------
@dataclass(frozen=True)
class SlotState:
    """The places of one slot at stream ``version`` (-1: no event yet). ``holds`` maps
    each appointment with a place to when its hold runs out (None: confirmed)."""

    slot: Slot
    version: int = -1
    holds: Mapping[str, datetime | None] = field(default_factory=dict)

    def taken(self, now: datetime) -> int:
        """Places confirmed or held past ``now``: a hold that ran out frees its place."""
        return sum(1 for until in self.holds.values() if until is None or until > now)

    def holds_place(self, appointment: str, now: datetime) -> bool:
        if appointment not in self.holds:
            return False
        until = self.holds[appointment]
        return until is None or until > now

    def confirmed(self, appointment: str) -> bool:
        """Whether the appointment's place here is confirmed (no hold to run out)."""
        return appointment in self.holds and self.holds[appointment] is None

    def apply(self, event: Event) -> SlotState:
        holds = dict(self.holds)
        if isinstance(event, SlotHeld):
            holds[event.appointment_id] = event.until
        elif isinstance(event, SlotConfirmed):
            holds[event.appointment_id] = None
        elif isinstance(event, SlotReleased):
            holds.pop(event.appointment_id, None)
        return replace(self, version=self.version + 1, holds=holds)


def slot_state(slot: Slot, events: Iterable[Event]) -> SlotState:
    """Fold a slot stream, read from its start, into its places."""
    state = SlotState(slot)
    for e in events:
        state = state.apply(e)
    return state


@dataclass(frozen=True)
class BookingRequest:
    appointment_id: str
    citizen: str
    now: datetime
    confirmed: bool = False
    """Take the place confirmed at once (a reschedule) instead of holding it."""


def decide_booking(
    state: SlotState, request: BookingRequest, policy: BookingPolicy
) -> list[SlotHeld] | Refusal:
    """A place in the slot for the request, or why not. ``[]`` when the appointment
    already has the place it asks for there (a retried booking appends nothing). The command appends
    what this returns with ``expected_version=state.version`` and decides again on a
    version conflict."""
    now, slot = request.now, state.slot
    when = _local(slot)
    if slot.start < now + timedelta(minutes=policy.notice_minutes):
        return Conflict(
            f"the slot at {when} can no longer be booked: bookings close "
            f"{policy.notice_minutes} minutes before; pick a later slot"
        )
    if slot.start > now + timedelta(days=policy.horizon_days):
        return Invalid(
            f"the slot at {when} is too far ahead: bookings open {policy.horizon_days} "
            "days before; pick an earlier slot or come back later"
        )
    mine = state.holds_place(request.appointment_id, now)
    if mine and (state.confirmed(request.appointment_id) or not request.confirmed):
        return []
    # A held place of this appointment asked again confirmed is made permanent, not
    # counted twice: the same appointment never holds two places of a slot.
    if state.taken(now) - mine >= slot.capacity:
        return Conflict(f"the slot at {when} is fully booked; pick another slot")
    until = None if request.confirmed else now + timedelta(minutes=policy.hold_minutes)
    return [SlotHeld(appointment_id=request.appointment_id, citizen=request.citizen, until=until)]


def decide_slot_confirm(
    state: SlotState, appointment: str, now: datetime
) -> list[SlotConfirmed] | Refusal:
    """Make the appointment's held place in the slot permanent."""
    if state.confirmed(appointment):
        return []
    if not state.holds_place(appointment, now):
        return Conflict(
            f"the hold on the slot at {_local(state.slot)} ran out before it was confirmed; "
            "book a slot again"
        )
    return [SlotConfirmed(appointment_id=appointment)]


def release(state: SlotState, appointment: str, reason: ReleaseReason) -> list[SlotReleased]:
    """Give the appointment's place back; ``[]`` if it has none there."""
    if appointment not in state.holds:
        return []
    return [SlotReleased(appointment_id=appointment, reason=reason)]


# The appointment ---------------------------------------------------------------------
class Appointment(BaseModel):
    """One application step's appointment, as folded from its stream."""

    model_config = ConfigDict(frozen=True)

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
    status: Status = "held"
    hold_until: AwareDatetime | None = None
    reschedules: int = 0
    reminded: bool = False
    ticket: str | None = None
    version: int = 0

    @property
    def when(self) -> str:
        """The booked time as the citizen reads it, e.g. ``2026-01-05 08:00 WIB``."""
        return local_time(self.start, self.time_zone)

    def status_at(self, now: datetime) -> Status:
        """The status, with a hold that ran out read as expired before it is recorded."""
        if self.status == "held" and self.hold_until is not None and self.hold_until <= now:
            return "expired"
        return self.status


def apply(view: Appointment | None, event: Event) -> Appointment:
    """Fold one appointment event into the view (None before the first hold)."""
    if isinstance(event, AppointmentHeld):
        return Appointment(
            **event.model_dump(exclude={"hold_until"}),
            hold_until=event.hold_until,
            version=0 if view is None else view.version + 1,
        )
    if view is None:
        raise ValueError(f"{event.TYPE} before AppointmentHeld")
    change: dict[str, Any] = {"version": view.version + 1}
    if isinstance(event, AppointmentConfirmed):
        change |= {"status": "confirmed", "hold_until": None}
    elif isinstance(event, AppointmentRescheduled):
        change |= {"slot_id": event.slot_id, "start": event.start, "end": event.end}
        change |= {"reschedules": view.reschedules + 1, "reminded": False}
    elif isinstance(event, AppointmentCancelled):
        change["status"] = "cancelled"
    elif isinstance(event, AppointmentHoldExpired):
        change["status"] = "expired"
    elif isinstance(event, AppointmentReminded):
        change["reminded"] = True
    elif isinstance(event, CitizenCheckedIn):
        change |= {"status": "checked_in", "ticket": event.ticket}
    elif isinstance(event, NoShowRecorded):
        change["status"] = "no_show"
    return view.model_copy(update=change)


def fold(events: Iterable[Event]) -> Appointment | None:
    view: Appointment | None = None
    for e in events:
        view = apply(view, e)
    return view


@dataclass(frozen=True)
class HoldRequest:
    application_id: str
    step: str
    citizen: str
    agency: str
    slot: Slot
    now: datetime


def decide_hold(
    current: Appointment | None, request: HoldRequest, policy: BookingPolicy
) -> list[AppointmentHeld] | Refusal:
    """The appointment's hold on a slot whose place the slot stream granted; refused while
    the step has an active appointment (reschedule or cancel that one instead)."""
    if current is not None and current.status_at(request.now) in ACTIVE:
        return Conflict(
            f"this step already has an appointment at {current.when}; "
            "reschedule or cancel it instead of booking another"
        )
    s = request.slot
    return [
        AppointmentHeld(
            appointment_id=appointment_id(request.application_id, request.step),
            application_id=request.application_id,
            step=request.step,
            citizen=request.citizen,
            agency=request.agency,
            location_id=s.location_id,
            service_id=s.service_id,
            slot_id=s.id,
            start=s.start,
            end=s.end,
            time_zone=s.time_zone,
            hold_until=request.now + timedelta(minutes=policy.hold_minutes),
        )
    ]


def decide_confirm(
    current: Appointment | None, slot: SlotState, by: str, now: datetime
) -> list[AppointmentConfirmed] | Refusal:
    """Confirm once the slot stream holds the place confirmed (``decide_slot_confirm``
    first): then even a hold that has run out meanwhile is confirmed, as the slot is."""
    if (appt := current) is None:
        return missing()
    if appt.status == "confirmed":
        return []
    confirmed_in_slot = slot.slot.id == appt.slot_id and slot.confirmed(appt.appointment_id)
    if appt.status != "held" or not confirmed_in_slot:
        return Conflict(
            f"the appointment at {appt.when} is {appt.status_at(now)}, not held "
            "with a confirmed place; book a slot again"
        )
    return [AppointmentConfirmed(appointment_id=appt.appointment_id, by=by)]


def decide_cancel(
    current: Appointment | None, by: str, reason: str, now: datetime, policy: BookingPolicy
) -> list[AppointmentCancelled] | Refusal:
    if (appt := current) is None:
        return missing()
    status = appt.status_at(now)
    if status not in ("held", "confirmed"):
        return Conflict(f"the appointment is {status}; there is nothing to cancel")
    if status == "confirmed" and now > _change_deadline(appt, policy):
        return Conflict(
            f"the appointment at {appt.when} can no longer be cancelled: changes "
            f"close {policy.change_until_minutes} minutes before it"
        )
    return [
        AppointmentCancelled(
            appointment_id=appt.appointment_id, slot_id=appt.slot_id, reason=reason, by=by
        )
    ]


def may_reschedule(
    current: Appointment | None, to: Slot, now: datetime, policy: BookingPolicy
) -> Refusal | None:
    """Why the appointment cannot move to ``to``, or None: the command asks this before
    it takes a place in the new slot, so a refused move takes none."""
    if (appt := current) is None:
        return missing()
    if appt.status_at(now) != "confirmed":
        return Conflict(
            f"only a confirmed appointment can be moved; this one is {appt.status_at(now)}"
        )
    if now > _change_deadline(appt, policy):
        return Conflict(
            f"the appointment at {appt.when} can no longer be moved: changes "
            f"close {policy.change_until_minutes} minutes before it"
        )
    if appt.reschedules >= policy.max_reschedules:
        return Conflict(
            f"the appointment was already moved {appt.reschedules} times, the most allowed; "
            "cancel it and book again"
        )
    if (to.location_id, to.service_id) != (appt.location_id, appt.service_id):
        return Invalid("an appointment moves to another slot of the same service and location")
    return None


def decide_reschedule(
    current: Appointment | None,
    new_slot: SlotState,
    by: str,
    now: datetime,
    policy: BookingPolicy,
) -> list[AppointmentRescheduled] | Refusal:
    """Move a confirmed appointment to a slot the slot stream has given it a confirmed
    place in (:func:`may_reschedule`, then ``decide_booking`` with ``confirmed=True``,
    first). ``[]`` when it is booked there already (a retried move)."""
    s = new_slot.slot
    if current is not None and current.slot_id == s.id and current.status == "confirmed":
        return []
    if (refused := may_reschedule(current, s, now, policy)) is not None:
        return refused
    assert current is not None  # may_reschedule refuses a missing appointment
    appt = current
    if not new_slot.confirmed(appt.appointment_id):
        return Conflict(f"the slot at {_local(s)} holds no confirmed place for this appointment")
    return [
        AppointmentRescheduled(
            appointment_id=appt.appointment_id,
            from_slot_id=appt.slot_id,
            slot_id=s.id,
            start=s.start,
            end=s.end,
            by=by,
        )
    ]


def missing() -> Refusal:
    return NotFound("there is no appointment for this step; book a slot first")


def _change_deadline(appt: Appointment, policy: BookingPolicy) -> datetime:
    return appt.start - timedelta(minutes=policy.change_until_minutes)


def _local(slot: Slot) -> str:
    return local_time(slot.start, slot.time_zone)


def local_time(at: datetime, zone: TimeZoneName) -> str:
    """The time as the citizen reads it at the location, e.g. ``2026-01-05 08:00 WIB``."""
    local = at.astimezone(timezone(timedelta(hours=TIME_ZONES[zone])))
    return f"{local:%Y-%m-%d %H:%M} {zone}"
