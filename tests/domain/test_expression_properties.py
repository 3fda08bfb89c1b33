"""Property-based: hostile conditions (nested lists, repetition, concatenation,
comparisons, exponentiation, long chains) never exhaust a worker. Parsing, the static
bound check and evaluation each either give a value or raise ``ExpressionError``, within
generous bounds of time and memory (the requirement: one condition, at most 1 s and
50 MB). And the static check is sound: a condition it accepts never runs out of budget
on values within the bounds it was given."""

from __future__ import annotations

import contextlib
import time
import tracemalloc
from collections.abc import Callable

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain import expressions
from domain.expressions import Bound, ExpressionError, check_bounds, evaluate, parse

TIME_LIMIT_S = 1.0
MEMORY_LIMIT = 50 * 1024 * 1024

# Names a generated condition may read, with the largest values they may hold (as the
# validator derives them from a form: a number field within ±2**53, a text field of at
# most 2000 characters, a number field declared with max 100).
BOUNDS = {
    "n": Bound(count=2**53),
    "small": Bound(count=100),
    "s": Bound(size=2000),
}

_leaves = st.one_of(
    st.sampled_from(["n", "small", "s", "true", "null", "''", "'ab'", "[]", "2.5", "1e308"]),
    st.integers(min_value=-3, max_value=10).map(str),
    st.sampled_from([10, 64, 100, 1000, 9999, 10000, 10**5, 10**9, 10**100]).map(str),
    # Values near the size limit, so that one more operation crosses it. They read
    # names: a name-free part is evaluated when parsed, never reaching the static check.
    st.sampled_from(["([small] * 6000)", "(s * 3)", "([[n] * 60] * 100)", "('a' * (small * 60))"]),
)
_UNARY = ("-{}", "not {}", "[{}]", "({},)", "[{0}, {0}, {0}]")
_BINARY = (
    "[{}] * {}",
    "{} * {}",
    "{} + {}",
    "{} ** {}",
    "{} // {}",
    "{} % {}",
    "{} == {}",
    "{} != {}",
    "{} < {}",
    "{} in {}",
    "{} not in {}",
    "{} and {}",
    "{} or {}",
    "[{}, {}]",
)


def _expressions(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    unary = st.tuples(st.sampled_from(_UNARY), children).map(lambda t: t[0].format(t[1]))
    binary = st.tuples(st.sampled_from(_BINARY), children, children).map(
        lambda t: "(" + t[0].format(t[1], t[2]) + ")"
    )
    chain = st.lists(children, min_size=3, max_size=12).flatmap(
        lambda items: st.lists(
            st.sampled_from(["==", "<", "in", "*", "+"]),
            min_size=len(items) - 1,
            max_size=len(items) - 1,
        ).map(lambda ops: items[0] + "".join(f" {o} {i}" for o, i in zip(ops, items[1:])))
    )
    return st.one_of(unary, binary, chain)


conditions = st.recursive(_leaves, _expressions, max_leaves=40)
# Small ones: a large random tree almost always fails on types before sizes matter.
small_conditions = st.recursive(_leaves, _expressions, max_leaves=5)
# Values within BOUNDS, the extremes included.
environments = st.fixed_dictionaries(
    {
        "n": st.one_of(st.sampled_from([0, 1, -1, 2**53, -(2**53)]), st.integers(-(2**53), 2**53)),
        "small": st.one_of(st.just(100), st.integers(-100, 100)),
        "s": st.one_of(st.just("a" * 2000), st.text(max_size=50)),
    }
)


def _bounded(work: Callable[[], object]) -> None:
    """Run ``work``: it must finish in time and memory, with a value or ExpressionError."""
    tracemalloc.start()
    started = time.perf_counter()
    try:
        work()
    except ExpressionError:
        pass
    finally:
        elapsed = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert elapsed < TIME_LIMIT_S, f"took {elapsed:.2f} s"
    assert peak < MEMORY_LIMIT, f"peak {peak / 2**20:.0f} MB"


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=conditions, env=environments)
def test_hostile_conditions_finish_quickly_with_a_value_or_an_expression_error(
    text: str, env: dict[str, object]
) -> None:
    def parse_check_evaluate() -> object:
        expr = parse(text)
        # The validator would refuse what fails here; the engine must still survive it.
        with contextlib.suppress(ExpressionError):
            check_bounds(expr, BOUNDS)
        return evaluate(expr, env)

    _bounded(parse_check_evaluate)


_BUDGET_ERRORS = ("too large (max 10000", "too many steps")


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=small_conditions, env=environments)
def test_a_condition_the_static_check_accepts_never_runs_out_of_budget(
    text: str, env: dict[str, object]
) -> None:
    try:
        expr = parse(text)
        check_bounds(expr, BOUNDS)
    except ExpressionError:
        return
    try:
        evaluate(expr, env)
    except ExpressionError as e:  # a type error or a division by zero may remain
        assert not any(m in str(e) for m in _BUDGET_ERRORS), (text, env, e)


@settings(max_examples=100, deadline=None)
@given(
    depth=st.integers(1, 4),
    count=st.sampled_from([10, 100, 1000, 10000, 10**6]),
    op=st.sampled_from(["==", "!=", "in", "<"]),
)
def test_nested_repetitions_compared_never_run_long(depth: int, count: int, op: str) -> None:
    # The example and its relatives, with a field in place of the innermost 1.
    nested = "x"
    for _ in range(depth):
        nested = f"[{nested}] * {count}"
    text = f"{nested} {op} {nested}"
    _bounded(lambda: evaluate(parse(text), {"x": 1}))
    _bounded(lambda: check_bounds(parse(text), {"x": BOUNDS["n"]}))


def test_the_budget_constants_are_the_documented_ones() -> None:
    assert expressions.MAX_ITEMS == 10_000
    assert expressions.MAX_STEPS == 100_000
