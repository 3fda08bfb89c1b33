"""Conditions as the designer's builder shows them: groups of clauses ("data, comparison,
value"), the clauses of a group joined by one and/or, the groups by another. Pure: the
widget (``designer.condition_form``) draws this tree; this module writes it in the
condition language (``domain.expressions``) and reads back the texts of that shape.

``to_text`` and ``from_text`` are inverse on *canonical* trees (``canonical``): texts
lose what does not change the meaning (the join of a group of one clause, the top join
of a single group, and whether single clauses were groups of their own), so a tree is
compared with what a text says through ``canonical``."""

from __future__ import annotations

import ast
import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from domain import expressions

Join = Literal["all", "any"]
JOINS: tuple[Join, ...] = ("all", "any")
_WORD: Mapping[Join, str] = {"all": "and", "any": "or"}

Scalar = int | float | str | bool
Value = Scalar | tuple[Scalar, ...] | None
"""A clause's value: a literal, a tuple of literals for ``in``/``not in``, None for the
empty tests and for a clause whose value is not chosen yet."""

COMPARISONS = ("==", "!=", "<", "<=", ">", ">=")
LISTS = ("in", "not in")
EMPTY_TESTS: Mapping[str, str] = {"is empty": "==", "is not empty": "!="}
"""The empty tests, written as a comparison with null: a field left empty, a step not
reached yet."""
OPERATORS = (*COMPARISONS, *LISTS, *EMPTY_TESTS)
ORDERED = ("<", "<=", ">", ">=")


@dataclass(frozen=True)
class Clause:
    name: str
    op: str = "=="
    value: Value = None


@dataclass(frozen=True)
class Group:
    join: Join = "all"
    clauses: tuple[Clause, ...] = ()


@dataclass(frozen=True)
class Condition:
    join: Join = "all"
    groups: tuple[Group, ...] = field(default=())


def complete(clause: Clause) -> bool:
    """Whether the clause says something yet: a data name and, unless it is an empty
    test, a value (a non-empty list for ``in``/``not in``)."""
    if not clause.name or clause.op not in OPERATORS:
        return False
    if clause.op in EMPTY_TESTS:
        return True
    if clause.op in LISTS:
        return isinstance(clause.value, tuple) and len(clause.value) > 0
    return clause.value is not None and not isinstance(clause.value, tuple)


def canonical(condition: Condition) -> Condition:
    """The tree as its text reads back: incomplete clauses and empty groups left out, a
    group of one clause joined "all", clauses that are all alone in their groups made
    one group, and a single group under "all"."""
    groups = []
    for g in condition.groups:
        clauses = tuple(c for c in g.clauses if complete(c))
        if clauses:
            groups.append(Group(g.join if len(clauses) > 1 else "all", clauses))
    if len(groups) > 1 and all(len(g.clauses) == 1 for g in groups):
        groups = [Group(condition.join, tuple(g.clauses[0] for g in groups))]
    return Condition(condition.join if len(groups) > 1 else "all", tuple(groups))


# --- writing ----------------------------------------------------------------------


def to_text(condition: Condition, numbers: set[str] | frozenset[str] = frozenset()) -> str:
    """The condition in the condition language ("" when no clause is complete). A text
    value compared with a name in ``numbers`` (the number fields) is written as the
    number it spells, as a person typing "1000" means."""
    parts: list[tuple[Join, list[str]]] = []
    for g in condition.groups:
        texts = [_clause(c, numbers) for c in g.clauses if complete(c)]
        if texts:
            parts.append((g.join, texts))
    if len(parts) == 1:
        join, texts = parts[0]
        return f" {_WORD[join]} ".join(texts)
    written = [
        texts[0] if len(texts) == 1 else "(" + f" {_WORD[join]} ".join(texts) + ")"
        for join, texts in parts
    ]
    return f" {_WORD[condition.join]} ".join(written)


def _clause(clause: Clause, numbers: set[str] | frozenset[str]) -> str:
    if clause.op in EMPTY_TESTS:
        return f"{clause.name} {EMPTY_TESTS[clause.op]} null"
    numeric = clause.name in numbers
    if isinstance(clause.value, tuple):
        items = ", ".join(literal(v, numeric) for v in clause.value)
        return f"{clause.name} {clause.op} [{items}]"
    assert clause.value is not None  # complete
    return f"{clause.name} {clause.op} {literal(clause.value, numeric)}"


def literal(value: Scalar, numeric: bool = False) -> str:
    """``value`` as a literal of the condition language."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{value} is not a number a condition can hold")
        return repr(value)
    if numeric:
        found = number(value)
        if found is not None:
            return literal(found)
    return json.dumps(value, ensure_ascii=False)


def number(raw: str) -> int | float | None:
    """The number ``raw`` spells ("1000", "2.5", " -3 "), None when it spells none."""
    raw = raw.strip()
    try:
        return int(raw)
    except ValueError:
        pass
    try:
        found = float(raw)
    except ValueError:
        return None
    return found if math.isfinite(found) else None


# --- reading ----------------------------------------------------------------------


@dataclass(frozen=True)
class Unreadable:
    """Why the builder cannot show a text: ``reason`` is one of REASONS; ``detail`` the
    language's own message for an invalid text."""

    reason: str
    detail: str = ""


REASONS = ("invalid", "arithmetic", "negation", "nesting", "chain", "comparison")


def from_text(text: str) -> Condition | None:
    """The tree ``text`` writes, canonical; None when the builder cannot show it."""
    found = read(text)
    return None if isinstance(found, Unreadable) else found


