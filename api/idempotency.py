"""Idempotency-Key: a client that retries a command with the same key gets the first
answer, and the command takes effect once.

Each key a caller uses gets a small stream in the event store, ``idem-<sha256 of caller
and key>`` (so it survives restarts and every API process sees it):

- version 0, ``IdempotencyKeyUsed``: the command and a fingerprint of the request,
  appended with expected version NO_STREAM, so of two racing requests one claims the
  key; for a submission it also holds the application number reserved for it.
- version 1, ``IdempotentAnswerRecorded``: the answer, once the command succeeded.

A retry finds the answer and replays it without running anything. The gap between a
command taking effect and its answer being recorded (the API stopped, Temporal
answered too late) is closed by keying the command itself: a workflow update carries
``Key.update_id`` (Temporal runs an update id once and hands its first result to every
retry, also after the workflow closed), a catalogue write carries ``Key.event_id`` (the
store appends an event id once), and a submission reuses the number in its claim.

Refusals (4xx) and 503s are not recorded: nothing took effect, or the retry has to find
out, so a retry runs the command again. The same key with another request is refused
with 422, never run.
"""

from __future__ import annotations

import contextlib
import hashlib
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any, Final, TypeVar

import orjson
from fastapi import Header
from pydantic_core import to_jsonable_python
from starlette.concurrency import run_in_threadpool

from domain.refusals import Invalid
from eventstore.port import NO_STREAM, EventStore, NewEvent, WrongExpectedVersion

HEADER: Final = "Idempotency-Key"
KEY_USED: Final = "IdempotencyKeyUsed"
ANSWER_RECORDED: Final = "IdempotentAnswerRecorded"
_NAMESPACE: Final = uuid.UUID("0b7d3f4e-58a1-4c3e-9d55-2f7b0c6e1a93")

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias=HEADER,
        min_length=1,
        max_length=200,
        pattern=r"^[\x21-\x7e]+$",
        description="Any unique string (a UUID) chosen by the client per command. A retry "
        "with the same key answers the first result and records nothing new; the same key "
        "with a different request is refused with 422.",
    ),
]
"""The header, for the signature of every command route."""

T = TypeVar("T")


@dataclass(frozen=True)
class Key:
    """One caller's Idempotency-Key for one command with one request."""

    value: str
    caller: str
    command: str
    fingerprint: str

    @classmethod
    def of(cls, header: str | None, caller: str, command: str, request: Any) -> Key | None:
        """The key of a request (None without the header). ``request`` is everything
        that makes the command what it is (path parameters and body), JSON-able."""
        if header is None:
            return None
        canonical = orjson.dumps(
            {"command": command, "request": to_jsonable_python(request)},
            option=orjson.OPT_SORT_KEYS,
        )
        return cls(header, caller, command, hashlib.sha256(canonical).hexdigest())

    @property
    def digest(self) -> str:
        """Names the key without naming the caller (it is stored in events)."""
        return hashlib.sha256(f"{self.caller}\n{self.value}".encode()).hexdigest()

    @property
    def stream(self) -> str:
        return f"idem-{self.digest}"

    @property
    def update_id(self) -> str:
        """The Temporal update id: Temporal deduplicates updates by it."""
        return f"{self.command}-{self.digest[:40]}"

    @property
    def event_id(self) -> uuid.UUID:
        """The id of the one domain event a catalogue command writes for this key."""
        return uuid.uuid5(_NAMESPACE, self.stream)


@dataclass(frozen=True)
class Earlier:
    """What an earlier request with the same key left."""

    claim: dict[str, Any]
    answer: Any | None
    """The recorded answer's JSON body; None while the command has not succeeded."""


def earlier(store: EventStore, key: Key) -> Earlier | None:
    """The earlier use of this key, or None. Raises Invalid when it was
    used for another request."""
    events = store.read_stream(key.stream, limit=2)
    if not events:
        return None
    claim = events[0].data
    if claim["fingerprint"] != key.fingerprint:
        what = "another command" if claim["command"] != key.command else "a different request"
        raise Invalid(
            f"the {HEADER} {key.value!r} was already used for {what} ({claim['command']}); "
            "send a new key with a new request, and the same key only to retry the same one",
        )
    answer = events[1].data["body"] if len(events) > 1 else None
    return Earlier(claim, answer)


def claim(store: EventStore, key: Key, **data: Any) -> Earlier | None:
    """Claim the key for this request. None when this request claimed it; what the
    earlier request left when another one (with the same request) was first."""
    try:
        store.append(
            key.stream,
            [
                NewEvent(
                    uuid.uuid4(),
                    KEY_USED,
                    {"command": key.command, "fingerprint": key.fingerprint, **data},
                )
            ],
            expected_version=NO_STREAM,
        )
    except WrongExpectedVersion:
        return earlier(store, key)
    return None


def record(store: EventStore, key: Key, body: Any) -> None:
    """Keep the answer of the succeeded command for retries."""
    # A racing retry with the same request may have recorded it first.
    with contextlib.suppress(WrongExpectedVersion):
        store.append(
            key.stream,
            [NewEvent(uuid.uuid4(), ANSWER_RECORDED, {"body": body})],
            expected_version=0,
        )


async def once(
    store: EventStore,
    key: Key | None,
    run: Callable[[], Awaitable[T]],
    load: Callable[[Any], T],
) -> T:
    """Run the command unless this key already has an answer; record the answer.
    ``load`` turns a recorded JSON body back into the route's result."""
    if key is None:
        return await run()
    before = await run_in_threadpool(earlier, store, key)
    if before is None:
        before = await run_in_threadpool(claim, store, key)
    if before is not None and before.answer is not None:
        return load(before.answer)
    result = await run()
    await run_in_threadpool(record, store, key, to_jsonable_python(result))
    return result


def submission_number(
    store: EventStore, key: Key, before: Earlier | None, reserve: Callable[[], str]
) -> tuple[str, bool]:
    """The application number of a submission with this key, and whether an earlier
    request with the key reserved it (so its workflow may exist). Of two racing
    requests one claims the key and both use its number (the other's reservation stays
    unused)."""
    if before is not None:
        return str(before.claim["application_id"]), True
    number = reserve()
    first = claim(store, key, application_id=number)
    if first is None:
        return number, False
    return str(first.claim["application_id"]), True


def as_dict(body: Any) -> dict[str, Any]:
    """``load`` for routes that answer a plain JSON object."""
    return dict(body)
