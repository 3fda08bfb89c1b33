"""A small, safe expression language for decision conditions.

Conditions are written by agency designers and evaluated inside workflows, so they
are untrusted text. We never hand them to ``eval``/``exec``/``compile``: the text is
parsed with ``ast.parse(mode="eval")`` and converted, through a whitelist, into a
private tree of frozen nodes that only this module knows how to evaluate. Anything
not on the whitelist (attribute access, calls, subscripts, comprehensions, ...) is
refused with a human-readable ``ExpressionError``.

Language: int/float/str/bool/None literals (``true``/``false``/``null`` are accepted
as lowercase aliases, because designers think in JSON), list/tuple literals (for
``in``), ``and``/``or``/``not``, comparisons (``== != < <= > >= in``, ``not in``,
chained), ``+ - * / // %``, unary ``-``/``+`` and ``**`` with a bounded exponent.
Free names are form field ids and review-step ids (whose value is the outcome).

Resource limits keep a hostile condition from exhausting a worker: text length,
nesting depth, exponent size and number magnitude are capped, and every evaluation
runs on a budget (``_Budget``): no value it builds may hold more than ``MAX_ITEMS``
characters or items, the items of nested lists counted in full (``[[1] * 100] * 100``
holds 10,000), and the work it does, counted in elements touched (building, joining,
repeating, comparing and searching values), may not exceed ``MAX_STEPS``. Both are
checked before the work is done, so a hostile condition fails within a millisecond.
``check_bounds`` proves statically, from the largest values the names can hold, that a
condition can never exceed them: the validator refuses a definition whose conditions
could, so a running application does not find out.
"""

from __future__ import annotations

import ast
import functools
import io
import keyword
import math
import tokenize
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TypeVar

MAX_LENGTH = 500
MAX_DEPTH = 32
MAX_EXPONENT = 64
MAX_NUMBER = 10**100
_MAX_NUMBER_TEXT = "10**100"
MAX_ITEMS = 10_000
"""Most characters or items one value may hold, nested lists' items counted in full."""
MAX_STEPS = 100_000
"""Most elementary steps one evaluation may take (see ``_Budget``)."""

ALIASES: Mapping[str, bool | None] = {"true": True, "false": False, "null": None}
"""Lowercase literal names; they shadow any field of the same name."""


class ExpressionError(ValueError):
    """A condition that cannot be parsed, is not allowed, or fails to evaluate."""


# --- private tree -----------------------------------------------------------------
# Our own nodes (not ast nodes) so that evaluation can only ever do what is below.


@dataclass(frozen=True, slots=True)
class _Const:
    value: int | float | str | bool | None


@dataclass(frozen=True, slots=True)
class _Name:
    id: str


@dataclass(frozen=True, slots=True)
class _Seq:
    items: tuple[_Node, ...]
    is_list: bool


@dataclass(frozen=True, slots=True)
class _BoolOp:
    op: str  # "and" | "or"
    values: tuple[_Node, ...]


@dataclass(frozen=True, slots=True)
class _Unary:
    op: str  # "not" | "-" | "+"
    operand: _Node


@dataclass(frozen=True, slots=True)
class _BinOp:
    op: str
    left: _Node
    right: _Node


@dataclass(frozen=True, slots=True)
class _Compare:
    left: _Node
    ops: tuple[str, ...]
    comparators: tuple[_Node, ...]


_Node = _Const | _Name | _Seq | _BoolOp | _Unary | _BinOp | _Compare
_Op = TypeVar("_Op", bound=ast.AST)
_Ordered = TypeVar("_Ordered", int | float, str)


@dataclass(frozen=True)
class Expression:
    """A parsed, validated condition. Build it with ``parse``."""

    text: str
    names: frozenset[str]
    _root: _Node = field(repr=False, compare=False)

    def __str__(self) -> str:
        return self.text


# --- parsing ----------------------------------------------------------------------

