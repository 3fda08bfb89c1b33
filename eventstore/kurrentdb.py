"""KurrentDB backend of the event-store port, through ``kurrentdbclient``.

NOT VERIFIED: no KurrentDB server can run on Lincah's development and CI machines, so
this module is type-checked but has never run against a node. The contract suite runs
against it when ``LINCAH_KURRENTDB_URI`` is set (README, "Event store backends").

Mapping onto KurrentDB:

- A Lincah stream is a KurrentDB stream of the same name, after an optional prefix
  (``LincahPrefix=...`` in the connection string, stripped before it reaches the
  client; it keeps several stores, e.g. test runs, apart on one node).
- Event data is the canonical JSON of the data; the event's metadata field holds an
  envelope ``{"m": metadata, "t": recorded_at, "p": prev_hash, "h": hash}``: KurrentDB
  assigns its own commit time only after the append, so the hashed time is the
  client's clock when it appends.
- Positions are KurrentDB commit positions: they increase but are not dense.
- The expected version is checked by the server (``current_version``); a conflict
  re-reads the stream and is retried for ``ANY`` appends.
- Idempotency: before appending, the stream is searched for the batch's ids (only
  where an identical earlier append could have put them when the expected version is
  given; the whole stream for ``ANY``). KurrentDB has no index of event ids, so an id
  reused in *another* stream is not detected on this backend.
- Subscriptions poll ``$all`` (the port's default ``Subscription``).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, Final
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import orjson
from kurrentdbclient import KurrentDBClient, StreamState
from kurrentdbclient import NewEvent as KurrentNewEvent
from kurrentdbclient import RecordedEvent as KurrentRecordedEvent
from kurrentdbclient.exceptions import NotFoundError, WrongCurrentVersionError

from eventstore import chain
from eventstore.common import Row, Stored, check_limit, idempotent_result, validate
from eventstore.port import (
    ANY,
    NO_STREAM,
    AppendResult,
    EventStore,
    EventStoreError,
    NewEvent,
    RecordedEvent,
    WrongExpectedVersion,
)

PREFIX_PARAM: Final = "LincahPrefix"
MAX_ATTEMPTS: Final = 50


def split_prefix(url: str) -> tuple[str, str]:
    """The connection string without Lincah's own ``LincahPrefix`` parameter, and it."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    prefix = "".join(v for k, v in query if k == PREFIX_PARAM)
    rest = urlencode([(k, v) for k, v in query if k != PREFIX_PARAM])
    return urlunsplit(parts._replace(query=rest)), prefix


