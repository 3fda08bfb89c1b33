"""Validation of service definitions and of citizens' application data.

Designers fix a definition faster when they see every problem at once, each with a
path into the document (``steps[2].outcomes.approve``), so nothing here stops at the
first error: every check appends ``Problem``s, in definition order.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from domain.definition import (
    STAFF_ROLES,
    DecisionStep,
    EndStep,
    FieldType,
    FormField,
    FormStep,
    NotifyStep,
    ReviewStep,
    ServiceDefinition,
    successors,
)
from domain.expressions import ALIASES, ExpressionError, parse
from domain.nik import NikError, validate_nik

MAX_TEXT = 2000
MAX_FILE_REF = 500
STEP_KINDS = ("form", "review", "decision", "notify", "end")

_AnyStep = FormStep | ReviewStep | DecisionStep | NotifyStep | EndStep
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
# Friendlier wording for the id patterns of domain.definition.
_PATTERN_HINTS = {
    r"^[a-z][a-z0-9_]{0,62}$": "must be a lower-case id: a letter, then letters, digits or '_'",
    r"^[a-z][a-z0-9-]{1,62}$": "must be lower-case letters, digits or '-', starting with a letter",
    r"^[A-Z]{2,6}$": "must be 2 to 6 upper-case letters",
}


@dataclass(frozen=True)
class Problem:
    path: str
    message: str


# --- parsing ----------------------------------------------------------------------


def parse_definition(raw: Mapping[str, Any]) -> tuple[ServiceDefinition | None, list[Problem]]:
    """Parse raw JSON into a definition; on success also run ``validate_definition``."""
    if not isinstance(raw, Mapping):
        return None, [Problem("", "definition must be a JSON object")]
    try:
        definition = ServiceDefinition.model_validate(dict(raw))
    except ValidationError as exc:
        return None, [_problem_from_error(err) for err in exc.errors()]
    return definition, validate_definition(definition)


def _problem_from_error(err: ErrorDetails) -> Problem:
    loc = err["loc"]
    path = ""
    for i, part in enumerate(loc):
        if isinstance(part, int):
            path += f"[{part}]"
        elif part == "[key]" or (i == 2 and loc[0] == "steps" and part in STEP_KINDS):
            continue  # pydantic's discriminator tag / key marker are not document paths
        else:
            path += f".{part}" if path else part
    return Problem(path, _error_message(err))


def _error_message(err: ErrorDetails) -> str:
    ctx = err.get("ctx") or {}
    kinds = ", ".join(STEP_KINDS)
    match err["type"]:
        case "missing":
            message = "is required"
        case "extra_forbidden":
            message = "unknown property"
        case "union_tag_not_found":
            message = f"step needs a 'kind': one of {kinds}"
        case "union_tag_invalid":
            message = f"unknown step kind {ctx.get('tag')!r}; expected one of {kinds}"
        case "string_pattern_mismatch":
            message = _PATTERN_HINTS.get(str(ctx.get("pattern")), err["msg"])
        case _:
            message = err["msg"]
    return f"key {message}" if "[key]" in err["loc"] else message


# --- definition -------------------------------------------------------------------


def validate_definition(d: ServiceDefinition) -> list[Problem]:
    """Every problem in a parsed definition, in definition order."""
    problems = list(_check_fields(d))
    first_step = _first_index(s.id for s in d.steps)
    if d.start is not None and d.start not in first_step:
        problems.append(Problem("start", f"start step '{d.start}' does not exist"))
    graph = _check_graph(d, first_step)
    names = _Names(
        fields=[f.id for f in d.fields],
        reviews={s.id for s in d.steps if isinstance(s, ReviewStep)},
        steps=first_step,
    )
    for i, step in enumerate(d.steps):
        problems.extend(_check_step(i, step, names))
        problems.extend(graph.get(i, []))
    if not any(isinstance(s, EndStep) for s in d.steps):
        problems.append(Problem("steps", "definition has no end step; add a step of kind 'end'"))
    return problems


def _first_index(ids: Iterable[str]) -> dict[str, int]:
    first: dict[str, int] = {}
    for i, item in enumerate(ids):
        first.setdefault(item, i)
    return first


def _reserved(path: str, name: str) -> Iterator[Problem]:
    # true/false/null are literals in conditions, so such an id could never be read.
    if name in ALIASES:
        yield Problem(path, f"'{name}' is reserved in conditions (true, false, null)")


def _check_fields(d: ServiceDefinition) -> Iterator[Problem]:
    first = _first_index(f.id for f in d.fields)
    for i, f in enumerate(d.fields):
        if first[f.id] != i:
            yield Problem(
                f"fields[{i}].id", f"duplicate field id '{f.id}' (see fields[{first[f.id]}])"
            )
        yield from _reserved(f"fields[{i}].id", f.id)
        if f.type is FieldType.CHOICE and not f.choices:
            yield Problem(f"fields[{i}].choices", "a choice field needs at least one choice")
        if f.type is not FieldType.CHOICE and f.choices:
            yield Problem(
                f"fields[{i}].choices", f"only choice fields have choices (type is '{f.type}')"
            )


@dataclass(frozen=True)
class _Names:
    """The ids a step may refer to, computed once per definition."""

    fields: list[str]
    reviews: set[str]
    steps: Mapping[str, int]  # step id -> index of its first declaration


def _check_step(i: int, step: _AnyStep, names: _Names) -> Iterator[Problem]:
    at = f"steps[{i}]"
    first_step, field_ids = names.steps, names.fields
    if first_step[step.id] != i:
        yield Problem(
            f"{at}.id", f"duplicate step id '{step.id}' (see steps[{first_step[step.id]}])"
        )
    if step.id in field_ids:
        yield Problem(
            f"{at}.id",
            f"step id '{step.id}' is also a field id (fields[{field_ids.index(step.id)}]);"
            " names in conditions must be unambiguous",
        )
    yield from _reserved(f"{at}.id", step.id)

    def target(path: str, step_id: str) -> Iterator[Problem]:
        if step_id not in first_step:
            yield Problem(f"{at}.{path}", f"leads to unknown step '{step_id}'")

    match step:
        case FormStep():
            yield from target("next", step.next)
        case NotifyStep():
            yield from _check_placeholders(f"{at}.message", step.message, field_ids)
            yield from target("next", step.next)
        case ReviewStep():
            if step.role not in STAFF_ROLES:
                allowed = ", ".join(sorted(STAFF_ROLES))
                yield Problem(f"{at}.role", f"unknown role '{step.role}'; allowed: {allowed}")
            for outcome, goto in step.outcomes.items():
                yield from target(f"outcomes.{outcome}", goto)
        case DecisionStep():
            known = set(field_ids) | names.reviews
            for k, branch in enumerate(step.branches):
                yield from _check_condition(f"{at}.branches[{k}].when", branch.when, known)
                yield from target(f"branches[{k}].goto", branch.goto)
            if step.default is None:
                yield Problem(
                    f"{at}.default", "decision has no default step (used when no branch matches)"
                )
            else:
                yield from target("default", step.default)


def _check_placeholders(path: str, message: str, field_ids: list[str]) -> Iterator[Problem]:
    seen: set[str] = set()
    for name in _PLACEHOLDER.findall(message):
        if name not in field_ids and name not in seen:
            seen.add(name)
            yield Problem(path, f"placeholder '{{{name}}}' is not a declared field id")


def _check_condition(path: str, text: str, known: set[str]) -> Iterator[Problem]:
    try:
        expression = parse(text)
    except ExpressionError as exc:
        yield Problem(path, str(exc))
        return
    for name in sorted(expression.names - known):
        yield Problem(path, f"unknown name '{name}': not a declared field id or review step id")


# --- graph ------------------------------------------------------------------------


def _check_graph(d: ServiceDefinition, first_step: Mapping[str, int]) -> dict[int, list[Problem]]:
    """Reachability problems, keyed by step index so they interleave in definition order."""
    found: dict[int, list[Problem]] = {}
    # Duplicated ids resolve to their first declaration, as ServiceDefinition.step() does.
    steps = {s.id: s for s in reversed(d.steps)}
    edges = {sid: [t for t in successors(s) if t in steps] for sid, s in steps.items()}
    start = d.start_step
    if start in steps:
        reachable = _closure([start], edges)
        for sid in steps:
            if sid not in reachable:
                message = f"step '{sid}' is not reachable from the start step '{start}'"
                found.setdefault(first_step[sid], []).append(
                    Problem(f"steps[{first_step[sid]}]", message)
                )
    ends = [sid for sid, s in steps.items() if isinstance(s, EndStep)]
    if not ends:
        return found  # reported once by validate_definition; every step would be "dead"
    reverse: dict[str, list[str]] = {sid: [] for sid in steps}
    for sid, targets in edges.items():
        for t in targets:
            reverse[t].append(sid)
    alive = _closure(ends, reverse)
    dead = sorted((sid for sid in steps if sid not in alive), key=first_step.__getitem__)
    dead_edges = {sid: edges[sid] for sid in dead}  # successors of dead steps are dead too
    for comp in _components(dead, dead_edges):
        comp.sort(key=first_step.__getitem__)
        members = set(comp)
        cyclic = len(comp) > 1 or comp[0] in edges[comp[0]]
        closed = all(t in members for sid in comp for t in edges[sid])
        if cyclic and closed:
            names = ", ".join(f"'{sid}'" for sid in comp)
            many = len(comp) > 1
            noun, verb = ("steps", "reach") if many else ("step", "reaches")
            message = f"loop without an exit: {noun} {names} never {verb} an end step"
            i = first_step[comp[0]]
            found.setdefault(i, []).append(Problem(f"steps[{i}]", message))
            continue
        for sid in comp:
            i = first_step[sid]
            message = f"no path to an end step from step '{sid}'"
            found.setdefault(i, []).append(Problem(f"steps[{i}]", message))
    # A loop the flow can leave must still wait for a person on each round: a loop of
    # automatic steps sees the same data every time and would spin for ever.
    live = sorted(alive, key=first_step.__getitem__)
    for comp in _components(live, {sid: [t for t in edges[sid] if t in alive] for sid in live}):
        cyclic = len(comp) > 1 or comp[0] in edges[comp[0]]
        if cyclic and not any(isinstance(steps[sid], ReviewStep) for sid in comp):
            comp.sort(key=first_step.__getitem__)
            names = ", ".join(f"'{sid}'" for sid in comp)
            i = first_step[comp[0]]
            found.setdefault(i, []).append(
                Problem(
                    f"steps[{i}]",
                    f"loop without a human step: {names} would repeat for ever "
                    "on the same data; put a review step in the loop",
                )
            )
    return found


def _closure(roots: Iterable[str], edges: Mapping[str, list[str]]) -> set[str]:
    seen = set(roots)
    todo = list(seen)
    while todo:
        for nxt in edges[todo.pop()]:
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def _components(nodes: list[str], edges: Mapping[str, list[str]]) -> list[list[str]]:
    """Strongly connected components (Kosaraju), iterative so big graphs cannot recurse."""
    order: list[str] = []
    seen: set[str] = set()
    for root in nodes:
        if root in seen:
            continue
        seen.add(root)
        stack = [(root, iter(edges[root]))]
        while stack:
            node, pending = stack[-1]
            nxt = next((n for n in pending if n not in seen), None)
            if nxt is None:
                stack.pop()
                order.append(node)
            else:
                seen.add(nxt)
                stack.append((nxt, iter(edges[nxt])))
    reverse: dict[str, list[str]] = {n: [] for n in nodes}
    for n in nodes:
        for m in edges[n]:
            reverse[m].append(n)
    components: list[list[str]] = []
    assigned: set[str] = set()
    for root in reversed(order):
        if root not in assigned:
            assigned.add(root)
            comp = _closure_excluding(root, reverse, assigned)
            components.append(comp)
    return components


def _closure_excluding(root: str, edges: Mapping[str, list[str]], assigned: set[str]) -> list[str]:
    comp, todo = [root], [root]
    while todo:
        for nxt in edges[todo.pop()]:
            if nxt not in assigned:
                assigned.add(nxt)
                comp.append(nxt)
                todo.append(nxt)
    return comp


# --- application data -------------------------------------------------------------


def validate_application_data(d: ServiceDefinition, data: Mapping[str, Any]) -> list[Problem]:
    """Problems in a citizen's form data, at paths ``data.<field_id>``."""
    if not isinstance(data, Mapping):
        return [Problem("data", "application data must be an object")]
    problems: list[Problem] = []
    for f in d.fields:
        path = f"data.{f.id}"
        value = data.get(f.id)
        if value is None or (isinstance(value, str) and not value.strip()):
            if f.required:
                state = "missing" if value is None else "empty"
                problems.append(Problem(path, f"required field is {state}"))
            continue  # optional and left blank: nothing to check
        message = _check_value(f, value)
        if message:
            problems.append(Problem(path, message))
    declared = {f.id for f in d.fields}
    for key in data:
        if key not in declared:
            shown = str(key)[:100]  # the key is client input: keep paths bounded
            problems.append(Problem(f"data.{shown}", f"unknown field '{shown}'"))
    return problems


