"""The Prometheus metrics every part shares (README "Health and metrics").

Each process keeps its own values in prometheus_client's default registry and serves
them: the API on GET /metrics, the other parts on their health port (``lincah.health``).
Prometheus adds the ``instance`` label, so two API processes never mix their counts.
"""

from __future__ import annotations

from typing import Any, Final

from prometheus_client import Counter, Gauge, Histogram
from temporalio import activity
from temporalio.worker import (
    ActivityInboundInterceptor,
    ExecuteActivityInput,
    Interceptor,
)

REQUEST_SECONDS: Final = Histogram(
    "lincah_http_request_duration_seconds",
    "API requests by method, route template (/applications/{application_id}, never the "
    "raw path) and status code.",
    ["method", "route", "status"],
)
APPLICATIONS: Final = Gauge(
    "lincah_applications",
    "Applications in the read models by status (counted when /metrics is read).",
    ["status"],
)
STEP_SECONDS: Final = Histogram(
    "lincah_step_duration_seconds",
    "Officer steps from assignment to completion, by the role that completed them "
    "(observed by the projector as it applies TaskCompleted).",
    ["role"],
    buckets=(60, 300, 900, 3600, 4 * 3600, 24 * 3600, 3 * 86400, 7 * 86400, 30 * 86400),
)
SLA_BREACHES: Final = Counter(
    "lincah_sla_breaches_total",
    "Deadlines passed (SlaBreached events applied by the projector), by scope: a step's "
    "or the whole service's.",
    ["scope"],
)
PROJECTION_LAG_EVENTS: Final = Gauge(
    "lincah_projection_lag_events", "Events stored but not applied to the read models yet."
)
PROJECTION_LAG_SECONDS: Final = Gauge(
    "lincah_projection_lag_seconds", "How long the oldest event not applied yet has waited."
)
PROJECTION_CHECKPOINT: Final = Gauge(
    "lincah_projection_checkpoint", "Position the read models include."
)
PROJECTION_PARKED: Final = Gauge(
    "lincah_projection_parked_events", "Events the views could not apply."
)
EVENTSTORE_HEAD: Final = Gauge(
    "lincah_eventstore_head_position", "Position of the last stored event."
)
NOTIFICATIONS_CHECKPOINT: Final = Gauge(
    "lincah_notifications_checkpoint", "Position the notification outbox includes."
)
NOTIFICATIONS_PENDING: Final = Gauge(
    "lincah_notifications_pending", "Deliveries waiting for their first or next attempt."
)
NOTIFICATIONS_DEAD: Final = Gauge("lincah_notifications_dead", "Deliveries given up on.")
BACKUP_AGE: Final = Gauge(
    "lincah_backup_age_seconds", "Age of the last good backup (-1: none yet, or no schedule)."
)
BACKUP_OVERDUE: Final = Gauge(
    "lincah_backup_overdue", "1 when the last good backup is older than its interval allows."
)
ACTIVITY_FAILURES: Final = Counter(
    "lincah_activity_failures_total",
    "Activity attempts that raised, by activity and error type (Temporal retries most).",
    ["activity", "error"],
)


class ActivityFailures(Interceptor):
    """Counts every failed activity attempt in ACTIVITY_FAILURES; given to each worker."""

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _CountFailures(next)


class _CountFailures(ActivityInboundInterceptor):
    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        try:
            return await super().execute_activity(input)
        except BaseException as e:
            ACTIVITY_FAILURES.labels(activity.info().activity_type, type(e).__name__).inc()
            raise
