"""Waiting-time figures: what each one measures, and that every breakdown adds up."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.appointment_events import CitizenCheckedIn, NoShowRecorded
from domain.events import Event
from domain.queue import QueueState
from domain.queue_events import TicketCalled, TicketIssued, TicketMissed, TicketServed
from domain.queue_figures import figures

OPEN = datetime(2026, 1, 5, 1, tzinfo=UTC)  # 08:00 WIB
MIN = timedelta(minutes=1)


def issued(
    number: str, minute: int, service: str = "ktp-el", slot: int | None = None
) -> TicketIssued:
    return TicketIssued(
        ticket=number,
        location_id="mpp-bwi",
        service_id=service,
        kind="appointment" if slot is not None else "walk_in",
        arrived_at=OPEN + minute * MIN,
        slot_start=OPEN + slot * MIN if slot is not None else None,
    )


def called(number: str, minute: int, counter: str = "1") -> TicketCalled:
    return TicketCalled(ticket=number, counter=counter, at=OPEN + minute * MIN, reason="-")


def day(*events) -> QueueState:
    state = QueueState("mpp-bwi")
    for e in events:
        state = state.apply(e)
    return state


def appointment(kind, service="ktp-el", minute=0):
    common = {
        "appointment_id": "x",
        "location_id": "mpp-bwi",
        "service_id": service,
        "at": OPEN + minute * MIN,
    }
    if kind == "no_show":
        return NoShowRecorded(**common, slot_id="s")
    return CitizenCheckedIn(**common, ticket="J001", late=False, by="kiosk")


def test_a_small_day_by_hand():
    queue = day(
        issued("A001", 0),
        issued("A002", 5, service="kia"),
        issued("J001", 0, slot=30),  # came 30 minutes early for 08:30
        called("A001", 10),
        TicketServed(ticket="A001", counter="1", at=OPEN + 16 * MIN),
        called("J001", 32, counter="2"),
        TicketServed(ticket="J001", counter="2", at=OPEN + 40 * MIN),
        called("A002", 45),
        TicketMissed(ticket="A002", counter="1", at=OPEN + 47 * MIN),
        issued("A003", 50),  # still waiting: not measured
    )
    events = [appointment("checked_in"), appointment("no_show"), appointment("no_show", "kia")]
    f = figures([queue], events, "WIB", target=15 * MIN, targets={"kia": 60 * MIN})
    t = f.total
    assert (t.called, t.served, t.missed) == (3, 2, 1)
    # Waits: A001 10, J001 2 (from its booked time, not its arrival), A002 40.
    assert (
        t.waiting.count,
        t.waiting.mean_minutes,
        t.waiting.median_minutes,
        t.waiting.max_minutes,
    ) == (3, 17.3, 10.0, 40.0)
    assert t.waiting.p90_minutes == 40.0
    assert (t.service.count, t.service.mean_minutes) == (2, 7.0)  # 6 and 8 minutes
    assert t.within_target == 1.0  # kia's target is 60 minutes
    assert (t.checked_in, t.no_shows, t.no_show_rate) == (1, 2, 0.6667)
    assert (
        f.by_service["ktp-el"].within_target == 1.0 and f.by_service["ktp-el"].no_show_rate == 0.5
    )
    assert f.by_service["kia"].missed == 1 and f.by_service["kia"].no_show_rate == 1.0
    assert f.by_counter["1"].called == 2 and f.by_counter["2"].served == 1
    assert f.by_counter["1"].no_show_rate is None
    assert list(f.by_day) == ["2026-01-05"]
    strict = figures([queue], [], "WIB", target=5 * MIN)
    assert strict.total.within_target == round(1 / 3, 4)
    assert strict.total.no_show_rate is None


def test_days_are_counted_in_the_locations_time_zone():
    late_evening_utc = OPEN + 16 * 60 * MIN  # 00:00 WIB the next day
    queue = day(
        TicketIssued(
            ticket="A001",
            location_id="mpp-bwi",
            service_id="kia",
            kind="walk_in",
            arrived_at=late_evening_utc,
        ),
        TicketCalled(ticket="A001", counter="1", at=late_evening_utc + MIN, reason="-"),
    )
    assert list(figures([queue], [], "WIB", target=MIN).by_day) == ["2026-01-06"]
    assert list(figures([queue], [], "WIT", target=MIN).by_day) == ["2026-01-06"]
    assert list(figures([day()], [], "WIB", target=MIN).by_day) == []


@settings(max_examples=200, deadline=None)
@given(
    tickets=st.lists(
        st.tuples(
            st.integers(0, 2),  # service
            st.integers(0, 3000),  # arrival minute (spans days)
            st.one_of(st.none(), st.integers(0, 120)),  # wait until called; None: waiting
            st.sampled_from(["served", "missed", "called"]),
            st.integers(1, 60),  # service minutes
            st.integers(0, 2),  # counter
        ),
        max_size=40,
    ),
    visits=st.lists(st.tuples(st.booleans(), st.integers(0, 2), st.integers(0, 3000)), max_size=20),
    target=st.integers(1, 60),
)
def test_figures_are_consistent(tickets, visits, target):
    services = ["ktp-el", "kia", "akta"]
    events: list[Event] = []
    for i, (svc, arrive, wait, end, took, counter) in enumerate(tickets):
        number = f"A{i + 1:03d}"
        events.append(issued(number, arrive, services[svc]))
        if wait is not None:
            events.append(called(number, arrive + wait, str(counter)))
            done = OPEN + (arrive + wait + took) * MIN
            if end == "served":
                events.append(TicketServed(ticket=number, counter=str(counter), at=done))
            elif end == "missed":
                events.append(TicketMissed(ticket=number, counter=str(counter), at=done))
    appointments = [
        appointment("no_show" if no else "checked_in", services[s], m) for no, s, m in visits
    ]
    f = figures([day(*events)], appointments, "WITA", target=target * MIN)
    t = f.total
    measured = [w for _, _, w, *_ in tickets if w is not None]
    assert t.called == len(measured) == t.waiting.count
    assert t.served == t.service.count
    assert t.served + t.missed <= t.called
    for breakdown in (f.by_service, f.by_counter, f.by_day):
        for attr in ("called", "served", "missed"):
            assert sum(getattr(g, attr) for g in breakdown.values()) == getattr(t, attr)
    for breakdown in (f.by_service, f.by_day):
        assert (
            sum(g.no_shows for g in breakdown.values())
            == t.no_shows
            == sum(no for no, _, _ in visits)
        )
        assert sum(g.checked_in for g in breakdown.values()) == t.checked_in
    for g in [t, *f.by_service.values(), *f.by_counter.values(), *f.by_day.values()]:
        for rate in (g.within_target, g.no_show_rate):
            assert rate is None or 0 <= rate <= 1
        for d in (g.waiting, g.service):
            if d.count:
                assert d.mean_minutes is not None and d.max_minutes is not None
                assert d.median_minutes is not None and d.p90_minutes is not None
                assert (
                    d.mean_minutes <= d.max_minutes
                    and d.median_minutes <= d.p90_minutes <= d.max_minutes
                )
    if measured:
        assert t.within_target == round(sum(w <= target for w in measured) / len(measured), 4)
        assert t.waiting.max_minutes == max(measured)
