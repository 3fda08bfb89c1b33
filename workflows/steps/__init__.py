"""Each step kind's run behaviour, one module per kind, by the ``kind`` of its
definition model (``domain.definition``). The walker (``workflows.application``) looks a
step up here and runs it; ``tests/workflows/test_step_registry.py`` checks that every
kind of the definition language has its module."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from workflows.steps import (
        appointment,
        correction,
        decision,
        document,
        end,
        external,
        face_verify,
        form,
        join,
        notify,
        parallel,
        payment,
        review,
        subservice,
    )
    from workflows.steps.contract import AnyStepKind, End, Next, StepKind

STEP_KINDS: Final[Mapping[str, AnyStepKind]] = {
    module.KIND.model.model_fields["kind"].default: module.KIND
    for module in (
        form,
        review,
        decision,
        notify,
        end,
        parallel,
        join,
        correction,
        payment,
        document,
        external,
        subservice,
        face_verify,
        appointment,
    )
}

__all__ = ["STEP_KINDS", "End", "Next", "StepKind"]
