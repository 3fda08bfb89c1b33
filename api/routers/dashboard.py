"""Figures for an agency's dashboard, from the read models: applications by status, by
service and by channel (online, counter, kiosk, mobile), deadline breaches, and the
median processing time per service and per channel."""

from __future__ import annotations

import statistics
from collections import Counter
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, HTTPException, status

from api import errors
from api.deps import AgencyScope, Consistent, CurrentUser, ModelsDep
from domain.channels import CHANNELS
from domain.standard import reviews

router = APIRouter(tags=["dashboard"])

OPEN = (
    "submitted",
    "in_review",
    "awaiting_correction",
    "awaiting_payment",
    "awaiting_event",
    "awaiting_subservice",
    "awaiting_visit",
    "incident",
)


@router.get("/stats/applications", responses=errors.answers(403))
def application_stats(
    user: CurrentUser, scope: AgencyScope, models: ModelsDep, _: Consistent
) -> dict[str, Any]:
    """Staff see their agency; auditors and region administrators their agency or
    region."""
    if not (user.is_staff or user.role in ("auditor", "region_admin")):
        raise HTTPException(
            status.HTTP_403_FORBIDDEN, "the statistics are for agency staff and auditors"
        )
    states = [
        s
        for s in models.application_states(
            next(iter(scope)) if scope is not None and len(scope) == 1 else None
        )
        if scope is None or s.agency_code in scope
    ]
    services: dict[str, dict[str, Any]] = {}
    hours: dict[str, list[float]] = {}
    breaches: list[dict[str, Any]] = []
    # Every channel has its row, an empty one too: "no kiosk applications" is a figure.
    by_channel: dict[str, dict[str, Any]] = {c: _figures({"channel": c}) for c in CHANNELS}
    channel_hours: dict[str, list[float]] = {}
    for s in states:
        row = services.setdefault(
            s.service_id,
            _figures({"service_id": s.service_id, "service_name": s.service_name}),
        )
        channel_row = by_channel.setdefault(s.channel, _figures({"channel": s.channel}))
        for r in (row, channel_row):
            r["total"] += 1
            r["open" if s.status in OPEN else s.status] += 1
            r["sla_breaches"] += len(s.breaches)
        if s.completed_at is not None:
            took = (s.completed_at - s.submitted_at).total_seconds() / 3600
            hours.setdefault(s.service_id, []).append(took)
            channel_hours.setdefault(s.channel, []).append(took)
        breaches += [
            {
                "application_id": s.application_id,
                "service_id": s.service_id,
                "step": b.step,
                "scope": b.scope,
                "due_at": b.due_at,
                "breached_at": b.at,
            }
            for b in s.breaches
        ]
    for sid, row in services.items():
        row["median_processing_hours"] = _median(hours.get(sid))
    for channel, row in by_channel.items():
        row["median_processing_hours"] = _median(channel_hours.get(channel))
    return {
        "by_status": dict(Counter(s.status for s in states)),
        "by_service": sorted(services.values(), key=lambda r: -int(r["total"])),
        "by_channel": list(by_channel.values()),
        "sla_breaches": sorted(breaches, key=lambda b: str(b["breached_at"]), reverse=True),
    }


def _figures(names: dict[str, Any]) -> dict[str, Any]:
    """A row of the statistics: what it counts (a service, a channel), all at zero."""
    counts = ("total", "open", "approved", "rejected", "cancelled", "sla_breaches")
    return {**names, **dict.fromkeys(counts, 0)}


def _median(hours: list[float] | None) -> float | None:
    return round(statistics.median(hours), 2) if hours else None


@router.get("/stats/standard-reviews", responses=errors.answers(403))
def standard_reviews(user: CurrentUser, models: ModelsDep, _: Consistent) -> list[dict[str, Any]]:
    """Each published service whose standard has a review interval, with the date its
    periodic review (evaluasi) falls due; overdue ones first."""
    if not (user.is_staff or user.role == "auditor"):
        raise HTTPException(
            status.HTTP_403_FORBIDDEN, "the statistics are for agency staff and auditors"
        )
    states = models.services(None if user.role == "auditor" else user.agency)
    return reviews(states, datetime.now(UTC).date())
