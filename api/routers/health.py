"""Operations: liveness (/health), readiness (/ready) and the Prometheus metrics
(/metrics). README "Health and metrics" says which probe to give to what."""

from __future__ import annotations

import asyncio
import hmac
from typing import Annotated, Any

from fastapi import APIRouter, Header, HTTPException, status
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from api import errors
from api.deps import RuntimeDep
from api.runtime import Runtime
from backup import schedule
from config import metrics as m
from projections.projector import lag

router = APIRouter(tags=["health"])


@router.get("/health")
async def health(rt: RuntimeDep) -> dict[str, Any]:
    """Liveness: answers 200 while the process serves, whatever the state of the parts it
    reports. The report: how far the projections lag behind the event store
    (``lag_events`` stored but not applied yet, ``seconds_behind`` how long the oldest of
    them has waited, ``parked_events`` events the views could not apply and skipped);
    the notifications' checkpoint, deliveries waiting (``pending``) and given up on
    (``dead``, see GET /admin/notifications/dead); whether Temporal answers."""
    behind = await run_in_threadpool(lag, rt.store, rt.models)
    deliveries = await run_in_threadpool(rt.outbox.counts)
    temporal = "ok" if await _temporal_answers(rt) else "unreachable"
    return {
        "status": "ok" if temporal == "ok" else "degraded",
        "eventstore": {"backend": rt.settings.eventstore, "head_position": behind.head},
        "projections": {
            "checkpoint": behind.checkpoint,
            "lag_events": behind.events,
            "seconds_behind": round(behind.seconds, 3),
            "parked_events": behind.parked,
        },
        "notifications": {
            "checkpoint": rt.outbox.checkpoint(),
            "pending": _pending(deliveries),
            "dead": deliveries["dead"],
        },
        "temporal": {"address": rt.settings.temporal.address, "status": temporal},
        # The last good backup and whether it is older than its interval allows
        # (backup/schedule.py); all null until a scheduled backup has run here.
        "backup": schedule.current(rt.settings).as_dict(),
    }


class ReadyOut(BaseModel):
    ready: bool
    problems: list[str]
    """What keeps this process from serving, one sentence each; empty when ready."""


@router.get("/ready", response_model=ReadyOut, responses=errors.answers(503))
async def ready(rt: RuntimeDep) -> Response:
    """Readiness, for a load balancer: 200 when Temporal answers, the event store and the
    read models can be read and the read models are at most ``ready_max_lag_s`` behind;
    otherwise 503 naming each problem (take this process out of rotation until then)."""
    problems = await readiness_problems(rt)
    if problems:  # the one error body: what is wrong, each problem on its own
        return errors.error_response(
            503,
            "this process is not ready to serve: " + "; ".join(problems),
            [errors.ProblemOut(path="ready", message=p) for p in problems],
        )
    return JSONResponse(ReadyOut(ready=True, problems=[]).model_dump())


async def readiness_problems(rt: Runtime) -> list[str]:
    problems = []
    if not await _temporal_answers(rt):
        problems.append(f"Temporal at {rt.settings.temporal.address} does not answer")
    try:
        behind = await run_in_threadpool(lag, rt.store, rt.models)
    except Exception as e:
        problems.append(f"the event store or the read models cannot be read ({type(e).__name__})")
    else:
        if behind.seconds > rt.settings.ready_max_lag_s:
            problems.append(
                f"the read models are {behind.seconds:.0f} s behind the event store (more "
                f"than ready_max_lag_s = {rt.settings.ready_max_lag_s:g}); is the projector "
                "running?"
            )
    return problems


async def _temporal_answers(rt: Runtime) -> bool:
    try:
        client = await rt.temporal()
        await asyncio.wait_for(client.service_client.check_health(), timeout=2)
    except Exception:
        return False
    return True


def _pending(deliveries: dict[str, int]) -> int:
    return deliveries["queued"] + deliveries["sending"] + deliveries["failed"]


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}}, **errors.answers(401, 403)},
)
async def metrics(
    rt: RuntimeDep, authorization: Annotated[str | None, Header()] = None
) -> Response:
    """This process's metrics in the Prometheus text format (README "Health and
    metrics"). With ``metrics_token`` set, only for ``Authorization: Bearer <token>``; in
    production it must be set. The reverse proxy in deploy/ never routes /metrics."""
    _check_scraper(rt, authorization)
    behind = await run_in_threadpool(lag, rt.store, rt.models)
    deliveries = await run_in_threadpool(rt.outbox.counts)
    by_status = await run_in_threadpool(rt.models.status_counts)
    m.EVENTSTORE_HEAD.set(behind.head)
    m.PROJECTION_CHECKPOINT.set(behind.checkpoint)
    m.PROJECTION_LAG_EVENTS.set(behind.events)
    m.PROJECTION_LAG_SECONDS.set(round(behind.seconds, 3))
    m.PROJECTION_PARKED.set(behind.parked)
    m.NOTIFICATIONS_CHECKPOINT.set(rt.outbox.checkpoint())
    m.NOTIFICATIONS_PENDING.set(_pending(deliveries))
    m.NOTIFICATIONS_DEAD.set(deliveries["dead"])
    m.APPLICATIONS.clear()  # a status no application has any more is not listed
    for name, count in by_status.items():
        m.APPLICATIONS.labels(name).set(count)
    backup = schedule.current(rt.settings)
    m.BACKUP_AGE.set(
        -1 if backup.age_s is None or not backup.configured else round(backup.age_s, 1)
    )
    m.BACKUP_OVERDUE.set(int(backup.configured and backup.overdue))
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


def _check_scraper(rt: Runtime, authorization: str | None) -> None:
    token = rt.settings.metrics_token
    if not token:
        if rt.settings.environment == "production":
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                "GET /metrics is closed in production until metrics_token "
                "(LINCAH_METRICS_TOKEN) is set; give the same token to Prometheus",
            )
        return
    given = (authorization or "").removeprefix("Bearer ").strip()
    if not hmac.compare_digest(given.encode(), token.encode()):
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "GET /metrics needs Authorization: Bearer <metrics_token>",
            headers={"WWW-Authenticate": "Bearer"},
        )
