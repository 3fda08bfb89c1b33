"""Anchored audit trail: signed checkpoints of the event log, published outside the
database, so that a stream rewritten *and re-hashed* in the database is still caught.

The hash chains (``eventstore.chain``) catch an edit by someone who cannot recompute
hashes; anyone with write access to the database can, so the chains alone prove
nothing against the database administrator. A checkpoint fixes the log's state at a
position: the head (last version and its stored hash) of every stream at that position,
summed up by a Merkle root, with the time, signed with the agency's Ed25519 key. It is
published to a ledger (``audit.ledger``) the database administrator cannot rewrite.
``verify_checkpoint`` recomputes the heads at the checkpoint's position from the
database: a stream edited at or before that position and re-hashed to the end has
another head hash there, and is named.

Merkle root (version 1), over the streams sorted by name (UTF-8 bytes), as RFC 6962's
Merkle Tree Hash::

    leaf(stream, version, hash) = sha256(0x00 || field(stream) || field(version) || field(hash))
    node(left, right)           = sha256(0x01 || left || right)
    root of no streams          = sha256(b"")

with ``field`` the length-prefixed bytes of ``eventstore.chain`` (version as decimal
ASCII, hash as its 64 hex digits) and the tree split at the largest power of two below
the number of leaves. Anyone holding the heads can recompute it.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

import orjson
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from documents.signing import public_key_id, sign, signature_valid
from eventstore.port import EventStore

FORMAT: Final = "lincah-checkpoint-v1"
PAGE: Final = 2000
"""Events per read while walking the log."""
_LEN = struct.Struct(">I").pack

Heads = dict[str, tuple[int, str]]
"""stream -> (version, stored hash) of its last event at a position."""


# -- the Merkle root ---------------------------------------------------------------------


def _field(b: bytes) -> bytes:
    return _LEN(len(b)) + b


def leaf_hash(stream: str, version: int, head: str) -> bytes:
    return hashlib.sha256(
        b"\x00"
        + _field(stream.encode("utf-8"))
        + _field(str(version).encode("ascii"))
        + _field(head.encode("ascii"))
    ).digest()


def merkle_root(heads: Mapping[str, tuple[int, str]]) -> str:
    """The root over every stream's head (see the module docstring), 64 hex digits."""
    leaves = [leaf_hash(s, *heads[s]) for s in sorted(heads, key=lambda s: s.encode("utf-8"))]
    return _tree(leaves).hex()


def _tree(nodes: Sequence[bytes]) -> bytes:
    if not nodes:
        return hashlib.sha256(b"").digest()
    if len(nodes) == 1:
        return nodes[0]
    split = 1 << ((len(nodes) - 1).bit_length() - 1)  # largest power of two below n
    return hashlib.sha256(b"\x01" + _tree(nodes[:split]) + _tree(nodes[split:])).digest()


# -- the heads at a position --------------------------------------------------------------


def heads_at(store: EventStore, position: int, start: Heads | None = None, after: int = 0) -> Heads:
    """Every stream's head at ``position``, as the database holds it now: walked from
    ``after`` on ``start`` (the heads at ``after``; default the empty log)."""
    heads: Heads = dict(start or {})
    for event in _walk(store, after, position):
        heads[str(event[1])] = (int(event[2]), str(event[8]))
    return heads


def _walk(store: EventStore, after: int, until: int) -> Iterator[Any]:
    while after < until and (page := store.read_all(after=after, limit=PAGE)):
        for event in page:
            if event.position > until:
                return
            yield event
        after = page[-1].position


# -- checkpoints ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Checkpoint:
    """What is signed: the log's state at ``position``."""

    seq: int
    """1 for the first checkpoint of a ledger, then 2, 3, ..."""
    position: int
    root: str
    streams: int
    at: str
    """UTC, ISO 8601 with microseconds."""
    key_id: str
    """The signing key's id (``documents.signing.public_key_id``)."""
    heads: Heads = field(repr=False)

    def body(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "seq": self.seq,
            "position": self.position,
            "root": self.root,
            "streams": self.streams,
            "at": self.at,
            "key_id": self.key_id,
            "heads": {s: [v, h] for s, (v, h) in sorted(self.heads.items())},
        }

    def signed_bytes(self) -> bytes:
        return orjson.dumps(self.body(), option=orjson.OPT_SORT_KEYS)

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> Checkpoint:
        """Raises ValueError (or KeyError/TypeError) on a body that is not one."""
        if body.get("format") != FORMAT:
            raise ValueError(f"not a {FORMAT} checkpoint")
        heads = {str(s): (int(vh[0]), str(vh[1])) for s, vh in body["heads"].items()}
        return cls(
            seq=int(body["seq"]),
            position=int(body["position"]),
            root=str(body["root"]),
            streams=int(body["streams"]),
            at=str(body["at"]),
            key_id=str(body["key_id"]),
            heads=heads,
        )


