"""Problems and the checks shared by the definition validator (``domain.validation``) and
the step kinds' own rules (``domain.steps``).

It sits apart from both so that a step kind can use the checks without importing the
validator, which dispatches to the step kinds.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from domain.expressions import ALIASES, Bound, ExpressionError, check_bounds, parse
from domain.primitives import (
    STAFF_ROLES,
    Duration,
    DurationUnit,
    FieldType,
    FormField,
    StepDeadline,
)
from domain.wallet import DOCUMENT_KINDS

if TYPE_CHECKING:  # a step model of any kind; the registry imports this module
    from domain.definition import AnyStep

MAX_NUMBER: Final = 2**53
"""Largest magnitude of a number field's value: every integer up to it is exact as a
float, in JSON parsers everywhere, and in the event store's 64-bit integers."""
NUMBER_TEXT: Final = f"{MAX_NUMBER:,}"

_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
# Deadlines in different units are compared in hours, a working day counted as 24 hours:
# the least it can last, so only a reminder that is clearly not shorter is refused.
_HOURS = {
    DurationUnit.MINUTES: 1 / 60,
    DurationUnit.HOURS: 1,
    DurationUnit.DAYS: 24,
    DurationUnit.WORKING_DAYS: 24,
}
_UNIT_NAMES = {
    DurationUnit.MINUTES: ("minute", "minutes"),
    DurationUnit.HOURS: ("hour", "hours"),
    DurationUnit.DAYS: ("day", "days"),
    DurationUnit.WORKING_DAYS: ("working day", "working days"),
}


@dataclass(frozen=True)
class Problem:
    path: str
    message: str


@dataclass(frozen=True)
class Names:
    """The ids a step may refer to, computed once per definition."""

    service: str  # the definition's own id
    fields: list[str]  # form field ids, in order
    declared: Mapping[str, str]  # form or external field id -> path of its first declaration
    conditions: set[str]  # names a condition may use
    bounds: Mapping[str, Bound]  # name in conditions -> the largest value it can hold
    steps: Mapping[str, AnyStep]  # step id -> its first declaration
    first_step: Mapping[str, int]  # step id -> index of its first declaration
    events: Mapping[str, int]  # external event -> index of the first step awaiting it
    ids: list[str]  # step ids, in order

    def target(self, at: str, path: str, step_id: str) -> Iterator[Problem]:
        """A way out of the step at ``at`` must lead to a step that exists."""
        if step_id not in self.first_step:
            yield Problem(f"{at}.{path}", f"leads to unknown step '{step_id}'")


def number(value: float) -> str:
    return f"{int(value):,}" if float(value).is_integer() else f"{value:,}"


def reserved(path: str, name: str) -> Iterator[Problem]:
    # true/false/null are literals in conditions, so such an id could never be read.
    if name in ALIASES:
        yield Problem(path, f"'{name}' is reserved in conditions (true, false, null)")


def check_field(at: str, f: FormField) -> Iterator[Problem]:
    """What a field must satisfy on its own, be it a form field or an external step's."""
    yield from reserved(f"{at}.id", f.id)
    if f.type is FieldType.CHOICE and not f.choices:
        yield Problem(f"{at}.choices", "a choice field needs at least one choice")
    if f.type is not FieldType.CHOICE and f.choices:
        yield Problem(f"{at}.choices", f"only choice fields have choices (type is '{f.type}')")
    for limit in ("min", "max"):
        value = getattr(f, limit)
        if value is None:
            continue
        if f.type is not FieldType.NUMBER:
            message = f"only number fields have a {limit} (type is '{f.type}')"
            yield Problem(f"{at}.{limit}", message)
        elif not math.isfinite(value) or abs(value) > MAX_NUMBER:
            yield Problem(f"{at}.{limit}", f"must be between -{NUMBER_TEXT} and {NUMBER_TEXT}")
    if f.kinds and f.type is not FieldType.FILE:
        yield Problem(f"{at}.kinds", f"only file fields take document kinds (type is '{f.type}')")
    for k, kind in enumerate(f.kinds):
        if kind not in DOCUMENT_KINDS:
            known = ", ".join(DOCUMENT_KINDS)
            yield Problem(f"{at}.kinds[{k}]", f"unknown document kind '{kind}'; one of {known}")
    if f.min is not None and f.max is not None and f.min > f.max:
        yield Problem(
            f"{at}.max", f"max ({number(f.max)}) must not be less than min ({number(f.min)})"
        )


def check_role(path: str, role: str) -> Iterator[Problem]:
    if role not in STAFF_ROLES:
        allowed = ", ".join(sorted(STAFF_ROLES))
        yield Problem(path, f"unknown role '{role}'; allowed: {allowed}")


def check_deadline(at: str, deadline: StepDeadline) -> Iterator[Problem]:
    remind, within = deadline.remind_before, deadline.within
    if remind is not None:
        units = {remind.unit, within.unit}
        if len(units) == 1:
            too_long, counted = remind.amount >= within.amount, ""
        else:
            too_long = remind.amount * _HOURS[remind.unit] >= within.amount * _HOURS[within.unit]
            counted = ""
            if DurationUnit.WORKING_DAYS in units:
                counted = ", counting a working day as 24 hours"
        if too_long:
            yield Problem(
                f"{at}.remind_before",
                f"must be shorter than within ({_duration(within)}{counted}),"
                f" but is {_duration(remind)}",
            )
    if deadline.escalate_to is not None:
        yield from check_role(f"{at}.escalate_to", deadline.escalate_to)


def _duration(d: Duration) -> str:
    one, many = _UNIT_NAMES[d.unit]
    return f"{d.amount:g} {one if d.amount == 1 else many}"


def check_placeholders(
    path: str, text: str, allowed: Iterable[str], problem: str
) -> Iterator[Problem]:
    known = set(allowed)
    seen: set[str] = set()
    for name in _PLACEHOLDER.findall(text):
        if name not in known and name not in seen:
            seen.add(name)
            yield Problem(path, f"placeholder '{{{name}}}' {problem}")


def check_condition(path: str, text: str, names: Names) -> Iterator[Problem]:
    try:
        expression = parse(text)
    except ExpressionError as exc:
        yield Problem(path, str(exc))
        return
    unknown = sorted(expression.names - names.conditions)
    for name in unknown:
        yield Problem(
            path,
            f"unknown name '{name}': not a declared field id, external-step field"
            " or review/sub-service/face-check step id",
        )
    if not unknown:
        try:  # the limits every evaluation runs under, checked with the largest values
            check_bounds(expression, names.bounds)
        except ExpressionError as exc:
            yield Problem(path, str(exc))
