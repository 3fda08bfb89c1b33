"""Recording reads of personal data (``domain.access_log``) and reading a citizen's log
back. Each read is one append to the citizen's ``access-<account>`` stream: about 1.7 ms
on the SQLite store (``synchronous=FULL``), see README "Access log"."""

from __future__ import annotations

import uuid
from datetime import datetime

from domain.access_log import PERSONAL_DATA_READ, PersonalDataRead, access_stream
from eventstore.port import ANY, EventStore, NewEvent


def record(store: EventStore, read: PersonalDataRead) -> int:
    """Append the read to its citizen's log; its position."""
    event = NewEvent(
        uuid.uuid4(),
        PERSONAL_DATA_READ,
        read.model_dump(exclude_none=True),
        {"actor": read.staff},
    )
    return store.append(access_stream(read.citizen), [event], ANY).last_position


def reads_of(
    store: EventStore, citizen: str, *, limit: int, offset: int
) -> tuple[list[tuple[datetime, PersonalDataRead]], int]:
    """The citizen's log, newest first, one page; and how many reads it holds in all."""
    stream = access_stream(citizen)
    total = store.stream_version(stream) + 1
    if offset >= total:
        return [], total
    events = store.read_stream(stream, total - 1 - offset, backwards=True, limit=limit)
    return [
        (e.recorded_at, PersonalDataRead.model_validate(e.data))
        for e in events
        if e.type == PERSONAL_DATA_READ
    ], total