class KurrentEventStore(EventStore):
    backend = "kurrentdb"
    dense_positions = False

    def __init__(self, url: str) -> None:
        uri, self.prefix = split_prefix(url)
        try:
            self._client = KurrentDBClient(uri=uri)
        except Exception as exc:
            raise EventStoreError(f"cannot connect to KurrentDB: {exc}") from exc

    def close(self) -> None:
        self._client.close()

    # -- writing -----------------------------------------------------------------

    def append(
        self, stream: str, events: list[NewEvent], expected_version: int = ANY
    ) -> AppendResult:
        rows = validate(stream, events, expected_version)
        name = self.prefix + stream
        for _ in range(MAX_ATTEMPTS):
            stored = self._stored(name, stream, rows, expected_version)
            if stored:
                return idempotent_result(stream, rows, stored)
            last = self._last(name)
            current, prev_hash = (
                (NO_STREAM, chain.GENESIS) if last is None else (last.version, last.hash)
            )
            if expected_version == NO_STREAM and current != NO_STREAM:
                raise WrongExpectedVersion(stream, expected_version, current)
            if expected_version >= 0 and expected_version != current:
                raise WrongExpectedVersion(stream, expected_version, current)
            new_events = _encode(stream, rows, current, prev_hash)
            try:
                self._client.append_to_stream(
                    name,
                    events=new_events,
                    current_version=StreamState.NO_STREAM if current == NO_STREAM else current,
                )
            except WrongCurrentVersionError:
                continue  # another writer (or a racing retry) got there first: look again
            written = self.read_stream(stream, current + 1, limit=len(rows))
            return AppendResult(
                stream_version=current + len(rows), positions=[e.position for e in written]
            )
        raise EventStoreError(
            f"gave up appending to {stream!r} after {MAX_ATTEMPTS} concurrent conflicts"
        )

    def _stored(
        self, name: str, stream: str, rows: list[Row], expected_version: int
    ) -> dict[str, Stored]:
        ids = {row.event_id for row in rows}
        if expected_version == ANY:
            candidates = self._get(name, None, False, None)
        else:
            candidates = self._get(name, expected_version + 1, False, len(rows))
        found = [e for e in candidates if str(e.id) in ids]
        return {
            str(e.id): Stored(stream, e.stream_position, e.commit_position, e.type, e.data)
            for e in found
        }

    def _last(self, name: str) -> RecordedEvent | None:
        events = self._get(name, None, True, 1)
        return self._decode(events[0]) if events else None

    # -- reading -----------------------------------------------------------------

    def _get(
        self, name: str, position: int | None, backwards: bool, limit: int | None
    ) -> tuple[KurrentRecordedEvent, ...]:
        kwargs: dict[str, Any] = {"stream_position": position, "backwards": backwards}
        if limit is not None:
            kwargs["limit"] = limit
        try:
            return self._client.get_stream(name, **kwargs)
        except NotFoundError:
            return ()

    def read_stream(
        self,
        stream: str,
        from_version: int | None = None,
        *,
        backwards: bool = False,
        limit: int | None = None,
    ) -> list[RecordedEvent]:
        check_limit(limit)
        if limit == 0:
            return []
        return [
            self._decode(e) for e in self._get(self.prefix + stream, from_version, backwards, limit)
        ]

    def _read_all_kwargs(self) -> dict[str, Any]:
        if self.prefix:
            return {
                "filter_include": (self.prefix,),
                "filter_by_stream_name": True,
                "filter_by_prefix": True,
            }
        return {}

    def read_all(self, after: int = 0, limit: int = 1000) -> list[RecordedEvent]:
        check_limit(limit)
        if limit == 0:
            return []
        # Reading from a commit position includes the event there: ask for one more.
        response = self._client.read_all(
            commit_position=after or None, limit=limit + 1, **self._read_all_kwargs()
        )
        out: list[RecordedEvent] = []
        for event in response:
            if event.commit_position <= after or event.is_system_event:
                continue
            out.append(self._decode(event))
            if len(out) == limit:
                break
        return out

    def head_position(self) -> int:
        return self._client.get_commit_position(**self._read_all_kwargs())

    def stream_version(self, stream: str) -> int:
        version = self._client.get_current_version(self.prefix + stream)
        return NO_STREAM if version is StreamState.NO_STREAM else int(version)

    def _decode(self, event: KurrentRecordedEvent) -> RecordedEvent:
        envelope = orjson.loads(event.metadata) if event.metadata else {}
        if not isinstance(envelope, dict) or "h" not in envelope:
            envelope = {"m": envelope if isinstance(envelope, dict) else {}}
        recorded = envelope.get("t")
        return RecordedEvent(
            event.id,
            event.stream_name.removeprefix(self.prefix),
            event.stream_position,
            event.commit_position,
            event.type,
            orjson.loads(event.data),
            envelope.get("m", {}),
            datetime.fromisoformat(recorded)
            if isinstance(recorded, str)
            else (event.recorded_at or datetime.now(UTC)).astimezone(UTC),
            envelope.get("h", ""),
            envelope.get("p", ""),
        )


def _encode(stream: str, rows: list[Row], current: int, prev_hash: str) -> list[KurrentNewEvent]:
    recorded_at = chain.timestamp(datetime.now(UTC))
    out: list[KurrentNewEvent] = []
    version = current
    for row in rows:
        version += 1
        event_hash = chain.link(
            prev_hash, row.event_id, stream, version, row.type, recorded_at, row.data, row.metadata
        )
        envelope = orjson.dumps(
            {"m": orjson.Fragment(row.metadata), "t": recorded_at, "p": prev_hash, "h": event_hash}
        )
        out.append(
            KurrentNewEvent(
                type=row.type,
                data=row.data,
                metadata=envelope,
                id=uuid.UUID(row.event_id),
            )
        )
        prev_hash = event_hash
    return out
