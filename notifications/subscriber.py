"""The outbox subscriber: a catch-up subscription from its own checkpoint that turns
each citizen-facing event (``notifications.kinds``) into a message and one delivery per
channel, exactly once.

Exactly once, as the projector does it: a batch's messages, deliveries, the subjects
and preferences it folded, and the new checkpoint commit in one transaction of the
outbox database, and a batch read before another subscriber moved the checkpoint is
refused. A crash before the commit leaves nothing of the batch; the next run derives it
again from the same checkpoint. Delivery ids are the event's id and the channel, so even
a second outbox fed the same log names each delivery the same way.

The preferences and contacts a message goes out under are those of the moment its
event is derived: preference events are folded in log order, so a citizen who turned
e-mail off gets no e-mail for any later event.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from typing import Final

import orjson

from config.settings import Settings
from eventstore.port import EventStore, RecordedEvent
from notifications import contacts, kinds, preferences, templates
from notifications.outbox import CHECKPOINT, Outbox, now_iso
from projections.checkpointed import follow
from projections.sqldb import Db

log = logging.getLogger(__name__)

BATCH: Final = 200
_INFRASTRUCTURE: Final = (
    sqlite3.OperationalError,
    sqlite3.InterfaceError,
    sqlite3.IntegrityError,  # a message derived twice: exactly-once broke, stop loudly
    MemoryError,
)
"""Failures of the outbox database (or of its guarantees), not of an event: the batch
rolls back and is tried again, never skipped."""


NO_EMAIL: Final = "there is no e-mail address in the profile or on the account"
NO_PHONE: Final = "there is no phone number in the profile or on the account"


class OutboxSubscriber:
    def __init__(self, store: EventStore, outbox: Outbox, settings: Settings) -> None:
        self.store = store
        self.outbox = outbox
        self.settings = settings
        self.webhook = bool(settings.notify_webhook_url)
        self.max_age_s = settings.notify_max_age_s

    def run_once(self, limit: int = BATCH) -> int:
        checkpoint = self.outbox.checkpoint()
        batch = self.store.read_all(after=checkpoint, limit=limit)
        return self.apply_batch(checkpoint, batch) if batch else 0

    def catch_up(self) -> int:
        total = 0
        while n := self.run_once():
            total += n
        return total

    def apply_batch(self, checkpoint: int, batch: list[RecordedEvent]) -> int:
        """Derive ``batch`` (read after ``checkpoint``) and move the checkpoint, in one
        transaction; 0 when the checkpoint moved meanwhile (a stale batch)."""
        with self.outbox.transaction() as db:
            if self.outbox.checkpoint() != checkpoint:
                return 0
            for event in batch:
                db.execute("SAVEPOINT outbox_event")
                try:
                    self._derive(db, event)
                except _INFRASTRUCTURE:
                    raise
                except Exception as exc:
                    # A payload the notifications cannot read must not stop them for
                    # everyone; the projector parks the same event with its details.
                    db.execute("ROLLBACK TO SAVEPOINT outbox_event")
                    log.warning(
                        "no notification for the event at position %d (stream %s, type %s):"
                        " %s; skipped",
                        event.position,
                        event.stream,
                        event.type,
                        type(exc).__name__,
                    )
                db.execute("RELEASE SAVEPOINT outbox_event")
            self._save_checkpoint(db, batch[-1].position)
        return len(batch)

    def run_forever(self, stop: threading.Event, idle_sleep_s: float = 0.05) -> None:
        follow(self.store, self.outbox, self.apply_batch, stop, "outbox subscriber",
               batch_size=BATCH, idle_sleep_s=idle_sleep_s)  # fmt: skip

    # -- deriving one event ----------------------------------------------------------
    def _derive(self, db: Db, event: RecordedEvent) -> None:
        if event.stream.startswith(preferences.STREAM_PREFIX):
            if event.type == preferences.PREFERENCES_SET:
                citizen, prefs = preferences.from_event(event.data)
                db.execute(
                    "INSERT INTO preferences (citizen, prefs) VALUES (?, ?) ON CONFLICT"
                    " (citizen) DO UPDATE SET prefs = excluded.prefs",
                    (citizen, prefs.model_dump_json()),
                )
            return
        if not event.stream.startswith(
            (kinds.APPLICATION_PREFIX, kinds.COMPLAINT_PREFIX, kinds.APPOINTMENT_PREFIX)
        ):
            return
        before = _subject(db, event.stream)
        subject = kinds.subject_after(event, before)
        if subject is not None and subject != before:
            db.execute(
                "INSERT INTO subjects (stream, citizen, agency, reference, service,"
                " agency_name) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (stream) DO UPDATE SET"
                " agency = excluded.agency, service = excluded.service",
                (
                    subject.stream,
                    subject.citizen,
                    subject.agency,
                    subject.reference,
                    subject.service,
                    subject.agency_name,
                ),
            )
        notice = kinds.notice(event, subject)
        if notice is not None:
            self._write(db, event, notice)

    def _write(self, db: Db, event: RecordedEvent, notice: kinds.Notice) -> None:
        prefs = _preferences(db, notice.citizen)
        text = templates.render(notice, prefs.language)
        db.execute(
            "INSERT INTO messages (position, event_id, event_type, kind, citizen, agency,"
            " reference, application_id, language, subject, body, short, email, at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                event.position,
                str(event.id),
                event.type,
                notice.kind,
                notice.citizen,
                notice.agency,
                notice.reference,
                notice.application_id,
                prefs.language,
                text.subject,
                text.body,
                text.short,
                text.email,
                event.recorded_at.isoformat(),
            ),
        )
        reach = contacts.contact(self.store, self.settings, notice.citizen)
        wanted: list[tuple[str, str | None, str]] = [("in_app", notice.citizen, "")]
        if prefs.email:
            wanted.append(("email", reach.email, NO_EMAIL))
        for channel in ("sms", "whatsapp"):
            if self.webhook and getattr(prefs, channel):
                wanted.append((channel, reach.phone, NO_PHONE))
        now, stamp = time.time(), now_iso()
        stale = now - event.recorded_at.timestamp() > self.max_age_s
        for channel, recipient, missing in wanted:
            if channel == "in_app":
                status, sent_at, error = "sent", stamp, None  # in the list from now on
            elif stale:
                status, sent_at, error = "skipped", None, _STALE
            elif recipient:
                status, sent_at, error = "queued", None, None
            else:
                status, sent_at, error = "skipped", None, missing
            db.execute(
                "INSERT INTO deliveries (delivery_id, position, channel, recipient, status,"
                " next_attempt_at, last_error, sent_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    delivery_id(event, channel),
                    event.position,
                    channel,
                    recipient,
                    status,
                    now,
                    error,
                    sent_at,
                    stamp,
                ),
            )

    def _save_checkpoint(self, db: Db, position: int) -> None:
        db.execute(
            "INSERT INTO checkpoints (name, position) VALUES (?, ?)"
            " ON CONFLICT (name) DO UPDATE SET position = excluded.position",
            (CHECKPOINT, position),
        )


_STALE: Final = "the event is older than notify_max_age_s: not sent this late"


def delivery_id(event: RecordedEvent, channel: str) -> str:
    """The same for every derivation of this event on this channel."""
    return f"{event.id}-{channel}"


def _subject(db: Db, stream: str) -> kinds.Subject | None:
    row = db.execute(
        "SELECT stream, citizen, agency, reference, service, agency_name FROM subjects"
        " WHERE stream = ?",
        (stream,),
    ).fetchone()
    return kinds.Subject(*tuple(row)) if row else None


def _preferences(db: Db, citizen: str) -> preferences.Preferences:
    row = db.execute("SELECT prefs FROM preferences WHERE citizen = ?", (citizen,)).fetchone()
    if row is None:
        return preferences.Preferences()
    return preferences.Preferences.model_validate(orjson.loads(row[0]))
