"""Writing a checkpoint and checking the log against the published ones: what
``lincah audit checkpoint``/``verify``, the projector's periodic checkpoints and the
auditors' API share (``audit.anchor`` computes, ``audit.ledger`` publishes).

The checkpoints are signed with the agency's document-signing key
(``document_key_path``): the one key the agency already keeps safe and publishes
(``GET /documents/public-key``), so anyone holding a copy of the ledger can check it
without another key to distribute or rotate.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from audit.anchor import (
    Checkpoint,
    CheckpointCheck,
    Discontinuity,
    SignedCheckpoint,
    make_checkpoint,
)
from audit.anchor import verify_checkpoint as check_against
from audit.ledger import Entry, FileLedger, Ledger
from config.settings import Settings
from documents.signing import load_signing_key
from eventstore.port import EventStore

log = logging.getLogger(__name__)


def ledger_for(settings: Settings) -> Ledger:
    return FileLedger(settings.audit_anchor_location)


def signing_key(settings: Settings) -> Ed25519PrivateKey:
    return load_signing_key(settings.document_key_location)


def write_checkpoint(
    store: EventStore, ledger: Ledger, key: Ed25519PrivateKey, now: datetime | None = None
) -> SignedCheckpoint | None:
    """Publish a checkpoint of the log as it is now; None when nothing was appended
    since the last one. Walks on from the last intact checkpoint (from the start when
    there is none)."""
    entries = ledger.entries(key.public_key())
    previous = _last_intact(entries)
    signed = make_checkpoint(store, key, previous, now)
    if signed is not None:
        ledger.publish(signed)
    return signed


def _last_intact(entries: list[Entry]) -> Checkpoint | None:
    for entry in reversed(entries):
        if entry.intact and entry.signed is not None:
            return entry.signed.checkpoint
    return None


@dataclass
class AnchorReport:
    where: str
    entries: list[Entry] = field(default_factory=list)
    check: CheckpointCheck | None = None
    """The log against the last intact checkpoint; None when there is none."""

    @property
    def bad_entries(self) -> list[Entry]:
        return [e for e in self.entries if not e.intact]

    @property
    def intact(self) -> bool:
        return not self.bad_entries and (self.check is None or self.check.intact)

    def describe(self) -> str:
        lines: list[str] = []
        for e in self.bad_entries:
            lines.append(f"TAMPERED checkpoint line {e.number} of {self.where}: "
                         + "; ".join(e.problems))  # fmt: skip
        if self.check is None:
            lines.append(
                f"no intact checkpoint in {self.where} to check the log against; write one "
                "with `lincah audit checkpoint`"
            )
            return "\n".join(lines)
        c = self.check.checkpoint
        name = f"checkpoint {c.seq} (position {c.position}, {c.at}, root {c.root[:16]}...)"
        if self.check.intact:
            lines.append(
                f"anchored: the log at position {c.position} still produces the root of "
                f"{name}; its signature verifies"
            )
            return "\n".join(lines)
        if self.check.truncated:
            lines.append(
                f"TAMPERED against {name}: the log ends at position "
                f"{self.check.head_position}, before the checkpoint's position: events were "
                "deleted"
            )
        if self.check.root != c.root:
            lines.append(
                f"TAMPERED against {name}: the log at position {c.position} produces root "
                f"{self.check.root[:16]}... instead; {len(self.check.mismatches)} stream(s) differ:"
            )
            lines += [f"  {m}" for m in self.check.mismatches[:20]]
            if len(self.check.mismatches) > 20:
                lines.append(f"  and {len(self.check.mismatches) - 20} more")
        return "\n".join(lines)


def verify_anchored(store: EventStore, ledger: Ledger, key: Ed25519PublicKey) -> AnchorReport:
    """Every published checkpoint checked (chain, signature), and the log against the
    last intact one."""
    entries = ledger.entries(key)
    last = _last_intact(entries)
    check = check_against(store, last) if last is not None else None
    return AnchorReport(ledger.where, entries, check)


def publish_periodically(
    store: EventStore, settings: Settings, stop: threading.Event, interval_s: float
) -> None:
    """Publish a checkpoint every ``interval_s`` seconds until ``stop`` is set (the
    projector runs this in a thread, ``audit_checkpoint_interval_s``). A failure is
    logged and tried again at the next interval; a log that no longer continues the
    last checkpoint is logged as an error each time, naming the streams."""
    ledger = ledger_for(settings)
    while not stop.wait(interval_s):
        try:
            signed = write_checkpoint(store, ledger, signing_key(settings))
        except Discontinuity as e:
            log.error("audit checkpoint refused: %s", e)
        except Exception as e:
            log.error(
                "audit checkpoint to %s failed (%s); trying again in %g s",
                ledger.where,
                type(e).__name__,
                interval_s,
            )
        else:
            if signed is not None:
                c = signed.checkpoint
                log.info("audit checkpoint %d published: position %d, root %s",
                         c.seq, c.position, c.root)  # fmt: skip
