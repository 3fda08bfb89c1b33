"""The outbox database (SQLite, ``outbox_path``, default ``var/outbox.db``).

Not derived data in the read models' sense: its rows say what was sent, so it lives
apart from the read models and is never rebuilt (a rebuild would send everything
again). The subscriber (``notifications.subscriber``) writes messages, their deliveries
and its checkpoint in one transaction; the dispatcher (``notifications.dispatcher``)
claims due deliveries under a lease and records each attempt's end.

A message is one citizen-facing event put into words (``messages``, keyed by the
event's position); a delivery is that message on one channel (``deliveries``, keyed by
``<event id>-<channel>``: the provider's Idempotency-Key and the e-mail's Message-ID).

Delivery states: ``queued`` (waiting for its first or next attempt), ``sending`` (claimed
by a dispatcher, its attempt counted), ``sent``, ``failed`` (the last attempt failed, the
next is due at ``next_attempt_at``), ``dead`` (given up: an administrator may replay it),
``skipped`` (there is no address for the channel).
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from domain.personal_data import ERASED
from projections.checkpointed import CheckpointedFile

CHECKPOINT: Final = "outbox"
CHANNELS: Final = ("in_app", "email", "sms", "whatsapp")
STATES: Final = ("queued", "sending", "sent", "failed", "dead", "skipped")

SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS checkpoints (name TEXT PRIMARY KEY, position INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS subjects (
    stream TEXT PRIMARY KEY,
    citizen TEXT NOT NULL,
    agency TEXT NOT NULL,
    reference TEXT NOT NULL,
    service TEXT NOT NULL,
    agency_name TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS preferences (citizen TEXT PRIMARY KEY, prefs TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS messages (
    position INTEGER PRIMARY KEY,
    event_id TEXT NOT NULL UNIQUE,
    event_type TEXT NOT NULL,
    kind TEXT NOT NULL,
    citizen TEXT NOT NULL,
    agency TEXT NOT NULL,
    reference TEXT NOT NULL,
    application_id TEXT,
    language TEXT NOT NULL,
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    short TEXT NOT NULL,
    email TEXT NOT NULL,
    at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS messages_citizen ON messages (citizen, position);
CREATE TABLE IF NOT EXISTS deliveries (
    delivery_id TEXT PRIMARY KEY,
    position INTEGER NOT NULL REFERENCES messages (position),
    channel TEXT NOT NULL,
    recipient TEXT,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL NOT NULL,
    lease_owner TEXT,
    lease_until REAL,
    last_error TEXT,
    sent_at TEXT,
    updated_at TEXT NOT NULL,
    UNIQUE (position, channel)
);
CREATE INDEX IF NOT EXISTS deliveries_due ON deliveries (status, next_attempt_at);
"""


@dataclass(frozen=True)
class Delivery:
    """A claimed delivery with what the channel sends."""

    delivery_id: str
    channel: str
    recipient: str
    attempts: int
    subject: str
    email: str
    short: str
    reference: str


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _iso(epoch: float | None) -> str | None:
    return (
        None if epoch is None else datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds")
    )


