from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Body, HTTPException, Path, Query, status
from starlette.concurrency import run_in_threadpool

from api import errors, idempotency
from api.deps import MAX_POSITION, AgencyAdmin, Consistent, CurrentUser, ModelsDep, StoreDep
from api.idempotency import IdempotencyKey, Key
from api.security import Principal
from commands import catalogue
from commands.catalogue import Written
from domain.diff import diff
from domain.services import ServiceState
from domain.validation import parse_definition
from eventstore.port import EventStore

router = APIRouter(prefix="/services", tags=["services"])

Version = Annotated[int, Path(ge=1, le=MAX_POSITION, description="A version number")]
DefinitionBody = Body(
    description="A service definition (schema version 1); its version is assigned here."
)


@router.post("", status_code=status.HTTP_201_CREATED, responses=errors.answers(409))
async def create_draft(
    user: AgencyAdmin,
    store: StoreDep,
    definition: dict[str, Any] = DefinitionBody,
    idempotency_key: IdempotencyKey = None,
    new: bool = Query(
        False, description="Creating a service: refuse (409) an id that is already in use"
    ),
) -> dict[str, Any]:
    """Save a draft: a new service, or the next draft version of an existing one."""
    request = {"definition": definition, "new": True} if new else definition
    key = Key.of(idempotency_key, user.subject, "save-draft", request)
    command = partial(catalogue.save_draft, new=new)
    return await _write_once(store, key, command, definition, user.subject, user.agency)


@router.post("/validate")
def validate(user: CurrentUser, definition: dict[str, Any] = DefinitionBody) -> dict[str, Any]:
    """Check a definition without saving it: every problem, with its path."""
    _, problems = parse_definition(definition)
    return {"valid": not problems, "problems": [asdict(p) for p in problems]}


@router.post("/{service_id}/versions/{version}/publish", responses=errors.answers(404, 409))
async def publish(
    service_id: str,
    version: Version,
    user: AgencyAdmin,
    store: StoreDep,
    idempotency_key: IdempotencyKey = None,
) -> dict[str, Any]:
    request = {"service_id": service_id, "version": version}
    key = Key.of(idempotency_key, user.subject, "publish", request)
    return await _write_once(
        store, key, catalogue.publish, service_id, version, user.subject, user.agency
    )


@router.get("")
def list_services(user: CurrentUser, models: ModelsDep, _: Consistent) -> list[dict[str, Any]]:
    return [s.summary() for s in models.services() if visible(s, user)]


@router.get("/work", responses=errors.answers(403))
def list_work(user: AgencyAdmin, models: ModelsDep, _: Consistent) -> list[dict[str, Any]]:
    """The agency's services with work in progress not saved as a draft yet (saved
    automatically as the administrator edits), newest first."""
    return models.work_copies(user.agency)


@router.get("/{service_id}", responses=errors.answers(404))
def get_service(
    service_id: str, user: CurrentUser, models: ModelsDep, _: Consistent
) -> dict[str, Any]:
    s = models.service(service_id)
    if s is None or not visible(s, user):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"there is no service {service_id!r}")
    versions = [
        v.model_dump(mode="json")
        for v in sorted(s.versions.values(), key=lambda v: v.version)
        if v.status == "published" or sees_drafts(s, user)
    ]
    return {**s.summary(), "versions": versions}


def sees_drafts(s: ServiceState, user: Principal) -> bool:
    return user.role == "auditor" or (user.is_staff and user.agency == s.agency_code)


def visible(s: ServiceState, user: Principal) -> bool:
    return s.latest_published is not None or sees_drafts(s, user)


ServiceId = Annotated[
    str, Path(pattern=r"^[a-z][a-z0-9-]{1,62}$", description="The service's id")
]


@router.get("/{service_id}/work", responses=errors.answers(404))
def get_work(service_id: ServiceId, user: AgencyAdmin, store: StoreDep) -> dict[str, Any]:
    """The work in progress on a service, problems and all."""
    work = catalogue.load_work(store, service_id, user.agency)
    if work is None:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, f"there is no unsaved work on {service_id!r}"
        )
    return {
        "service_id": work.service_id,
        "definition": work.definition,
        "saved_by": work.by,
        "saved_at": work.saved_at,
        "problems": [asdict(p) for p in work.problems],
    }


@router.put("/{service_id}/work", responses=errors.answers(409, 422))
async def save_work(
    service_id: ServiceId,
    user: AgencyAdmin,
    store: StoreDep,
    definition: dict[str, Any] = Body(
        description="The definition as it is being edited: problems are allowed here"
    ),
) -> dict[str, Any]:
    """Keep the work in progress (the designer calls this as the administrator edits).
    Saving it again unchanged stores nothing."""
    written = await run_in_threadpool(
        catalogue.save_work, store, service_id, definition, user.subject, user.agency
    )
    return asdict(written)


@router.delete("/{service_id}/work")
async def discard_work(
    service_id: ServiceId,
    user: AgencyAdmin,
    store: StoreDep,
    why: Annotated[str, Query(pattern="^(saved|discarded)$")] = "discarded",
) -> dict[str, Any]:
    """Throw the work in progress away (``why=discarded``), or end it once it is saved
    as a draft (``why=saved``). Nothing to discard is not an error."""
    written = await run_in_threadpool(
        catalogue.discard_work, store, service_id, user.subject, user.agency, why
    )
    return asdict(written)


@router.post("/{service_id}/archive", responses=errors.answers(404, 409))
async def archive(
    service_id: str, user: AgencyAdmin, store: StoreDep, idempotency_key: IdempotencyKey = None
) -> dict[str, Any]:
    """Stop taking new applications; running ones finish on their version."""
    key = Key.of(idempotency_key, user.subject, "archive", {"service_id": service_id})
    return await _write_once(store, key, catalogue.archive, service_id, user.subject, user.agency)


@router.get("/{service_id}/versions/{a}/diff/{b}", responses=errors.answers(404))
def version_diff(
    service_id: str, a: Version, b: Version, user: CurrentUser, store: StoreDep
) -> dict[str, Any]:
    """What changed from version ``a`` to version ``b``, matched by field and step id."""
    state = catalogue.load_service(store, service_id)
    if state is None or not visible(state, user):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"there is no service {service_id!r}")
    versions = {
        v: info
        for v, info in state.versions.items()
        if info.status == "published" or sees_drafts(state, user)
    }
    missing = [v for v in (a, b) if v not in versions]
    if missing:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND,
            f"service {service_id!r} has no version {missing[0]} you may see",
        )
    changes = diff(versions[a].definition, versions[b].definition)
    return {"service_id": service_id, "from": a, "to": b, "changes": [asdict(c) for c in changes]}


async def _write_once(
    store: EventStore, key: Key | None, command: Callable[..., Written], *args: Any
) -> dict[str, Any]:
    """A catalogue command, once per Idempotency-Key: its event id derives from the key,
    so a retry finds the event it wrote; the answer is recorded with the key."""

    async def run() -> dict[str, Any]:
        written = await run_in_threadpool(command, store, *args, key.event_id if key else None)
        return asdict(written)

    return await idempotency.once(store, key, run, idempotency.as_dict)
