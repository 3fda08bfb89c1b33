"""Dashboard figures from the API's statistics, or, while the API has no statistics
endpoint, from its list of applications (no SLA figures then)."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from statistics import median
from typing import Any

FINISHED = {"approved", "rejected", "cancelled"}


def from_applications(apps: list[dict[str, Any]]) -> dict[str, Any]:
    """The statistics' shape, computed from ``GET /applications`` rows."""
    by_status = Counter(str(a.get("status")) for a in apps)
    services: dict[str, dict[str, Any]] = {}
    hours: dict[str, list[float]] = {}
    for a in apps:
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
        "sla_breaches": None,
    }


def _when(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        return None
