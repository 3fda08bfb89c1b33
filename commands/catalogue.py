"""The service catalogue's commands: drafts, publication, archiving, and the one rule
for which definition a new application (or a sub-service step) runs. Each decides on state
folded from the service's stream itself, never from a projection, and appends with the
stream's expected version so concurrent commands cannot both win."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from commands.retries import stored_event
from domain import events as ev
from domain import services
from domain.definition import ServiceDefinition, SubserviceStep
from domain.refusals import Conflict, Forbidden, Invalid, NotFound
from domain.standard import publish_problems
from domain.validation import Problem, parse_definition
from eventstore.port import EventStore, NewEvent


@dataclass(frozen=True)
class Written:
    service_id: str
    version: int
    status: str
    position: int


def load_service(store: EventStore, service_id: str) -> services.ServiceState | None:
    return services.fold(store.read_stream(ev.service_stream(service_id)))


def save_draft(
    store: EventStore,
    raw: Mapping[str, Any],
    actor: str,
    agency: str | None,
    event_id: uuid.UUID | None = None,
    new: bool = False,
) -> Written:
    """``event_id`` (from an Idempotency-Key) makes a retry answer the draft it saved.
    ``new``: a service being created, so an id already in use is refused instead of
    taking a new draft of that service."""
    service_id = raw.get("id")
    if isinstance(service_id, str) and service_id:
        done = stored_event(store, ev.service_stream(service_id), event_id)
        if done is not None:
            version = int(done.data["definition"]["version"])
            return Written(service_id, version, "draft", done.position)
    definition, problems = parse_definition(raw)
    if definition is None or problems:
        raise Invalid("the service definition has problems", problems)
    if definition.agency.code != agency:
        raise Forbidden(
            f"you administer agency {agency}; this service belongs to {definition.agency.code}"
        )
    state = load_service(store, definition.id)
    if state is not None and state.agency_code != agency:
        raise Conflict(f"service id {definition.id!r} is taken by agency {state.agency_code}")
    if state is not None and new:
        raise Conflict(
            f"there is already a service with the id {definition.id!r} ({state.name}): "
            "choose another id, or open that service from the catalogue to change it"
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


@dataclass(frozen=True)
class Work:
    """The designer's work in progress on a service, as last saved."""

    service_id: str
    definition: dict[str, Any]
    by: str
    saved_at: str
    problems: list[Problem]


def load_work(store: EventStore, service_id: str, agency: str | None) -> Work | None:
    """The work in progress on ``service_id`` of ``agency`` (its last event; None when
    there is none, it was saved or discarded, or it is another agency's)."""
    stream = ev.work_stream(service_id)
    version = store.stream_version(stream)
    if version < 0:
        return None
    (last,) = store.read_stream(stream, from_version=version)
    if last.type != ev.WORK_SAVED or last.data.get("agency") != agency:
        return None
    saved = ev.ServiceWorkSaved.model_validate(last.data)
    _, problems = parse_definition(saved.definition)
    return Work(service_id, saved.definition, saved.by, last.recorded_at.isoformat(), problems)


def save_work(
    store: EventStore, service_id: str, raw: Mapping[str, Any], actor: str, agency: str | None
) -> Written:
    """Keep the work in progress on a service, problems and all (the designer saves it as
    the administrator edits). Only the service's own agency may; identical content is
    not stored again."""
    _own_service_id(store, service_id, agency)
    if raw.get("id") != service_id:
        raise Invalid(
            f"the definition's id ({raw.get('id')!r}) is not {service_id!r}, the service "
            "this work belongs to"
        )
    stream = ev.work_stream(service_id)
    version = store.stream_version(stream)
    if version >= 0:
        (last,) = store.read_stream(stream, from_version=version)
        if last.type == ev.WORK_SAVED and last.data.get("agency") not in (agency, None):
            raise Conflict(
                f"the service id {service_id!r} is being designed by agency "
                f"{last.data.get('agency')}; choose another id"
            )
        if last.type == ev.WORK_SAVED and last.data.get("definition") == dict(raw):
            return Written(service_id, 0, "work", last.position)
    _, problems = parse_definition(raw)
    saved = ev.ServiceWorkSaved(
        definition=dict(raw), agency=str(agency), by=actor, problems=len(problems)
    )
    result = store.append(
        stream, [NewEvent(uuid.uuid4(), saved.TYPE, saved.payload())], expected_version=version
    )
    return Written(service_id, 0, "work", result.last_position)


def discard_work(
    store: EventStore, service_id: str, actor: str, agency: str | None, why: str = "discarded"
) -> Written:
    """End the work in progress (``why``: ``saved`` as a draft, or ``discarded``);
    nothing to end is not an error."""
    stream = ev.work_stream(service_id)
    version = store.stream_version(stream)
    if load_work(store, service_id, agency) is None:
        return Written(service_id, 0, "none", store.head_position())
    done = ev.ServiceWorkDiscarded(agency=str(agency), by=actor, why=why)
    result = store.append(
        stream, [NewEvent(uuid.uuid4(), done.TYPE, done.payload())], expected_version=version
    )
    return Written(service_id, 0, why, result.last_position)


def _own_service_id(store: EventStore, service_id: str, agency: str | None) -> None:
    state = load_service(store, service_id)
    if state is not None and state.agency_code != agency:
        raise Conflict(f"service id {service_id!r} is taken by agency {state.agency_code}")


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
        raise NotFound(f"service {service_id!r} has no version {version}")
    if state.agency_code != agency:
        raise Forbidden(f"service {service_id!r} belongs to agency {state.agency_code}")
    info = state.versions[version]
    work = load_work(store, service_id, agency)
    if work is not None:
        raise Conflict(
            f"{service_id!r} has changes not saved as a draft yet (saved automatically by "
            f"{work.by}, with {len(work.problems)} problem(s)): save them as a draft, or "
            "discard them, before publishing"
        )
    if info.status == "published":
        raise Conflict(
            f"version {version} of {service_id!r} is already "
            "published; published versions never change",
        )
    _, problems = parse_definition(info.definition.model_dump(mode="json"))
    problems += _subservice_problems(store, info.definition)
    problems += publish_problems(info.definition)  # Standar Pelayanan (UU 25/2009)
    if problems:
        raise Invalid("the draft has problems and cannot be published", problems)
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
        raise NotFound(f"there is no service {service_id!r}")
    if state.agency_code != agency:
        raise Forbidden(f"service {service_id!r} belongs to agency {state.agency_code}")
    if state.archived:
        raise Conflict(f"service {service_id!r} is already archived")
    result = store.append(
        ev.service_stream(service_id),
        [NewEvent(event_id or uuid.uuid4(), ev.SERVICE_ARCHIVED, {"by": actor})],
        expected_version=state.stream_version,
    )
    latest = state.latest_published
    return Written(service_id, latest.version if latest else 0, "archived", result.last_position)


def published_definition(store: EventStore, service_id: str) -> ServiceDefinition:
    """The latest published version: what a new application, a citizen's or a parent's
    sub-service step, runs. An archived service takes no new applications."""
    state = load_service(store, service_id)
    if state is None:
        raise NotFound(f"there is no service {service_id!r}")
    latest = state.latest_published
    if latest is None:
        raise Conflict(f"service {service_id!r} has no published version yet")
    if state.archived:
        raise Conflict(f"service {service_id!r} is archived and takes no new applications")
    return latest.definition
