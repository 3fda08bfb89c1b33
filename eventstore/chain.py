"""Tamper evidence: every event carries a SHA-256 hash chained to the previous event of
its stream.

Canonical encoding (version 1). The hash of an event is::

    sha256( b"lincah-event-v1"
            || field(prev_hash)      32 raw bytes: the previous event's hash,
                                     all zero for the stream's first event (version 0)
            || field(event_id)       the UUID in canonical lower-case hex with dashes
            || field(stream)         UTF-8
            || field(version)        decimal ASCII, e.g. b"0", b"17"
            || field(type)           UTF-8
            || field(recorded_at)    UTC, ISO 8601 with microseconds and "+00:00",
                                     e.g. b"2026-11-28T08:34:10.765144+00:00"
            || field(data)           orjson.dumps(data, option=OPT_SORT_KEYS)
            || field(metadata)       orjson.dumps(metadata, option=OPT_SORT_KEYS) )

    field(b) = len(b) as 4-byte big-endian unsigned || b

and is written as 64 lower-case hex digits. The length prefixes make the encoding
unambiguous (no two different events encode to the same bytes); sorted keys make the
JSON canonical, so anyone holding the events (``RecordedEvent``) can recompute the
chain without access to the stored bytes. Every backend stores the canonical JSON bytes
as they were hashed; the PostgreSQL backend computes the same encoding in SQL (see
``eventstore/postgres.py``) and the contract tests check that both agree.

What the chain proves: editing an event's type, data, metadata, time, id, stream or
version, deleting an event from the middle of a stream or reordering events breaks the
link at that event (or the next one). Cutting the newest events off a stream leaves a
shorter, valid chain; the global positions of the SQLite and PostgreSQL stores are
dense (1, 2, 3, ...), so ``lincah audit verify`` also reports missing positions.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Final

import orjson

if TYPE_CHECKING:
    from eventstore.port import RecordedEvent

GENESIS: Final = "0" * 64
"""``prev_hash`` of a stream's first event."""
MAGIC: Final = b"lincah-event-v1"
_LEN = struct.Struct(">I").pack


def canonical_json(value: object) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


def timestamp(at: datetime) -> str:
    """The canonical text of a recorded time."""
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def link(
    prev_hash: str,
    event_id: str,
    stream: str,
    version: int,
    event_type: str,
    recorded_at: str,
    data: bytes,
    metadata: bytes,
) -> str:
    """The hash of one event, from its canonical pieces (see the module docstring)."""
    parts = (
        bytes.fromhex(prev_hash),
        event_id.encode("ascii"),
        stream.encode("utf-8"),
        str(version).encode("ascii"),
        event_type.encode("utf-8"),
        recorded_at.encode("ascii"),
        data,
        metadata,
    )
    framed = [MAGIC]
    for part in parts:
        framed.append(_LEN(len(part)))
        framed.append(part)
    return hashlib.sha256(b"".join(framed)).hexdigest()


def event_hash(event: RecordedEvent, prev_hash: str | None = None) -> str:
    """Recompute ``event``'s hash from its content (and ``prev_hash``, default the one
    it carries)."""
    return link(
        event.prev_hash if prev_hash is None else prev_hash,
        str(event.id),
        event.stream,
        event.version,
        event.type,
        timestamp(event.recorded_at),
        canonical_json(event.data),
        canonical_json(event.metadata),
    )


@dataclass(frozen=True)
class Break:
    """The first broken link found."""

    stream: str
    version: int
    position: int
    reason: str

    def __str__(self) -> str:
        return (
            f"broken link in stream {self.stream!r} at version {self.version} "
            f"(position {self.position}): {self.reason}"
        )


class ChainWalker:
    """Checks events one by one, per stream, in the order of each stream's versions.

    Feed it a stream read forwards, or the global log (where each stream's events also
    come in version order); ``check`` returns the first problem of that event, if any.
    """

    def __init__(self) -> None:
        self.last: dict[str, tuple[int, str]] = {}
        self.events = 0

    def check(self, event: RecordedEvent) -> Break | None:
        self.events += 1
        previous = self.last.get(event.stream)
        expected_version, expected_prev = (
            (0, GENESIS) if previous is None else (previous[0] + 1, previous[1])
        )
        self.last[event.stream] = (event.version, event.hash)
        if event.version != expected_version:
            return Break(
                event.stream,
                event.version,
                event.position,
                f"expected version {expected_version} here: an event is missing or moved",
            )
        if event.prev_hash != expected_prev:
            return Break(
                event.stream,
                event.version,
                event.position,
                f"prev_hash {event.prev_hash[:16]}... does not match the previous event's "
                f"hash {expected_prev[:16]}...",
            )
        computed = event_hash(event, expected_prev)
        if computed != event.hash:
            return Break(
                event.stream,
                event.version,
                event.position,
                f"stored hash {event.hash[:16]}... but the content hashes to "
                f"{computed[:16]}...: the event was changed after it was written",
            )
        return None

    @property
    def streams(self) -> int:
        return len(self.last)


def verify(events: Iterable[RecordedEvent]) -> Break | None:
    """The first broken link of ``events`` (one or more streams, each in version order)."""
    walker = ChainWalker()
    for event in events:
        problem = walker.check(event)
        if problem is not None:
            return problem
    return None
