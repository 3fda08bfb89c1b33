"""Figures for an agency's dashboard, from the read models: applications by status and
by service, deadline breaches, and the median processing time per service."""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from typing import Any

from fastapi import APIRouter, HTTPException, status

from api.deps import Consistent, CurrentUser, ModelsDep

router = APIRouter(tags=["dashboard"])


@router.get("/dashboard")
def dashboard(user: CurrentUser, models: ModelsDep, _: Consistent) -> dict[str, Any]:
    """Staff see their agency; auditors see every agency."""
    if not (user.is_staff or user.role == "auditor"):
        raise HTTPException(
            status.HTTP_403_FORBIDDEN, "the dashboard is for agency staff and auditors"
        )
    agency = None if user.role == "auditor" else user.agency
    states = models.application_states(agency_code=agency)
    by_status = Counter(s.status for s in states)
    services: dict[str, dict[str, Any]] = {}
    hours: dict[str, list[float]] = defaultdict(list)
    breaches: list[dict[str, Any]] = []

    for s in states:
        entry = services.setdefault(
            s.service_id,
            {
                "service_id": s.service_id,
                "name": s.service_name,
                "count": 0,
                "by_status": Counter(),
            },
        )
        entry["count"] += 1
        entry["by_status"][s.status] += 1
        if s.completed_at is not None:
            hours[s.service_id].append((s.completed_at - s.submitted_at).total_seconds() / 3600)
        breaches += [
            {
                "application_id": s.application_id,
                "service_id": s.service_id,
                "scope": b.scope,
                "step": b.step,
                "due_at": b.due_at,
                "at": b.at,
            }
            for b in s.breaches
        ]
    for sid, entry in services.items():
        done = hours.get(sid, [])
        entry["completed"] = len(done)
        entry["median_processing_hours"] = round(statistics.median(done), 2) if done else None
        entry["by_status"] = dict(entry["by_status"])
    return {
        "agency_code": agency,
        "applications": len(states),
        "by_status": dict(by_status),
        "by_service": sorted(services.values(), key=lambda e: -e["count"]),
        "sla_breaches": len(breaches),
        "recent_breaches": sorted(breaches, key=lambda b: b["at"], reverse=True)[:20],
    }
