"""Booking through the commands on a real SQLite store: the last place of a slot goes to
exactly one of many simultaneous bookings; confirming, moving and cancelling keep each
slot's places right; holds run out and reminders come once."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from commands import appointments as cmd
from commands import locations, queue
from domain import appointments as ap
from domain.events import (
    AgencyRef,
    ApplicationSubmitted,
    AppointmentRequested,
    ServiceRef,
    application_stream,
)
from domain.refusals import Conflict, NotFound
from domain.slots import slot_id
from eventstore.port import NO_STREAM, NewEvent
from eventstore.sqlite import SqliteEventStore
from tests.domain.test_locations import building, counter
from tests.payloads import store_mismatches

HANDLING = timedelta(minutes=15)
POLICY = ap.BookingPolicy()
NOW = datetime(2026, 1, 5, 0, 0, tzinfo=UTC)  # Monday 07:00 WIB
NINE = datetime(2026, 1, 5, 2, 0, tzinfo=UTC)  # Monday 09:00 WIB
TEN = datetime(2026, 1, 5, 3, 0, tzinfo=UTC)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteEventStore]:
    s = SqliteEventStore(tmp_path / "events.db")
    locations.define(s, building(counters=[counter("1", ("ktp-el",))]), "admin")
    yield s
    s.close()


def apply_for(store: SqliteEventStore, number: int, citizen: str = "siti@example.id") -> str:
    application_id = f"BWI-2026-{number:06d}"
    submitted = ApplicationSubmitted(
        application_id=application_id,
        service=ServiceRef(id="ktp-el", version=1, name="KTP-el"),
        agency=AgencyRef(code="BWI", name="DPMPTSP Banyuwangi"),
        citizen=citizen,
    )
    # The flow reached its appointment step: it waits for the citizen's visit.
    asked = AppointmentRequested(
        step="rekam", purpose="Perekaman biometrik", locations=[], due_at="2026-12-31T08:00:00Z"
    )
    store.append(
        application_stream(application_id),
        [
            NewEvent(uuid.uuid4(), submitted.TYPE, submitted.payload()),
            NewEvent(uuid.uuid4(), asked.TYPE, asked.payload()),
        ],
        NO_STREAM,
    )
    return application_id


def book(store: SqliteEventStore, app: str, at: datetime, citizen: str = "siti@example.id",
         now: datetime = NOW) -> cmd.Done:  # fmt: skip
    return cmd.book(
        store,
        application_id=app,
        step="rekam",
        citizen=citizen,
        slot_id=slot_id("mpp-bwi", "ktp-el", at),
        handling=HANDLING,
        policy=POLICY,
        now=now,
    )


def places(store: SqliteEventStore, at: datetime) -> int:
    slot = cmd.find_slot(store, slot_id("mpp-bwi", "ktp-el", at), HANDLING)
    return cmd._slot(store, slot).taken(NOW)


def test_many_simultaneous_bookings_for_the_last_place_one_wins(
    store: SqliteEventStore,
) -> None:
    racers = 12
    apps = [apply_for(store, i + 1, f"warga{i}@example.id") for i in range(racers)]
    barrier = threading.Barrier(racers)
    won: list[str] = []
    refused: list[str] = []

    def race(i: int) -> None:
        barrier.wait()
        try:
            book(store, apps[i], NINE, f"warga{i}@example.id")
            won.append(apps[i])
        except Conflict as e:
            refused.append(str(e))

    threads = [threading.Thread(target=race, args=(i,)) for i in range(racers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(won) == 1, (won, refused)
    assert len(refused) == racers - 1 and all("fully booked" in r for r in refused), refused
    assert places(store, NINE) == 1  # capacity 1: one officer, one service


def test_confirm_reschedule_and_cancel_move_the_places(
    store: SqliteEventStore, tmp_path: Path
) -> None:
    app = apply_for(store, 1)
    held = book(store, app, NINE).appointment
    assert held.status == "held" and places(store, NINE) == 1
    assert book(store, app, NINE).appointment.version == held.version  # a retry: nothing new
    with pytest.raises(Conflict, match="already has an appointment"):
        book(store, app, TEN)
    with pytest.raises(NotFound):
        cmd.confirm(store, held.appointment_id, "dewi@example.id", NOW)
    with pytest.raises(Conflict, match="only a confirmed"):
        cmd.reschedule(store, held.appointment_id, "siti@example.id",
                       slot_id("mpp-bwi", "ktp-el", TEN), HANDLING, POLICY, NOW)  # fmt: skip
    confirmed = cmd.confirm(store, held.appointment_id, "siti@example.id", NOW).appointment
    assert confirmed.status == "confirmed"
    moved = cmd.reschedule(store, held.appointment_id, "siti@example.id",
                           slot_id("mpp-bwi", "ktp-el", TEN), HANDLING, POLICY, NOW)  # fmt: skip
    assert moved.appointment.start == TEN and moved.appointment.reschedules == 1
    assert (places(store, NINE), places(store, TEN)) == (0, 1)
    # Another citizen may now take nine o'clock, not ten.
    other = apply_for(store, 2, "dewi@example.id")
    with pytest.raises(Conflict, match="fully booked"):
        book(store, other, TEN, "dewi@example.id")
    book(store, other, NINE, "dewi@example.id")
    late = TEN - timedelta(minutes=POLICY.change_until_minutes - 1)
    with pytest.raises(Conflict, match="can no longer be cancelled"):
        cmd.cancel(store, held.appointment_id, "siti@example.id", "", POLICY, late)
    cancelled = cmd.cancel(store, held.appointment_id, "siti@example.id", "sakit", POLICY, NOW)
    assert cancelled.appointment.status == "cancelled" and places(store, TEN) == 0
    assert [a.appointment_id for a in cmd.listed(store, cmd.citizen_index("siti@example.id"))] == [
        held.appointment_id
    ]
    assert len(cmd.listed(store, cmd.location_index("mpp-bwi"))) == 2
    assert store_mismatches(tmp_path / "events.db") == []  # the payloads round-trip


def test_a_hold_runs_out_and_the_reminder_comes_once(
    store: SqliteEventStore, tmp_path: Path
) -> None:
    first, second = apply_for(store, 1), apply_for(store, 2, "dewi@example.id")
    held = book(store, first, NINE).appointment
    later = NOW + timedelta(minutes=POLICY.hold_minutes + 1)
    for _ in range(2):  # a second sweep (a restart) records nothing more
        swept = cmd.sweep_one(store, held.appointment_id, POLICY, later)
        assert swept is not None and swept.status == "expired"
    assert places(store, NINE) == 0
    with pytest.raises(Conflict, match="ran out"):
        cmd.confirm(store, held.appointment_id, "siti@example.id", later)
    other = book(store, second, NINE, "dewi@example.id", now=later).appointment
    cmd.confirm(store, other.appointment_id, "dewi@example.id", later)
    for _ in range(2):
        reminded = cmd.sweep_one(store, other.appointment_id, POLICY, later)
        assert reminded is not None and reminded.reminded
        assert reminded.version == 2  # held, confirmed, reminded once


def test_only_a_step_waiting_for_a_visit_takes_an_appointment(store: SqliteEventStore) -> None:
    app = apply_for(store, 1)
    with pytest.raises(Conflict, match="does not wait for a visit at step 'ambil'"):
        cmd.book(store, application_id=app, step="ambil", citizen="siti@example.id",
                 slot_id=slot_id("mpp-bwi", "ktp-el", NINE), handling=HANDLING,
                 policy=POLICY, now=NOW)  # fmt: skip
    with pytest.raises(NotFound):
        book(store, app, NINE, citizen="dewi@example.id")  # not her application
    assert places(store, NINE) == 0


def test_a_confirmed_appointment_nobody_came_to_is_a_no_show_counted_once(
    store: SqliteEventStore,
) -> None:
    app = apply_for(store, 1)
    held = book(store, app, NINE).appointment
    cmd.confirm(store, held.appointment_id, "siti@example.id", NOW)
    after_grace = NINE + timedelta(minutes=POLICY.grace_minutes + 1)
    for _ in range(2):  # a second sweep (a restart) records nothing more
        swept = cmd.sweep_one(store, held.appointment_id, POLICY, after_grace)
        assert swept is not None and swept.status == "no_show"
    location = locations.load(store, "mpp-bwi")
    assert location is not None
    [gone] = queue.no_shows(store, location, location.local_day(after_grace))
    assert gone.appointment_id == held.appointment_id
