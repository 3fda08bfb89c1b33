"""Which events a citizen hears about, and what each message needs to say.

The table below is the whole set: an event type not in it is never sent to anyone.
Application events name the citizen only in their first event, so the subscriber keeps
each stream's ``Subject`` (whose application or complaint it is, at which agency) and
hands it back with every later event of the stream.

| event | kind |
| --- | --- |
| ApplicationSubmitted | ``submitted``: received, with its number |
| CitizenNotified | ``notice``: the agency's own message from a notify step |
| CorrectionRequested | ``correction``: what to fix, and by when |
| PaymentRequested | ``payment_due``: the fee and the payment code |
| PaymentReceived | ``payment_received`` |
| DocumentIssued | ``document_issued``: the document's number and where to verify it |
| AppointmentRequested | ``visit_requested``: what the visit is for, and by when |
| ApplicationCompleted | ``approved`` / ``rejected`` / ``cancelled`` |
| ComplaintFiled | ``complaint_received`` (named and confidential complaints only) |
| ComplaintVerified | ``complaint_accepted`` / ``_info_requested`` / ``_rejected`` |
| ComplaintForwarded | ``complaint_forwarded`` |
| ComplaintFollowedUp | ``complaint_followed_up``: the answer is there, accept or reopen |
| ComplaintClosed (no answer) | ``complaint_closed`` |
| AppointmentHeld | ``appointment_held``: the booked time, confirm it |
| AppointmentConfirmed | ``appointment_confirmed``: the QR ticket is in the app |
| AppointmentRescheduled | ``appointment_rescheduled``: the new time |
| AppointmentCancelled | ``appointment_cancelled`` |
| AppointmentHoldExpired | ``appointment_expired``: not confirmed in time, book again |
| AppointmentReminded | ``appointment_reminded``: the booked time is near |

An appointment stream's ``Subject`` names the application (``reference``) and, in
``service``, the booked time as the citizen reads it (``2026-01-05 09:00 WIB``): the
later events of the stream carry no time zone, and a reschedule changes the time.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Final

from domain import appointment_events as ae
from domain import complaints as c
from domain import events as ev
from domain.appointments import local_time
from domain.locations import TimeZoneName
from eventstore.port import RecordedEvent

APPLICATION_PREFIX: Final = "application-"
COMPLAINT_PREFIX: Final = "complaint-"
APPOINTMENT_PREFIX: Final = "appointment-"
_APPOINTMENT_KINDS: Final = {
    ae.AppointmentHeld.TYPE: "appointment_held",
    ae.AppointmentConfirmed.TYPE: "appointment_confirmed",
    ae.AppointmentRescheduled.TYPE: "appointment_rescheduled",
    ae.AppointmentCancelled.TYPE: "appointment_cancelled",
    ae.AppointmentHoldExpired.TYPE: "appointment_expired",
    ae.AppointmentReminded.TYPE: "appointment_reminded",
}


@dataclass(frozen=True)
class Subject:
    """Whose stream it is: the citizen, the agency, the number they know it by."""

    stream: str
    citizen: str
    agency: str
    reference: str
    service: str = ""
    agency_name: str = ""


@dataclass(frozen=True)
class Notice:
    """One message to one citizen, before it is put into words."""

    kind: str
    citizen: str
    agency: str
    reference: str
    application_id: str | None
    values: dict[str, str]


def subject_after(event: RecordedEvent, before: Subject | None) -> Subject | None:
    """The stream's subject once ``event`` is applied (None: nobody to tell)."""
    if event.type == ev.APPLICATION_SUBMITTED:
        s = ev.ApplicationSubmitted.model_validate(event.data)
        return Subject(
            event.stream, s.citizen, s.agency.code, s.application_id, s.service.name, s.agency.name
        )
    if event.type == c.COMPLAINT_FILED:
        f = c.ComplaintFiled.model_validate(event.data)
        if f.complainant is None:  # anonymous: there is no one to write to
            return None
        return Subject(event.stream, f.complainant, f.agency, f.complaint_id)
    if event.type == ae.AppointmentHeld.TYPE:
        h = ae.AppointmentHeld.model_validate(event.data)
        when = local_time(h.start, h.time_zone)
        return Subject(event.stream, h.citizen, h.agency, h.application_id, when)
    if event.type == ae.AppointmentRescheduled.TYPE and before is not None:
        moved = ae.AppointmentRescheduled.model_validate(event.data)
        return replace(before, service=local_time(moved.start, _zone(before.service)))
    if event.type == c.COMPLAINT_FORWARDED and before is not None:
        return replace(before, agency=c.ComplaintForwarded.model_validate(event.data).to_agency)
    return before


