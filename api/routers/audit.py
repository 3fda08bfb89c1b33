"""Auditors' replay: an application's state at any point of its history, and every
event with who caused it, when, and whether its hash chain verifies; the published
checkpoints of the log and the log checked against them. Only the auditor role may
call these."""

from __future__ import annotations

import asyncio
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Annotated

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from fastapi import APIRouter, Depends, HTTPException, Query, status
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool
from temporalio.service import RPCError, RPCStatusCode

from api import errors, security
from api.access import AccessLogged
from api.deps import AgencyScope, RuntimeDep, SettingsDep, StoreDep, require_role
from api.runtime import Runtime
from api.temporal_errors import RETRY_AFTER_S, TemporalUnavailable
from audit import checkpoints, trail
from audit.replay import HistoryTooLarge, replay_latest_run
from audit.verify import verify_store
from config.settings import Settings
from domain.state import ApplicationState
from eventstore.personal import stored
from eventstore.port import EventStore, RecordedEvent
from workflows.application import ApplicationWorkflow

router = APIRouter(prefix="/audit", tags=["audit"])

Auditor = Annotated[security.Principal, Depends(require_role("auditor"))]


class PointInTime(BaseModel):
    position: int | None = None
    time: datetime | None = None


class ReplayedState(BaseModel):
    application_id: str
    at: PointInTime
    events_applied: int
    """Events of the application folded to reach ``state``."""
    last_position: int | None
    state: ApplicationState | None
    """None when ``at`` lies before the application was submitted."""


class AuditEvent(BaseModel):
    position: int
    version: int
    type: str
    recorded_at: datetime
    actor: str | None
    summary: str
    hash: str
    prev_hash: str
    verified: bool
    """The hash chain verifies up to and including this event."""


class AuditTrail(BaseModel):
    application_id: str
    chain_intact: bool
    first_break: str | None
    events: list[AuditEvent]


def _events_or_404(
    store: StoreDep, application_id: str, scope: frozenset[str] | None
) -> list[RecordedEvent]:
    # Application numbers begin with their agency's code (BWI-2026-000001).
    if scope is not None and application_id.split("-", 1)[0] not in scope:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"there is no application {application_id}")
    events = trail.application_events(store, application_id)
    if not events:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"there is no application {application_id}")
    return events


@router.get(
    "/applications/{application_id}", response_model=ReplayedState, responses=errors.answers(404)
)
async def replay_application(
    application_id: str,
    _: Auditor,
    scope: AgencyScope,
    store: StoreDep,
    access: AccessLogged,
    at: Annotated[
        str | None,
        Query(
            description="An event-store position, or an ISO 8601 timestamp (UTC when "
            "without offset); default: now",
            examples=["2026-11-28T08:30:00Z", "42"],
            max_length=64,
        ),
    ] = None,
) -> ReplayedState:
    """The application's state at ``at``, rebuilt by folding its events with the same
    fold the projections use."""
    point = None if at is None else trail.parse_at(at)
    events = await run_in_threadpool(_events_or_404, store, application_id, scope)
    replayed = trail.state_at(events, point)
    if replayed.state is not None:  # it holds the application's data
        state = replayed.state
        await run_in_threadpool(access.read, "audit_state", citizen=state.citizen, app=state)
    return ReplayedState(
        application_id=application_id,
        at=PointInTime(
            position=point if isinstance(point, int) else None,
            time=point if isinstance(point, datetime) else None,
        ),
        events_applied=replayed.events_applied,
        last_position=replayed.last_position,
        state=replayed.state,
    )


@router.get(
    "/applications/{application_id}/events",
    response_model=AuditTrail,
    responses=errors.answers(404),
)
async def application_events(
    application_id: str, _: Auditor, scope: AgencyScope, store: StoreDep
) -> AuditTrail:
    """Every event of the application: actor, time, hash, and whether the chain
    verifies up to it."""
    events = await run_in_threadpool(_events_or_404, store, application_id, scope)
    as_stored = await run_in_threadpool(trail.application_events, stored(store), application_id)
    audited, broken = trail.audit_trail(events, as_stored)
    return AuditTrail(
        application_id=application_id,
        chain_intact=broken is None,
        first_break=None if broken is None else str(broken),
        events=[AuditEvent(**asdict(e)) for e in audited],
    )


# -- the Temporal history replayed against today's workflow code (audit.replay) --------