_BIN_OPS: Mapping[type[ast.operator], str] = {
    ast.Add: "+",
    ast.Sub: "-",
    ast.Mult: "*",
    ast.Div: "/",
    ast.FloorDiv: "//",
    ast.Mod: "%",
    ast.Pow: "**",
}
COMPARISONS: Mapping[type[ast.cmpop], str] = {  # also the condition builder's
    ast.Eq: "==",
    ast.NotEq: "!=",
    ast.Lt: "<",
    ast.LtE: "<=",
    ast.Gt: ">",
    ast.GtE: ">=",
    ast.In: "in",
    ast.NotIn: "not in",
}
_UNARY_OPS: Mapping[type[ast.unaryop], str] = {ast.Not: "not", ast.USub: "-", ast.UAdd: "+"}
_REFUSED: Mapping[type[ast.AST], str] = {
    ast.Attribute: "attribute access is not allowed: '.'",
    ast.Call: "function calls are not allowed",
    ast.Lambda: "lambdas are not allowed",
    ast.ListComp: "comprehensions are not allowed",
    ast.SetComp: "comprehensions are not allowed",
    ast.DictComp: "comprehensions are not allowed",
    ast.GeneratorExp: "comprehensions are not allowed",
    ast.Subscript: "indexing and slicing are not allowed",
    ast.JoinedStr: "f-strings are not allowed",
    ast.NamedExpr: "assignment expressions (:=) are not allowed",
    ast.Starred: "starred expressions are not allowed",
    ast.IfExp: "conditional expressions (x if c else y) are not allowed",
    ast.Dict: "dict literals are not allowed",
    ast.Set: "set literals are not allowed",
    ast.Await: "await is not allowed",
    ast.Yield: "yield is not allowed",
    ast.YieldFrom: "yield is not allowed",
}


def parse(text: str) -> Expression:
    """Parse and validate ``text``; raises ``ExpressionError`` on anything refused."""
    if not isinstance(text, str):
        raise ExpressionError("expression must be text")
    # Length first, so neither the tokenizer nor ast ever sees a huge input.
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"expression too long (max {MAX_LENGTH} characters)")
    text = text.strip()
    if not text:
        raise ExpressionError("expression is empty")
    _check_bracket_depth(text)
    try:
        tree = ast.parse(text, mode="eval")
        root = _build(tree.body, 1)
        _check_constants(root)
    except SyntaxError as exc:
        raise ExpressionError(_syntax_message(text, exc)) from None
    except (RecursionError, MemoryError):
        raise ExpressionError("expression nested too deeply") from None
    except ExpressionError:
        raise
    except ValueError as exc:  # e.g. null bytes, on some Python versions
        raise ExpressionError(f"invalid expression: {exc}") from None
    return Expression(text=text, names=_names(root), _root=root)


def _syntax_message(text: str, exc: SyntaxError) -> str:
    # Python's own message for statements is a bare "invalid syntax"; say why instead.
    first = text.split(maxsplit=1)[0]
    if keyword.iskeyword(first) and first not in _EXPRESSION_KEYWORDS:
        return f"statements are not allowed, only an expression ('{first}')"
    if ":=" in text:
        return "assignment expressions (:=) are not allowed"
    where = f" at column {exc.offset}" if exc.offset else ""
    detail = "" if exc.msg == "invalid syntax" else f": {exc.msg}"
    return f"invalid syntax{where}{detail}"


_EXPRESSION_KEYWORDS = frozenset({"True", "False", "None", "not", "lambda", "await"})


def _check_bracket_depth(text: str) -> None:
    # Parentheses leave no node in the ast, so "((((1))))" must be measured on tokens;
    # tokenizing (rather than counting characters) ignores brackets inside strings.
    depth = 0
    try:
        for tok in tokenize.generate_tokens(io.StringIO(text).readline):
            if tok.type == tokenize.OP and tok.string in {"(", "[", "{"}:
                depth += 1
                if depth > MAX_DEPTH:
                    raise ExpressionError("expression nested too deeply")
            elif tok.type == tokenize.OP and tok.string in {")", "]", "}"}:
                depth -= 1
    except (tokenize.TokenError, SyntaxError):
        return  # unbalanced or odd input: ast.parse reports it properly


