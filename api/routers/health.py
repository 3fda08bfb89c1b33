from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from api.deps import RuntimeDep

router = APIRouter(tags=["health"])


@router.get("/health")
async def health(rt: RuntimeDep) -> dict[str, Any]:
    """Liveness of each part and how far the projections lag behind the event store."""
    head = await run_in_threadpool(rt.store.head_position)
    checkpoint = await run_in_threadpool(rt.models.checkpoint)
    temporal = "ok"
    try:
        client = await rt.temporal()
        await asyncio.wait_for(client.service_client.check_health(), timeout=2)
    except Exception:
        temporal = "unreachable"
    return {
        "status": "ok" if temporal == "ok" else "degraded",
        "eventstore": {"backend": rt.settings.eventstore, "head_position": head},
        "projections": {"checkpoint": checkpoint, "lag_events": head - checkpoint},
        "temporal": {"address": rt.settings.temporal.address, "status": temporal},
    }
