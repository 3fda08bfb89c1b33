"""What the projector measures as it applies events (README "Health and metrics"):
officer steps' durations and SLA breaches. Observed once per applied event, after its
batch committed; a projector that restarts does not see the assignments it applied
before, so the first completions after a restart go unmeasured (a gap, never a wrong
value)."""

from __future__ import annotations

from collections import OrderedDict
from datetime import datetime
from typing import Final

from config import metrics
from domain.events import SLA_BREACHED, TASK_ASSIGNED, TASK_COMPLETED
from eventstore.port import RecordedEvent

REMEMBERED_TASKS: Final = 100_000
"""Open tasks whose assignment time is kept; the oldest is forgotten beyond this."""


class EventMetrics:
    def __init__(self) -> None:
        self._assigned: OrderedDict[str, tuple[datetime, str]] = OrderedDict()

    def observe(self, batch: list[RecordedEvent]) -> None:
        for event in batch:
            if event.type == TASK_ASSIGNED:
                data = event.data
                role = str(data.get("role", "unknown"))
                self._assigned[str(data.get("task_id"))] = (event.recorded_at, role)
                if len(self._assigned) > REMEMBERED_TASKS:
                    self._assigned.popitem(last=False)
            elif event.type == TASK_COMPLETED:
                assigned = self._assigned.pop(str(event.data.get("task_id")), None)
                if assigned is not None:
                    at, role = assigned
                    seconds = (event.recorded_at - at).total_seconds()
                    metrics.STEP_SECONDS.labels(role).observe(max(0.0, seconds))
            elif event.type == SLA_BREACHED:
                metrics.SLA_BREACHES.labels(str(event.data.get("scope", "step"))).inc()
