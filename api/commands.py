"""Command handlers that write to the event store directly: service drafts and
publication (plain catalogue edits, no long-running process) and application numbers.
Each decides on state folded from the stream itself, never from a projection, and
appends with the stream's expected version so concurrent commands cannot both win."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from domain import events as ev
from domain import services
from domain.definition import ServiceDefinition, SubserviceStep
from domain.standard import publish_problems
from domain.validation import Problem, parse_definition
from eventstore.port import EventStore, NewEvent, RecordedEvent, WrongExpectedVersion

WIB = timezone(timedelta(hours=7), "WIB")
"""Application numbers take the year in Western Indonesian Time."""


class CommandRefused(Exception):
    """A command that breaks a business rule; ``status`` is the HTTP status to answer."""

    def __init__(self, status: int, message: str, problems: list[Problem] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.problems = problems or []


@dataclass(frozen=True)
class Written:
    service_id: str
    version: int
    status: str
    position: int


def load_service(store: EventStore, service_id: str) -> services.ServiceState | None:
    return services.fold(store.read_stream(ev.service_stream(service_id)))


def stored_event(
    store: EventStore, stream: str, event_id: uuid.UUID | None
) -> RecordedEvent | None:
    """The event ``event_id`` of ``stream``, when a command with an Idempotency-Key
    (``event_id`` derives from it) already wrote it: its retry answers from it."""
    if event_id is None:
        return None
    return next((e for e in store.read_stream(stream) if e.id == event_id), None)


def save_draft(
    store: EventStore,
    raw: Mapping[str, Any],
    actor: str,
    agency: str | None,
    event_id: uuid.UUID | None = None,
) -> Written:
    """``event_id`` (from an Idempotency-Key) makes a retry answer the draft it saved."""
    service_id = raw.get("id")
    if isinstance(service_id, str) and service_id:
        done = stored_event(store, ev.service_stream(service_id), event_id)
        if done is not None:
            version = int(done.data["definition"]["version"])
            return Written(service_id, version, "draft", done.position)
    definition, problems = parse_definition(raw)
    if definition is None or problems:
        raise CommandRefused(422, "the service definition has problems", problems)
    if definition.agency.code != agency:
        raise CommandRefused(
            403, f"you administer agency {agency}; this service belongs to {definition.agency.code}"
        )
    state = load_service(store, definition.id)
    if state is not None and state.agency_code != agency:
        raise CommandRefused(
            409, f"service id {definition.id!r} is taken by agency {state.agency_code}"
        )
    version = state.next_draft_version() if state else 1
    definition = definition.model_copy(update={"version": version})
    result = store.append(
        ev.service_stream(definition.id),
        [
            NewEvent(
                event_id or uuid.uuid4(),
                ev.SERVICE_DRAFT_SAVED,
                {"definition": definition.model_dump(mode="json"), "by": actor},
            )
        ],
        expected_version=state.stream_version if state else -1,
    )
    return Written(definition.id, version, "draft", result.last_position)


def publish(
    store: EventStore,
    service_id: str,
    version: int,
    actor: str,
    agency: str | None,
    event_id: uuid.UUID | None = None,
) -> Written:
    done = stored_event(store, ev.service_stream(service_id), event_id)
    if done is not None:
        return Written(service_id, int(done.data["version"]), "published", done.position)
    state = load_service(store, service_id)
    if state is None or version not in state.versions:
        raise CommandRefused(404, f"service {service_id!r} has no version {version}")
    if state.agency_code != agency:
        raise CommandRefused(403, f"service {service_id!r} belongs to agency {state.agency_code}")
    info = state.versions[version]
    if info.status == "published":
        raise CommandRefused(
            409,
            f"version {version} of {service_id!r} is already "
            "published; published versions never change",
        )
    _, problems = parse_definition(info.definition.model_dump(mode="json"))
    problems += _subservice_problems(store, info.definition)
    problems += publish_problems(info.definition)  # Standar Pelayanan (UU 25/2009)
    if problems:
        raise CommandRefused(422, "the draft has problems and cannot be published", problems)
    result = store.append(
        ev.service_stream(service_id),
        [
            NewEvent(
                event_id or uuid.uuid4(),
                ev.SERVICE_VERSION_PUBLISHED,
                {"version": version, "by": actor},
            )
        ],
        expected_version=state.stream_version,
    )
    return Written(service_id, version, "published", result.last_position)


def _subservice_problems(store: EventStore, definition: ServiceDefinition) -> list[Problem]:
    """A sub-service must be published, and the fields it needs must be mapped."""
    problems = []
    for i, step in enumerate(definition.steps):
        if not isinstance(step, SubserviceStep):
            continue
        child = load_service(store, step.service)
        latest = child.latest_published if child else None
        if latest is None:
            problems.append(
                Problem(f"steps[{i}].service", f"service {step.service!r} has no published version")
            )
            continue
        child_fields = {f.id: f for f in latest.definition.fields}
        for name in step.inputs:
            if name not in child_fields:
                problems.append(
                    Problem(f"steps[{i}].inputs.{name}", f"{step.service!r} has no field {name!r}")
                )
        for f in child_fields.values():
            if f.required and f.id not in step.inputs:
                problems.append(
                    Problem(f"steps[{i}].inputs", f"{step.service!r} needs field {f.id!r}; map it")
                )
    return problems


def archive(
    store: EventStore,
    service_id: str,
    actor: str,
    agency: str | None,
    event_id: uuid.UUID | None = None,
) -> Written:
    state = load_service(store, service_id)
    done = stored_event(store, ev.service_stream(service_id), event_id)
    if state is not None and done is not None:
        latest = state.latest_published
        return Written(service_id, latest.version if latest else 0, "archived", done.position)
    if state is None:
        raise CommandRefused(404, f"there is no service {service_id!r}")
    if state.agency_code != agency:
        raise CommandRefused(403, f"service {service_id!r} belongs to agency {state.agency_code}")
    if state.archived:
        raise CommandRefused(409, f"service {service_id!r} is already archived")
    result = store.append(
        ev.service_stream(service_id),
        [NewEvent(event_id or uuid.uuid4(), ev.SERVICE_ARCHIVED, {"by": actor})],
        expected_version=state.stream_version,
    )
    latest = state.latest_published
    return Written(service_id, latest.version if latest else 0, "archived", result.last_position)


def published_definition(store: EventStore, service_id: str) -> ServiceDefinition:
    state = load_service(store, service_id)
    if state is None:
        raise CommandRefused(404, f"there is no service {service_id!r}")
    latest = state.latest_published
    if latest is None:
        raise CommandRefused(409, f"service {service_id!r} has no published version yet")
    if state.archived:
        raise CommandRefused(
            409, f"service {service_id!r} is archived and takes no new applications"
        )
    return latest.definition


def reserve_number(
    store: EventStore,
    agency_code: str,
    service_id: str,
    now: datetime | None = None,
    key_digest: str | None = None,
) -> str:
    """Hand out the next number of the agency's year, e.g. ``BWI-2026-000001``.
    ``key_digest`` names the submission's Idempotency-Key (``api.idempotency``), so a
    number left unused by two racing retries can be told from a lost one."""
    extra = {"idempotency_key": key_digest} if key_digest else {}
    year = (now or datetime.now(WIB)).astimezone(WIB).year
    stream = ev.number_stream(agency_code, year)
    for _ in range(50):
        current = store.stream_version(stream)
        number = ev.application_number(agency_code, year, current + 2)
        try:
            store.append(
                stream,
                [
                    NewEvent(
                        uuid.uuid4(),
                        ev.APPLICATION_NUMBER_RESERVED,
                        {"application_id": number, "service_id": service_id, **extra},
                    )
                ],
                expected_version=current,
            )
        except WrongExpectedVersion:
            continue  # another submission took it; take the next
        return number
    raise CommandRefused(503, "too many simultaneous submissions; try again")
