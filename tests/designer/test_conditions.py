"""The condition builder's tree (designer/conditions.py): every tree it writes is a
condition of the language that means what the tree says, and reads back as that tree."""

from __future__ import annotations

import keyword
import operator
from collections.abc import Callable, Mapping
from datetime import date
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from designer import condition_form
from designer.conditions import (
    COMPARISONS,
    EMPTY_TESTS,
    LISTS,
    ORDERED,
    Clause,
    Condition,
    Group,
    Scalar,
    Unreadable,
    canonical,
    complete,
    describe,
    from_text,
    items,
    read,
    to_text,
)
from domain import expressions

# --- strategies ---------------------------------------------------------------------

names = st.from_regex(r"[a-z][a-z0-9_]{0,11}", fullmatch=True).filter(
    lambda n: not keyword.iskeyword(n) and n not in expressions.ALIASES
)
numbers = st.integers(-(10**12), 10**12) | st.floats(-1e12, 1e12, allow_nan=False)
texts = st.text(max_size=8)
scalars: st.SearchStrategy[Scalar] = numbers | texts | st.booleans()


@st.composite
def clauses(draw: st.DrawFn, name: st.SearchStrategy[str] = names) -> Clause:
    op = draw(st.sampled_from([*COMPARISONS, *LISTS, *EMPTY_TESTS]))
    if op in EMPTY_TESTS:
        return Clause(draw(name), op)
    if op in LISTS:
        return Clause(draw(name), op, tuple(draw(st.lists(scalars, min_size=1, max_size=3))))
    return Clause(draw(name), op, draw(scalars))


def trees(clause: st.SearchStrategy[Clause]) -> st.SearchStrategy[Condition]:
    joins = st.sampled_from(["all", "any"])
    group = st.builds(Group, joins, st.lists(clause, max_size=3).map(tuple))
    return st.builds(Condition, joins, st.lists(group, max_size=3).map(tuple))


# --- writing and reading back -------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(trees(clauses()))
def test_every_tree_reads_back_from_its_text(tree: Condition) -> None:
    text = to_text(tree)
    assume(len(text) <= expressions.MAX_LENGTH)
    shown = canonical(tree)
    assert from_text(text) == shown, text
    # The canonical tree is what the text says: the same text, and canonical again.
    assert to_text(shown) == text
    assert canonical(shown) == shown


@settings(max_examples=200, deadline=None)
@given(trees(clauses()).map(canonical))
def test_canonical_trees_round_trip_exactly(tree: Condition) -> None:
    text = to_text(tree)
    assume(len(text) <= expressions.MAX_LENGTH)
    assert from_text(text) == tree, text


# --- meaning: the text holds exactly when the tree does -----------------------------

KINDS: Mapping[str, st.SearchStrategy[Scalar]] = {
    "umur": numbers,
    "jumlah_peserta": st.integers(-5, 5),  # small: equal values are likely
    "kelurahan": st.sampled_from(["Sobo", "Penganjuran", "", "sobo"]),
    "profesi": texts,
    "setuju": st.booleans(),
}


@st.composite
def typed_clauses(draw: st.DrawFn) -> Clause:
    """Clauses whose value has the type of their data, as the builder writes them (no
    ordering of yes/no values, which the language refuses)."""
    name = draw(st.sampled_from(sorted(KINDS)))
    ops = [*COMPARISONS, *LISTS, *EMPTY_TESTS]
    if name == "setuju":
        ops = [o for o in ops if o not in ORDERED]
    op = draw(st.sampled_from(ops))
    values = KINDS[name]
    if op in EMPTY_TESTS:
        return Clause(name, op)
    if op in LISTS:
        return Clause(name, op, tuple(draw(st.lists(values, min_size=1, max_size=3))))
    # Sometimes a clause not finished yet: it must not count.
    return Clause(name, op, draw(values | st.none()))


_PY: Mapping[str, Callable[[Any, Any], Any]] = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "in": lambda a, b: a in b,
    "not in": lambda a, b: a not in b,
}


def holds(tree: Condition, env: Mapping[str, object]) -> bool:
    """The tree evaluated directly in Python, in the order it is written."""

    def clause(c: Clause) -> bool:
        if c.op in EMPTY_TESTS:
            return (env[c.name] is None) == (c.op == "is empty")
        value = list(c.value) if isinstance(c.value, tuple) else c.value
        return _PY[c.op](env[c.name], value)

    def group(g: Group) -> bool:
        done = [c for c in g.clauses if complete(c)]
        return (all if g.join == "all" else any)(clause(c) for c in done)

    used = [g for g in tree.groups if any(complete(c) for c in g.clauses)]
    return (all if tree.join == "all" else any)(group(g) for g in used)


@settings(max_examples=300, deadline=None)
@given(trees(typed_clauses()), st.data())
def test_the_text_holds_exactly_when_the_tree_does(tree: Condition, data: st.DataObject) -> None:
    text = to_text(tree)
    assume(text and len(text) <= expressions.MAX_LENGTH)
    env = {name: data.draw(values | st.none()) for name, values in KINDS.items()}
    try:
        expected: bool | None = holds(tree, env)
    except TypeError:  # e.g. an empty field ordered against a number
        expected = None
    try:
        found: bool | None = expressions.truthy(text, env)
    except expressions.ExpressionError:
        found = None
    assert found == expected, (text, env)


