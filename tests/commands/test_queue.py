"""The counter queue on a real event store: numbers per location and day, calls in the
explained order, served and missed, races settled by the expected version, the policy."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from commands import queue as cq
from domain.appointment_events import NoShowRecorded
from domain.queue import PriorityGroup, QueuePolicy
from domain.queue_events import queue_stream
from domain.refusals import Conflict, Invalid, NotFound
from eventstore.sqlite import SqliteEventStore
from tests.domain.test_locations import building, counter

LOC = building(counters=[counter("1", ("ktp-el", "akta"), officers=1), counter("2", ("akta",))])
T0 = datetime(2026, 1, 5, 1, 0, tzinfo=UTC)  # Monday 08.00 WIB


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteEventStore]:
    s = SqliteEventStore(tmp_path / "events.db")
    yield s
    s.close()


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def test_numbers_per_kind_and_a_new_day_starts_again(store: SqliteEventStore) -> None:
    a1 = cq.take_number(store, LOC, "ktp-el", "walk_in", at(0))
    a2 = cq.take_number(store, LOC, "akta", "walk_in", at(1))
    p1 = cq.take_number(store, LOC, "ktp-el", "walk_in", at(2), priority="elderly")
    assert [a1.ticket.number, a2.ticket.number, p1.ticket.number] == ["A001", "A002", "P001"]
    assert a1.position is not None and a2.position is not None and a1.position < a2.position
    tomorrow = cq.take_number(store, LOC, "ktp-el", "walk_in", at(24 * 60))
    assert tomorrow.ticket.number == "A001"
    assert store.stream_version(queue_stream(LOC.id, at(0).date())) == 2


def test_an_appointment_gets_one_number_a_day(store: SqliteEventStore) -> None:
    kw = {"appointment_id": "BWI-2026-000001.foto", "slot_start": at(30),
          "application_id": "BWI-2026-000001", "step": "foto", "citizen": "siti"}  # fmt: skip
    first = cq.take_number(store, LOC, "ktp-el", "appointment", at(0), **kw)  # type: ignore[arg-type]
    again = cq.take_number(store, LOC, "ktp-el", "appointment", at(1), **kw)  # type: ignore[arg-type]
    assert first.ticket.number == again.ticket.number == "J001"
    assert again.position is None
    assert (first.ticket.application_id, first.ticket.step) == ("BWI-2026-000001", "foto")
    assert cq.citizen_numbers(store, "siti", at(0).date()) == [(LOC.id, "J001")]


def test_refusals_name_what_to_do(store: SqliteEventStore) -> None:
    with pytest.raises(Invalid, match="no counter of MPP Banyuwangi serves izin-lain"):
        cq.take_number(store, LOC, "izin-lain", "walk_in", at(0))
    with pytest.raises(Invalid, match="not a priority group"):
        cq.take_number(store, LOC, "akta", "walk_in", at(0), priority="vip")
    with pytest.raises(NotFound, match="no counter 9"):
        cq.call_next(store, LOC, "9", at(0), QueuePolicy())
    with pytest.raises(NotFound, match="no number A042"):
        cq.served(store, LOC, "A042", at(0))
    cq.take_number(store, LOC, "akta", "walk_in", at(0))
    with pytest.raises(Conflict, match="only a called number"):
        cq.served(store, LOC, "A001", at(1))


def test_calls_follow_the_explained_order_and_serve(store: SqliteEventStore) -> None:
    policy = QueuePolicy()
    cq.take_number(store, LOC, "akta", "walk_in", at(0))  # A001
    cq.take_number(store, LOC, "ktp-el", "walk_in", at(1))  # A002
    cq.take_number(store, LOC, "ktp-el", "walk_in", at(2), priority="pregnant")  # P001
    cq.take_number(store, LOC, "ktp-el", "appointment", at(3), appointment_id="x.y",
                   slot_start=at(10))  # fmt: skip
    first = cq.call_next(store, LOC, "1", at(4), policy)
    assert first is not None and first.ticket.number == "P001"
    assert "kelompok prioritas (ibu hamil)" in first.reason
    assert first.passed_over == ["A001", "A002"]
    # Counter 2 serves only akta: A001, by arrival.
    second = cq.call_next(store, LOC, "2", at(5), policy)
    assert second is not None and second.ticket.number == "A001"
    assert "urutan kedatangan" in second.reason
    served = cq.served(store, LOC, "P001", at(9))
    assert served.ticket.status == "served" and served.position is not None
    assert cq.served(store, LOC, "P001", at(9)).position is None  # a retry records nothing
    due = cq.call_next(store, LOC, "1", at(10), policy)
    assert due is not None and due.ticket.number == "J001"
    assert "janji temunya pukul 08.10 WIB" in due.reason
    assert cq.missed(store, LOC, "J001", at(12)).ticket.status == "missed"
    last = cq.call_next(store, LOC, "1", at(13), policy)
    assert last is not None and last.ticket.number == "A002"
    assert cq.call_next(store, LOC, "1", at(14), policy) is None


def test_racing_kiosks_never_share_a_number_and_counters_never_share_a_citizen(
    store: SqliteEventStore,
) -> None:
    with ThreadPoolExecutor(8) as pool:
        taken = list(pool.map(
            lambda i: cq.take_number(store, LOC, "akta", "walk_in", at(i / 100)).ticket.number,
            range(40),
        ))  # fmt: skip
    assert len(set(taken)) == 40
    with ThreadPoolExecutor(8) as pool:
        calls = list(pool.map(
            lambda i: cq.call_next(store, LOC, "2" if i % 2 else "1", at(5), QueuePolicy()),
            range(40),
        ))  # fmt: skip
    called = [c.ticket.number for c in calls if c is not None]
    assert sorted(called) == sorted(taken)


def test_the_policy_is_the_latest_set(store: SqliteEventStore) -> None:
    assert cq.policy_of(store, LOC.id) == QueuePolicy()
    mine = QueuePolicy(groups=[PriorityGroup(id="veteran", label="veteran")], max_passed_over=5)
    cq.set_policy(store, LOC, mine, "admin")
    assert cq.policy_of(store, LOC.id) == mine
    assert (
        cq.take_number(store, LOC, "akta", "walk_in", at(0), priority="veteran").ticket.number
        == "P001"
    )
    with pytest.raises(Invalid, match="veteran"):
        cq.take_number(store, LOC, "akta", "walk_in", at(0), priority="elderly")


def test_a_no_show_is_listed_once_in_its_day_and_the_queue_still_works(
    store: SqliteEventStore,
) -> None:
    gone = NoShowRecorded(appointment_id="BWI-2026-000002.foto", location_id=LOC.id,
                          service_id="ktp-el", slot_id="s", at=at(30))  # fmt: skip
    cq.note_no_show(store, LOC, gone)
    cq.note_no_show(store, LOC, gone)  # the timer's retry
    assert cq.no_shows(store, LOC, at(0).date()) == [gone]
    assert cq.take_number(store, LOC, "akta", "walk_in", at(31)).ticket.number == "A001"
