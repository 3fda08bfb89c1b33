"""The queue simulation against the textbook: M/M/c's mean wait (Erlang C), computed
here from the formula, not from the module under test."""

from __future__ import annotations

import math

import pytest

from domain.queue_simulation import Scenario, counters_needed, erlang_c_wait_minutes, simulate
from domain.refusals import Invalid


def erlang_c_wq_hours(lam: float, mu: float, c: int) -> float:
    """Wq = C(c, a) / (c mu - lam), a = lam / mu, C the Erlang C probability of waiting."""
    a = lam / mu
    rho = a / c
    last = a**c / math.factorial(c) / (1 - rho)
    p_wait = last / (sum(a**k / math.factorial(k) for k in range(c)) + last)
    return p_wait / (c * mu - lam)


def test_the_textbook_case_lambda_10_mu_4_c_3() -> None:
    """lambda = 10/h, mu = 4/h, c = 3: Wq = 0.351 h (21.1 minutes). At 83% load the
    waits are strongly correlated, so the run is long (300000 citizens) to be within 5%."""
    expected = erlang_c_wq_hours(10, 4, 3) * 60
    assert expected == pytest.approx(21.07, abs=0.01)
    result = simulate(Scenario(arrivals_per_hour=10, minutes_per_citizen=15, counters=3,
                               citizens=300_000))  # fmt: skip
    assert result.mean_wait_minutes == pytest.approx(expected, rel=0.05)
    assert result.utilisation == pytest.approx(10 / 12, rel=0.02)
    a = 10 / 4
    last = a**3 / math.factorial(3) / (1 - a / 3)
    p_wait = last / (1 + a + a**2 / 2 + last)
    assert result.waited_share == pytest.approx(p_wait, rel=0.05)
    # The module's own anchor (printed by `lincah queue-sim`) agrees with the formula.
    assert erlang_c_wait_minutes(10, 15, 3) == pytest.approx(expected)


def test_a_lighter_case_and_percentiles_in_order() -> None:
    expected = erlang_c_wq_hours(20, 6, 5) * 60  # 20 an hour, 10 minutes each, 5 counters
    result = simulate(Scenario(20, 10, 5, citizens=100_000, seed=7))
    assert result.mean_wait_minutes == pytest.approx(expected, rel=0.05)
    assert (result.p50_wait_minutes <= result.p90_wait_minutes <= result.p95_wait_minutes
            <= result.max_wait_minutes)  # fmt: skip


def test_seeded_the_same_scenario_gives_the_same_figures() -> None:
    s = Scenario(30, 6, 4, citizens=2000, seed=11)
    assert simulate(s) == simulate(s)
    assert simulate(s) != simulate(Scenario(30, 6, 4, citizens=2000, seed=12))


def test_fixed_handling_waits_less_than_exponential() -> None:
    """M/D/c waits about half of M/M/c: less variable service, shorter queues."""
    exponential = simulate(Scenario(10, 15, 3, citizens=20_000))
    fixed = simulate(Scenario(10, 15, 3, handling="fixed", citizens=20_000))
    assert fixed.mean_wait_minutes < 0.75 * exponential.mean_wait_minutes


def test_priority_citizens_wait_less_and_the_mean_stays() -> None:
    """Priority groups reorder the queue, they do not shorten it: the overall mean wait
    stays M/M/c's (a work-conserving order), within sampling."""
    plain = simulate(Scenario(10, 15, 3, citizens=20_000, seed=3))
    mixed = simulate(Scenario(10, 15, 3, citizens=20_000, seed=3, priority_share=0.3))
    assert mixed.mean_wait_minutes == pytest.approx(plain.mean_wait_minutes, rel=0.25)


def test_counters_needed_for_a_target() -> None:
    """60 citizens an hour of 12 minutes each: 12 officers' worth of work. Each answer
    keeps the target and one counter fewer does not."""
    base = Scenario(60, 12, 1, citizens=5000, seed=5)
    found = counters_needed(base, target_minutes=5)
    assert found is not None
    c, result = found
    assert c >= 13 and result.mean_wait_minutes <= 5
    fewer = simulate(Scenario(60, 12, c - 1, citizens=5000, seed=5))
    assert c - 1 < 13 or fewer.mean_wait_minutes > 5
    assert erlang_c_wait_minutes(60, 12, 12) == math.inf


def test_unplayable_scenarios_are_refused_with_the_bound() -> None:
    with pytest.raises(Invalid, match="counters must be from 1"):
        simulate(Scenario(10, 15, 0))
    with pytest.raises(Invalid, match="simulate from 100"):
        simulate(Scenario(10, 15, 3, citizens=10))
    with pytest.raises(Invalid, match="arrivals per hour"):
        simulate(Scenario(0, 15, 3))