def read(text: str) -> Condition | Unreadable:
    """Like ``from_text``, saying why when the builder cannot show ``text``."""
    if not text.strip():
        return Condition()
    try:
        expressions.parse(text)  # the language's own checks (and limits) first
    except expressions.ExpressionError as e:
        return Unreadable("invalid", str(e))
    # Safe: parse() accepted it, so it is a plain expression of whitelisted nodes.
    root = ast.parse(text.strip(), mode="eval").body
    try:
        if isinstance(root, ast.BoolOp):
            top = _join(root)
            if all(isinstance(v, ast.Compare) for v in root.values):
                return Condition("all", (Group(top, tuple(_compare(v) for v in root.values)),))
            return Condition(top, tuple(_group(v) for v in root.values))
        return Condition("all", (Group("all", (_compare(root),)),))
    except _Refused as refused:
        return Unreadable(refused.reason)


class _Refused(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _join(node: ast.BoolOp) -> Join:
    return "all" if isinstance(node.op, ast.And) else "any"


def _group(node: ast.expr) -> Group:
    if isinstance(node, ast.BoolOp):
        if not all(isinstance(v, ast.Compare) for v in node.values):
            raise _Refused(_why(next(v for v in node.values if not isinstance(v, ast.Compare))))
        return Group(_join(node), tuple(_compare(v) for v in node.values))
    return Group("all", (_compare(node),))


def _why(node: ast.expr) -> str:
    match node:
        case ast.BoolOp():
            return "nesting"
        case ast.UnaryOp(op=ast.Not()):
            return "negation"
        case ast.BinOp():
            return "arithmetic"
    return "comparison"


def _compare(node: ast.expr) -> Clause:
    if not isinstance(node, ast.Compare):
        raise _Refused(_why(node))
    if len(node.ops) != 1:
        raise _Refused("chain")
    left, (op_node,), (right,) = node.left, node.ops, node.comparators
    if isinstance(left, ast.BinOp) or isinstance(right, ast.BinOp):
        raise _Refused("arithmetic")
    if not isinstance(left, ast.Name) or left.id in expressions.ALIASES:
        raise _Refused("comparison")
    op = expressions.COMPARISONS.get(type(op_node))
    if op is None:
        raise _Refused("comparison")
    if op in LISTS:
        if not isinstance(right, ast.List | ast.Tuple) or not right.elts:
            raise _Refused("comparison")
        items = tuple(_scalar(e) for e in right.elts)
        if any(i is None for i in items):
            raise _Refused("comparison")
        return Clause(left.id, op, tuple(i for i in items if i is not None))
    value = _scalar(right)
    if value is None:
        if op not in ("==", "!="):
            raise _Refused("comparison")
        return Clause(left.id, "is empty" if op == "==" else "is not empty")
    return Clause(left.id, op, value)


def _scalar(node: ast.expr) -> Scalar | None:
    """The literal ``node`` is (None for null); refuses anything else."""
    match node:
        case ast.Constant(value=bool() | int() | float() | str() | None as value):
            return value
        case ast.Name(id=name) if name in expressions.ALIASES:
            return expressions.ALIASES[name]
        case ast.UnaryOp(op=ast.USub() | ast.UAdd() as sign, operand=ast.Constant(value=v)) if (
            isinstance(v, int | float) and not isinstance(v, bool)
        ):
            return -v if isinstance(sign, ast.USub) else v
    raise _Refused("comparison")


# --- in words ---------------------------------------------------------------------


def describe(
    condition: Condition,
    label: Callable[[str], str],
    op_words: Mapping[str, str],
    join_words: Mapping[Join, str],
) -> str:
    """The complete clauses in words, e.g. "Jumlah peserta paling sedikit 1000", with
    ``label`` naming the data, ``op_words`` the operators and ``join_words`` the
    joins (all translated by the caller)."""
    parts: list[tuple[Join, list[str]]] = []
    for g in condition.groups:
        said = [_said(c, label, op_words, join_words) for c in g.clauses if complete(c)]
        if said:
            parts.append((g.join, said))
    if len(parts) == 1:
        join, said = parts[0]
        return f" {join_words[join]} ".join(said)
    return f" {join_words[condition.join]} ".join(
        s[0] if len(s) == 1 else "(" + f" {join_words[j]} ".join(s) + ")" for j, s in parts
    )


def _said(
    clause: Clause,
    label: Callable[[str], str],
    op_words: Mapping[str, str],
    join_words: Mapping[Join, str],
) -> str:
    words = f"{label(clause.name)} {op_words.get(clause.op, clause.op)}"
    if clause.op in EMPTY_TESTS:
        return words
    if isinstance(clause.value, tuple):
        items = [_shown(v) for v in clause.value]
        last = f" {join_words['any']} ".join(items[-2:])
        return f"{words} {', '.join([*items[:-2], last])}"
    assert clause.value is not None
    return f"{words} {_shown(clause.value)}"


def _shown(value: Scalar) -> str:
    if isinstance(value, str):
        return f"“{value}”"
    return literal(value)


def items(raw: str, numeric: bool) -> tuple[Scalar, ...] | None:
    """The values of a comma-separated list as typed ("dokter, bidan"); None when a
    number field's list has an item that is no number."""
    found: list[Scalar] = []
    for item in (i.strip() for i in raw.split(",")):
        if not item:
            continue
        if numeric:
            n = number(item)
            if n is None:
                return None
            found.append(n)
        else:
            found.append(item)
    return tuple(found)
