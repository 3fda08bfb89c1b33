"""Validation of service definitions and of citizens' application data.

Designers fix a definition faster when they see every problem at once, each with a
path into the document (``steps[2].outcomes.approve``), so nothing here stops at the
first error: every check appends ``Problem``s, in definition order.
"""

from __future__ import annotations

import math
import re
from collections import deque
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import date
from typing import Any, Final

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from domain.checks import (
    MAX_NUMBER,
    NUMBER_TEXT,
    Names,
    Problem,
    check_field,
    number,
    reserved,
)
from domain.definition import (
    STEP_KINDS,
    AnyStep,
    EndStep,
    ExternalStep,
    FieldType,
    FormField,
    JoinStep,
    ParallelStep,
    ServiceDefinition,
)
from domain.expressions import Bound
from domain.interpreter import VALUE_STEPS, condition_names
from domain.nik import NikError, province_warning, validate_nik
from domain.profile import CHANGED_VERIFIED, prefill_problem
from domain.steps import KINDS, successors

__all__ = [
    "MAX_FILE_REF",
    "MAX_NUMBER",
    "MAX_TEXT",
    "Problem",
    "application_warnings",
    "parse_definition",
    "validate_application_data",
    "validate_definition",
    "validate_fields",
]

MAX_TEXT = 2000
MAX_FILE_REF = 500
_OUTCOME_BOUND: Final = Bound(size=63)
"""A value step's value: an outcome id or a result word, at most 63 characters."""

_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
# Friendlier wording for the id patterns of domain.definition.
_PATTERN_HINTS = {
    r"^[a-z][a-z0-9_]{0,62}$": "must be a lower-case id: a letter, then letters, digits or '_'",
    r"^[a-z][a-z0-9-]{1,62}$": "must be lower-case letters, digits or '-', starting with a letter",
    r"^[A-Z]{2,6}$": "must be 2 to 6 upper-case letters",
    r"^[A-Z]{2,10}$": "must be 2 to 10 upper-case letters",
}

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


_TARGETS = frozenset({"goto", "next", "default", "on_error", "join", "outcomes", "branches"})


def _is_target(loc: tuple[int | str, ...]) -> bool:
    """Whether the value at ``loc`` names the step a way out leads to."""
    named = [part for part in loc if isinstance(part, str)]
    return bool(named) and (named[-1] in _TARGETS or "outcomes" in named[-2:])


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
        case "string_too_short" if ctx.get("min_length") == 1:
            message = (
                "the condition is empty: write one with the condition builder"
                if err["loc"][-1] == "when"
                else "is empty: fill it in"
            )
        case "string_pattern_mismatch" if err.get("input") == "" and _is_target(err["loc"]):
            message = "leads to no step yet: choose the step it leads to"
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
    if d.cancellable_until is not None and d.cancellable_until not in first_step:
        problems.append(
            Problem("cancellable_until", f"step '{d.cancellable_until}' does not exist")
        )
    # Duplicated ids resolve to their first declaration, as ServiceDefinition.step() does.
    steps = {s.id: s for s in reversed(d.steps)}
    names = _names(d, steps, first_step)
    parallels = _check_parallels(d, steps, first_step)
    graph = _check_graph(d, steps, first_step)
    for i, step in enumerate(d.steps):
        problems.extend(_check_step(i, step, names))
        problems.extend(parallels.get(i, []))
        problems.extend(graph.get(i, []))
    if not any(isinstance(s, EndStep) for s in d.steps):
        problems.append(Problem("steps", "definition has no end step; add a step of kind 'end'"))
    return problems


def _first_index(ids: Iterable[str]) -> dict[str, int]:
    first: dict[str, int] = {}
    for i, item in enumerate(ids):
        first.setdefault(item, i)
    return first


def _check_fields(d: ServiceDefinition) -> Iterator[Problem]:
    first = _first_index(f.id for f in d.fields)
    for i, f in enumerate(d.fields):
        if first[f.id] != i:
            yield Problem(
                f"fields[{i}].id", f"duplicate field id '{f.id}' (see fields[{first[f.id]}])"
            )
        yield from check_field(f"fields[{i}]", f)
        if f.prefill is not None and (why := prefill_problem(f.prefill)):
            yield Problem(f"fields[{i}].prefill", why)