def _build(node: ast.expr, depth: int) -> _Node:
    if depth > MAX_DEPTH:
        raise ExpressionError("expression nested too deeply")
    refused = _REFUSED.get(type(node))
    if refused:
        raise ExpressionError(refused)
    d = depth + 1
    match node:
        case ast.Constant(value=value):
            return _Const(_literal(value))
        case ast.Name(id=name):
            if name.startswith("_"):
                raise ExpressionError(f"names starting with '_' are not allowed: '{name}'")
            return _Name(name)
        case ast.List(elts=elts) | ast.Tuple(elts=elts):
            if len(elts) > MAX_ITEMS:
                raise ExpressionError(f"list too long (max {MAX_ITEMS} items)")
            items = tuple(_build(e, d) for e in elts)
            return _Seq(items, is_list=isinstance(node, ast.List))
        case ast.BoolOp(op=op, values=values):
            name = "and" if isinstance(op, ast.And) else "or"
            return _BoolOp(name, tuple(_build(v, d) for v in values))
        case ast.UnaryOp(op=op, operand=operand):
            return _Unary(_op(_UNARY_OPS, op), _build(operand, d))
        case ast.BinOp(op=op, left=left, right=right):
            binop = _BinOp(_op(_BIN_OPS, op), _build(left, d), _build(right, d))
            if binop.op == "**" and not _names(binop.right):
                # Refuse "x ** 1000" now rather than when a citizen's case reaches it.
                _check_exponent(_run(binop.right, {}))
            return binop
        case ast.Compare(left=left, ops=ops, comparators=comparators):
            names = tuple(_op(COMPARISONS, o) for o in ops)
            return _Compare(_build(left, d), names, tuple(_build(c, d) for c in comparators))
    raise ExpressionError(f"{type(node).__name__} expressions are not allowed")


_OTHER_OPS = {
    **{"BitAnd": "&", "BitOr": "|", "BitXor": "^", "LShift": "<<", "RShift": ">>"},
    **{"MatMult": "@", "Invert": "~", "Is": "is", "IsNot": "is not"},
}


def _op(table: Mapping[type[_Op], str], op: _Op) -> str:
    try:
        return table[type(op)]
    except KeyError:
        label = _OTHER_OPS.get(type(op).__name__, type(op).__name__)
        raise ExpressionError(f"operator '{label}' is not allowed") from None


def _literal(value: object) -> int | float | str | bool | None:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    kind = {bytes: "bytes literals", complex: "complex numbers"}.get(type(value), "'...' literals")
    raise ExpressionError(f"{kind} are not allowed")


def _names(node: _Node) -> frozenset[str]:
    match node:
        case _Name(id=name):
            return frozenset() if name in ALIASES else frozenset({name})
        case _Const():
            return frozenset()
        case _Seq(items=items) | _BoolOp(values=items):
            return frozenset().union(*(_names(i) for i in items))
        case _Unary(operand=operand):
            return _names(operand)
        case _BinOp(left=left, right=right):
            return _names(left) | _names(right)
        case _Compare(left=left, comparators=comparators):
            return _names(left).union(*(_names(c) for c in comparators))


def _check_constants(node: _Node) -> None:
    # Evaluate every maximal name-free subtree once, so "9**9**9", "'a'*10**9" and
    # "1/0" are refused when the definition is validated, not at run time.
    if not _names(node):
        _run(node, {})
        return
    match node:
        case _Seq(items=items) | _BoolOp(values=items):
            for item in items:
                _check_constants(item)
        case _Unary(operand=operand):
            _check_constants(operand)
        case _BinOp(left=left, right=right):
            _check_constants(left)
            _check_constants(right)
        case _Compare(left=left, comparators=comparators):
            for child in (left, *comparators):
                _check_constants(child)


# --- static bounds ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Bound:
    """The largest value a name (or a subexpression) can hold: ``size``, the most
    characters or items it has if it is a text or list (0: it never is one), and
    ``count``, the largest magnitude it has if it is an integer (0: it never is one),
    which bounds how often it can repeat a text or list."""

    size: int = 0
    count: int = 0


TEXT_BOUND = Bound(size=MAX_ITEMS)
"""What ``check_bounds`` assumes of a name it is given no bound for."""


