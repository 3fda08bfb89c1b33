"""The call order: appointments at their time, priority groups, walk-ins in arrival
order, a fairness cap no one waits beyond; the reasons; the waiting-time estimates."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.events import Event
from domain.locations import Counter, Location
from domain.queue import (
    MAX_ESTIMATES,
    QueuePolicy,
    QueueState,
    estimates,
    fold,
    group_for,
    next_call,
    position,
    service_times,
)
from domain.queue_events import (
    MAX_TICKETS_PER_DAY,
    TicketCalled,
    TicketIssued,
    TicketKind,
    TicketMissed,
    TicketServed,
    queue_stream,
)
from domain.refusals import Conflict

OPEN = datetime(2026, 1, 5, 1, tzinfo=UTC)  # 08:00 WIB
MIN = timedelta(minutes=1)
POLICY = QueuePolicy()
LOKET = Counter(id="1", name="Loket 1", services=["ktp-el", "kia"])


def location(*counters: Counter) -> Location:
    return Location(
        id="mpp-bwi",
        agency="BWI",
        name="MPP Banyuwangi",
        counters=list(counters or [LOKET]),
        hours={0: [{"start": "08:00", "end": "15:00"}]},
    )


def issue(
    state: QueueState,
    minute: float,
    kind="walk_in",
    service="ktp-el",
    priority=None,
    slot_minute=None,
) -> QueueState:
    number = state.next_number(kind, priority)
    return state.apply(
        TicketIssued(
            ticket=number,
            location_id="mpp-bwi",
            service_id=service,
            kind=kind,
            arrived_at=OPEN + minute * MIN,
            priority=priority,
            appointment_id=f"BWI-2026-00000{len(state.tickets)}.rekam"
            if kind == "appointment"
            else None,
            slot_start=OPEN + slot_minute * MIN if slot_minute is not None else None,
        )
    )


def call(state: QueueState, minute: float, counter: Counter = LOKET):
    decided = next_call(state, counter, OPEN + minute * MIN, POLICY)
    assert decided is not None
    return decided, state.apply(decided.event(counter.id, OPEN + minute * MIN))


def test_walk_ins_in_arrival_order_with_the_reason():
    state = issue(issue(QueueState("mpp-bwi"), 1), 2)
    first, state = call(state, 3)
    assert first.ticket.number == "A001" and first.passed_over == []
    assert (
        first.reason == "Nomor A001 dipanggil menurut urutan kedatangan (datang pukul 08.01 WIB)."
    )
    second, _ = call(state, 4)
    assert second.ticket.number == "A002"
    assert queue_stream("mpp-bwi", OPEN.date()) == "queue-mpp-bwi-20260105"


def test_an_appointment_is_called_at_its_time_before_earlier_walk_ins():
    state = issue(QueueState("mpp-bwi"), 0)  # A001
    state = issue(state, 5, kind="appointment", slot_minute=30)  # J001, booked 08:30
    before, _ = call(state, 29)
    assert before.ticket.number == "A001"
    at_time, _ = call(state, 30)
    assert at_time.ticket.number == "J001"
    assert (
        at_time.reason
        == "Nomor J001 dipanggil karena jadwal janji temunya pukul 08.30 WIB sudah tiba."
    )
    assert at_time.passed_over == ["A001"]


def test_priority_groups_go_before_walk_ins_and_an_early_appointment_fills_an_idle_counter():
    state = issue(QueueState("mpp-bwi"), 0)
    state = issue(state, 1, priority="elderly")
    chosen, state = call(state, 2)
    assert chosen.ticket.number == "P001"
    assert (
        chosen.reason
        == "Nomor P001 didahulukan sebagai kelompok prioritas (lansia), menurut urutan kedatangan."
    )
    idle = issue(QueueState("mpp-bwi"), 0, kind="appointment", slot_minute=60)
    early, _ = call(idle, 10)
    assert early.ticket.number == "J001"
    assert "sebelum jadwalnya (09.00 WIB) karena tidak ada yang menunggu" in early.reason


def test_a_counter_calls_only_its_services():
    state = issue(QueueState("mpp-bwi"), 0, service="izin-usaha")
    assert next_call(state, LOKET, OPEN, POLICY) is None
    other = Counter(id="2", name="Loket 2", services=["izin-usaha"])
    decided = next_call(state, other, OPEN, POLICY)
    assert decided is not None and decided.ticket.number == "A001"


def test_the_fairness_cap_calls_a_walk_in_passed_over_too_often():
    state = issue(QueueState("mpp-bwi"), 0)  # A001
    for m in range(1, 6):
        state = issue(state, m, priority="pregnant")
    for m in range(1, 4):
        chosen, state = call(state, 10 + m)
        assert chosen.ticket.priority == "pregnant"
    assert state.tickets["A001"].passed_over == 3
    capped, state = call(state, 14)
    assert capped.ticket.number == "A001"
    assert capped.reason == (
        "Nomor A001 dipanggil sekarang karena sudah 3 kali didahului orang yang datang "
        "lebih akhir; kebijakan membatasinya 3 kali."
    )


def test_priority_groups_by_age_or_declaration_as_the_agency_sets_them():
    assert group_for(POLICY, 61) == "elderly"
    assert group_for(POLICY, 59) is None
    assert group_for(POLICY, 30, ["pregnant"]) == "pregnant"
    assert group_for(POLICY, None, ["veteran"]) is None
    custom = QueuePolicy(
        groups=[
            {"id": "veteran", "label": "veteran"},
            {"id": "elderly", "label": "lansia", "min_age": 65},
        ]
    )
    assert group_for(custom, 62) is None
    assert group_for(custom, 70, ["veteran"]) == "veteran"


def test_estimates_follow_the_call_order_and_recent_service_times():
    state = QueueState("mpp-bwi")
    for m in range(3):
        state = issue(state, m)
    # One officer, no history: 10 minutes each by default, the first called at once.
    now = OPEN + 5 * MIN
    assert estimates(state, location(), now, POLICY) == [
        ("A001", 0 * MIN),
        ("A002", 10 * MIN),
        ("A003", 20 * MIN),
    ]
    # The service's own handling time replaces the default.
    waits = estimates(state, location(), now, POLICY, {"ktp-el": 4 * MIN})
    assert [w for _, w in waits] == [0 * MIN, 4 * MIN, 8 * MIN]
    # A001 served in 6 minutes: the recent mean takes over; A002 called 2 minutes ago.
    _, state = call(state, 5)
    state = state.apply(TicketServed(ticket="A001", counter="1", at=OPEN + 11 * MIN))
    _, state = call(state, 11)
    now = OPEN + 13 * MIN
    assert service_times(state, {})["ktp-el"] == 6 * MIN
    assert estimates(state, location(), now, POLICY) == [("A003", 4 * MIN)]
    assert position(state, "A003", location(), now, POLICY) == (1, 4 * MIN)
    assert position(state, "A002", location(), now, POLICY) is None  # called already
    two = location(Counter(id="1", name="Loket 1", services=["ktp-el"], officers=2))
    assert estimates(state, two, now, POLICY) == [("A003", 0 * MIN)]


def test_now_serving_and_numbering():
    state = issue(
        issue(issue(QueueState("mpp-bwi"), 0), 1, kind="appointment", slot_minute=0),
        2,
        priority="disabled",
    )
    assert list(state.tickets) == ["A001", "J001", "P001"]
    chosen, state = call(state, 3)
    assert state.now_serving() == {"1": [chosen.ticket.number]}
    state = state.apply(TicketMissed(ticket=chosen.ticket.number, counter="1", at=OPEN + 5 * MIN))
    assert state.now_serving() == {}
    assert state.tickets[chosen.ticket.number].status == "missed"


KINDS = st.sampled_from(["walk", "walk", "walk", "priority", "appointment"])


@settings(max_examples=200, deadline=None)
@given(
    arrivals=st.lists(
        st.tuples(KINDS, st.integers(0, 2), st.integers(0, 60)), min_size=1, max_size=30
    ),
    calls=st.lists(st.tuples(st.integers(0, 2), st.integers(0, 10)), min_size=0, max_size=60),
    cap=st.integers(1, 5),
)
def test_no_one_is_passed_over_beyond_the_policys_bound(arrivals, calls, cap):
    """Random days at three counters serving overlapping services: no waiting number is
    ever passed over more than ``max_passed_over`` times, every call names a waiting
    number the counter serves, and the counters empty the queue once arrivals stop."""
    policy = QueuePolicy(max_passed_over=cap)
    services = ["ktp-el", "kia", "akta"]
    counters = [
        Counter(id="1", name="Loket 1", services=["ktp-el", "kia"]),
        Counter(id="2", name="Loket 2", services=["kia", "akta"]),
        Counter(id="3", name="Loket 3", services=["akta", "ktp-el"]),
    ]
    events: list[Event] = []
    now = OPEN
    pending = sorted(arrivals, key=lambda a: a[2])
    state = QueueState("mpp-bwi")
    for which, gap in [*calls, (0, 61), *[(i % 3, 1) for i in range(3 * len(arrivals) + 3)]]:
        now += gap * MIN
        while pending and OPEN + pending[0][2] * MIN <= now:
            kind, svc, minute = pending.pop(0)
            k: TicketKind = "appointment" if kind == "appointment" else "walk_in"
            prio = "elderly" if kind == "priority" else None
            e = TicketIssued(
                ticket=state.next_number(k, prio),
                location_id="mpp-bwi",
                service_id=services[svc],
                kind=k,
                arrived_at=OPEN + minute * MIN,
                priority=prio,
                slot_start=OPEN + (minute + 20) * MIN if k == "appointment" else None,
            )
            state = state.apply(e)
            events.append(e)
        counter = counters[which]
        decided = next_call(state, counter, now, policy)
        if decided is None:
            assert not [t for t in state.waiting() if t.service_id in counter.services]
            continue
        assert decided.ticket.status == "waiting" and decided.ticket.service_id in counter.services
        call_event = decided.event(counter.id, now)
        state = state.apply(call_event)
        events.append(call_event)
        assert all(t.passed_over <= cap for t in state.tickets.values())
    assert not pending and state.waiting() == []
    assert fold("mpp-bwi", "WIB", events) == state
    called = [e for e in events if isinstance(e, TicketCalled)]
    assert len(called) == len({e.ticket for e in called}) == len(arrivals)


def test_a_days_queue_and_its_estimates_are_bounded():
    state = QueueState("mpp-bwi")
    for m in range(MAX_ESTIMATES + 5):
        state = issue(state, m / 100)
    assert len(estimates(state, location(), OPEN + 5 * MIN, POLICY)) == MAX_ESTIMATES
    assert position(state, f"A{MAX_ESTIMATES + 1:03d}", location(), OPEN + 5 * MIN, POLICY) is None
    full = replace(
        state, tickets={f"A{i:04d}": state.tickets["A001"] for i in range(MAX_TICKETS_PER_DAY)}
    )
    with pytest.raises(Conflict, match="the most a day's queue holds"):
        full.next_number("walk_in")