def _names(
    d: ServiceDefinition, steps: Mapping[str, AnyStep], first_step: Mapping[str, int]
) -> Names:
    declared = {f.id: f"fields[{i}]" for i, f in reversed(list(enumerate(d.fields)))}
    events: dict[str, int] = {}
    for i, s in enumerate(d.steps):
        if isinstance(s, ExternalStep):
            events.setdefault(s.event, i)
            for k, f in enumerate(s.fields):
                declared.setdefault(f.id, f"steps[{i}].fields[{k}]")
    return Names(
        service=d.id,
        fields=[f.id for f in d.fields],
        declared=declared,
        conditions=condition_names(d),
        bounds=_bounds(d),
        steps=steps,
        first_step=first_step,
        events=events,
        ids=[s.id for s in d.steps],
    )


def _bounds(d: ServiceDefinition) -> dict[str, Bound]:
    """The largest value each name in conditions can hold, given the checks of
    ``validate_fields``; for a name declared twice, the larger of both."""
    found: dict[str, Bound] = {}

    def add(name: str, bound: Bound) -> None:
        old = found.get(name, Bound())
        found[name] = Bound(max(old.size, bound.size), max(old.count, bound.count))

    for f in d.fields:
        add(f.id, _field_bound(f))
    for s in d.steps:
        if isinstance(s, ExternalStep):
            for f in s.fields:
                add(f.id, _field_bound(f))
        elif isinstance(s, VALUE_STEPS):
            add(s.id, _OUTCOME_BOUND)
    return found


def _field_bound(f: FormField) -> Bound:
    match f.type:
        case FieldType.NUMBER:
            low = -MAX_NUMBER if f.min is None or not math.isfinite(f.min) else f.min
            high = MAX_NUMBER if f.max is None or not math.isfinite(f.max) else f.max
            return Bound(count=math.floor(min(max(abs(low), abs(high)), MAX_NUMBER)))
        case FieldType.TEXT:
            return Bound(size=MAX_TEXT)
        case FieldType.DATE:
            return Bound(size=len("YYYY-MM-DD"))
        case FieldType.CHOICE:
            return Bound(size=max((len(c) for c in f.choices), default=0))
        case FieldType.NIK:
            return Bound(size=16)
        case FieldType.FILE:
            return Bound(size=MAX_FILE_REF)
    return Bound(size=MAX_TEXT)


def _check_step(i: int, step: AnyStep, names: Names) -> Iterator[Problem]:
    at = f"steps[{i}]"
    first_step, field_ids = names.first_step, names.fields
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
    yield from reserved(f"{at}.id", step.id)

    yield from KINDS[step.kind].check(step, i, names)


# --- parallel branches ---------------------------------------------------------------


def _check_parallels(
    d: ServiceDefinition, steps: Mapping[str, AnyStep], first_step: Mapping[str, int]
) -> dict[int, list[Problem]]:
    """Problems in how parallel steps, their branches and their joins fit together, keyed
    by step index. A branch is every step reachable from its first step before the join:
    it must not reach an end step (the other branches would be left running), must not
    share steps with another branch of the same parallel, and nothing outside the branches
    may lead into them or into the join (a join would wait for branches never started).
    A parallel nested inside a branch is checked the same way, so it must be joined
    inside that branch."""
    found: dict[int, list[Problem]] = {}

    def add(i: int, path: str, message: str) -> None:
        found.setdefault(i, []).append(Problem(path, message))

    owner: dict[str, str] = {}  # join id -> the first parallel step naming it
    entries: set[tuple[str, str]] = set()  # (step, branch or join) reported as entered
    in_order = sorted(steps, key=first_step.__getitem__)
    for i, p in enumerate(d.steps):
        if not isinstance(p, ParallelStep) or first_step[p.id] != i:
            continue
        at, join = f"steps[{i}]", p.join
        if not isinstance(steps.get(join), JoinStep):
            continue  # reported by _check_step
        if join in owner:
            add(
                i,
                f"{at}.join",
                f"join '{join}' already belongs to parallel '{owner[join]}'"
                f" (steps[{first_step[owner[join]]}]); each parallel needs its own join step",
            )
            continue
        owner[join] = p.id
        branch_problems, region, inside = _check_branches(p, steps, first_step)
        for k, message in branch_problems:
            add(i, f"{at}.branches[{k}]", message)
        for sid in in_order:
            if sid in inside or sid == p.id:
                continue
            for t in successors(steps[sid]):
                entered = join if t == join else region.get(t)
                if entered is None or (sid, entered) in entries:
                    continue
                entries.add((sid, entered))
                if t == join:
                    message = (
                        f"step '{sid}' leads to join '{join}' from outside the branches"
                        f" of parallel '{p.id}'"
                    )
                else:
                    message = (
                        f"step '{sid}' leads into branch '{region[t]}' of parallel '{p.id}'"
                        " from outside it; only the parallel step starts its branches"
                    )
                add(first_step[sid], f"steps[{first_step[sid]}]", message)
    referenced = {s.join for s in d.steps if isinstance(s, ParallelStep)}
    for i, s in enumerate(d.steps):
        if isinstance(s, JoinStep) and first_step[s.id] == i and s.id not in referenced:
            add(i, f"steps[{i}]", f"join step '{s.id}' is not the join of any parallel step")
    return found


