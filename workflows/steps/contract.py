"""What a step kind's run behaviour looks like to the walker (``workflows/steps/``)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from workflows.flow import Flow
    from workflows.waiting import Scope


@dataclass(frozen=True)
class End:
    """The walk reached an end step: the application's result and that step."""

    result: str
    step: str


Next = str | End
"""Where the walk goes after a step: the next step's id, or the end."""

S = TypeVar("S")


@dataclass(frozen=True)
class StepKind(Generic[S]):
    """One step kind's behaviour in the running workflow."""

    model: type[S]
    run: Callable[[Flow, S, int, Scope], Awaitable[Next]]
    """Run one visit of the step (``visit`` counts from 1) in ``scope``."""
    waits: bool = False
    """The step waits on people or other systems: the walker's count of steps walked
    without a wait (its guard against a loop of automatic steps) starts again."""


AnyStepKind = StepKind[Any]