class WorkflowReplay(BaseModel):
    application_id: str
    workflow_id: str
    run_id: str
    replayed: bool
    """Today's workflow code runs the recorded history to the same commands: it can
    carry on the application (or would run it the same way again)."""
    events: int
    """Events of the Temporal history replayed."""
    failure: str | None
    """Why the replay failed (a non-determinism names the command that differs)."""


def _unavailable(application_id: str, why: str) -> TemporalUnavailable:
    return TemporalUnavailable(
        f"The workflow history of {application_id} could not be replayed: {why}. Nothing "
        f"was changed; try again in {RETRY_AFTER_S} seconds."
    )


_REPLAYS_AT_ONCE = 2
"""Replays run in the API process, each about a second of CPU: beyond this many at once
the next is told to come back rather than slowing every other request."""
_replays_running = 0


@router.post(
    "/applications/{application_id}/replay",
    response_model=WorkflowReplay,
    responses=errors.answers(404, 422, 503),
)
async def replay_workflow(
    application_id: str, _: Auditor, scope: AgencyScope, store: StoreDep, rt: RuntimeDep
) -> WorkflowReplay:
    """Fetch the application's workflow history from Temporal and replay it against the
    workflow code this server runs today, as ``lincah audit replay`` does: whether a
    change of the code would break the application (non-determinism). Reads only.
    Bounded: a history over ``audit_replay_max_events`` is refused (422), a check that
    takes longer than ``audit_replay_timeout_s`` answers 503."""
    # The scope and the application's existence first: another agency's application is
    # a 404 before Temporal is asked anything.
    await run_in_threadpool(_events_or_404, store, application_id, scope)
    global _replays_running
    if _replays_running >= _REPLAYS_AT_ONCE:
        raise _unavailable(application_id, f"{_REPLAYS_AT_ONCE} other checks are running")
    # One event loop per process: the counter needs no lock (no await between check and set).
    _replays_running += 1
    try:
        return await _replay(application_id, rt)
    finally:
        _replays_running -= 1


async def _replay(application_id: str, rt: Runtime) -> WorkflowReplay:
    settings = rt.settings
    try:
        client = await rt.temporal()
    except TemporalUnavailable as e:
        raise _unavailable(
            application_id, f"Temporal at {settings.temporal.address} is not reachable"
        ) from e
    try:
        report = await asyncio.wait_for(
            # The application workflow is the one class an application's history runs.
            replay_latest_run(
                client,
                application_id,
                [ApplicationWorkflow],
                max_events=settings.audit_replay_max_events,
            ),
            timeout=settings.audit_replay_timeout_s,
        )
    except HistoryTooLarge as e:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            f"The workflow history of {application_id} has {e.events} events, more than "
            f"the {e.limit} this check replays (audit_replay_max_events); run `lincah "
            f"audit replay {application_id}` on the server instead.",
        ) from e
    except TimeoutError as e:
        raise _unavailable(
            application_id,
            f"it took longer than {settings.audit_replay_timeout_s:g} s "
            "(audit_replay_timeout_s; Temporal may be slow or restarting)",
        ) from e
    except RPCError as e:
        if e.status == RPCStatusCode.NOT_FOUND:
            raise HTTPException(
                status.HTTP_404_NOT_FOUND,
                f"Temporal no longer holds a workflow history for {application_id} (its "
                "retention may have passed); its events are still in the audit trail",
            ) from e
        raise _unavailable(application_id, f"Temporal answered {e.status.name}: {e}") from e
    return WorkflowReplay(
        application_id=application_id,
        workflow_id=report.workflow_id,
        run_id=report.run_id or "",
        replayed=report.deterministic,
        events=report.events,
        failure=report.failure,
    )


# -- the anchored audit trail (audit.checkpoints) -------------------------------------


class CheckpointView(BaseModel):
    line: int
    """Its line in the ledger (``audit_anchor_path``), from 1."""
    seq: int | None
    position: int | None
    root: str | None
    streams: int | None
    at: str | None
    key_id: str | None
    intact: bool
    problems: list[str]
    """Why the line is not to be trusted: edited, out of the chain, badly signed."""


class Checkpoints(BaseModel):
    ledger: str
    total: int
    items: list[CheckpointView]
    """Newest first."""


