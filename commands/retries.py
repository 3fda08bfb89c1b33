"""Retried commands: a command with an Idempotency-Key writes its event with an id derived
from the key, so its retry finds that event and answers from it instead of writing again."""

from __future__ import annotations

import uuid

from eventstore.port import EventStore, RecordedEvent


def stored_event(
    store: EventStore, stream: str, event_id: uuid.UUID | None
) -> RecordedEvent | None:
    """The event ``event_id`` of ``stream``, when a command with an Idempotency-Key
    (``event_id`` derives from it) already wrote it: its retry answers from it."""
    if event_id is None:
        return None
    return next((e for e in store.read_stream(stream) if e.id == event_id), None)