# --- examples -------------------------------------------------------------------------

PESERTA = Clause("jumlah_peserta", ">=", 1000)


@pytest.mark.parametrize(
    "tree, text",
    [
        (Condition(groups=(Group(clauses=(PESERTA,)),)), "jumlah_peserta >= 1000"),
        (
            Condition(
                groups=(Group("any", (PESERTA, Clause("profesi", "in", ("dokter", "bidan")))),)
            ),
            'jumlah_peserta >= 1000 or profesi in ["dokter", "bidan"]',
        ),
        (
            Condition(
                "any",
                (
                    Group("all", (PESERTA, Clause("kelurahan", "==", "Sobo"))),
                    Group("all", (Clause("kelurahan", "is empty"),)),
                ),
            ),
            '(jumlah_peserta >= 1000 and kelurahan == "Sobo") or kelurahan == null',
        ),
        # An unfinished clause (no value yet) writes nothing.
        (
            Condition(groups=(Group(clauses=(PESERTA, Clause("umur", ">"))),)),
            "jumlah_peserta >= 1000",
        ),
        (Condition(groups=(Group(clauses=(Clause(""),)),)), ""),
    ],
)
def test_trees_as_text(tree: Condition, text: str) -> None:
    assert to_text(tree) == text
    if text:
        expressions.parse(text)


@pytest.mark.parametrize(
    "name, op, value, numeric, expected",
    [
        ("umur", ">=", "17", True, "umur >= 17"),
        ("kelurahan", "==", 'Sobo "lama"', False, 'kelurahan == "Sobo \\"lama\\""'),
        ("profesi", "in", ("dokter", "bidan"), False, 'profesi in ["dokter", "bidan"]'),
        ("umur", "==", "tujuh", True, 'umur == "tujuh"'),
        ("umur", "in", ("17", "18"), True, "umur in [17, 18]"),
    ],
)
def test_text_typed_for_a_number_field_is_written_as_a_number(name, op, value, numeric, expected):
    tree = Condition(groups=(Group(clauses=(Clause(name, op, value),)),))
    text = to_text(tree, {name} if numeric else set())
    assert text == expected
    assert expressions.parse(text).names == {name}


@pytest.mark.parametrize(
    "text, reason",
    [
        ("jumlah_peserta * 2 > 1000", "arithmetic"),
        ("not jumlah_peserta > 1000", "negation"),
        ("(a == 1 or (b == 2 and c == 3)) and d == 4", "nesting"),
        ("1 < umur < 17", "chain"),
        ("umur == batas", "comparison"),
        ("1000 <= jumlah_peserta", "comparison"),
        ("umur in []", "comparison"),
        ("umur", "comparison"),
        ("umur >", "invalid"),
    ],
)
def test_what_the_builder_cannot_show_says_why(text: str, reason: str) -> None:
    found = read(text)
    assert isinstance(found, Unreadable) and found.reason == reason, found
    assert from_text(text) is None


def test_texts_read_as_people_write_them() -> None:
    assert from_text("") == Condition()
    assert from_text("jumlah_peserta>=1000") == canonical(
        Condition(groups=(Group(clauses=(PESERTA,)),))
    )
    assert from_text("umur >= -5 and setuju == true and x != null") == Condition(
        groups=(
            Group("all", (Clause("umur", ">=", -5), Clause("setuju", "==", True),
                          Clause("x", "is not empty"))),
        )
    )  # fmt: skip


def test_the_condition_in_words() -> None:
    tree = Condition(
        "any",
        (
            Group("all", (PESERTA, Clause("profesi", "in", ("dokter", "bidan", "perawat")))),
            Group("all", (Clause("kelurahan", "is empty"),)),
        ),
    )
    labels = {"jumlah_peserta": "Jumlah peserta", "profesi": "Profesi"}
    words = {">=": "paling sedikit", "in": "salah satu dari", "is empty": "kosong"}
    said = describe(tree, lambda n: labels.get(n, n), words, {"all": "dan", "any": "atau"})
    assert said == (
        "(Jumlah peserta paling sedikit 1000 dan Profesi salah satu dari “dokter”, “bidan”"
        " atau “perawat”) atau kelurahan kosong"
    )


def test_lists_as_typed() -> None:
    assert items(" dokter, bidan ,, ", numeric=False) == ("dokter", "bidan")
    assert items("17, 2.5", numeric=True) == (17, 2.5)
    assert items("17, tujuh", numeric=True) is None


@pytest.mark.parametrize(
    "state, kind, op, expected",
    [
        ("approve", "outcome", "in", ["approve"]),  # a value becomes a list of one
        (None, "outcome", "in", None),  # no value yet stays so
        (["approve", "reject"], "outcome", "==", "approve"),  # and back: its first item
        ([], "outcome", "==", None),
        (1000.0, "number", "in", "1000"),  # typed as "a, b, c"
        ("17, 18", "number", ">=", 17.0),
        ("tujuh", "number", ">=", None),
        (date(2026, 1, 5), "date", "not in", "2026-01-05"),
        ("2026-01-05, 2026-02-01", "date", "<", date(2026, 1, 5)),
        ("Sobo", "text", "in", "Sobo"),  # the same text input either way
    ],
)
def test_changing_the_comparison_carries_the_value_over(state, kind, op, expected) -> None:
    assert condition_form._converted(state, kind, op) == expected