def _signing_public_key(settings: Settings) -> Ed25519PublicKey:
    try:
        return checkpoints.signing_key(settings).public_key()
    except (OSError, ValueError, UnsupportedAlgorithm) as e:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            "the agency's signing key is not usable on this server; try again later",
        ) from e


@router.get("/checkpoints", response_model=Checkpoints, responses=errors.answers(422, 503))
async def list_checkpoints(
    _: Auditor,
    settings: SettingsDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> Checkpoints:
    """The signed checkpoints of the event log published to the ledger, each checked
    (its link to the line before, its signature under the agency's key)."""
    key = await run_in_threadpool(_signing_public_key, settings)
    ledger = checkpoints.ledger_for(settings)
    entries = await run_in_threadpool(ledger.entries, key)
    items = []
    for e in reversed(entries[-limit:]):
        c = e.signed.checkpoint if e.signed else None
        items.append(
            CheckpointView(
                line=e.number,
                seq=c.seq if c else None,
                position=c.position if c else None,
                root=c.root if c else None,
                streams=c.streams if c else None,
                at=c.at if c else None,
                key_id=c.key_id if c else None,
                intact=e.intact,
                problems=e.problems,
            )
        )
    return Checkpoints(ledger=ledger.where, total=len(entries), items=items)


class BrokenLink(BaseModel):
    stream: str
    position: int
    reason: str


class Verification(BaseModel):
    checked_at: datetime
    events: int
    streams: int
    chains_intact: bool
    broken_links: list[BrokenLink]
    """At most 100; of the streams you may see (the others are counted in
    ``not_shown``)."""
    missing_positions: list[int]
    checkpoints: int
    bad_checkpoints: list[int]
    """Lines of the ledger that are not to be trusted (``GET /audit/checkpoints``)."""
    checkpoint: int | None
    """The checkpoint (seq) the log was checked against: the last intact one."""
    checkpoint_position: int | None
    anchored: bool | None
    """Whether the log still produces that checkpoint's root; None without one."""
    rewritten_streams: list[str]
    """Streams whose head at the checkpoint differs from the signed one (that you may
    see)."""
    not_shown: int
    """Broken or rewritten streams outside your agencies."""
    intact: bool
    report: str | None
    """The verdict in words, as ``lincah audit verify`` prints it (for an auditor
    whose scope is every agency)."""


def _visible(stream: str, scope: frozenset[str] | None) -> bool:
    """Whether a scoped auditor may see a stream's name: their agencies' applications
    only (other names can identify another agency's citizens)."""
    if scope is None:
        return True
    return any(stream.startswith(f"application-{code}-") for code in scope)


def _verification(
    store: EventStore, settings: Settings, scope: frozenset[str] | None
) -> Verification:
    key = _signing_public_key(settings)
    chains = verify_store(store)
    anchored = checkpoints.verify_anchored(store, checkpoints.ledger_for(settings), key)
    check = anchored.check
    links = [p for p in chains.problems if _visible(p.stream, scope)]
    rewritten = [m.stream for m in check.mismatches] if check else []
    shown = [s for s in rewritten if _visible(s, scope)]
    hidden = len(chains.problems) - len(links) + len(rewritten) - len(shown)
    return Verification(
        checked_at=datetime.now(UTC),
        events=chains.events,
        streams=chains.streams,
        chains_intact=chains.intact,
        broken_links=[
            BrokenLink(stream=p.stream, position=p.position, reason=p.reason) for p in links[:100]
        ],
        missing_positions=chains.missing_positions[:100],
        checkpoints=len(anchored.entries),
        bad_checkpoints=[e.number for e in anchored.bad_entries],
        checkpoint=check.checkpoint.seq if check else None,
        checkpoint_position=check.checkpoint.position if check else None,
        anchored=check.intact if check else None,
        rewritten_streams=shown,
        not_shown=hidden,
        intact=chains.intact and anchored.intact,
        report=f"{chains.describe()}\n{anchored.describe()}" if scope is None else None,
    )


@router.get("/verification", response_model=Verification, responses=errors.answers(503))
async def verification(
    _: Auditor, scope: AgencyScope, store: StoreDep, settings: SettingsDep
) -> Verification:
    """Check the whole event log now, as ``lincah audit verify`` does: every hash chain,
    every published checkpoint, and that the log still produces the last checkpoint's
    root (a stream rewritten and re-hashed in the database does not). It reads the
    whole log: expect seconds on a large one."""
    return await run_in_threadpool(_verification, store, settings, scope)
