"""Dry run of a service definition: no Temporal, no event store, no clock.

The designer's simulation walks a draft with sample form data and scripted outcomes for
the steps that wait on the outside world (a review's outcome, a payment, an external
event, a sub-service's result, a face check, a citizen's correction). Every rule the
workflow applies comes from ``domain.interpreter`` (conditions, fees, messages, the
names a condition sees) and ``domain.steps`` (each kind's exits and the answers a
scenario may script); this module only decides the order of the walk and adds up the
time each step is allowed to take, on the agency's working calendar
(``domain.calendar``), against the service's time limit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Literal, TypeVar

from domain import expressions, interpreter
from domain.calendar import WorkingCalendar, add, working_days_between
from domain.definition import (
    AnyStep,
    DecisionStep,
    Duration,
    EndStep,
    JoinStep,
    ParallelStep,
    PaymentStep,
    ServiceDefinition,
)
from domain.steps import kind_of, successors

_S = TypeVar("_S", DecisionStep, PaymentStep)
_T = TypeVar("_T")

WIB = timezone(timedelta(hours=7), "WIB")
DEFAULT_START = datetime(2026, 1, 5, 8, 0, tzinfo=WIB)
"""A Monday morning: runs without an explicit start are reproducible."""

MAX_VISITS = 500

Result = Literal["approved", "rejected", "cancelled"]


def choices(step: AnyStep) -> tuple[str, ...]:
    """The values a scenario may script for ``step``; empty for automatic steps."""
    return kind_of(step).choices(step)


@dataclass(frozen=True)
class Scenario:
    """Sample inputs. ``data`` holds the form fields and the fields external steps
    receive; ``outcomes`` scripts a step's answer by step id: one value, or a list
    taken one per visit (the last one repeats). Unscripted steps take their first
    choice (see ``choices``)."""

    data: Mapping[str, Any] = field(default_factory=dict)
    outcomes: Mapping[str, str | Sequence[str]] = field(default_factory=dict)
    start: datetime = DEFAULT_START
    calendar: WorkingCalendar = field(default_factory=WorkingCalendar)


@dataclass(frozen=True)
class Visit:
    """One step met on the way."""

    step: str
    kind: str
    name: str
    detail: str
    """What happened there, in words."""
    target: str | None
    """Where the flow went next (None at an end, or where the run stopped)."""
    started: datetime
    finished: datetime
    allowed: Duration | None = None
    """The time the step may take (its deadline or time-out); counted in full."""
    paused: bool = False
    """The service's clock stops meanwhile (a correction with pause_clock)."""
    lane: str = ""
    """The parallel branch it ran in ("split.branch"), empty on the main path."""


@dataclass(frozen=True)
class Simulation:
    visits: tuple[Visit, ...]
    result: Result | None
    """How the run ended; None when it stopped before an end step."""
    end_step: str | None
    stopped: str | None
    """Why the run stopped before an end step."""
    fee: int
    notifications: tuple[str, ...]
    documents: tuple[str, ...]
    started: datetime
    finished: datetime
    working_days: int
    """Working days from the start to the finish (the start's own day not counted)."""
    time_limit: Duration | None
    deadline: datetime | None
    """When the service's time limit runs out, moved on by paused periods."""
    unreachable: tuple[str, ...]
    """Steps that no input can reach (see ``unreachable_steps``)."""
    warnings: tuple[str, ...] = ()

    @property
    def path(self) -> list[str]:
        return [v.step for v in self.visits]

    @property
    def within_time_limit(self) -> bool | None:
        return None if self.deadline is None else self.finished <= self.deadline


class _Stop(Exception):
    """The walk cannot go on (an unknown step, an outcome the step does not allow)."""