def _check_branches(
    p: ParallelStep, steps: Mapping[str, AnyStep], first_step: Mapping[str, int]
) -> tuple[list[tuple[int, str]], dict[str, str], set[str]]:
    """Problems of a parallel's branches as (branch index, message), in branch order; its
    region: each step of a well-formed branch -> that branch's first step; and every step
    any of its branches can reach before the join."""
    problems: list[tuple[int, str]] = []
    scopes: dict[str, dict[str, None]] = {}
    looping: set[str] = set()  # branches that lead back to the parallel step
    escaped: set[str] = set()  # branches that can leave without the join
    index = {start: p.branches.index(start) for start in p.branches}  # first listing
    by_order = first_step.__getitem__
    for start in index:  # a branch listed twice is reported by _check_step
        k = index[start]
        if start not in steps:
            continue  # reported by _check_step
        branch = f"branch '{start}' of parallel '{p.id}'"
        if start == p.join:
            problems.append((k, f"{branch} is its join step; a branch needs a step of its own"))
            continue
        scope = scopes[start] = _branch(start, p.join, steps)
        if p.id in scope:  # so it reaches every other branch too: say it once
            looping.add(start)
            problems.append((k, f"{branch} leads back to the parallel step before join '{p.join}'"))
            continue
        end = next((sid for sid in scope if isinstance(steps[sid], EndStep)), None)
        if end is not None:  # the nearest one: the others are reached the same way
            escaped.add(start)
            problems.append(
                (k, f"{branch} can reach end step '{end}' without passing join '{p.join}'")
            )
    separate = "; branches of a parallel must stay separate"
    started = [start for start in scopes if start not in looping]
    for n, b in enumerate(started):
        for a in started[:n]:
            if b in scopes[a]:
                k, message = index[a], f"branch '{a}' of parallel '{p.id}' can reach branch '{b}'"
            elif a in scopes[b]:
                k, message = index[b], f"branch '{b}' of parallel '{p.id}' can reach branch '{a}'"
            elif shared := scopes[a].keys() & scopes[b].keys():
                k = index[b]
                message = (
                    f"branches '{a}' and '{b}' of parallel '{p.id}' share step"
                    f" '{min(shared, key=by_order)}'"
                )
            else:
                continue
            problems.append((k, f"{message} before join '{p.join}'{separate}"))
    problems.sort(key=lambda problem: problem[0])  # stable: each branch's in found order
    region: dict[str, str] = {}  # only well-formed branches have a known extent
    for start, scope in scopes.items():
        if start not in looping and start not in escaped:
            for sid in scope:
                region.setdefault(sid, start)
    inside = {sid for scope in scopes.values() for sid in scope}
    return problems, region, inside


def _branch(start: str, join: str, steps: Mapping[str, AnyStep]) -> dict[str, None]:
    """Every known step reachable from ``start`` without passing ``join``, nearest first
    (a dict used as an ordered set)."""
    seen = {start: None}
    todo = deque([start])
    while todo:
        for nxt in successors(steps[todo.popleft()]):
            if nxt != join and nxt in steps and nxt not in seen:
                seen[nxt] = None
                todo.append(nxt)
    return seen


# --- graph ------------------------------------------------------------------------


def _check_graph(
    d: ServiceDefinition, steps: Mapping[str, AnyStep], first_step: Mapping[str, int]
) -> dict[int, list[Problem]]:
    """Reachability problems, keyed by step index so they interleave in definition order."""
    found: dict[int, list[Problem]] = {}
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
    # A loop the flow can leave must still wait for a person (or another system) on each
    # round: a loop of automatic steps sees the same data every time and would spin for ever.
    live = sorted(alive, key=first_step.__getitem__)
    for comp in _components(live, {sid: [t for t in edges[sid] if t in alive] for sid in live}):
        cyclic = len(comp) > 1 or comp[0] in edges[comp[0]]
        if cyclic and not any(KINDS[steps[sid].kind].waits(steps[sid]) for sid in comp):
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
    """Problems in a citizen's form data, at paths ``data.<field_id>``. External-step
    fields are not application data: they arrive later, with their event."""
    if not isinstance(data, Mapping):
        return [Problem("data", "application data must be an object")]
    return validate_fields(d.fields, data)


