"""The event-store port: what every backend (SQLite, PostgreSQL, KurrentDB) provides.

Streams hold events at versions 0, 1, 2, ...; the store as a whole orders every event
by a global position that only increases (1, 2, 3, ... on SQLite and PostgreSQL; the
log position on KurrentDB). Appends are idempotent by event id: re-appending a batch
whose ids are all stored returns the stored positions and writes nothing, which is what
makes retried Temporal activities safe. Every event carries a hash chained to the
previous event of its stream (``eventstore.chain``).

A reader never skips an event: once ``read_all`` has returned an event at position P,
no event with a position below P can appear later. Catch-up subscriptions
(``EventStore.subscribe``) build on that.
"""

from __future__ import annotations

import abc
import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from types import TracebackType
from typing import Any, Final, cast

import orjson

from eventstore.chain import GENESIS

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


class RecordedEvent(tuple[Any, ...]):
    """A stored event. Immutable; compares by its stored values.

    Backends build it straight from a stored row, and the fields that cost most to
    decode are decoded when read: ``data`` and ``metadata`` (JSON bytes; each read
    returns a fresh dict), ``id`` (text, or 16 bytes from SQLite) and ``recorded_at``
    (ISO text). A consumer that never looks at the metadata or the id (the projector)
    never pays for them.
    """

    __slots__ = ()
    _fields: Final = (
        "id",
        "stream",
        "version",
        "position",
        "type",
        "data",
        "metadata",
        "recorded_at",
        "hash",
        "prev_hash",
    )

    def __new__(
        cls,
        id: uuid.UUID | str | bytes,
        stream: str,
        version: int,
        position: int,
        type: str,
        data: dict[str, Any] | bytes | str,
        metadata: dict[str, Any] | bytes | str,
        recorded_at: datetime | str,
        hash: str = GENESIS,
        prev_hash: str = GENESIS,
    ) -> RecordedEvent:
        return tuple.__new__(
            cls,
            (id, stream, version, position, type, data, metadata, recorded_at, hash, prev_hash),
        )

    @classmethod
    def from_row(cls, row: tuple[Any, ...]) -> RecordedEvent:
        """From the ten stored values in field order, undecoded (for backends)."""
        return tuple.__new__(cls, row)

    @property
    def id(self) -> uuid.UUID:
        value = self[0]
        if isinstance(value, uuid.UUID):
            return value
        # SQLite stores the 16 bytes; the other backends give text.
        return uuid.UUID(bytes=value) if isinstance(value, bytes) else uuid.UUID(value)

    @property
    def stream(self) -> str:
        return cast(str, self[1])

    @property
    def version(self) -> int:
        return cast(int, self[2])

    @property
    def position(self) -> int:
        return cast(int, self[3])

    @property
    def type(self) -> str:
        return cast(str, self[4])

    @property
    def data(self) -> dict[str, Any]:
        value = self[5]
        return value if isinstance(value, dict) else cast(dict[str, Any], orjson.loads(value))

    @property
    def metadata(self) -> dict[str, Any]:
        value = self[6]
        return value if isinstance(value, dict) else cast(dict[str, Any], orjson.loads(value))

    @property
    def recorded_at(self) -> datetime:
        value = self[7]
        return value if isinstance(value, datetime) else datetime.fromisoformat(value)

    @property
    def hash(self) -> str:
        """SHA-256 (hex) of this event chained to ``prev_hash`` (``eventstore.chain``)."""
        return cast(str, self[8])

    @property
    def prev_hash(self) -> str:
        """The hash of the previous event of the stream; all zeros for version 0."""
        return cast(str, self[9])

    def replace(self, **changes: Any) -> RecordedEvent:
        """A copy with some fields changed (as ``dataclasses.replace``)."""
        values = dict(zip(self._fields, self, strict=True))
        unknown = set(changes) - set(values)
        if unknown:
            raise TypeError(f"RecordedEvent has no field {', '.join(sorted(unknown))}")
        values.update(changes)
        return RecordedEvent(**values)

    def __repr__(self) -> str:
        return (
            f"RecordedEvent(stream={self.stream!r}, version={self.version}, "
            f"position={self.position}, type={self.type!r}, id={self[0]!s})"
        )

    def __getnewargs__(self) -> tuple[Any, ...]:
        return tuple(self)


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
    backend: str = "?"
    """The name ``eventstore.factory.open_event_store`` knows this backend by."""
    dense_positions: bool = False
    """True when positions are 1, 2, 3, ... without gaps, so a missing one means a
    deleted event (SQLite, PostgreSQL); KurrentDB's log positions have gaps."""

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

    def subscribe(self, after: int = 0, *, batch_size: int = 500) -> Subscription:
        """A catch-up subscription: batches of the events after position ``after``,
        first those already stored, then new ones as they are appended."""
        return Subscription(self, after, batch_size)

    def wait_for_append(self, after: int, timeout: float) -> None:
        """Block until an event after position ``after`` may have been appended, or
        ``timeout`` seconds passed. Backends wake early where they can (PostgreSQL:
        LISTEN/NOTIFY; SQLite: appends of this process); this default just waits."""
        threading.Event().wait(timeout)

    def close(self) -> None:  # noqa: B027 - optional for backends without resources
        """Release connections."""


class Subscription:
    """Catch-up subscription to the global log, from a checkpoint.

    ``next_batch`` returns the next events after ``position`` (at most ``batch_size``),
    waiting up to ``timeout`` seconds for new ones once caught up, and advances
    ``position``. ``seek`` moves it (e.g. back to a consumer's committed checkpoint).
    Because readers never skip an event, consuming batches in order and committing the
    last position with their effects gives exactly-once effects.
    """

    def __init__(self, store: EventStore, after: int, batch_size: int) -> None:
        if after < 0:
            raise ValueError(f"a subscription starts after a position >= 0, got {after}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.store = store
        self.position = after
        self.batch_size = batch_size
        self.closed = False

    def next_batch(self, timeout: float = 1.0) -> list[RecordedEvent]:
        if self.closed:
            raise EventStoreError("the subscription is closed")
        batch = self.store.read_all(after=self.position, limit=self.batch_size)
        if not batch and timeout > 0:
            self._wait(timeout)
            batch = self.store.read_all(after=self.position, limit=self.batch_size)
        if batch:
            self.position = batch[-1].position
        return batch

    def seek(self, position: int) -> None:
        self.position = position

    def _wait(self, timeout: float) -> None:
        self.store.wait_for_append(self.position, timeout)

    def close(self) -> None:
        self.closed = True

    def __enter__(self) -> Subscription:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
