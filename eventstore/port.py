"""The event-store port: what every backend (SQLite, PostgreSQL, KurrentDB) provides.

Streams hold events at versions 0, 1, 2, ...; the store as a whole orders every event
by a global position 1, 2, 3, ... that only increases. Appends are idempotent by event
id: re-appending a batch whose ids are all stored returns the stored positions and
writes nothing, which is what makes retried Temporal activities safe.
"""

from __future__ import annotations

import abc
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

ANY: Final = -2
"""Expected version: append whatever the stream's current version is."""
NO_STREAM: Final = -1
"""Expected version: the stream must not exist yet."""

MAX_STREAM_NAME: Final = 200
MAX_EVENT_BYTES: Final = 4 * 1024 * 1024
"""Serialised data + metadata of one event; large files belong in a document store."""


class EventStoreError(Exception):
    """Base class of every error the store raises on purpose."""


class WrongExpectedVersion(EventStoreError):
    def __init__(self, stream: str, expected: int, current: int) -> None:
        super().__init__(
            f"stream {stream!r} is at version {current}, the append expected {expected}"
        )
        self.stream = stream
        self.expected = expected
        self.current = current


class DuplicateEventIds(EventStoreError):
    """A batch mixes stored and new ids, or reuses an id of another stream or content."""


class InvalidEvent(EventStoreError):
    """Bad input: empty or oversized stream name, non-JSON payload, oversized event."""


@dataclass(frozen=True)
class NewEvent:
    id: uuid.UUID
    type: str
    data: dict[str, Any]
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RecordedEvent:
    id: uuid.UUID
    stream: str
    version: int
    position: int
    type: str
    data: dict[str, Any]
    metadata: dict[str, Any]
    recorded_at: datetime


@dataclass(frozen=True)
class AppendResult:
    stream_version: int
    """Version of the last event of the batch."""
    positions: list[int]
    """Global position of each event of the batch, in order."""

    @property
    def last_position(self) -> int:
        return self.positions[-1]


class EventStore(abc.ABC):
    @abc.abstractmethod
    def append(
        self, stream: str, events: list[NewEvent], expected_version: int = ANY
    ) -> AppendResult:
        """Append atomically. ``expected_version`` is ANY, NO_STREAM or the version of the
        stream's last event. Raises WrongExpectedVersion, DuplicateEventIds, InvalidEvent."""

    @abc.abstractmethod
    def read_stream(
        self,
        stream: str,
        from_version: int | None = None,
        *,
        backwards: bool = False,
        limit: int | None = None,
    ) -> list[RecordedEvent]:
        """Events of one stream from ``from_version`` (inclusive; default: the first event,
        or the last when reading backwards). An unknown stream reads as empty."""

    @abc.abstractmethod
    def read_all(self, after: int = 0, limit: int = 1000) -> list[RecordedEvent]:
        """Events of every stream with position > ``after``, in position order."""

    @abc.abstractmethod
    def head_position(self) -> int:
        """Position of the last stored event; 0 when the store is empty."""

    @abc.abstractmethod
    def stream_version(self, stream: str) -> int:
        """Version of the stream's last event; NO_STREAM (-1) when it has none."""

    def close(self) -> None:  # noqa: B027 - optional for backends without resources
        """Release connections."""
