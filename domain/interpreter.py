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
    """Index of the branch taken (or of the one that failed, for ``on_error``); None
    for the default."""
    condition: str | None
    errors: tuple[str, ...] = ()
    """Conditions that could not be evaluated (e.g. a number compared with a text)."""
    failed: bool = False
    """The target is the step's ``on_error``: a condition could not be evaluated."""


class ConditionFailed(Exception):
    """A condition that cannot be evaluated where the definition names no way out for
    it: the workflow raises an incident rather than guess (never "does not hold")."""

    def __init__(self, step: str, path: str, error: expressions.ExpressionError) -> None:
        super().__init__(f"step '{step}', {path}: the condition cannot be evaluated: {error}")
        self.step = step


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
    """The first branch that holds, else the default. A condition that cannot be
    evaluated stops the decision there: it goes to ``on_error`` if the step has one,
    else raises ``ConditionFailed``."""
    for i, branch in enumerate(step.branches):
        try:
            holds = expressions.truthy(branch.when, env)
        except expressions.ExpressionError as e:
            if step.on_error is None:
                raise ConditionFailed(step.id, f"branches[{i}]", e) from None
            return Choice(step.on_error, i, branch.when, (f"branches[{i}]: {e}",), failed=True)
        if holds:
            return Choice(branch.goto, i, branch.when)
    if step.default is None:  # the validator refuses this; kept as a runtime guard
        raise ValueError(f"decision {step.id!r} has no branch that holds and no default")
    return Choice(step.default, None, None)


def decide_before_errors_failed(step: DecisionStep, env: dict[str, object]) -> Choice:
    """How ``decide`` worked until 2026-11-29: a condition that could not be evaluated
    counted as not holding. Only for replaying applications that decided so."""
    errors: list[str] = []
    for i, branch in enumerate(step.branches):
        try:
            if expressions.truthy(branch.when, env):
                return Choice(branch.goto, i, branch.when, tuple(errors))
        except expressions.ExpressionError as e:
            errors.append(f"branches[{i}]: {e}")
    if step.default is None:
        raise ValueError(f"decision {step.id!r} has no branch that holds and no default")
    return Choice(step.default, None, None, tuple(errors))


def fee_amount(step: PaymentStep, env: dict[str, object]) -> int:
    """The fee in rupiah: the first rule that holds, else the flat amount. A rule that
    cannot be evaluated raises ``ConditionFailed``: no fee is charged by guesswork."""
    for i, rule in enumerate(step.fee.rules):
        try:
            holds = expressions.truthy(rule.when, env)
        except expressions.ExpressionError as e:
            raise ConditionFailed(step.id, f"fee.rules[{i}]", e) from None
        if holds:
            return rule.amount
    return step.fee.amount


def fee_amount_before_errors_failed(step: PaymentStep, env: dict[str, object]) -> int:
    """How ``fee_amount`` worked until 2026-11-29: a rule that could not be evaluated
    counted as not holding. Only for replaying applications that charged so."""
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
