"""Every message a ``Problem(...)`` in ``domain/`` can carry, read from the sources with
``ast``: each formatted value of an f-string becomes the sample ``x``. A message held in
a variable is followed to what is assigned to it, a parameter to the arguments its
callers pass, ``str(exc)`` to every ``raise`` of the exception caught, and a call to a
domain function to what that function returns. What cannot be followed is reported, so a
new kind of message source fails the coverage test instead of going unseen."""

from __future__ import annotations

import ast
import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
DOMAIN = ROOT / "domain"
SAMPLE = "x"


@dataclass
class Module:
    path: Path
    tree: ast.Module
    parents: dict[ast.AST, ast.AST] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for node in ast.walk(self.tree):
            for child in ast.iter_child_nodes(node):
                self.parents[child] = node

    def function_of(self, node: ast.AST) -> ast.FunctionDef | None:
        while node in self.parents:
            node = self.parents[node]
            if isinstance(node, ast.FunctionDef):
                return node
        return None

    def where(self, node: ast.AST) -> str:
        shown = self.path.relative_to(ROOT) if self.path.is_relative_to(ROOT) else self.path
        return f"{shown}:{getattr(node, 'lineno', 0)}"


def modules() -> list[Module]:
    return [Module(p, ast.parse(p.read_text("utf-8"))) for p in sorted(DOMAIN.rglob("*.py"))]


@dataclass
class Found:
    messages: dict[str, str] = field(default_factory=dict)  # message -> where it is made
    unresolved: list[str] = field(default_factory=list)


class Resolver:
    def __init__(self, mods: list[Module]) -> None:
        self.mods = mods
        self.functions: dict[str, list[tuple[Module, ast.FunctionDef]]] = {}
        self.constants: dict[str, list[tuple[Module, ast.expr]]] = {}
        for m in mods:
            for node in ast.walk(m.tree):
                if isinstance(node, ast.FunctionDef):
                    self.functions.setdefault(node.name, []).append((m, node))
            for stmt in m.tree.body:
                match stmt:
                    case ast.Assign(targets=targets, value=value):
                        pass
                    case ast.AnnAssign(target=target, value=ast.expr() as value):
                        targets = [target]
                    case _:
                        continue
                for t in targets:
                    if isinstance(t, ast.Name):
                        self.constants.setdefault(t.id, []).append((m, value))
        self.seen: set[tuple[int, int]] = set()  # (node, function) being followed

    # -- the entry point ---------------------------------------------------------------

    def problems(self) -> Found:
        found = Found()
        for m in self.mods:
            for node in ast.walk(m.tree):
                if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                        and node.func.id == "Problem" and len(node.args) == 2):  # fmt: skip
                    self._add(found, m, node.args[1], m.function_of(node))
        return found

    def _add(self, found: Found, m: Module, expr: ast.expr, fn: ast.FunctionDef | None) -> None:
        for text in self.texts(m, expr, fn, found):
            found.messages.setdefault(text, m.where(expr))

    # -- following an expression to its texts ------------------------------------------

    def texts(
        self, m: Module, e: ast.expr, fn: ast.FunctionDef | None, found: Found
    ) -> Iterator[str]:
        key = (id(e), id(fn))
        if key in self.seen:
            return
        self.seen.add(key)
        try:
            yield from self._texts(m, e, fn, found)
        finally:
            self.seen.discard(key)

    def _texts(
        self, m: Module, e: ast.expr, fn: ast.FunctionDef | None, found: Found
    ) -> Iterator[str]:
        match e:
            case ast.Constant(value=str() as s):
                yield s
            case ast.Constant(value=None):
                return
            case ast.JoinedStr(values=parts):
                pieces = [[p.value] if isinstance(p, ast.Constant) else _formatted(p, fn)
                          for p in parts]  # fmt: skip
                for combo in itertools.product(*pieces):
                    yield "".join(str(c) for c in combo)
            case ast.IfExp(body=a, orelse=b):
                yield from self.texts(m, a, fn, found)
                yield from self.texts(m, b, fn, found)
            case ast.BoolOp(values=values):
                for v in values:
                    yield from self.texts(m, v, fn, found)
            case ast.BinOp(op=ast.Add(), left=a, right=b):
                lefts = list(self.texts(m, a, fn, found))
                rights = list(self.texts(m, b, fn, found))
                for x, y in itertools.product(lefts, rights):
                    yield x + y
            case ast.Name(id=name):
                yield from self._name(m, e, name, fn, found)
            case ast.Subscript(value=ast.Name(id=name)) if name in self.constants:
                for cm, value in self.constants[name]:
                    if isinstance(value, ast.Dict):
                        for v in value.values:
                            yield from self.texts(cm, v, None, found)
            case ast.Call(func=ast.Name(id="str"), args=[ast.Name(id=exc)]):
                yield from self._raised(m, e, exc, fn, found)
            case ast.Call(func=ast.Attribute(value=ast.Name(id=name), attr="get")) if (
                name in self.constants
            ):
                for cm, value in self.constants[name]:
                    if isinstance(value, ast.Dict):
                        for v in value.values:
                            yield from self.texts(cm, v, None, found)
            case ast.Call(func=ast.Name(id=name)) if name in self.functions:
                defined = self.functions[name]
                # A name defined in this module means that one (several modules have a _check).
                here = [(fm, f) for fm, f in defined if fm is m]
                for fm, f in here or defined:
                    for node in ast.walk(f):
                        if isinstance(node, ast.Return) and node.value is not None:
                            yield from self.texts(fm, node.value, f, found)
            case _:
                found.unresolved.append(f"{m.where(e)}: {ast.unparse(e)}")

    def _name(
        self, m: Module, e: ast.expr, name: str, fn: ast.FunctionDef | None, found: Found
    ) -> Iterator[str]:
        if fn is not None:
            assigned = list(_assignments(fn, name))
            if assigned:
                for value in assigned:
                    if value is None:
                        found.unresolved.append(f"{m.where(e)}: {name} (a loop variable)")
                    else:
                        yield from self.texts(m, value, fn, found)
                return
            params = [a.arg for a in fn.args.args]
            if name in params:
                yield from self._arguments(m, fn, params.index(name), found)
                return
        if name in self.constants:
            for cm, value in self.constants[name]:
                yield from self.texts(cm, value, None, found)
            return
        found.unresolved.append(f"{m.where(e)}: {name}")

    def _arguments(self, m: Module, fn: ast.FunctionDef, index: int, found: Found) -> Iterator[str]:
        """What the callers of ``fn`` (in any domain module) pass as its ``index``th
        argument; an argument the caller got as its own parameter is followed further.
        Callers in ``fn``'s own module come first: a name like ``add`` means the local one."""
        for mods in ([m], [x for x in self.mods if x is not m]):
            calls = [
                (cm, node)
                for cm in mods
                for node in ast.walk(cm.tree)
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                and node.func.id == fn.name and len(node.args) > index
            ]  # fmt: skip
            for cm, node in calls:
                yield from self.texts(cm, node.args[index], cm.function_of(node), found)
            if calls:
                return

    def _raised(
        self, m: Module, e: ast.expr, exc: str, fn: ast.FunctionDef | None, found: Found
    ) -> Iterator[str]:
        caught = [
            h.type.id
            for h in ast.walk(fn or m.tree)
            if isinstance(h, ast.ExceptHandler) and h.name == exc and isinstance(h.type, ast.Name)
        ]
        if not caught:
            found.unresolved.append(f"{m.where(e)}: str({exc})")
            return
        for rm in self.mods:
            for node in ast.walk(rm.tree):
                if (isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call)
                        and isinstance(node.exc.func, ast.Name)
                        and node.exc.func.id in caught and node.exc.args):  # fmt: skip
                    yield from self.texts(rm, node.exc.args[0], rm.function_of(node), found)


