"""What every backend shares: validating an append, canonical serialisation, and the
idempotent-retry decision."""

from __future__ import annotations

import uuid
from typing import Final, NamedTuple

import orjson

from eventstore.port import (
    ANY,
    MAX_EVENT_BYTES,
    MAX_STREAM_NAME,
    AppendResult,
    DuplicateEventIds,
    InvalidEvent,
    NewEvent,
)

MAX_EVENT_TYPE: Final = 200


class Row(NamedTuple):
    """One validated event of a batch: id, type, canonical data and metadata bytes."""

    event_id: str
    type: str
    data: bytes
    metadata: bytes


class Stored(NamedTuple):
    """What the idempotency check needs of a stored event with one of the batch's ids."""

    stream: str
    version: int
    position: int
    type: str
    data: bytes


def validate(stream: object, events: object, expected_version: object) -> list[Row]:
    """The batch's rows, or InvalidEvent naming the first problem."""
    if not isinstance(stream, str) or not stream:
        raise InvalidEvent(f"stream name must be a non-empty string, got {stream!r}")
    if len(stream) > MAX_STREAM_NAME:
        raise InvalidEvent(
            f"stream name is {len(stream)} characters, the limit is {MAX_STREAM_NAME}: "
            f"{stream[:40]!r}..."
        )
    if "\x00" in stream:
        raise InvalidEvent(f"stream name must not contain NUL characters: {stream!r}")
    if (
        not isinstance(expected_version, int)
        or isinstance(expected_version, bool)
        or expected_version < ANY
    ):
        raise InvalidEvent(
            "expected_version must be ANY (-2), NO_STREAM (-1) or a stream version >= 0, "
            f"got {expected_version!r}"
        )
    if not isinstance(events, list | tuple) or not events:
        raise InvalidEvent(f"an append needs a non-empty list of events (stream {stream!r})")

    rows: list[Row] = []
    seen: set[str] = set()
    for index, event in enumerate(events):
        where = f"event #{index} of the batch for stream {stream!r}"
        if not isinstance(event, NewEvent):
            raise InvalidEvent(f"{where} is a {type(event).__name__}, not a NewEvent")
        if not isinstance(event.id, uuid.UUID):
            raise InvalidEvent(f"{where} has id {event.id!r}, which is not a uuid.UUID")
        event_id = str(event.id)
        if event_id in seen:
            raise InvalidEvent(f"{where} repeats event id {event_id} within the batch")
        seen.add(event_id)
        if not isinstance(event.type, str) or not event.type:
            raise InvalidEvent(f"{where} ({event_id}) has an empty event type")
        if len(event.type) > MAX_EVENT_TYPE:
            raise InvalidEvent(
                f"{where} ({event_id}) has a {len(event.type)}-character event type; "
                f"the limit is {MAX_EVENT_TYPE}"
            )
        if "\x00" in event.type:
            raise InvalidEvent(f"{where} ({event_id}) has a NUL character in its event type")
        data = serialise(event.data, f"data of {where} ({event_id}, {event.type})")
        metadata = serialise(event.metadata, f"metadata of {where} ({event_id}, {event.type})")
        size = len(data) + len(metadata)
        if size > MAX_EVENT_BYTES:
            raise InvalidEvent(
                f"{where} ({event_id}, {event.type}) serialises to {size} bytes of data and "
                f"metadata; the limit is {MAX_EVENT_BYTES} (keep large files in the "
                "document store and put a reference in the event)"
            )
        rows.append(Row(event_id, event.type, data, metadata))
    return rows


def serialise(value: object, what: str) -> bytes:
    if not isinstance(value, dict):
        raise InvalidEvent(f"{what} must be a dict, got {type(value).__name__}")
    try:
        # Sorted keys make the bytes canonical: an idempotent retry whose dict was built
        # in another order still matches the stored event, and the hash chain is
        # reproducible from the decoded event (eventstore.chain).
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    except TypeError as exc:  # orjson.JSONEncodeError is a TypeError
        raise InvalidEvent(f"{what} is not JSON-serialisable: {exc}") from exc


def idempotent_result(stream: str, rows: list[Row], stored: dict[str, Stored]) -> AppendResult:
    """The stored result when every id of the batch is stored as this very event;
    DuplicateEventIds otherwise. The expected version is deliberately not checked: a
    retry of an append that succeeded must succeed again, whatever was appended since.
    Metadata is not compared (a retry may carry a new trace or attempt number)."""
    new = [row.event_id for row in rows if row.event_id not in stored]
    if new:
        raise DuplicateEventIds(
            f"the batch for stream {stream!r} mixes stored and new event ids: "
            f"stored {id_list([r.event_id for r in rows if r.event_id in stored])}, "
            f"new {id_list(new)}; a retry must resend exactly the stored events"
        )
    conflicts: list[str] = []
    for row in rows:
        other = stored[row.event_id]
        if other.stream != stream:
            conflicts.append(f"{row.event_id} is stored in stream {other.stream!r}")
        elif other.type != row.type:
            conflicts.append(f"{row.event_id} is stored with type {other.type!r}, not {row.type!r}")
        elif bytes(other.data) != row.data:
            conflicts.append(f"{row.event_id} is stored with different data")
    if conflicts:
        raise DuplicateEventIds(
            f"event ids of the batch for stream {stream!r} are already used by other "
            f"events: {'; '.join(conflicts)}"
        )
    return AppendResult(
        stream_version=stored[rows[-1].event_id].version,
        positions=[stored[row.event_id].position for row in rows],
    )


def id_list(ids: list[str], shown: int = 10) -> str:
    text = ", ".join(ids[:shown])
    return text if len(ids) <= shown else f"{text} and {len(ids) - shown} more"


def check_limit(limit: int | None) -> None:
    """The read limit every backend accepts: none, or zero and up."""
    if limit is not None and limit < 0:
        raise ValueError(f"limit must be >= 0, got {limit}")
