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

A row that cannot even be read back as an event (a payload that is no longer JSON, a
NULL where a value belongs, a hash that is not 64 hex digits) is a broken link too: the
walker reports it at its position and goes on with the next event.
"""

from __future__ import annotations

import hashlib
import re
import struct
import uuid
from collections.abc import Callable, Iterable
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
_HEX64: Final = re.compile(r"^[0-9a-f]{64}$")


def canonical_json(value: object) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


def timestamp(at: datetime) -> str:
    """The canonical text of a recorded time."""
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def link(
    prev_hash: str,
    event_id: str | bytes,
    stream: str,
    version: int,
    event_type: str,
    recorded_at: str,
    data: bytes,
    metadata: bytes,
) -> str:
    """The hash of one event, from its canonical pieces (see the module docstring). The
    id is hashed in its text form, also when given as the 16 bytes SQLite stores."""
    if isinstance(event_id, bytes):
        event_id = str(uuid.UUID(bytes=event_id))
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
    """A broken link: where, and what is wrong there."""

    stream: str
    version: int | None
    """None when the stored row has no version."""
    position: int
    reason: str

    def __str__(self) -> str:
        version = "an unknown version" if self.version is None else f"version {self.version}"
        return (
            f"broken link in stream {self.stream!r} at {version} "
            f"(position {self.position}): {self.reason}"
        )


def unreadable(event: RecordedEvent) -> str | None:
    """What keeps a stored row from being read as an event, or None when it reads.
    Never quotes the payload: it may hold personal data."""
    problems: list[str] = []
    for index, name in enumerate(event._fields):
        if event[index] is None:
            problems.append(f"{name} is missing (NULL)")
    missing = {p.split(" ", 1)[0] for p in problems}

    def check(name: str, read: Callable[[], object], wrong: str) -> None:
        if name in missing:
            return
        try:
            value = read()
        except (ValueError, TypeError) as exc:  # orjson.JSONDecodeError is a ValueError
            problems.append(f"{name} {wrong} ({type(exc).__name__})")
            return
        if name in ("data", "metadata") and not isinstance(value, dict):
            problems.append(f"{name} is JSON but not an object ({type(value).__name__})")

    check("id", lambda: event.id, "is not a UUID")
    check(
        "data",
        lambda: orjson.loads(event[5]) if not isinstance(event[5], dict) else event[5],
        "is not valid JSON",
    )
    check(
        "metadata",
        lambda: orjson.loads(event[6]) if not isinstance(event[6], dict) else event[6],
        "is not valid JSON",
    )
    check("recorded_at", lambda: event.recorded_at, "is not an ISO 8601 time")
    for name, value in (("hash", event[8]), ("prev_hash", event[9])):
        if name not in missing and not (isinstance(value, str) and _HEX64.match(value)):
            problems.append(f"{name} is not 64 hex digits")
    if not problems:
        return None
    return "the stored row cannot be read as an event: " + "; ".join(problems)


class ChainWalker:
    """Checks events one by one, per stream, in the order of each stream's versions.

    Feed it a stream read forwards, or the global log (where each stream's events also
    come in version order); ``check`` returns the problem of that event, if any, and
    the walk can go on after it: the next event is checked against this one as stored.
    """

    def __init__(self) -> None:
        self.last: dict[str, tuple[int, str | None]] = {}
        """stream -> version and stored hash of its last event (None: unusable)."""
        self.events = 0

    def check(self, event: RecordedEvent) -> Break | None:
        self.events += 1
        stream = str(event[1])
        previous = self.last.get(stream)
        expected_version, expected_prev = (
            (0, GENESIS) if previous is None else (previous[0] + 1, previous[1])
        )
        # The cheap checks first; the payload is decoded once, by the hash itself, and
        # only a row that fails to decode is examined field by field.
        if any(value is None for value in event) or not (
            isinstance(event[8], str) and _HEX64.match(event[8])
        ):
            reason = unreadable(event)
        else:
            try:
                return self._link(event, stream, expected_version, expected_prev)
            except (ValueError, TypeError):  # orjson.JSONDecodeError is a ValueError
                reason = unreadable(event)
        version = event[2] if isinstance(event[2], int) else None
        stored = event[8] if isinstance(event[8], str) and _HEX64.match(event[8]) else None
        self.last[stream] = (expected_version if version is None else version, stored)
        return Break(stream, version, event.position, reason or "the stored row cannot be read")

    def _link(
        self, event: RecordedEvent, stream: str, expected_version: int, expected: str | None
    ) -> Break | None:
        # After an unreadable row the expected link is unknown (None); this event's own
        # hash still proves its content.
        prev = event.prev_hash if expected is None else expected
        computed = event_hash(event, prev)
        self.last[stream] = (event.version, event.hash)
        if event.version != expected_version:
            return Break(
                stream,
                event.version,
                event.position,
                f"expected version {expected_version} here: an event is missing or moved",
            )
        if event.prev_hash != prev:
            return Break(
                stream,
                event.version,
                event.position,
                f"prev_hash {event.prev_hash[:16]}... does not match the previous event's "
                f"hash {prev[:16]}...",
            )
        if computed != event.hash:
            return Break(
                stream,
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
