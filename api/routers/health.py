from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter
from fastapi.responses import PlainTextResponse
from starlette.concurrency import run_in_threadpool

from api.deps import RuntimeDep
from backup import schedule
from projections.projector import lag

router = APIRouter(tags=["health"])


@router.get("/health")
async def health(rt: RuntimeDep) -> dict[str, Any]:
    """Liveness of each part and how far the projections lag behind the event store:
    ``lag_events`` stored but not applied yet, ``seconds_behind`` how long the oldest of
    them has waited, ``parked_events`` events the views could not apply and skipped;
    the notifications' checkpoint, deliveries waiting (``pending``) and given up on
    (``dead``, see GET /admin/notifications/dead)."""
    behind = await run_in_threadpool(lag, rt.store, rt.models)
    deliveries = await run_in_threadpool(rt.outbox.counts)
    temporal = "ok"
    try:
        client = await rt.temporal()
        await asyncio.wait_for(client.service_client.check_health(), timeout=2)
    except Exception:
        temporal = "unreachable"
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


def _pending(deliveries: dict[str, int]) -> int:
    return deliveries["queued"] + deliveries["sending"] + deliveries["failed"]


@router.get("/metrics", response_class=PlainTextResponse)
async def metrics(rt: RuntimeDep) -> str:
    """The projection lag and the notifications' state in the Prometheus text format."""
    behind = await run_in_threadpool(lag, rt.store, rt.models)
    deliveries = await run_in_threadpool(rt.outbox.counts)
    lines = [
        ("lincah_eventstore_head_position", "Position of the last stored event.", behind.head),
        ("lincah_projection_checkpoint", "Position the read models include.", behind.checkpoint),
        ("lincah_projection_lag_events", "Events not applied yet.", behind.events),
        (
            "lincah_projection_lag_seconds",
            "How long the oldest event not applied yet has waited.",
            round(behind.seconds, 3),
        ),
        ("lincah_projection_parked_events", "Events the views could not apply.", behind.parked),
        (
            "lincah_notifications_checkpoint",
            "Position the notification outbox includes.",
            rt.outbox.checkpoint(),
        ),
        (
            "lincah_notifications_pending",
            "Deliveries waiting for their first or next attempt.",
            _pending(deliveries),
        ),
        ("lincah_notifications_dead", "Deliveries given up on.", deliveries["dead"]),
    ]
    backup = schedule.current(rt.settings)
    if backup.configured:
        lines += [
            (
                "lincah_backup_age_seconds",
                "Age of the last good backup (-1: none yet).",
                -1 if backup.age_s is None else round(backup.age_s, 1),
            ),
            (
                "lincah_backup_overdue",
                "1 when the last good backup is older than its interval allows.",
                int(backup.overdue),
            ),
        ]
    return "".join(f"# HELP {n} {h}\n# TYPE {n} gauge\n{n} {v}\n" for n, h, v in lines)