def check_bounds(expr: Expression, names: Mapping[str, Bound]) -> None:
    """Raise ``ExpressionError`` unless ``expr`` stays within ``MAX_ITEMS`` and
    ``MAX_STEPS`` for every value the names can hold (``names``: each name's largest
    value; a name not in it may be any text up to ``MAX_ITEMS`` characters). It mirrors
    the budget's charges with worst-case sizes, so a condition it accepts cannot run out
    of budget with such values."""
    steps = [0]
    _bound(expr._root, names, steps)
    if steps[0] > MAX_STEPS:
        raise ExpressionError(
            f"condition can take up to {steps[0]:,} steps to evaluate (max {MAX_STEPS:,})"
            " with the largest values its fields allow; compare, search or build smaller"
            " lists and texts"
        )


def _bound(node: _Node, names: Mapping[str, Bound], steps: list[int]) -> Bound:
    steps[0] += 1
    match node:
        case _Const(value=value):
            if isinstance(value, str):
                return Bound(size=len(value))
            is_int = isinstance(value, int) and not isinstance(value, bool)
            return Bound(count=abs(value) if is_int else 0)  # type: ignore[arg-type]
        case _Name(id=name):
            return Bound() if name in ALIASES else names.get(name, TEXT_BOUND)
        case _Seq(items=items):
            steps[0] += len(items)
            size = sum(max(1, _bound(i, names, steps).size) for i in items)
            return Bound(size=_bounded(size, "a list literal"))
        case _BoolOp(values=values):
            bounds = [_bound(v, names, steps) for v in values]
            return Bound(max(b.size for b in bounds), max(b.count for b in bounds))
        case _Unary(op=op, operand=operand):
            inner = _bound(operand, names, steps)
            return Bound() if op == "not" else Bound(count=inner.count)
        case _BinOp(op=op, left=left, right=right):
            a, b = _bound(left, names, steps), _bound(right, names, steps)
            match op:
                case "+":
                    size = _bounded(a.size + b.size, "'+'")
                    result = Bound(size, min(a.count + b.count, MAX_NUMBER))
                case "*":
                    size = _bounded(max(a.size * b.count, b.size * a.count), "'*'")
                    result = Bound(size, min(a.count * b.count, MAX_NUMBER))
                case "-":
                    result = Bound(count=min(a.count + b.count, MAX_NUMBER))
                case "//":
                    result = Bound(count=a.count)  # |a // b| <= |a| for integers b != 0
                case "%":
                    result = Bound(count=b.count)  # |a % b| < |b|
                case "**":
                    result = Bound(count=min(a.count ** min(b.count, MAX_EXPONENT), MAX_NUMBER))
                case _:  # "/" always gives a float, which repeats nothing
                    result = Bound()
            steps[0] += max(1, result.size)
            return result
        case _Compare(left=left, ops=ops, comparators=comparators):
            current = _bound(left, names, steps)
            for op, comparator in zip(ops, comparators, strict=True):
                other = _bound(comparator, names, steps)
                steps[0] += _compare_cost(op, current.size, other.size)
                current = other
            return Bound()


def _bounded(size: int, made_by: str) -> int:
    if size > MAX_ITEMS:
        raise ExpressionError(
            f"{made_by} can build a text or list of up to {_count(size)} characters or items"
            f" with the largest values its fields allow (max {MAX_ITEMS:,}); use smaller"
            " lists, or give the number fields it repeats by a 'min' and 'max' closer to 0"
        )
    return size


def _count(n: int) -> str:
    # Bounds can be astronomically large; a person needs the order of magnitude.
    return f"{n:,}" if n < 10**15 else f"about 10^{len(str(n)) - 1}"


# --- evaluation -------------------------------------------------------------------


def evaluate(expr: Expression | str, env: Mapping[str, object]) -> object:
    """Evaluate ``expr`` with names looked up in ``env``; errors are ExpressionError,
    including a condition that would exceed ``MAX_ITEMS`` or ``MAX_STEPS``."""
    parsed = _parse_cached(expr) if isinstance(expr, str) else expr
    return _run(parsed._root, env)


@functools.lru_cache(maxsize=1024)
def _parse_cached(text: str) -> Expression:
    # Workflows evaluate the same few conditions over and over; errors are not cached.
    return parse(text)


