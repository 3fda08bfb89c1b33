"""Whether the event store and Temporal agree about each application, after a restore
(README "Backup and restore", consistency). A workflow appends its events through
activities whose inputs Temporal records, each event with an id derived from its stream
and index, so the two sides can be compared event by event:

- ``no workflow``: the application's events are in the store but Temporal has no run of
  it (submitted after Temporal's snapshot). Reported: nothing can resume it.
- ``store ahead``: the store has events the workflow's history does not account for. An
  append that was in flight is retried by Temporal with the same ids and the store's
  idempotency absorbs it; a decision given after Temporal's snapshot must be given
  again (the same one is absorbed; a different one is refused as a conflict, an
  incident). Reported, with the count.
- ``workflow ahead``: the history holds completed appends whose events the store lacks
  (an event-store copy older than Temporal's). ``repair`` appends them from the recorded
  activity inputs, with their ids and versions, so the workflow's next append fits.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any, Final

from domain import events as ev
from eventstore.port import EventStore, NewEvent

APPEND_ACTIVITIES: Final = frozenset({"append_events", "notify_citizen"})


@dataclass
class Finding:
    application_id: str
    kind: str
    """``no workflow``, ``store ahead`` or ``workflow ahead``."""
    detail: str
    missing: list[dict[str, Any]] = field(default_factory=list)
    """For ``workflow ahead``: the recorded append requests the store lacks, in order."""

    def __str__(self) -> str:
        return f"{self.application_id}: {self.kind}: {self.detail}"


def applications(store: EventStore) -> list[str]:
    """Every application the store numbered and that has events of its own."""
    ids: list[str] = []
    after = 0
    while page := store.read_all(after=after, limit=2000):
        for e in page:
            if e.type == ev.APPLICATION_NUMBER_RESERVED:
                app = str(e.data["application_id"])
                if store.stream_version(ev.application_stream(app)) >= 0:
                    ids.append(app)
        after = page[-1].position
    return ids


async def completed_appends(client: Any, workflow_id: str) -> list[dict[str, Any]] | None:
    """The append requests the workflow's history shows completed, in order; None when
    Temporal has no run of it."""
    from temporalio.api.enums.v1 import EventType
    from temporalio.service import RPCError, RPCStatusCode

    try:
        history = await client.get_workflow_handle(workflow_id).fetch_history()
    except RPCError as e:
        if e.status == RPCStatusCode.NOT_FOUND:
            return None
        raise
    scheduled: dict[int, dict[str, Any]] = {}
    done: list[dict[str, Any]] = []
    for event in history.events:
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            attrs = event.activity_task_scheduled_event_attributes
            if attrs.activity_type.name in APPEND_ACTIVITIES:
                [request] = await client.data_converter.decode(attrs.input.payloads, [dict])
                scheduled[event.event_id] = request
        elif event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
            completed = event.activity_task_completed_event_attributes
            request = scheduled.get(completed.scheduled_event_id)
            if request is not None:
                done.append(request)
    return done


async def check(store: EventStore, client: Any) -> list[Finding]:
    findings = []
    for app in applications(store):
        appends = await completed_appends(client, app)
        stream = ev.application_stream(app)
        stored = store.stream_version(stream) + 1
        if appends is None:
            findings.append(
                Finding(app, "no workflow", f"{stored} events in the store, no workflow run")
            )
            continue
        own = [a for a in appends if a["stream"] == stream]
        known = max((a["expected_version"] + len(a["events"]) + 1 for a in own), default=0)
        ids = {str(e.id) for e in store.read_stream(stream)}
        missing = [a for a in own if any(e["id"] not in ids for e in a["events"])]
        if missing:
            n = sum(len(a["events"]) for a in missing)
            findings.append(
                Finding(app, "workflow ahead", f"the store lacks {n} events its workflow "
                        "appended; `lincah audit consistency --repair` appends them", missing)
            )  # fmt: skip
        elif stored > known:
            findings.append(
                Finding(app, "store ahead", f"{stored - known} events in the store are not in "
                        "its workflow's history; retried appends are absorbed, decisions given "
                        "after the snapshot must be given again")
            )  # fmt: skip
    return findings


def repair(store: EventStore, findings: list[Finding]) -> int:
    """Append what ``workflow ahead`` findings miss, with the recorded ids and expected
    versions; the number of events appended."""
    appended = 0
    for finding in findings:
        for request in finding.missing:
            events = [
                NewEvent(
                    id=uuid.UUID(e["id"]), type=e["type"], data=e["data"], metadata=e["metadata"]
                )
                for e in request["events"]
            ]
            store.append(request["stream"], events, request["expected_version"])
            appended += len(events)
    return appended
