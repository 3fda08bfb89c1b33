"""Appointments: no overbooking under any interleaving, the booking rules, the visit
(reminder, check-in, no-show) and the QR ticket."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain import appointment_events as ae
from domain import qr_ticket
from domain.appointment_visits import (
    decide_check_in,
    decide_expiry,
    decide_no_show,
    decide_reminder,
)
from domain.appointments import (
    Appointment,
    BookingPolicy,
    BookingRequest,
    HoldRequest,
    SlotState,
    appointment_id,
    appointment_stream,
    decide_booking,
    decide_cancel,
    decide_confirm,
    decide_hold,
    decide_reschedule,
    decide_slot_confirm,
    fold,
    may_reschedule,
    release,
    slot_state,
)
from domain.refusals import Conflict, Invalid, NotFound, Refusal, Unverified
from domain.slots import Slot

START = datetime(2026, 1, 5, 2, tzinfo=UTC)  # 09:00 WIB
NOW = START - timedelta(days=1)
POLICY = BookingPolicy()
MIN = timedelta(minutes=1)
T = TypeVar("T")


def ok(outcome: list[T] | Refusal) -> list[T]:
    """The events of a decision that must not be refused."""
    assert isinstance(outcome, list), outcome
    return outcome


def folded(events: list[Any]) -> Appointment:
    view = fold(events)
    assert view is not None
    return view


def slot(start: datetime = START, capacity: int = 1) -> Slot:
    return Slot(
        id=f"mpp-bwi.ktp-el.{start:%Y%m%dT%H%MZ}",
        location_id="mpp-bwi",
        service_id="ktp-el",
        start=start,
        end=start + 15 * MIN,
        capacity=capacity,
    )


# An event store's optimistic concurrency, as the port defines it: an append names the
# version it read, and fails if the stream has moved on since.
@dataclass
class Streams:
    events: dict[str, list] = field(default_factory=dict)

    def read(self, stream: str) -> tuple[int, list]:
        got = list(self.events.get(stream, []))
        return len(got) - 1, got

    def append(self, stream: str, new: list, expected: int) -> bool:
        current = len(self.events.get(stream, [])) - 1
        if current != expected:
            return False
        self.events.setdefault(stream, []).extend(new)
        return True


def on_slot(streams: Streams, s: Slot, decide) -> Iterator[None]:
    """One command on a slot stream: read, decide, append with the version read; retry on
    a conflict. Yields between the steps so a test can interleave commands."""
    while True:
        version, events = streams.read(s.id)
        state = slot_state(s, events)
        assert state.version == version
        yield
        outcome = decide(state)
        if isinstance(outcome, Refusal) or not outcome:
            return
        yield
        if streams.append(s.id, outcome, version):
            return


def test_many_simultaneous_bookings_for_the_last_place_exactly_one_wins():
    s, streams = slot(capacity=3), Streams()
    for i in range(2):  # two places are gone already
        list(
            on_slot(
                streams,
                s,
                lambda st, i=i: decide_booking(st, BookingRequest(f"early-{i}", "c", NOW), POLICY),
            )
        )
    outcomes: dict[int, object] = {}

    def booking(i: int):
        def decide(state: SlotState):
            outcomes[i] = decide_booking(
                state, BookingRequest(f"app-{i}", f"citizen-{i}", NOW), POLICY
            )
            return outcomes[i]

        return on_slot(streams, s, decide)

    racers = [booking(i) for i in range(50)]
    for r in racers:  # everyone reads the same version before anyone appends
        next(r)
    while racers:
        racers = [r for r in racers if next(r, StopIteration) is not StopIteration]
    state = slot_state(s, streams.events[s.id])
    assert state.taken(NOW) == 3
    winners = [i for i, o in outcomes.items() if isinstance(o, list) and o]
    assert len(winners) == 1
    refused = [o for o in outcomes.values() if isinstance(o, Refusal)]
    assert len(refused) == 49 and all(isinstance(o, Conflict) for o in refused)
    assert "fully booked; pick another slot" in refused[0].message


@settings(max_examples=300, deadline=None)
@given(
    capacity=st.integers(1, 4),
    plans=st.lists(st.sampled_from(["hold", "confirm", "cancel"]), min_size=1, max_size=12),
    schedule=st.lists(st.integers(0, 11), min_size=0, max_size=300),
    ticks=st.lists(st.integers(0, 4), min_size=0, max_size=300),
)
def test_never_more_places_than_capacity_under_any_interleaving(capacity, plans, schedule, ticks):
    """Citizens hold, confirm and cancel in any interleaving of their reads and appends,
    while the clock runs (holds run out): the slot never has more places taken than its
    capacity, and no appointment gets a confirmed place it did not hold."""
    s, streams = slot(capacity=capacity), Streams()
    clock = [NOW]

    def citizen(i: int, plan: str) -> Iterator[None]:
        me = f"app-{i}"
        yield from on_slot(
            streams, s, lambda st: decide_booking(st, BookingRequest(me, f"c{i}", clock[0]), POLICY)
        )
        if plan in ("confirm", "cancel"):
            yield from on_slot(streams, s, lambda st: decide_slot_confirm(st, me, clock[0]))
        if plan == "cancel":
            yield from on_slot(streams, s, lambda st: release(st, me, "cancelled"))

    running = {i: citizen(i, p) for i, p in enumerate(plans)}
    steps = iter(zip(schedule, ticks + [0] * len(schedule)))
    while running:
        pick, tick = next(steps, (0, 0))
        clock[0] += tick * 3 * MIN
        key = sorted(running)[pick % len(running)]
        if next(running[key], StopIteration) is StopIteration:
            del running[key]
        state = slot_state(s, streams.events.get(s.id, []))
        assert state.taken(clock[0]) <= capacity
    held: set[str] = set()
    for e in streams.events.get(s.id, []):
        if isinstance(e, ae.SlotHeld):
            held.add(e.appointment_id)
        elif isinstance(e, ae.SlotConfirmed):
            assert e.appointment_id in held


def test_booking_windows_and_a_retried_booking():
    s = slot(capacity=2)
    state = SlotState(s)
    too_soon = decide_booking(state, BookingRequest("a", "c", START - 29 * MIN), POLICY)
    assert isinstance(too_soon, Conflict) and "bookings close 30 minutes before" in too_soon.message
    assert "2026-01-05 09:00 WIB" in too_soon.message
    too_far = decide_booking(state, BookingRequest("a", "c", START - timedelta(days=31)), POLICY)
    assert isinstance(too_far, Invalid)
    [held] = ok(decide_booking(state, BookingRequest("a", "c", NOW), POLICY))
    assert held.until == NOW + 10 * MIN
    state = state.apply(held)
    assert decide_booking(state, BookingRequest("a", "c", NOW + MIN), POLICY) == []
    # Once the hold ran out, the same appointment takes a place again.
    assert len(ok(decide_booking(state, BookingRequest("a", "c", NOW + 11 * MIN), POLICY))) == 1
    [confirmed] = ok(decide_booking(state, BookingRequest("b", "c", NOW, confirmed=True), POLICY))
    assert confirmed.until is None
    # The held place asked again confirmed (a move onto it) becomes permanent, counted once.
    full = state.apply(confirmed)
    [again] = ok(decide_booking(full, BookingRequest("a", "c", NOW + MIN, confirmed=True), POLICY))
    assert again.until is None and full.apply(again).taken(NOW + timedelta(days=1)) == 2
    assert (
        decide_booking(full.apply(again), BookingRequest("a", "c", NOW, confirmed=True), POLICY)
        == []
    )


def test_an_expired_hold_frees_its_place_and_cannot_be_confirmed():
    state = SlotState(slot(capacity=1))
    state = state.apply(ae.SlotHeld(appointment_id="a", citizen="c", until=NOW + 10 * MIN))
    assert isinstance(
        decide_booking(state, BookingRequest("b", "d", NOW + 5 * MIN), POLICY), Conflict
    )
    later = NOW + 10 * MIN
    assert state.taken(later) == 0
    refused = decide_slot_confirm(state, "a", later)
    assert isinstance(refused, Conflict) and "ran out" in refused.message
    assert decide_slot_confirm(state, "a", NOW) == [ae.SlotConfirmed(appointment_id="a")]
    assert release(state, "zzz", "cancelled") == []


def held(now: datetime = NOW, start: datetime = START) -> Appointment:
    s = slot(start)
    [e] = ok(
        decide_hold(None, HoldRequest("BWI-2026-000001", "rekam", "cit-1", "BWI", s, now), POLICY)
    )
    return folded([e])


def confirmed() -> Appointment:
    return folded(_events(held()))


def test_one_active_booking_per_application_step():
    appt = held()
    assert (
        appt.appointment_id == appointment_id("BWI-2026-000001", "rekam") == "BWI-2026-000001.rekam"
    )
    assert appointment_stream(appt.appointment_id) == "appointment-BWI-2026-000001.rekam"
    again = HoldRequest("BWI-2026-000001", "rekam", "cit-1", "BWI", slot(START + 15 * MIN), NOW)
    refused = decide_hold(appt, again, POLICY)
    assert isinstance(refused, Conflict) and "reschedule or cancel it" in refused.message
    # A hold that ran out, or a cancelled appointment, may be booked again.
    assert (
        len(ok(decide_hold(appt, HoldRequest(**{**again.__dict__, "now": NOW + 10 * MIN}), POLICY)))
        == 1
    )
    assert appt.status_at(NOW + 10 * MIN) == "expired"
    [expired] = ok(decide_expiry(appt, NOW + 10 * MIN))
    assert decide_expiry(appt, NOW) == []


def test_confirming_needs_the_slots_confirmed_place_even_after_the_hold_ran_out():
    appt = held()
    places = SlotState(slot()).apply(
        ae.SlotHeld(appointment_id=appt.appointment_id, citizen="c", until=NOW + 10 * MIN)
    )
    assert isinstance(decide_confirm(appt, places, "c", NOW), Conflict)
    places = places.apply(ae.SlotConfirmed(appointment_id=appt.appointment_id))
    [e] = ok(decide_confirm(appt, places, "c", NOW + 20 * MIN))  # completes a half-done confirm
    assert isinstance(e, ae.AppointmentConfirmed)
    assert isinstance(decide_confirm(None, places, "c", NOW), NotFound)


def test_cancel_and_reschedule_windows():
    appt = confirmed()
    assert appt.status == "confirmed" and appt.when == "2026-01-05 09:00 WIB"
    late = START - 59 * MIN
    refused = decide_cancel(appt, "cit-1", "sakit", late, POLICY)
    assert isinstance(refused, Conflict) and "changes close 60 minutes before" in refused.message
    [cancelled] = ok(decide_cancel(appt, "cit-1", "sakit", START - 61 * MIN, POLICY))
    assert folded([*_events(appt), cancelled]).status == "cancelled"
    assert isinstance(
        decide_cancel(folded([*_events(appt), cancelled]), "c", "x", NOW, POLICY), Conflict
    )

    new = slot(START + timedelta(days=1))
    assert may_reschedule(appt, new, NOW, POLICY) is None
    assert isinstance(may_reschedule(appt, new, late, POLICY), Conflict)
    elsewhere = new.model_copy(update={"location_id": "mpp-jember"})
    assert isinstance(may_reschedule(appt, elsewhere, NOW, POLICY), Invalid)
    assert isinstance(may_reschedule(None, new, NOW, POLICY), NotFound)
    not_placed = decide_reschedule(appt, SlotState(new), "cit-1", NOW, POLICY)
    assert isinstance(not_placed, Conflict)
    placed = SlotState(new).apply(
        ae.SlotHeld(appointment_id=appt.appointment_id, citizen="c", until=None)
    )
    [moved] = ok(decide_reschedule(appt, placed, "cit-1", NOW, POLICY))
    after = folded([*_events(appt), moved])
    assert (after.slot_id, after.start, after.reschedules) == (new.id, new.start, 1)
    assert decide_reschedule(after, placed, "cit-1", NOW, POLICY) == []  # a retried move
    assert isinstance(decide_reschedule(appt, placed, "cit-1", late, POLICY), Conflict)
    limit = appt.model_copy(update={"reschedules": POLICY.max_reschedules})
    too_often = decide_reschedule(limit, placed, "cit-1", NOW, POLICY)
    assert isinstance(too_often, Conflict) and "the most allowed" in too_often.message


def _events(appt: Appointment) -> list:
    """The events that fold into a confirmed appointment like ``appt``."""
    fields = appt.model_dump(
        exclude={"status", "hold_until", "reschedules", "reminded", "ticket", "version"}
    )
    return [
        ae.AppointmentHeld(**fields, hold_until=NOW + 10 * MIN),
        ae.AppointmentConfirmed(appointment_id=appt.appointment_id, by="cit-1"),
    ]


def test_reminder_once_in_its_window():
    appt = confirmed()
    assert decide_reminder(appt, "email", START - 25 * timedelta(hours=1), POLICY) == []
    [reminded] = ok(decide_reminder(appt, "email", START - 23 * timedelta(hours=1), POLICY))
    after = folded([*_events(appt), reminded])
    assert decide_reminder(after, "email", START - timedelta(hours=1), POLICY) == []
    assert decide_reminder(appt, "email", START + MIN, POLICY) == []


def test_check_in_windows_late_and_no_show():
    appt = confirmed()
    early = decide_check_in(appt, "mpp-bwi", "J001", "kiosk", START - 61 * MIN, POLICY)
    assert isinstance(early, Conflict) and "opens at 2026-01-05 08:00 WIB" in early.message
    elsewhere = decide_check_in(appt, "mpp-jember", "J001", "kiosk", START, POLICY)
    assert isinstance(elsewhere, Conflict)
    [on_time] = ok(decide_check_in(appt, "mpp-bwi", "J001", "kiosk", START + 15 * MIN, POLICY))
    assert on_time.late is False and on_time.ticket == "J001"
    [late] = ok(decide_check_in(appt, "mpp-bwi", "A007", "kiosk", START + 16 * MIN, POLICY))
    assert late.late is True
    checked = folded([*_events(appt), on_time])
    assert checked.status == "checked_in" and checked.ticket == "J001"
    assert decide_check_in(checked, "mpp-bwi", "J001", "kiosk", START, POLICY) == []
    assert decide_no_show(checked, START + timedelta(hours=1), POLICY) == []
    assert decide_no_show(appt, START + 14 * MIN, POLICY) == []
    [no_show] = ok(decide_no_show(appt, START + 15 * MIN, POLICY))
    gone = folded([*_events(appt), no_show])
    assert gone.status == "no_show"
    assert isinstance(
        decide_check_in(gone, "mpp-bwi", "J001", "kiosk", START + 20 * MIN, POLICY), Conflict
    )


def test_event_payloads_round_trip():
    appt = confirmed()
    for e in _events(appt):
        stored = e.payload()
        parsed = ae.parse(e.TYPE, stored)
        assert parsed == e and parsed is not None and parsed.payload() == stored
    assert ae.parse("SomethingNewer", {}) is None


KEY = b"k" * 32


def test_a_qr_ticket_verifies_and_names_its_slot():
    payload = qr_ticket.TicketPayload(
        appointment_id="BWI-2026-000001.rekam", location_id="mpp-bwi", slot_id=slot().id
    )
    token = qr_ticket.issue(KEY, payload)
    assert token.startswith("LQ1.") and len(token) < 200
    assert qr_ticket.read(KEY, token) == payload
    assert qr_ticket.matches(payload, "BWI-2026-000001.rekam", slot().id)
    assert not qr_ticket.matches(payload, "BWI-2026-000001.rekam", slot(START + 15 * MIN).id)


@pytest.mark.parametrize(
    "tamper",
    [
        lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),
        lambda t: t.replace("LQ1.", "LQ2."),
        lambda t: t.split(".")[0] + "." + t.split(".")[1][:-2] + "." + t.split(".")[2],
        lambda t: t + ".x",
        lambda t: "",
        lambda t: "LQ1." + "A" * 1000 + ".x",
        lambda t: "LQ1.é.x",
    ],
)
def test_a_changed_or_foreign_ticket_is_refused(tamper):
    token = qr_ticket.issue(
        KEY, qr_ticket.TicketPayload(appointment_id="a", location_id="l", slot_id="s")
    )
    with pytest.raises(Unverified):
        qr_ticket.read(KEY, tamper(token))
    with pytest.raises(Unverified):
        qr_ticket.read(b"x" * 32, token)
    with pytest.raises(ValueError, match="at least 32 bytes"):
        qr_ticket.read(b"short", token)