class Outbox(CheckpointedFile):
    """The outbox file, ``synchronous=FULL``: a recorded send must survive a power cut,
    or it would go out again."""

    synchronous = "FULL"
    checkpoint_name = CHECKPOINT

    def __init__(self, path: str | Path) -> None:
        super().__init__(path)
        self._conn().script(SCHEMA)

    def counts(self) -> dict[str, int]:
        """How many deliveries are in each state (every state named, zeros included)."""
        found = dict(
            self._conn().execute("SELECT status, COUNT(*) FROM deliveries GROUP BY status")
        )
        return {state: int(found.get(state, 0)) for state in STATES}

    # -- the dispatcher ------------------------------------------------------------------
    def claim(self, owner: str, lease_s: float, limit: int) -> list[Delivery]:
        """Take up to ``limit`` due deliveries for ``owner`` until the lease ends, and
        count their attempt now, before anything is sent: a dispatcher that dies while
        sending leaves the row ``sending``, and once its lease ends the row is taken
        again under the same delivery id (so the provider can tell the repeat)."""
        now = time.time()
        with self.transaction() as db:
            ids = [
                r[0]
                for r in db.execute(
                    "SELECT delivery_id FROM deliveries WHERE (status IN ('queued', 'failed')"
                    " AND next_attempt_at <= ?) OR (status = 'sending' AND lease_until <= ?)"
                    " ORDER BY next_attempt_at, delivery_id LIMIT ?",
                    (now, now, limit),
                )
            ]
            for delivery_id in ids:
                db.execute(
                    "UPDATE deliveries SET status = 'sending', lease_owner = ?,"
                    " lease_until = ?, attempts = attempts + 1, updated_at = ?"
                    " WHERE delivery_id = ?",
                    (owner, now + lease_s, now_iso(), delivery_id),
                )
            rows = [
                db.execute(
                    "SELECT d.delivery_id, d.channel, d.recipient, d.attempts, m.subject,"
                    " m.email, m.short, m.reference FROM deliveries d"
                    " JOIN messages m ON m.position = d.position WHERE d.delivery_id = ?",
                    (delivery_id,),
                ).fetchone()
                for delivery_id in ids
            ]
        return [Delivery(*tuple(r)) for r in rows]

    def mark_sent(self, owner: str, delivery_id: str) -> bool:
        """Record the send; False when ``owner`` no longer holds the lease."""
        return self._finish(
            owner,
            delivery_id,
            "status = 'sent', sent_at = ?, last_error = NULL",
            (now_iso(),),
        )

    def mark_failed(self, owner: str, delivery_id: str, error: str, retry_at: float | None) -> bool:
        """A failed attempt: ``failed`` until ``retry_at``, or ``dead`` when None."""
        if retry_at is None:
            return self._finish(owner, delivery_id, "status = 'dead', last_error = ?", (error,))
        return self._finish(
            owner,
            delivery_id,
            "status = 'failed', last_error = ?, next_attempt_at = ?",
            (error, retry_at),
        )

    def release(self, owner: str, delivery_id: str) -> bool:
        """Give back a claim that was never tried (a dispatcher stopping mid-batch)."""
        return self._finish(owner, delivery_id, "status = 'queued', attempts = attempts - 1", ())

    def _finish(self, owner: str, delivery_id: str, change: str, args: tuple[Any, ...]) -> bool:
        with self.transaction() as db:
            cur = db.execute(
                f"UPDATE deliveries SET {change}, lease_owner = NULL, lease_until = NULL,"  # noqa: S608 - our own SQL
                " updated_at = ? WHERE delivery_id = ? AND status = 'sending'"
                " AND lease_owner = ?",
                (*args, now_iso(), delivery_id, owner),
            )
            return cur.rowcount == 1

    def forget(self, citizen: str) -> int:
        """The citizen's data was erased (``commands.erasure``): their messages keep
        only that they were sent (the rows stay, so the outbox never derives them again),
        their texts, addresses and numbers go, and what was still to be sent is
        skipped. How many messages were redacted."""
        with self.transaction() as db:
            db.execute(
                "UPDATE deliveries SET recipient = NULL, last_error = NULL, status = CASE"
                " WHEN status IN ('queued', 'sending', 'failed') THEN 'skipped'"
                " ELSE status END, updated_at = ?"
                " WHERE position IN (SELECT position FROM messages WHERE citizen = ?)",
                (now_iso(), citizen),
            )
            return db.execute(
                "UPDATE messages SET subject = ?, body = ?, short = ?, email = ''"
                " WHERE citizen = ?",
                (ERASED, ERASED, ERASED, citizen),
            ).rowcount

    # -- reads and the administrator's replay -------------------------------------------
    def messages(self, citizen: str, limit: int = 100) -> list[dict[str, Any]]:
        """The citizen's messages, newest first, each with its deliveries' states."""
        db = self._conn()
        rows = db.execute(
            "SELECT position, kind, reference, application_id, subject, body, at"
            " FROM messages WHERE citizen = ? ORDER BY position DESC LIMIT ?",
            (citizen, limit),
        ).fetchall()
        answer = []
        for r in rows:
            deliveries = db.execute(
                "SELECT channel, status, attempts, sent_at, next_attempt_at FROM deliveries"
                " WHERE position = ? ORDER BY channel",
                (r["position"],),
            ).fetchall()
            answer.append(
                {
                    "position": r["position"],
                    "kind": r["kind"],
                    "reference": r["reference"],
                    "application_id": r["application_id"],
                    "title": r["subject"],
                    "message": r["body"],
                    "at": r["at"],
                    "deliveries": [
                        {
                            "channel": d["channel"],
                            "state": _public_state(d["status"]),
                            "attempts": d["attempts"],
                            "sent_at": d["sent_at"],
                            "next_attempt_at": _iso(d["next_attempt_at"])
                            if d["status"] == "failed"
                            else None,
                        }
                        for d in deliveries
                    ],
                }
            )
        return answer

    def delivery(self, delivery_id: str) -> dict[str, Any] | None:
        row = (
            self._conn().execute(_DELIVERY + " WHERE d.delivery_id = ?", (delivery_id,)).fetchone()
        )
        return _delivery_row(row) if row else None

    def deliveries(self, status: str | None = None) -> list[dict[str, Any]]:
        """Every delivery (of one status), oldest first: for tests and operators."""
        where, args = (" WHERE d.status = ?", (status,)) if status else ("", ())
        rows = (
            self._conn()
            .execute(_DELIVERY + where + " ORDER BY d.position, d.channel", args)
            .fetchall()
        )
        return [_delivery_row(r) for r in rows]

    def dead(
        self, agencies: frozenset[str] | None, limit: int = 100, offset: int = 0
    ) -> list[dict[str, Any]]:
        """The dead-letter list of these agencies (None: every agency), newest first."""
        if agencies is not None and not agencies:
            return []
        args: tuple[str, ...]
        where, args = " WHERE d.status = 'dead'", ()
        if agencies is not None:
            marks = ", ".join("?" * len(agencies))
            where, args = where + f" AND m.agency IN ({marks})", tuple(sorted(agencies))
        rows = (
            self._conn()
            .execute(
                _DELIVERY + where + " ORDER BY d.updated_at DESC, d.delivery_id LIMIT ? OFFSET ?",
                (*args, limit, offset),
            )
            .fetchall()
        )
        return [_delivery_row(r) for r in rows]

    def replay(self, delivery_id: str) -> bool:
        """Queue a dead delivery again with a fresh count of attempts; its id stays, so
        a provider that did receive an earlier attempt recognises the repeat. False
        when it is not dead (any more)."""
        with self.transaction() as db:
            cur = db.execute(
                "UPDATE deliveries SET status = 'queued', attempts = 0, next_attempt_at = ?,"
                " updated_at = ? WHERE delivery_id = ? AND status = 'dead'",
                (time.time(), now_iso(), delivery_id),
            )
            return cur.rowcount == 1


_DELIVERY: Final = (
    "SELECT d.delivery_id, d.channel, d.status, d.attempts, d.last_error, d.sent_at,"
    " d.updated_at, d.next_attempt_at, m.position, m.kind, m.reference, m.agency, m.citizen,"
    " m.at FROM deliveries d JOIN messages m ON m.position = d.position"
)


def _delivery_row(r: sqlite3.Row) -> dict[str, Any]:
    return {
        "delivery_id": r["delivery_id"],
        "channel": r["channel"],
        "state": _public_state(r["status"]),
        "status": r["status"],
        "attempts": r["attempts"],
        "last_error": r["last_error"],
        "sent_at": r["sent_at"],
        "updated_at": r["updated_at"],
        "position": r["position"],
        "kind": r["kind"],
        "reference": r["reference"],
        "agency": r["agency"],
        "citizen": r["citizen"],
        "at": r["at"],
    }


def _public_state(status: str) -> str:
    """What the citizen and the administrator see: a claim in flight is still queued."""
    return "queued" if status == "sending" else status
