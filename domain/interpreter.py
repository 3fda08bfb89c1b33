"""The interpreter's rules, pure and deterministic.

The Temporal workflow (``workflows.application``) walks a definition with these
functions, and so will the designer's dry run: one set of rules, never two copies.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from domain import expressions
from domain.definition import (
    DecisionStep,
    ExternalStep,
    FaceVerifyStep,
    PaymentStep,
    ReviewStep,
    ServiceDefinition,
    SubserviceStep,
)

_PLACEHOLDER = re.compile(r"\{([a-z][a-z0-9_]*)\}")


@dataclass(frozen=True)
class Choice:
    target: str
    branch: int | None
    """Index of the branch taken; None for the default."""
    condition: str | None
    errors: tuple[str, ...] = ()
    """Conditions that could not be evaluated (e.g. a number compared with a text);
    such a branch counts as not taken, and the event records why."""


VALUE_STEPS = (ReviewStep, SubserviceStep, FaceVerifyStep)
"""Steps whose id is a name in conditions: a review's outcome, a sub-service's result
(approved/rejected/cancelled), a face check's result (match/mismatch/unusable)."""


def condition_names(definition: ServiceDefinition) -> set[str]:
    """Every name a condition of this definition may use."""
    return set(environment(definition, {}, {}))


def environment(
    definition: ServiceDefinition, data: dict[str, Any], outcomes: dict[str, str]
) -> dict[str, object]:
    """Names a condition can use: every declared field (None when not supplied), every
    field an external step receives, and every value step's id (None until it has one).
    ``data`` holds form and external fields; ``outcomes`` the value steps' results."""
    env: dict[str, object] = {f.id: data.get(f.id) for f in definition.fields}
    for s in definition.steps:
        if isinstance(s, VALUE_STEPS):
            env[s.id] = outcomes.get(s.id)
        elif isinstance(s, ExternalStep):
            env.update({f.id: data.get(f.id) for f in s.fields})
    return env


def decide(step: DecisionStep, env: dict[str, object]) -> Choice:
    errors: list[str] = []
    for i, branch in enumerate(step.branches):
        try:
            if expressions.truthy(branch.when, env):
                return Choice(branch.goto, i, branch.when, tuple(errors))
        except expressions.ExpressionError as e:
            errors.append(f"branches[{i}]: {e}")
    if step.default is None:  # the validator refuses this; kept as a runtime guard
        raise ValueError(f"decision {step.id!r} has no branch that holds and no default")
    return Choice(step.default, None, None, tuple(errors))


def fee_amount(step: PaymentStep, env: dict[str, object]) -> int:
    """The fee in rupiah: the first rule that holds, else the flat amount. A rule that
    cannot be evaluated counts as not holding (the validator catches most such rules)."""
    for rule in step.fee.rules:
        try:
            if expressions.truthy(rule.when, env):
                return rule.amount
        except expressions.ExpressionError:
            continue
    return step.fee.amount


def render_message(template: str, data: dict[str, Any]) -> str:
    """Fill ``{field_id}`` placeholders. Deliberately not ``str.format``, which would
    let a template reach attributes of the values."""
    return _PLACEHOLDER.sub(lambda m: str(data.get(m.group(1), "")), template)