@dataclass(frozen=True)
class SignedCheckpoint:
    checkpoint: Checkpoint
    signature: str
    """Ed25519 over ``checkpoint.signed_bytes()``, base64."""

    def valid_under(self, key: Ed25519PublicKey) -> bool:
        return signature_valid(key, self.checkpoint.signed_bytes(), self.signature)


class Discontinuity(Exception):
    """The log no longer continues the last checkpoint: a stream's first event after
    it does not chain to the head that checkpoint signed."""

    def __init__(self, checkpoint: Checkpoint, streams: list[str]) -> None:
        self.checkpoint = checkpoint
        self.streams = streams
        shown = ", ".join(repr(s) for s in streams[:10])
        more = f" and {len(streams) - 10} more" if len(streams) > 10 else ""
        super().__init__(
            f"the log does not continue checkpoint {checkpoint.seq} (position "
            f"{checkpoint.position}): the first event after it of stream(s) {shown}{more} "
            "does not chain to the head that checkpoint signed; the stream was rewritten "
            "and re-hashed. Nothing was signed; run `lincah audit verify`"
        )


def make_checkpoint(
    store: EventStore,
    key: Ed25519PrivateKey,
    previous: Checkpoint | None = None,
    now: datetime | None = None,
) -> SignedCheckpoint | None:
    """A signed checkpoint of the log as it is now, or None when nothing was appended
    since ``previous``. Only the events since ``previous`` are read: the heads it signed
    are carried over, and each stream's first new event must chain to its signed head
    (else ``Discontinuity``, and nothing is signed). So a stream rewritten and re-hashed
    after one checkpoint is never signed into the next, and each checkpoint vouches for
    every one before it: checking the log against the last one is enough."""
    start, after = (previous.heads, previous.position) if previous else ({}, 0)
    heads: Heads = dict(start)
    broken: list[str] = []
    # Up to the head as it is now; the checkpoint's position is the last event read
    # (a backend's reader holds back events that lower ones could still precede).
    position = after
    for event in _walk(store, after, store.head_position()):
        position = event.position
        stream, version, stored = str(event[1]), int(event[2]), str(event[8])
        before = heads.get(stream)
        expected = (-1, "") if before is None else before
        continues = version == expected[0] + 1 and (before is None or str(event[9]) == expected[1])
        if not continues and stream in start and heads[stream] == start[stream]:
            broken.append(stream)
        heads[stream] = (version, stored)
    if position == after:
        return None  # nothing appended since ``previous`` (or an empty log)
    if broken and previous is not None:
        raise Discontinuity(previous, broken)
    checkpoint = Checkpoint(
        seq=previous.seq + 1 if previous else 1,
        position=position,
        root=merkle_root(heads),
        streams=len(heads),
        at=(now or datetime.now(UTC)).astimezone(UTC).isoformat(timespec="microseconds"),
        key_id=public_key_id(key.public_key()),
        heads=heads,
    )
    return SignedCheckpoint(checkpoint, sign(key, checkpoint.signed_bytes()))


# -- the log against a checkpoint ------------------------------------------------------------


@dataclass(frozen=True)
class Mismatch:
    """A stream whose head at the checkpoint's position is not the one signed."""

    stream: str
    signed: tuple[int, str] | None
    """None: the stream did not exist at the checkpoint."""
    now: tuple[int, str] | None
    """None: the stream has no event at or before the position any more."""

    def __str__(self) -> str:
        if self.now is None:
            return f"stream {self.stream!r}: its events up to the checkpoint are gone"
        if self.signed is None:
            return (
                f"stream {self.stream!r}: has events at or before the checkpoint that it "
                "did not have then"
            )
        if self.signed[0] != self.now[0]:
            return (
                f"stream {self.stream!r}: was at version {self.signed[0]} at the checkpoint, "
                f"the database now says {self.now[0]}: events were added or removed"
            )
        return (
            f"stream {self.stream!r}: version {self.now[0]} was signed with hash "
            f"{self.signed[1][:16]}..., the database now has {self.now[1][:16]}...: the stream "
            "was rewritten and re-hashed"
        )


@dataclass(frozen=True)
class CheckpointCheck:
    checkpoint: Checkpoint
    root: str
    """The root the database produces at the checkpoint's position now."""
    mismatches: list[Mismatch]
    head_position: int

    @property
    def intact(self) -> bool:
        return self.root == self.checkpoint.root and not self.mismatches and not self.truncated

    @property
    def truncated(self) -> bool:
        return self.head_position < self.checkpoint.position


def verify_checkpoint(store: EventStore, checkpoint: Checkpoint) -> CheckpointCheck:
    """Whether the database still produces ``checkpoint``'s root at its position, and
    which streams differ when not."""
    heads = heads_at(store, checkpoint.position)
    root = merkle_root(heads)
    mismatches: list[Mismatch] = []
    if root != checkpoint.root or heads != checkpoint.heads:
        for stream in sorted(heads.keys() | checkpoint.heads.keys()):
            signed, now = checkpoint.heads.get(stream), heads.get(stream)
            if signed != now:
                mismatches.append(Mismatch(stream, signed, now))
    return CheckpointCheck(checkpoint, root, mismatches, store.head_position())
