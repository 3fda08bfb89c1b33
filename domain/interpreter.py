"""The interpreter's rules, pure and deterministic.

The Temporal workflow (``workflows.application``) walks a definition with these
functions, and so will the designer's dry run: one set of rules, never two copies.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from domain import expressions
from domain.definition import DecisionStep, ReviewStep, ServiceDefinition

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


def environment(
    definition: ServiceDefinition, data: dict[str, Any], outcomes: dict[str, str]
) -> dict[str, object]:
    """Names a condition can use: every declared field (None when not supplied) and
    every review step (its outcome, None until it has one)."""
    env: dict[str, object] = {f.id: data.get(f.id) for f in definition.fields}
    for s in definition.steps:
        if isinstance(s, ReviewStep):
            env[s.id] = outcomes.get(s.id)
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


def render_message(template: str, data: dict[str, Any]) -> str:
    """Fill ``{field_id}`` placeholders. Deliberately not ``str.format``, which would
    let a template reach attributes of the values."""
    return _PLACEHOLDER.sub(lambda m: str(data.get(m.group(1), "")), template)