@dataclass
class _Run:
    definition: ServiceDefinition
    scenario: Scenario
    data: dict[str, Any]
    outcomes: dict[str, str] = field(default_factory=dict)
    visits: list[Visit] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    fee: int = 0
    notifications: list[str] = field(default_factory=list)
    documents: list[str] = field(default_factory=list)
    paused: list[Duration] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    clock: datetime = DEFAULT_START
    """When the step being visited started (for an incident's visit)."""
    lane: str = ""
    """The parallel branch the step being visited runs in."""

    @property
    def sample(self) -> Mapping[str, Any]:
        return self.scenario.data

    def render(self, text: str) -> str:
        return interpreter.render_message(text, self.data)

    def decide(self, step: DecisionStep) -> interpreter.Choice:
        return self._failing(step, interpreter.decide)

    def fee_of(self, step: PaymentStep) -> int:
        return self._failing(step, interpreter.fee_amount)

    def _failing(self, step: _S, rule: Callable[[_S, dict[str, object]], _T]) -> _T:
        """``rule(step, env)``; a condition that cannot be evaluated stops the walk where
        the engine would raise an incident."""
        try:
            return rule(step, self.env())
        except interpreter.ConditionFailed as e:
            detail = f"incident: {e}"
            at = self.clock
            visit = Visit(step.id, step.kind, step.name, detail, None, at, at, lane=self.lane)
            self.visits.append(visit)
            raise _Stop(f"{e}; the application would wait in an incident") from None

    def step(self, step_id: str) -> AnyStep:
        try:
            return self.definition.step(step_id)
        except KeyError:
            raise _Stop(f"the flow leads to step '{step_id}', which does not exist") from None

    def scripted(self, step: AnyStep) -> tuple[str, bool]:
        """The scripted value for this visit, and whether it was scripted at all."""
        visit = self.counts.get(step.id, 1)
        raw = self.scenario.outcomes.get(step.id)
        allowed = choices(step)
        if raw is None or (not isinstance(raw, str) and not raw):
            return allowed[0], False
        value = raw if isinstance(raw, str) else raw[min(visit, len(raw)) - 1]
        if value not in allowed:
            raise _Stop(
                f"'{value}' is not an answer step '{step.id}' can give "
                f"(one of: {', '.join(allowed)})"
            )
        return value, True

    def env(self) -> dict[str, object]:
        return interpreter.environment(self.definition, self.data, self.outcomes)


def simulate(definition: ServiceDefinition, scenario: Scenario | None = None) -> Simulation:
    """Walk ``definition`` from its start step to an end step with ``scenario``."""
    scenario = scenario or Scenario()
    form_ids = {f.id for f in definition.fields}
    run = _Run(
        definition,
        scenario,
        data={k: v for k, v in scenario.data.items() if k in form_ids},
    )
    result: Result | None = None
    end_step: str | None = None
    stopped: str | None = None
    clock = scenario.start
    try:
        end, clock = _walk(run, definition.start_step, clock, lane="", until=None)
        if end is not None:
            end_step, result = end.id, end.result
    except _Stop as stop:
        stopped = str(stop)
        clock = max((v.finished for v in run.visits), default=clock)
    deadline = None
    if definition.time_limit is not None:
        deadline = add(scenario.calendar, scenario.start, definition.time_limit)
        for pause in run.paused:
            deadline = add(scenario.calendar, deadline, pause)
    return Simulation(
        visits=tuple(run.visits),
        result=result,
        end_step=end_step,
        stopped=stopped,
        fee=run.fee,
        notifications=tuple(run.notifications),
        documents=tuple(run.documents),
        started=scenario.start,
        finished=clock,
        working_days=working_days_between(scenario.calendar, scenario.start, clock),
        time_limit=definition.time_limit,
        deadline=deadline,
        unreachable=tuple(unreachable_steps(definition)),
        warnings=tuple(run.warnings),
    )