def application_warnings(
    d: ServiceDefinition, data: Mapping[str, Any], provenance: Mapping[str, str] | None = None
) -> list[Problem]:
    """What the officer should check but that does not refuse the data: a NIK whose
    province code is not in today's list (see ``domain.nik.province_warning``), and a
    value the citizen changed although their profile held it verified."""
    warnings = [
        Problem(f"data.{f.id}", CHANGED_VERIFIED_WARNING)
        for f in d.fields
        if (provenance or {}).get(f.id) == CHANGED_VERIFIED
    ]
    for f in d.fields:
        value = data.get(f.id) if isinstance(data, Mapping) else None
        if f.type != FieldType.NIK or not isinstance(value, str):
            continue
        try:
            message = province_warning(validate_nik(value))
        except NikError:
            continue  # an invalid NIK is a problem, reported by validate_fields
        if message:
            warnings.append(Problem(f"data.{f.id}", message))
    return warnings


CHANGED_VERIFIED_WARNING: Final = (
    "the citizen changed this value, which their profile holds as verified (at the counter "
    "or by face match); check the new value against the documents"
)


def validate_fields(
    fields: Sequence[FormField],
    data: Mapping[str, Any],
    prefix: str = "data",
    *,
    partial: bool = False,
) -> list[Problem]:
    """Problems in values for ``fields``, at paths ``<prefix>.<field_id>``: a citizen's
    form, an external step's event payload, or (``partial``) a citizen's correction,
    which carries only the fields being fixed, so absent required fields are not
    reported (a required field sent empty still is)."""
    if not isinstance(data, Mapping):
        return [Problem(prefix, "must be an object")]
    problems: list[Problem] = []
    for f in fields:
        path = f"{prefix}.{f.id}"
        if partial and f.id not in data:
            continue
        value = data.get(f.id)
        if value is None or (isinstance(value, str) and not value.strip()):
            if f.required:
                state = "missing" if value is None else "empty"
                problems.append(Problem(path, f"required field is {state}"))
            continue  # optional and left blank: nothing to check
        message = _check_value(f, value)
        if message:
            problems.append(Problem(path, message))
    declared = {f.id for f in fields}
    for key in data:
        if key not in declared:
            # The key is client input: keep paths bounded and encodable as UTF-8.
            shown = _printable(str(key)[:100])
            problems.append(Problem(f"{prefix}.{shown}", f"unknown field '{shown}'"))
    return problems


def _printable(text: str) -> str:
    """``text`` with lone surrogates (which no UTF-8 answer can carry) as \\udxxx."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _is_unicode(text: str) -> bool:
    # JSON's "\ud800" decodes to a str holding a lone surrogate: not text any system
    # downstream (the event store, PDFs, other services) can encode.
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _check_value(f: FormField, value: object) -> str | None:
    if isinstance(value, str) and not _is_unicode(value):
        return "must be valid Unicode text (it contains a lone surrogate code point)"
    match f.type:
        case FieldType.TEXT:
            if not isinstance(value, str):
                return "must be text"
            return f"must be at most {MAX_TEXT} characters" if len(value) > MAX_TEXT else None
        case FieldType.NUMBER:
            return _check_number(f, value)
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


def _check_number(f: FormField, value: object) -> str | None:
    # bool is an int subclass, and NaN/infinity are not numbers a person enters.
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "must be a number"
    # Never math.isfinite on an int: a 400-digit one does not fit a float.
    if isinstance(value, float) and not math.isfinite(value):
        return "must be a number"
    if abs(value) > MAX_NUMBER:
        return f"must be between -{NUMBER_TEXT} and {NUMBER_TEXT}"
    if f.min is not None and value < f.min:
        return f"must be at least {number(f.min)}"
    if f.max is not None and value > f.max:
        return f"must be at most {number(f.max)}"
    return None


def _check_date(value: object) -> str | None:
    if not isinstance(value, str) or not _ISO_DATE.fullmatch(value):
        return "must be a date in YYYY-MM-DD format"
    try:
        date.fromisoformat(value)
    except ValueError:
        return "is not a real calendar date"
    return None
