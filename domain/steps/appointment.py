"""``appointment``: the citizen comes in person (original documents, biometrics, a
signature, collecting a product); the flow waits for the visit, booked or walk-in.

The officer who serves the citizen records the visit (served or no-show); a citizen who
has not been served when the deadline passes takes the ``no_show`` exit too. Booking the
slot and the queue at the counter are the appointment's own streams
(``domain.appointments``, ``domain.queue``); this step only waits for the outcome.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Final, Literal

from pydantic import Field, StringConstraints

from domain.checks import Names, Problem, check_role
from domain.locations import LocationId
from domain.primitives import Duration, Identifier, Model, Name
from domain.steps.kind import BpmnElement, DryRun, Move, StepKind, Transition, words
from domain.wording import ROLES, duration_text

OUTCOMES: Final = ("served", "no_show")
"""What the officer records, and what a simulation may script (the first: the default)."""
SERVERS: Final = frozenset({"officer", "supervisor"})
"""Who serves citizens at the counter, and so may record their visit."""
MAX_LOCATIONS: Final = 50

Purpose = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]


class AppointmentStep(Model):
    """Wait for the citizen's visit to one of the agency's locations: served goes on to
    ``next``, a no-show (recorded, or the deadline passing) to ``no_show``."""

    kind: Literal["appointment"] = "appointment"
    id: Identifier
    name: Name
    purpose: Purpose
    """What the visit is for, shown to the citizen ("Membawa dokumen asli")."""
    locations: list[LocationId] = Field(default_factory=list, max_length=MAX_LOCATIONS)
    """Where the citizen may come; empty: any of the agency's locations."""
    deadline: Duration
    """How long the citizen has to come, from when the step starts."""
    role: str = "officer"
    """Who serves the citizen (a supervisor may always record the visit too)."""
    next: Identifier
    no_show: Identifier


def exits(step: AppointmentStep) -> list[Transition]:
    return [
        Transition(step.next, "served"),
        Transition(step.no_show, f"no-show ({words(step.deadline)})", timer=step.deadline),
    ]


def check(step: AppointmentStep, i: int, names: Names) -> Iterator[Problem]:
    at = f"steps[{i}]"
    yield from check_role(f"{at}.role", step.role)
    if step.role in ROLES and step.role not in SERVERS:
        yield Problem(
            f"{at}.role",
            f"a visit is served at the counter by an officer or a supervisor, not by"
            f" '{step.role}'; choose officer or supervisor",
        )
    seen: set[str] = set()
    for k, location in enumerate(step.locations):
        if location in seen:
            yield Problem(f"{at}.locations[{k}]", f"location '{location}' is listed twice")
        seen.add(location)
    yield from names.target(at, "next", step.next)
    yield from names.target(at, "no_show", step.no_show)


def bpmn(step: AppointmentStep) -> BpmnElement:
    where = ", ".join(step.locations) if step.locations else "any of the agency's locations"
    return BpmnElement(
        "userTask",
        documentation=f"Visit in person ({step.purpose}) at {where}; served by {step.role}.",
    )


def simulate(step: AppointmentStep, run: DryRun) -> Move:
    outcome, scripted = run.scripted(step)
    how = "scripted" if scripted else "the default, not scripted"
    if outcome == "served":
        return Move(step.next, f"the citizen comes and is served ({how})", step.deadline)
    return Move(step.no_show, f"the citizen does not come in time ({how})", step.deadline)


def procedure(step: AppointmentStep) -> str:
    who = ROLES.get(step.role, step.role)
    return (
        f"{step.name}: pemohon datang ke lokasi layanan ({step.purpose}) dan dilayani"
        f" {who}, paling lama {duration_text(step.deadline)}"
    )


KIND = StepKind(
    kind="appointment",
    label="Visit in person (appointment)",
    model=AppointmentStep,
    exits=exits,
    references=("next", "no_show"),
    check=check,
    choices=lambda step: OUTCOMES,
    waits=lambda step: True,
    simulate=simulate,
    bpmn=bpmn,
    procedure=procedure,
)
