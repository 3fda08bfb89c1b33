"""What every step kind provides (``StepKind``), and the vocabulary its parts share.

A kind's module (``domain/steps/<kind>.py``) holds its definition model and one
``StepKind`` naming the rest: its exits, its validation rules, its simulation choices
and dry run, its BPMN mapping and its label. ``domain.steps`` maps kinds to them; the validator, the
simulation, the BPMN export and the designer dispatch through that map instead of each
matching on the kinds again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, Literal, Protocol, TypeVar

from domain.checks import Names, Problem
from domain.primitives import Duration, Model, StepDeadline

if TYPE_CHECKING:  # the interpreter's rules, which the simulation hands to the kinds
    from domain.interpreter import Choice
    from domain.steps.decision import DecisionStep
    from domain.steps.payment import PaymentStep

S = TypeVar("S", bound=Model)


@dataclass(frozen=True)
class Transition:
    """One way out of a step, labelled for people (diagrams, BPMN flows)."""

    target: str
    label: str = ""
    condition: str | None = None
    """A Lincah condition that selects this way (decision branches, review outcomes)."""
    default: bool = False
    timer: Duration | None = None
    """Taken when this much time passes (time-outs, abandoned corrections, unpaid fees)."""


@dataclass(frozen=True)
class BpmnElement:
    """How a step is written in BPMN 2.0: the element, its extra attributes (plain
    names, in the BPMN namespace), and the human-readable documentation."""

    tag: str
    attributes: dict[str, str] = field(default_factory=dict)
    documentation: str = ""
    gateway: Literal["exclusive", "parallel"] | None = None
    """The element is itself a gateway. An exclusive one carries its exits' conditions
    on its flows; a task with several exits (a human's or a check's answer) is followed
    by a gateway of its own instead."""
    escalation: StepDeadline | None = None
    """A deadline that leaves the task where it is (a reminder, then escalation): a
    non-interrupting timer on the task."""


@dataclass(frozen=True)
class Move:
    """What a simulated visit of a step did: where the flow goes next, and why."""

    target: str | None
    """None: the step keeps waiting, it has nowhere to go."""
    detail: str
    """What happened there, in words."""
    allowed: Duration | None = None
    """The time the step may take (its deadline or time-out); counted in full."""
    paused: bool = False
    """The service's clock stops meanwhile."""


class DryRun(Protocol):
    """A simulation in progress, as a step kind's dry run sees it (``domain.simulation``
    keeps the walk, the clock and the visits; the kind says what its step does)."""

    data: dict[str, Any]
    """Form data, and external events' fields once received."""
    outcomes: dict[str, str]
    """Values of the steps conditions can read (reviews, sub-services, face checks)."""
    fee: int
    notifications: list[str]
    documents: list[str]
    paused: list[Duration]
    warnings: list[str]

    @property
    def sample(self) -> Mapping[str, Any]:
        """The scenario's data, external steps' fields included."""
        ...

    def scripted(self, step: Any) -> tuple[str, bool]:
        """The scenario's answer for this visit of ``step``, and whether it was scripted."""
        ...

    def render(self, text: str) -> str:
        """``text`` with its ``{field}`` placeholders filled from the data."""
        ...

    def decide(self, step: DecisionStep) -> Choice:
        """The branch the engine would take; a condition that cannot be evaluated stops
        the run where the engine would raise an incident."""
        ...

    def fee_of(self, step: PaymentStep) -> int:
        """The fee the engine would charge; stops the run like ``decide``."""
        ...


@dataclass(frozen=True)
class StepKind(Generic[S]):
    """Everything the domain knows about one kind of step."""

    kind: str
    """The ``kind`` tag of the step in a definition."""
    label: str
    """What people call it (the designer's palette)."""
    model: type[S]
    exits: Callable[[S], list[Transition]]
    """Every way out of a step, in definition order (the BPMN flows, the diagram's
    edges, the validator's graph)."""
    references: tuple[str, ...]
    """The keys of a raw step (a draft that may not parse) that hold step ids: a string,
    a dict whose values are ids (outcomes) or a list of ids or of ``{"goto": id}``."""
    check: Callable[[S, int, Names], Iterator[Problem]]
    """The kind's own problems; called with the step, its index and the definition's
    names, after the checks every step shares (ids)."""
    bpmn: Callable[[S], BpmnElement]
    choices: Callable[[S], tuple[str, ...]]
    """The answers a simulation may script for a step that waits on the outside world;
    the first is the default. Empty for automatic steps."""
    waits: Callable[[S], bool]
    """Whether the flow stops at the step until a person or another system acts, so a
    loop through it does not spin on the same data."""
    simulate: Callable[[S, DryRun], Move] | None
    """What a visit of the step does in a dry run; None for the kinds the walk itself
    handles (an end stops it, a parallel walks its branches)."""
    procedure: Callable[[S], str | None]
    """The step's line in the Standar Pelayanan's prosedur (Bahasa Indonesia, with who
    is responsible); None for routing steps and ends, which are no procedure of their
    own."""


def not_procedure(step: Model) -> None:
    """Routing steps (decision, parallel, join) and ends: no line in the prosedur."""
    return None


def no_problems(step: Model, i: int, names: Names) -> Iterator[Problem]:
    """The rules of a kind with nothing to check beyond the shared ones."""
    return iter(())


class _StraightOn(Protocol):
    @property
    def next(self) -> str: ...


def straight_on(step: _StraightOn) -> list[Transition]:
    """The exits of a step with one way out, ``next``."""
    return [Transition(step.next)]


def next_exists(step: _StraightOn, i: int, names: Names) -> Iterator[Problem]:
    """The rules of a kind whose only rule is that ``next`` exists."""
    return names.target(f"steps[{i}]", "next", step.next)


def no_choices(step: Model) -> tuple[str, ...]:
    """An automatic step: a simulation scripts nothing for it."""
    return ()


def never_waits(step: Model) -> bool:
    return False


def words(d: Duration | None) -> str:
    """A duration as people read it on a diagram: "14 days", "1 working day"."""
    if d is None:
        return ""
    unit = {"working_days": "working day", "days": "day", "hours": "hour"}.get(
        d.unit.value, d.unit.value.rstrip("s")
    )
    return f"{d.amount:g} {unit}{'s' if d.amount != 1 else ''}"