def truthy(expr: Expression | str, env: Mapping[str, object]) -> bool:
    """Evaluate and convert to bool, for decision branches."""
    return bool(evaluate(expr, env))


_TOO_MANY_STEPS = (
    f"condition takes too many steps to evaluate (max {MAX_STEPS}); "
    "compare, search or build smaller lists and texts"
)


class _Budget:
    """Steps left to one evaluation. Every node costs one step; building, joining and
    repeating a value cost its weight (see ``_weight``); comparing costs the weights of
    both sides, ``in`` twice the weight of the right side (each item is compared once).
    The cost is charged before the work, so an over-budget condition does none of it."""

    __slots__ = ("left",)

    def __init__(self) -> None:
        self.left = MAX_STEPS

    def spend(self, steps: int) -> None:
        self.left -= steps
        if self.left < 0:
            raise ExpressionError(_TOO_MANY_STEPS)


# A value travels with its weight, so that nested lists are never walked to be measured.
_Sized = tuple[object, int]


def _run(node: _Node, env: Mapping[str, object]) -> object:
    return _eval(node, env, _Budget())[0]


def _weight(value: object, budget: _Budget) -> int:
    """Characters of a text, items of a list with nested lists' items counted in full
    (an empty item counts one), 1 for anything else. Only values from ``env`` are
    measured here, each element charged to the budget; built values carry theirs."""
    if isinstance(value, str):
        return len(value)
    if not isinstance(value, list | tuple):
        return 1
    budget.spend(len(value))
    return sum(max(1, _weight(item, budget)) for item in value)


def _eval(node: _Node, env: Mapping[str, object], budget: _Budget) -> _Sized:
    budget.spend(1)
    match node:
        case _Const(value=value):
            return value, _weight(value, budget)
        case _Name(id=name):
            if name in ALIASES:
                return ALIASES[name], 1
            if name not in env:
                raise ExpressionError(f"unknown name '{name}'")
            found = env[name]
            weight = _weight(found, budget)
            _check_size(weight if isinstance(found, str | list | tuple) else 0)
            return found, weight
        case _Seq(items=items, is_list=is_list):
            budget.spend(len(items))
            sized = [_eval(i, env, budget) for i in items]
            weight = sum(max(1, w) for _, w in sized)
            _check_size(weight)
            values = [v for v, _ in sized]
            return (values if is_list else tuple(values)), weight
        case _BoolOp(op=op, values=values):
            result: _Sized = (None, 1)
            for value_node in values:
                result = _eval(value_node, env, budget)
                if bool(result[0]) == (op == "or"):
                    return result  # short-circuit, with Python's and/or semantics
            return result
        case _Unary(op=op, operand=operand):
            return _unary(op, _eval(operand, env, budget)[0]), 1
        case _BinOp(op=op, left=left, right=right):
            return _binary(op, _eval(left, env, budget), _eval(right, env, budget), budget)
        case _Compare(left=left, ops=ops, comparators=comparators):
            current = _eval(left, env, budget)
            for op, comparator in zip(ops, comparators, strict=True):
                other = _eval(comparator, env, budget)
                budget.spend(_compare_cost(op, current[1], other[1]))
                if not _compare(op, current[0], other[0]):
                    return False, 1
                current = other
            return True, 1


def _compare_cost(op: str, left: int, right: int) -> int:
    left, right = max(1, left), max(1, right)
    return left + 2 * right + 1 if op in ("in", "not in") else left + right + 1


def _type_name(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list | tuple):
        return "list"
    return type(value).__name__


def _is_number(value: object) -> bool:
    # bool is an int subclass; arithmetic on booleans is almost certainly a mistake.
    return isinstance(value, int | float) and not isinstance(value, bool)


def _unary(op: str, value: object) -> object:
    if op == "not":
        return not value
    if not _is_number(value):
        raise ExpressionError(f"unary '{op}' needs a number, got {_type_name(value)}")
    assert isinstance(value, int | float)
    return -value if op == "-" else +value