def _walk(
    run: _Run, step_id: str, clock: datetime, lane: str, until: str | None
) -> tuple[EndStep | None, datetime]:
    """Walk from ``step_id`` until an end step (returned) or, inside a parallel branch,
    until the join ``until`` (None returned, with the branch's finishing time)."""
    cal = run.scenario.calendar
    while True:
        if until is not None and step_id == until:
            return None, clock
        step = run.step(step_id)
        run.counts[step.id] = run.counts.get(step.id, 0) + 1
        if sum(run.counts.values()) > MAX_VISITS:
            raise _Stop(f"more than {MAX_VISITS} steps walked: the scripted answers loop")
        started = clock
        match step:
            case EndStep():
                run.visits.append(
                    Visit(
                        step.id,
                        step.kind,
                        step.name,
                        f"the application ends: {step.result}",
                        None,
                        clock,
                        clock,
                        lane=lane,
                    )
                )
                return step, clock
            case ParallelStep():
                run.visits.append(
                    Visit(
                        step.id,
                        step.kind,
                        step.name,
                        f"{len(step.branches)} branches start",
                        None,
                        clock,
                        clock,
                        lane=lane,
                    )
                )
                end, clock = _branches(run, step, clock, lane)
                if end is not None:
                    return end, clock
                step_id = step.join
                continue
        # Every other kind says what a visit does; the walk keeps the clock and the path.
        simulate = kind_of(step).simulate
        if simulate is None:
            raise _Stop(f"step '{step.id}' of kind '{step.kind}' cannot be simulated")
        run.clock, run.lane = clock, lane
        move = simulate(step, run)
        if move.allowed is not None:
            clock = add(cal, clock, move.allowed)
        visit = Visit(
            step.id,
            step.kind,
            step.name,
            move.detail,
            move.target,
            started,
            clock,
            move.allowed,
            move.paused,
            lane,
        )
        run.visits.append(visit)
        if move.target is None:
            raise _Stop(f"step '{step.id}' keeps waiting: it has nowhere to go ({move.detail})")
        step_id = move.target


def _branches(
    run: _Run, split: ParallelStep, clock: datetime, lane: str
) -> tuple[EndStep | None, datetime]:
    """Walk each branch to the join; the join waits for all (the latest finish) or the
    first (the earliest)."""
    finishes: list[datetime] = []
    join = run.step(split.join)
    mode = join.mode if isinstance(join, JoinStep) else "all"
    for branch in split.branches:
        name = f"{lane}/{split.id}.{branch}" if lane else f"{split.id}.{branch}"
        end, finished = _walk(run, branch, clock, name, until=split.join)
        if end is not None:
            return end, finished  # a branch that ends the application ends it all
        finishes.append(finished)
    return None, (min(finishes) if mode == "first" else max(finishes))


# --- reachability ------------------------------------------------------------------


def unreachable_steps(definition: ServiceDefinition) -> list[str]:
    """Steps no input can reach from the start: not linked from it at all, or only
    through decision branches whose condition is a constant that never holds (or that
    come after a constant that always holds)."""
    steps = {s.id: s for s in reversed(definition.steps)}
    seen: set[str] = set()
    todo = [definition.start_step]
    while todo:
        sid = todo.pop()
        if sid in seen or sid not in steps:
            continue
        seen.add(sid)
        todo.extend(_possible_targets(steps[sid]))
    ordered = dict.fromkeys(s.id for s in definition.steps)
    return [sid for sid in ordered if sid not in seen]


def _possible_targets(step: AnyStep) -> Iterator[str]:
    if not isinstance(step, DecisionStep):
        yield from successors(step)
        return
    if step.on_error is not None and any(_constant(b.when) is None for b in step.branches):
        yield step.on_error  # a condition that reads inputs may fail on some of them
    for branch in step.branches:
        constant = _constant(branch.when)
        if constant is False:
            continue
        yield branch.goto
        if constant is True:
            return  # later branches and the default are never taken
    if step.default is not None:
        yield step.default


def _constant(text: str) -> bool | None:
    """The truth of a condition that reads no name; None when it depends on inputs."""
    try:
        parsed = expressions.parse(text)
        if parsed.names:
            return None
        return expressions.truthy(parsed, {})
    except expressions.ExpressionError:
        return None
