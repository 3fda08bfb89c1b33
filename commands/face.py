"""Recording face enrolments in the event log: who enrolled a citizen's face, and how
(``domain.face_events``). The face worker has already stored the embedding when these
are appended; the event is the accountable record of it."""

from __future__ import annotations

import uuid

from domain.face_events import FaceEnrolled, FaceEnrolmentDeleted, Provenance, face_stream
from eventstore.port import EventStore, NewEvent


def enrolled(
    store: EventStore,
    account_id: str,
    backend: str,
    provenance: Provenance,
    by: str,
    replaced: bool,
) -> int:
    event = FaceEnrolled(backend=backend, provenance=provenance, by=by, replaced=replaced)
    return _append(store, account_id, event.TYPE, event.payload())


def deleted(store: EventStore, account_id: str, by: str) -> int:
    event = FaceEnrolmentDeleted(by=by)
    return _append(store, account_id, event.TYPE, event.payload())


def _append(store: EventStore, account_id: str, kind: str, data: dict[str, object]) -> int:
    result = store.append(face_stream(account_id), [NewEvent(uuid.uuid4(), kind, dict(data))])
    return result.last_position