def _binary(op: str, left_sized: _Sized, right_sized: _Sized, budget: _Budget) -> _Sized:
    (left, left_weight), (right, right_weight) = left_sized, right_sized
    if _is_number(left) and _is_number(right):
        assert isinstance(left, int | float) and isinstance(right, int | float)
        return _check_number(_arithmetic(op, left, right)), 1
    if op == "+" and isinstance(left, str) and isinstance(right, str):
        weight = _grown(len(left) + len(right), budget)
        return left + right, weight
    if op == "+" and isinstance(left, list | tuple) and type(left) is type(right):
        assert isinstance(right, list | tuple)
        weight = _grown(left_weight + right_weight, budget)
        return ([*left, *right] if isinstance(left, list) else (*left, *right)), weight
    # Repetition is commutative; normalise to (sequence, count) to check one case.
    if isinstance(right, str | list | tuple):
        (seq, weight), count = right_sized, left
    else:
        (seq, weight), count = left_sized, right
    is_count = isinstance(count, int) and not isinstance(count, bool)
    if op == "*" and isinstance(seq, str | list | tuple) and is_count:
        assert isinstance(count, int)
        # Weighed before repeating, so "'a' * 10**9" and "[[1] * 10**4] * 10**4" never
        # allocate: the result's weight counts the items of nested lists in full.
        weight = _grown(weight * max(count, 0), budget)
        # An empty result is built without repeating: "'' * 10**100" overflows Python.
        return (seq * count if weight else type(seq)()), weight
    # Notably refuses "%" on text: printf-style formatting could allocate without limit.
    raise ExpressionError(
        f"unsupported operand types for '{op}': {_type_name(left)} and {_type_name(right)}"
    )


def _grown(weight: int, budget: _Budget) -> int:
    """Check the weight of a value about to be built and charge building it."""
    _check_size(weight)
    budget.spend(weight)
    return weight


def _arithmetic(op: str, left: int | float, right: int | float) -> int | float:
    try:
        match op:
            case "+":
                return left + right
            case "-":
                return left - right
            case "*":
                return left * right
            case "/":
                return left / right
            case "//":
                return left // right
            case "%":
                return left % right
            case _:
                _check_exponent(right)
                result: object = left**right
                if not isinstance(result, int | float):
                    raise ExpressionError("result of '**' is not a real number")
                return result
    except ZeroDivisionError:
        raise ExpressionError("division by zero") from None
    except OverflowError:
        raise ExpressionError(f"number too large (max {_MAX_NUMBER_TEXT})") from None


def _check_exponent(exponent: object) -> None:
    if _is_number(exponent) and abs(exponent) > MAX_EXPONENT:  # type: ignore[arg-type]
        raise ExpressionError(f"exponent too large (max {MAX_EXPONENT})")


def _check_number(value: int | float) -> int | float:
    # Infinity and NaN count as too large: they only arise from overflowing floats.
    if abs(value) > MAX_NUMBER or (isinstance(value, float) and not math.isfinite(value)):
        raise ExpressionError(f"number too large (max {_MAX_NUMBER_TEXT})")
    return value


def _check_size(size: int) -> None:
    if size > MAX_ITEMS:
        raise ExpressionError(f"result too large (max {MAX_ITEMS} characters or items)")


def _compare(op: str, left: object, right: object) -> bool:
    if op == "==":
        return left == right
    if op == "!=":
        return left != right
    if op in ("in", "not in"):
        if isinstance(right, str) and not isinstance(left, str):
            raise ExpressionError(f"'{op}' on text needs text on the left, got {_type_name(left)}")
        if not isinstance(right, str | list | tuple):
            raise ExpressionError(f"'{op}' needs a list or text on the right")
        return (left in right) == (op == "in")
    if _is_number(left) and _is_number(right):
        assert isinstance(left, int | float) and isinstance(right, int | float)
        return _ordered(op, left, right)
    if isinstance(left, str) and isinstance(right, str):
        return _ordered(op, left, right)
    raise ExpressionError(
        f"cannot compare {_type_name(left)} with {_type_name(right)} using '{op}'"
    )


def _ordered(op: str, a: _Ordered, b: _Ordered) -> bool:
    match op:
        case "<":
            return a < b
        case "<=":
            return a <= b
        case ">":
            return a > b
        case _:
            return a >= b
