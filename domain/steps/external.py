"""``external``: wait for an event another system posts through the API."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Literal

from pydantic import Field

from domain.checks import Names, Problem, check_field
from domain.primitives import Duration, FormField, Identifier, Model, Name
from domain.steps.kind import BpmnElement, DryRun, Move, StepKind, Transition, words

VALUES = ("received", "timeout")
"""What a simulation may script; ``timeout`` only where the step has ``on_timeout``."""


class ExternalStep(Model):
    """Wait for an event another system posts through the API (e.g. a field inspection
    result); its fields become names in later conditions."""

    kind: Literal["external"] = "external"
    id: Identifier
    name: Name
    event: Identifier
    fields: list[FormField] = Field(default_factory=list)
    timeout: Duration | None = None
    on_timeout: Identifier | None = None
    next: Identifier


def exits(step: ExternalStep) -> list[Transition]:
    got = [Transition(step.next, f"{step.event} received")]
    if step.on_timeout:
        label = f"time-out ({words(step.timeout)})" if step.timeout else "time-out"
        got.append(Transition(step.on_timeout, label, timer=step.timeout))
    return got


def check(step: ExternalStep, i: int, names: Names) -> Iterator[Problem]:
    at = f"steps[{i}]"
    first_event = names.events[step.event]
    if first_event != i:
        other = names.ids[first_event]
        yield Problem(
            f"{at}.event",
            f"event '{step.event}' is already awaited by step '{other}' (steps[{first_event}]);"
            " each external step needs its own event name",
        )
    for k, f in enumerate(step.fields):
        path = f"{at}.fields[{k}]"
        first = names.declared[f.id]
        if first != path:
            yield Problem(f"{path}.id", f"duplicate field id '{f.id}' (see {first})")
        if f.id in names.first_step:
            yield Problem(
                f"{path}.id",
                f"field id '{f.id}' is also a step id (steps[{names.first_step[f.id]}]);"
                " names in conditions must be unambiguous",
            )
        yield from check_field(path, f)
    if step.timeout is not None and step.on_timeout is None:
        yield Problem(f"{at}.timeout", "timeout needs on_timeout: the step to go to when it passes")
    if step.on_timeout is not None and step.timeout is None:
        yield Problem(f"{at}.on_timeout", "on_timeout needs a timeout")
    yield from names.target(at, "next", step.next)
    if step.on_timeout is not None:
        yield from names.target(at, "on_timeout", step.on_timeout)


def simulate(step: ExternalStep, run: DryRun) -> Move:
    value, _ = run.scripted(step)
    if value == "received":
        for f in step.fields:
            run.data[f.id] = run.sample.get(f.id)
        return Move(step.next, f"event '{step.event}' received", step.timeout)
    return Move(step.on_timeout, f"no event '{step.event}' in time", step.timeout)


def procedure(step: ExternalStep) -> str:
    return f"{step.name} (menunggu hasil dari sistem lain)"


KIND = StepKind(
    kind="external",
    label="Wait for an external event",
    model=ExternalStep,
    exits=exits,
    references=("next", "on_timeout"),
    check=check,
    choices=lambda step: VALUES if step.on_timeout else VALUES[:1],
    waits=lambda step: True,
    simulate=simulate,
    bpmn=lambda step: BpmnElement("receiveTask", documentation=f"Waits for event '{step.event}'"),
    procedure=procedure,
)