def notice(event: RecordedEvent, subject: Subject | None) -> Notice | None:
    """The message ``event`` gives its citizen, or None."""
    if subject is None:
        return None
    found = _kind_and_values(event, subject)
    if found is None:
        return None
    kind, values = found
    is_application = event.stream.startswith((APPLICATION_PREFIX, APPOINTMENT_PREFIX))
    values = {"ref": subject.reference, "service": subject.service, **values}
    return Notice(
        kind,
        subject.citizen,
        subject.agency,
        subject.reference,
        subject.reference if is_application else None,
        values,
    )


def _kind_and_values(event: RecordedEvent, subject: Subject) -> tuple[str, dict[str, str]] | None:
    t, d = event.type, event.data
    if t in _APPOINTMENT_KINDS:
        return _APPOINTMENT_KINDS[t], {"when": subject.service}
    if t == ev.APPLICATION_SUBMITTED:
        return "submitted", {"agency": subject.agency_name}
    if t == ev.CITIZEN_NOTIFIED:
        return "notice", {"text": ev.CitizenNotified.model_validate(d).message}
    if t == ev.CORRECTION_REQUESTED:
        cr = ev.CorrectionRequested.model_validate(d)
        return "correction", {
            "text": cr.reason,
            "fields": ", ".join(cr.fields),
            "due": cr.due_at[:10],
        }
    if t == ev.PAYMENT_REQUESTED:
        p = ev.PaymentRequested.model_validate(d)
        return "payment_due", {"amount": str(p.amount), "code": p.payment_code}
    if t == ev.PAYMENT_RECEIVED:
        return "payment_received", {"amount": str(ev.PaymentReceived.model_validate(d).amount)}
    if t == ev.DOCUMENT_ISSUED:
        doc = ev.DocumentIssued.model_validate(d)
        return "document_issued", {"title": doc.title, "number": doc.number, "url": doc.verify_url}
    if t == ev.APPOINTMENT_REQUESTED:
        a = ev.AppointmentRequested.model_validate(d)
        return "visit_requested", {"text": a.purpose, "due": a.due_at[:10]}
    if t == ev.APPLICATION_COMPLETED:
        result = ev.ApplicationCompleted.model_validate(d).result
        return (result, {}) if result in ("approved", "rejected", "cancelled") else None
    if t == c.COMPLAINT_FILED:
        return "complaint_received", {}
    if t == c.COMPLAINT_VERIFIED:
        v = c.ComplaintVerified.model_validate(d)
        kind = {
            "accepted": "complaint_accepted",
            "info_requested": "complaint_info_requested",
            "rejected": "complaint_rejected",
        }[v.decision]
        return kind, {"text": v.reason}
    if t == c.COMPLAINT_FORWARDED:
        return "complaint_forwarded", {"agency": c.ComplaintForwarded.model_validate(d).to_agency}
    if t == c.COMPLAINT_FOLLOWED_UP:
        return "complaint_followed_up", {}
    if t == c.COMPLAINT_CLOSED and c.ComplaintClosed.model_validate(d).reason == "no_response":
        return "complaint_closed", {}
    return None


def _zone(when: str) -> TimeZoneName:
    """The zone a worded time ends with (``... WITA``)."""
    last = when.rsplit(" ", 1)[-1]
    return "WITA" if last == "WITA" else "WIT" if last == "WIT" else "WIB"
