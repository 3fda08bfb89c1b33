"""Dashboard figures from the API's statistics, or, while the API has no statistics
endpoint, from its list of applications (no SLA figures then)."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from statistics import median
from typing import Any

from designer.i18n import N_

FINISHED = {"approved", "rejected", "cancelled"}
CHANNELS = ("online", "counter", "kiosk", "mobile")
"""The four service channels (``domain.channels``), in the order they are shown."""


def from_applications(apps: list[dict[str, Any]]) -> dict[str, Any]:
    """The statistics' shape, computed from ``GET /applications`` rows."""
    by_status = Counter(str(a.get("status")) for a in apps)
    services: dict[str, dict[str, Any]] = {}
    hours: dict[str, list[float]] = {}
    channels: dict[str, dict[str, Any]] = {
        c: {"channel": c, "total": 0, "open": 0} for c in CHANNELS
    }
    for a in apps:
        # Rows from an API before the channels carry none: those were all online.
        name = str(a.get("channel") or "online")
        channel = channels.setdefault(name, {"channel": name, "total": 0, "open": 0})
        channel["total"] += 1
        channel["open"] += str(a.get("status")) not in FINISHED
        sid = str(a.get("service_id"))
        row = services.setdefault(
            sid, {"service_id": sid, "service_name": sid, "total": 0, "open": 0}
        )
        row["total"] += 1
        status = str(a.get("status"))
        row[status] = row.get(status, 0) + 1
        if status in FINISHED:
            start, end = _when(a.get("submitted_at")), _when(a.get("updated_at"))
            if start and end:
                hours.setdefault(sid, []).append((end - start).total_seconds() / 3600)
        else:
            row["open"] += 1
    for sid, row in services.items():
        row["median_processing_hours"] = round(median(hours[sid]), 2) if sid in hours else None
    return {
        "by_status": dict(by_status),
        "by_service": sorted(services.values(), key=lambda r: -int(r["total"])),
        "by_channel": list(channels.values()),
        "sla_breaches": None,
    }


def _when(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        return None


ALL_SERVICES = N_("All services")


def queue_rows(figures: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per service of ``GET /stats/queue``'s figures, the total first: what the
    dashboard's queue table shows. Column names and the total's name are English,
    marked for the catalogues; the page shows them translated."""
    rows = []
    named = [(ALL_SERVICES, figures.get("total") or {})]
    named += sorted((figures.get("by_service") or {}).items())
    for name, f in named:
        waiting = f.get("waiting") or {}
        service = f.get("service") or {}
        within, no_show = f.get("within_target"), f.get("no_show_rate")
        rows.append(
            {
                N_("service"): name,
                N_("called"): f.get("called", 0),
                N_("served"): f.get("served", 0),
                N_("mean wait (min)"): waiting.get("mean_minutes"),
                N_("p90 wait (min)"): waiting.get("p90_minutes"),
                N_("mean service (min)"): service.get("mean_minutes"),
                N_("within target"): None if within is None else f"{within:.0%}",
                N_("no-show rate"): None if no_show is None else f"{no_show:.0%}",
            }
        )
    return rows
