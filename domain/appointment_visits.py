"""Around an appointment's visit: the hold that runs out, the reminder, the check-in at
the location and the no-show. Pure decisions on the appointment's state
(``domain.appointments``) and the clock; timers and the counter call them, and append
what they return with the appointment stream's expected version.

The windows, from the agency's ``BookingPolicy``: the reminder from
``remind_before_hours`` before the booked time; check-in from
``check_in_early_minutes`` before it; a citizen who comes later than ``grace_minutes``
after it still checks in, marked late (the queue takes them as a walk-in, their slot's
turn lost); one who has not come by then is a no-show.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from domain.appointment_events import (
    AppointmentHoldExpired,
    AppointmentReminded,
    CitizenCheckedIn,
    NoShowRecorded,
)
from domain.appointments import Appointment, BookingPolicy, local_time, missing
from domain.refusals import Conflict, Refusal


def decide_expiry(current: Appointment | None, now: datetime) -> list[AppointmentHoldExpired]:
    """Record a hold that ran out (a timer calls this); ``[]`` if it did not."""
    if current is None or current.status != "held" or current.status_at(now) != "expired":
        return []
    return [AppointmentHoldExpired(appointment_id=current.appointment_id, slot_id=current.slot_id)]


def reminder_at(appt: Appointment, policy: BookingPolicy) -> datetime:
    return appt.start - timedelta(hours=policy.remind_before_hours)


def decide_reminder(
    current: Appointment | None, channel: str, now: datetime, policy: BookingPolicy
) -> list[AppointmentReminded]:
    """One reminder per booked time, from ``remind_before_hours`` before it; ``[]`` when
    none is due (too early, sent already, past, or not confirmed)."""
    if current is None or current.status != "confirmed" or current.reminded:
        return []
    if not reminder_at(current, policy) <= now < current.start:
        return []
    return [
        AppointmentReminded(
            appointment_id=current.appointment_id, slot_id=current.slot_id, channel=channel
        )
    ]


def decide_check_in(
    current: Appointment | None,
    location_id: str,
    ticket: str,
    by: str,
    now: datetime,
    policy: BookingPolicy,
) -> list[CitizenCheckedIn] | Refusal:
    """Check the citizen in at the location. Past the grace the check-in still counts
    (``late``: the queue takes them as a walk-in); before the early window it is
    refused with the time to come back."""
    if (appt := current) is None:
        return missing()
    if appt.status == "checked_in":
        return []
    if appt.status_at(now) != "confirmed":
        return Conflict(f"the appointment is {appt.status_at(now)}; only a confirmed one checks in")
    if location_id != appt.location_id:
        return Conflict(
            f"the appointment is at location {appt.location_id}, not here ({location_id})"
        )
    opens = appt.start - timedelta(minutes=policy.check_in_early_minutes)
    if now < opens:
        opens_at = local_time(opens, appt.time_zone)
        return Conflict(f"check-in for the appointment at {appt.when} opens at {opens_at}")
    late = now > appt.start + timedelta(minutes=policy.grace_minutes)
    return [
        CitizenCheckedIn(
            appointment_id=appt.appointment_id,
            location_id=location_id,
            service_id=appt.service_id,
            ticket=ticket,
            at=now,
            late=late,
            by=by,
        )
    ]


def decide_no_show(
    current: Appointment | None, now: datetime, policy: BookingPolicy
) -> list[NoShowRecorded]:
    """A confirmed appointment not checked in by the end of the grace is a no-show (a
    timer calls this); ``[]`` otherwise."""
    if current is None or current.status != "confirmed":
        return []
    if now < current.start + timedelta(minutes=policy.grace_minutes):
        return []
    return [
        NoShowRecorded(
            appointment_id=current.appointment_id,
            location_id=current.location_id,
            service_id=current.service_id,
            slot_id=current.slot_id,
            at=now,
        )
    ]
