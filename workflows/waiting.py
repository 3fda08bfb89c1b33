"""Bookkeeping of what the interpreter waits for: officers' tasks, citizens' corrections,
payments, external events, child applications. Plain data, no Temporal calls."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from workflows.messages import TaskView, Waiting


class Withdrawn(Exception):
    """Raised in a walker whose branch or application was withdrawn while it waited."""


@dataclass
class Scope:
    """A walker's cancellation scope: the application's root, or a parallel branch."""

    parent: Scope | None = None
    withdrawn: bool = False

    @property
    def cancelled(self) -> bool:
        return self.withdrawn or (self.parent is not None and self.parent.cancelled)


@dataclass
class OpenTask:
    view: TaskView
    step_name: str
    scope: Scope
    closing: bool = False
    """Set when an update starts completing it, so a racing second update is refused."""
    cancelled: bool = False


@dataclass
class Wait:
    """A non-task wait; ``done`` flips when the awaited input arrived."""

    step: str
    kind: str  # correction | payment | external | subservice | visit
    detail: dict[str, Any] = field(default_factory=dict)
    done: bool = False
    closing: bool = False
    value: Any = None

    def view(self) -> Waiting:
        return Waiting(step=self.step, kind=self.kind, detail=self.detail)


@dataclass
class BranchGroup:
    """The branches of one parallel step, for counting when the flow is at rest."""

    size: int
    first: bool
    finished: int = 0

    @property
    def joined(self) -> bool:
        return self.finished >= (1 if self.first else self.size)
