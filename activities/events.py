"""Activities that append domain events to the event store.

The workflow computes every event id deterministically (``domain.events.event_id``), so
a retried activity re-appends the same ids and the store writes nothing twice.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from domain.events import Event, event_id
from eventstore.port import (
    DuplicateEventIds,
    EventStore,
    InvalidEvent,
    NewEvent,
    WrongExpectedVersion,
)


@dataclass
class EventSpec:
    id: str
    type: str
    data: dict[str, Any]
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass
class AppendRequest:
    stream: str
    expected_version: int
    events: list[EventSpec]

    @classmethod
    def nth(cls, stream: str, index: int, event: Event, workflow_id: str) -> AppendRequest:
        """A workflow's ``index``-th event of ``stream``: its id derives from both, so a
        retried activity writes nothing twice, and it expects the version before it, so
        the stream stays dense and in workflow order."""
        spec = EventSpec(
            id=str(event_id(stream, index)),
            type=event.TYPE,
            data=event.payload(),
            metadata={"workflow_id": workflow_id},
        )
        return cls(stream=stream, expected_version=index - 1, events=[spec])


@dataclass
class AppendOutcome:
    stream_version: int
    positions: list[int]


class EventActivities:
    """Holds the store; each worker process opens one and shares it across threads."""

    def __init__(self, store: EventStore, delay_s: float = 0.0) -> None:
        self._store = store
        self._delay_s = delay_s
        """Tests only (``test_activity_delay_s``): a slow append, to stop a worker under."""

    @activity.defn(name="append_events")
    def append_events(self, req: AppendRequest) -> AppendOutcome:
        if self._delay_s:
            time.sleep(self._delay_s)
        events = [
            NewEvent(id=uuid.UUID(e.id), type=e.type, data=e.data, metadata=e.metadata)
            for e in req.events
        ]
        try:
            result = self._store.append(req.stream, events, req.expected_version)
        except (WrongExpectedVersion, DuplicateEventIds, InvalidEvent) as e:
            # Retrying cannot fix these: the workflow and the stream disagree.
            raise ApplicationError(str(e), type=type(e).__name__, non_retryable=True) from e
        return AppendOutcome(stream_version=result.stream_version, positions=result.positions)

    @activity.defn(name="notify_citizen")
    def notify_citizen(self, req: AppendRequest) -> AppendOutcome:
        """Deliver a message to the citizen's in-app inbox (the CitizenNotified event is
        the delivery record the notification feed reads). E-mail, SMS and WhatsApp
        channels plug in here; the event is appended only once the channel accepted."""
        return self.append_events(req)