def _formatted(part: ast.expr, fn: ast.FunctionDef | None) -> list[str]:
    """A formatted value's texts: a local name only ever given literal texts is those
    (``separate`` in ``_check_branches``); anything else is data, shown as the sample."""
    if isinstance(part, ast.FormattedValue) and isinstance(part.value, ast.Name) and fn:
        values = list(_assignments(fn, part.value.id))
        texts = [v.value for v in values if isinstance(v, ast.Constant)]
        if values and len(texts) == len(values) and all(isinstance(t, str) for t in texts):
            return [str(t) for t in texts]
    return [SAMPLE]


def _assignments(fn: ast.FunctionDef, name: str) -> Iterator[ast.expr | None]:
    """What ``fn`` assigns to ``name`` (None for a loop variable, whose value comes from
    elsewhere), tuple assignments taken item by item."""
    for node in ast.walk(fn):
        match node:
            case ast.Assign(targets=targets, value=value):
                for t in targets:
                    yield from _matching(t, value, name)
            case ast.AnnAssign(target=ast.Name(id=n), value=value) if n == name and value:
                yield value
            case ast.NamedExpr(target=ast.Name(id=n), value=value) if n == name:
                yield value
            case ast.For(target=t) if name in _names(t):
                yield None


def _names(target: ast.expr) -> set[str]:
    return {x.id for x in ast.walk(target) if isinstance(x, ast.Name)}


def _matching(target: ast.expr, value: ast.expr, name: str) -> Iterator[ast.expr]:
    if isinstance(target, ast.Name) and target.id == name:
        yield value
    elif isinstance(target, ast.Tuple) and isinstance(value, ast.Tuple):
        for t, v in zip(target.elts, value.elts, strict=False):
            yield from _matching(t, v, name)


def appended_pairs(function: str) -> Iterator[tuple[Module, ast.expr, ast.FunctionDef]]:
    """The second item of each ``(index, message)`` pair ``function`` appends: the
    messages a caller's loop variable takes (``_check_branches`` → ``_check_parallels``)."""
    for m in modules():
        for node in ast.walk(m.tree):
            if isinstance(node, ast.FunctionDef) and node.name == function:
                for call in ast.walk(node):
                    if (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)
                            and call.func.attr == "append" and call.args
                            and isinstance(call.args[0], ast.Tuple)):  # fmt: skip
                        yield m, call.args[0].elts[1], node
