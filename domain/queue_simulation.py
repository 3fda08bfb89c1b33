"""How many counters keep the wait under a target: a discrete-event simulation of a
location's queue, so an agency can plan "tanpa antre" before opening day.

Pure and seeded: the same scenario gives the same figures. Hand-rolled (a heap of
arrivals and officers becoming free) over the very call rules of the hall
(``domain.queue.next_call``): citizens arrive as a Poisson process (exponential gaps),
each is served for an exponential time of the given mean (or exactly that long), by
``counters`` counters of one officer each serving the service. A share of the citizens
may belong to a priority group, called first as the hall calls them.

The run is one long open day: the first ``warm_up`` share of the citizens is left out of
the figures, so that the empty hall at opening does not flatter them. The number of
citizens bounds the run (``MAX_CITIZENS``), and with it the events (two per citizen).
"""

from __future__ import annotations

import heapq
import math
import random
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from statistics import fmean
from typing import Final, Literal

from domain.locations import MAX_COUNTERS, Counter
from domain.queue import QueuePolicy, QueueState, Ticket, next_call
from domain.refusals import Invalid

MAX_CITIZENS: Final = 1_000_000
SERVICE: Final = "layanan"
_START: Final = datetime(2026, 1, 5, 1, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Scenario:
    arrivals_per_hour: float
    minutes_per_citizen: float
    counters: int
    handling: Literal["exponential", "fixed"] = "exponential"
    priority_share: float = 0.0
    """Share of citizens in a priority group (elderly, disabled, pregnant)."""
    citizens: int = 100_000
    warm_up: float = 0.02
    seed: int = 2026

    def check(self) -> None:
        if not 0 < self.arrivals_per_hour <= 10_000:
            raise Invalid("arrivals per hour must be above 0 and at most 10000")
        if not 0 < self.minutes_per_citizen <= 480:
            raise Invalid("minutes per citizen must be above 0 and at most 480")
        if not 1 <= self.counters <= MAX_COUNTERS:
            raise Invalid(f"counters must be from 1 to {MAX_COUNTERS}")
        if not 0 <= self.priority_share <= 1:
            raise Invalid("the priority share is a fraction from 0 to 1")
        if not 100 <= self.citizens <= MAX_CITIZENS:
            raise Invalid(f"simulate from 100 to {MAX_CITIZENS} citizens")
        if not 0 <= self.warm_up < 0.5:
            raise Invalid("the warm-up share must be at least 0 and below 0.5")

    @property
    def load(self) -> float:
        """Offered load per counter (utilisation): above 1 the queue grows without end."""
        return self.arrivals_per_hour * self.minutes_per_citizen / 60 / self.counters


@dataclass(frozen=True)
class Result:
    citizens: int
    """Measured (after the warm-up)."""
    mean_wait_minutes: float
    p50_wait_minutes: float
    p90_wait_minutes: float
    p95_wait_minutes: float
    max_wait_minutes: float
    waited_share: float
    """Share of citizens who waited at all (Erlang C's probability of waiting)."""
    utilisation: float

    def within(self, target_minutes: float) -> bool:
        return self.mean_wait_minutes <= target_minutes


def simulate(s: Scenario) -> Result:
    """Play the scenario; the waits are from arrival to call."""
    s.check()
    rng = random.Random(s.seed)
    rate = s.arrivals_per_hour / 3600  # per second
    mean_service = s.minutes_per_citizen * 60
    counters = [
        Counter(id=f"loket-{i + 1}", name=f"Loket {i + 1}", services=[SERVICE])
        for i in range(s.counters)
    ]
    policy = QueuePolicy()
    priority_group = policy.groups[0].id if policy.groups else None
    state = QueueState("simulasi")
    free = list(range(s.counters))  # idle counters, lowest first
    # (time in seconds, kind 0 = a counter frees / 1 = an arrival, counter or citizen)
    events: list[tuple[float, int, int]] = [(rng.expovariate(rate), 1, 0)]
    waits: list[float] = []
    busy_seconds = 0.0
    skip = int(s.citizens * s.warm_up)

    def call(counter: int, now: float) -> None:
        nonlocal state, busy_seconds
        at = _START + timedelta(seconds=now)
        decided = next_call(state, counters[counter], at, policy)
        assert decided is not None
        t = decided.ticket
        if int(t.number[1:]) >= skip:
            waits.append((at - t.arrived_at).total_seconds() / 60)
        # What ``QueueState.apply`` does with the call, cut to the waiting numbers (the
        # called one leaves the simulated hall): the full fold costs a copy per ticket.
        tickets = dict(state.tickets)
        del tickets[t.number]
        for n in decided.passed_over:
            tickets[n] = replace(tickets[n], passed_over=tickets[n].passed_over + 1)
        state = QueueState(state.location_id, state.time_zone, tickets)
        took = rng.expovariate(1 / mean_service) if s.handling == "exponential" else mean_service
        busy_seconds += took
        heapq.heappush(events, (now + took, 0, counter))

    end = 0.0
    while events:
        now, kind, which = heapq.heappop(events)
        end = now
        if kind == 1:
            priority = priority_group if rng.random() < s.priority_share else None
            number = f"{'P' if priority else 'A'}{which}"
            arrived = _START + timedelta(seconds=now)
            ticket = Ticket(number, SERVICE, "walk_in", arrived, which, priority=priority)
            state = QueueState(
                state.location_id, state.time_zone, {**state.tickets, number: ticket}
            )
            if which + 1 < s.citizens:
                heapq.heappush(events, (now + rng.expovariate(rate), 1, which + 1))
            if free:
                call(free.pop(0), now)
        else:
            if state.tickets:
                call(which, now)
            else:
                free.append(which)
                free.sort()
    ordered = sorted(waits)
    return Result(
        citizens=len(ordered),
        mean_wait_minutes=fmean(ordered),
        p50_wait_minutes=_rank(ordered, 0.5),
        p90_wait_minutes=_rank(ordered, 0.9),
        p95_wait_minutes=_rank(ordered, 0.95),
        max_wait_minutes=ordered[-1],
        waited_share=sum(1 for w in ordered if w > 0) / len(ordered),
        utilisation=busy_seconds / (end * s.counters) if end > 0 else 0.0,
    )


def counters_needed(s: Scenario, target_minutes: float) -> tuple[int, Result] | None:
    """The fewest counters whose simulated mean wait is at most ``target_minutes``, with
    its figures; None when even ``MAX_COUNTERS`` do not. Fewer counters than the load
    (arrivals times handling) can never keep up, so the search starts above it."""
    if target_minutes < 0:
        raise Invalid("the target wait must be 0 minutes or more")
    first = max(1, math.floor(s.arrivals_per_hour * s.minutes_per_citizen / 60) + 1)
    for c in range(first, MAX_COUNTERS + 1):
        result = simulate(replace(s, counters=c))
        if result.within(target_minutes):
            return c, result
    return None


def erlang_c_wait_minutes(arrivals_per_hour: float, minutes_per_citizen: float, c: int) -> float:
    """The textbook anchor: M/M/c's mean wait in the queue (Erlang C), in minutes;
    infinite when the counters cannot keep up."""
    lam = arrivals_per_hour / 60
    mu = 1 / minutes_per_citizen
    a = lam / mu
    if a >= c:
        return math.inf
    top = a**c / math.factorial(c) * c / (c - a)
    p_wait = top / (sum(a**k / math.factorial(k) for k in range(c)) + top)
    return p_wait / (c * mu - lam)


def _rank(ordered: list[float], q: float) -> float:
    """The nearest-rank percentile."""
    return ordered[max(math.ceil(q * len(ordered)) - 1, 0)]