def _check_value(f: FormField, value: object) -> str | None:
    match f.type:
        case FieldType.TEXT:
            if not isinstance(value, str):
                return "must be text"
            return f"must be at most {MAX_TEXT} characters" if len(value) > MAX_TEXT else None
        case FieldType.NUMBER:
            # bool is an int subclass, and NaN/infinity are not numbers a person enters.
            if isinstance(value, bool) or not isinstance(value, int | float):
                return "must be a number"
            return None if math.isfinite(value) else "must be a number"
        case FieldType.DATE:
            return _check_date(value)
        case FieldType.CHOICE:
            return None if value in f.choices else f"must be one of: {', '.join(f.choices)}"
        case FieldType.NIK:
            if not isinstance(value, str):
                return "NIK must have exactly 16 digits"
            try:
                validate_nik(value)
            except NikError as exc:
                return str(exc)  # NikError messages never contain the NIK
            return None
        case FieldType.FILE:
            if isinstance(value, str) and len(value) <= MAX_FILE_REF:
                return None
            return f"must be a file reference (text, at most {MAX_FILE_REF} characters)"
    return f"unsupported field type '{f.type}'"


def _check_date(value: object) -> str | None:
    if not isinstance(value, str) or not _ISO_DATE.fullmatch(value):
        return "must be a date in YYYY-MM-DD format"
    try:
        date.fromisoformat(value)
    except ValueError:
        return "is not a real calendar date"
    return None
