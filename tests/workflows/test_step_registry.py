"""Every step kind of the definition language has its run behaviour in its own module
of workflows/steps/, and the workflow package stays in small modules."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import get_args

from domain.definition import AnyStep
from workflows.steps import STEP_KINDS

WORKFLOWS = Path(__file__).resolve().parents[2] / "workflows"
MAX_LINES = 400


def kinds_of_the_language() -> dict[str, type]:
    return {model.model_fields["kind"].default: model for model in get_args(AnyStep)}


def test_every_kind_has_its_behaviour_and_nothing_else_does():
    language = kinds_of_the_language()
    assert sorted(STEP_KINDS) == sorted(language)
    for kind, behaviour in STEP_KINDS.items():
        assert behaviour.model is language[kind], kind


def test_each_kind_lives_in_its_own_module():
    for kind, behaviour in STEP_KINDS.items():
        module = importlib.import_module(f"workflows.steps.{kind}")
        assert module.KIND is behaviour, kind
        assert behaviour.run.__module__ == module.__name__, kind


def test_the_walker_knows_no_kind_by_name():
    """A new kind is one new module: the workflow class names no step model."""
    source = (WORKFLOWS / "application.py").read_text()
    for model in get_args(AnyStep):
        assert model.__name__ not in source, model.__name__


def test_no_workflow_module_is_over_the_limit():
    long = {
        str(p.relative_to(WORKFLOWS)): n
        for p in WORKFLOWS.rglob("*.py")
        if (n := len(p.read_text().splitlines())) > MAX_LINES
    }
    assert long == {}, f"split these modules (at most {MAX_LINES} lines each): {long}"
