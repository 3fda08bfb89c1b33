"""Where checkpoints are published: an append-only place the database administrator
cannot rewrite. ``Ledger`` is the adapter interface; ``FileLedger`` writes a JSON-lines
file outside the database (``audit_anchor_path``). An external timestamping service
(RFC 3161) or a transparency log is another adapter with the same two methods.

Each line of the file is one signed checkpoint chained to the line before it::

    {"checkpoint": {...}, "signature": "<base64>", "prev": "<hash of the line before>",
     "hash": sha256(canonical JSON of the line without "hash")}

so a line edited, removed or inserted breaks the chain at that line even where its
signature would still verify (a removed line's checkpoint is signed, but the next line
names it). The file is opened for appending only; on Linux ``chattr +a`` makes the
kernel refuse anything else, even to its owner, and a copy shipped off the machine (log
shipping, WORM storage) keeps it out of the administrator's reach altogether.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Protocol

import orjson
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from audit.anchor import Checkpoint, SignedCheckpoint
from documents.signing import public_key_id

GENESIS: Final = "0" * 64
"""``prev`` of the first line."""


@dataclass(frozen=True)
class Entry:
    """One published checkpoint as read back, with what is wrong with it."""

    number: int
    """1-based line number (or the service's sequence)."""
    signed: SignedCheckpoint | None
    """None when the line cannot be read as a checkpoint."""
    problems: list[str]

    @property
    def intact(self) -> bool:
        return self.signed is not None and not self.problems


class Ledger(Protocol):
    where: str
    """Where the checkpoints go, for messages (a path, a service's URL)."""

    def publish(self, signed: SignedCheckpoint) -> None:
        """Append one checkpoint; raises OSError when it could not be published."""

    def entries(self, key: Ed25519PublicKey) -> list[Entry]:
        """Every checkpoint published, oldest first, each checked: its link to the one
        before and its signature under ``key``."""


def line_hash(line: dict[str, Any]) -> str:
    unhashed = {k: v for k, v in line.items() if k != "hash"}
    return hashlib.sha256(orjson.dumps(unhashed, option=orjson.OPT_SORT_KEYS)).hexdigest()


class FileLedger:
    """An append-only JSON-lines file (see the module docstring)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.where = str(path)

    def publish(self, signed: SignedCheckpoint) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # O_APPEND: every write lands at the end, whatever else has the file open; the
        # lock keeps two writers (two projectors, a projector and the CLI) from both
        # chaining to the same last line.
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            line: dict[str, Any] = {
                "checkpoint": signed.checkpoint.body(),
                "signature": signed.signature,
                "prev": self._last_hash(),
            }
            line["hash"] = line_hash(line)
            os.write(fd, orjson.dumps(line) + b"\n")
            os.fsync(fd)
        finally:
            os.close(fd)  # releases the lock

    def _last_hash(self) -> str:
        last = None
        for last in self._lines():  # noqa: B007 - only the last one is wanted
            pass
        if last is None:
            return GENESIS
        try:
            value = orjson.loads(last)["hash"]
        except (ValueError, KeyError, TypeError):
            value = None
        # A last line that cannot be read still gets a successor: chained to the hash
        # of its bytes, so that verification reports that line and not the new one.
        return value if isinstance(value, str) else hashlib.sha256(last).hexdigest()

    def _lines(self) -> Iterator[bytes]:
        with contextlib.suppress(FileNotFoundError), self.path.open("rb") as f:
            for raw in f:
                if raw.strip():
                    yield raw.rstrip(b"\n")

    def entries(self, key: Ed25519PublicKey) -> list[Entry]:
        out: list[Entry] = []
        prev = GENESIS
        kid = public_key_id(key)
        for number, raw in enumerate(self._lines(), start=1):
            problems: list[str] = []
            signed = None
            try:
                line = orjson.loads(raw)
                signed = SignedCheckpoint(Checkpoint.from_body(line["checkpoint"]),
                                          str(line["signature"]))  # fmt: skip
                stored = line["hash"]
            except (ValueError, KeyError, TypeError, AttributeError):
                out.append(Entry(number, None, ["the line cannot be read as a checkpoint"]))
                prev = hashlib.sha256(raw).hexdigest()
                continue
            if line.get("prev") != prev:
                problems.append(
                    "it does not follow the line before it (prev does not match that "
                    "line's hash): a line was removed, inserted or rewritten before it"
                )
            if line_hash(line) != stored:
                problems.append(
                    "its content does not match its hash: the line was edited after it was written"
                )
            if signed.checkpoint.key_id != kid:
                problems.append(
                    f"it names signing key {signed.checkpoint.key_id}, not this server's key {kid}"
                )
            elif not signed.valid_under(key):
                problems.append("its signature does not verify: the checkpoint was altered")
            out.append(Entry(number, signed, problems))
            prev = stored if isinstance(stored, str) else hashlib.sha256(raw).hexdigest()
        return out
