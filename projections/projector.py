"""The projector: a catch-up subscription from its checkpoint into the read models.

Exactly-once effects: each batch of view-row changes and the new checkpoint commit in
one transaction of the read-model database, and a batch read before another projector
(or a rebuild) moved the checkpoint is refused rather than applied twice. After a crash
the projector resumes from the committed checkpoint, i.e. exactly where it stopped.

Poison events. An event the views cannot apply (a malformed payload, a view bug) must
not stop the projections forever. A batch is first applied in one go; if an event
fails, the batch is rolled back and applied again event by event, each inside a
SAVEPOINT: the failing event's own row changes roll back, the event is parked
(position, stream, type and the error, in ``parked_events``, in the same transaction)
and skipped, and the other events commit. The log line names position, stream, type and
the error's class only: errors can quote payloads, and payloads hold personal data.
Errors of the read-model database itself (disk, locks: ``INFRASTRUCTURE``) are not the
event's fault: the batch rolls back and ``run_forever`` retries it later.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

from pydantic import ValidationError

from eventstore.port import EventStore, RecordedEvent
from projections import views
from projections.checkpointed import follow
from projections.metrics import EventMetrics
from projections.readmodels import CHECKPOINT, VIEW_TABLES, ReadModels
from projections.sqldb import Db, infrastructure_errors

log = logging.getLogger(__name__)

BATCH = 500
INFRASTRUCTURE: Final = infrastructure_errors()
"""Failures of the read-model database, not of an event: never parked."""
_ERROR_CHARS: Final = 1000
_UNCOUNTED_LAG: Final = 10_000
"""On stores with sparse positions the lag is counted up to this many events."""


class Projector:
    def __init__(self, store: EventStore, models: ReadModels) -> None:
        self.store = store
        self.models = models
        self.metrics = EventMetrics()

    def run_once(self, limit: int = BATCH) -> int:
        """Apply the next batch; returns how many events it consumed (parked ones
        included)."""
        checkpoint = self.models.checkpoint()
        batch = self.store.read_all(after=checkpoint, limit=limit)
        if not batch:
            return 0
        return self.apply_batch(checkpoint, batch)

    def apply_batch(self, checkpoint: int, batch: list[RecordedEvent]) -> int:
        """Apply ``batch`` (read after ``checkpoint``) with the new checkpoint in one
        transaction; 0 when the checkpoint has moved meanwhile (a stale batch)."""
        try:
            with self.models.transaction() as db:
                # Another projector (or a rebuild) may have committed since we read the
                # checkpoint: then this batch is stale, and applying it would double events.
                if self.models.checkpoint() != checkpoint:
                    return 0
                folded = views.Batch(db)
                for event in batch:
                    _apply(db, event, folded, self.store)
                folded.flush()
                _save_checkpoint(db, batch[-1].position)
            self.metrics.observe(batch)
            return len(batch)
        except INFRASTRUCTURE:
            raise
        except Exception:  # noqa: S110 - a poison event: the careful pass finds and parks it
            pass
        return self._apply_event_by_event(checkpoint, batch)

    def _apply_event_by_event(self, checkpoint: int, batch: list[RecordedEvent]) -> int:
        parked: list[tuple[RecordedEvent, BaseException]] = []
        with self.models.transaction() as db:
            if self.models.checkpoint() != checkpoint:
                return 0
            for event in batch:
                db.execute("SAVEPOINT lincah_event")
                try:
                    _apply(db, event, store=self.store)
                except INFRASTRUCTURE:
                    raise
                except Exception as exc:
                    db.execute("ROLLBACK TO SAVEPOINT lincah_event")
                    _park(db, event, exc)
                    parked.append((event, exc))
                db.execute("RELEASE SAVEPOINT lincah_event")
            _save_checkpoint(db, batch[-1].position)
        self.metrics.observe(batch)
        for event, error in parked:
            log.warning(
                "parked event at position %d (stream %s, type %s): the views could not "
                "apply it (%s); skipped, see the parked_events table",
                event.position,
                event.stream,
                event.type,
                type(error).__name__,
            )
        return len(batch)

    def catch_up(self) -> int:
        total = 0
        while n := self.run_once():
            total += n
        return total

    def run_forever(self, stop: threading.Event, idle_sleep_s: float = 0.05) -> None:
        """Follow the store until ``stop`` is set (``projections.checkpointed.follow``)."""
        follow(self.store, self.models, self.apply_batch, stop, "projector",
               batch_size=BATCH, idle_sleep_s=idle_sleep_s)  # fmt: skip

    def rebuild(self) -> int:
        """Drop every view row, the parked events and the checkpoint, then replay from
        position 0 (parked events get another chance)."""
        with self.models.transaction() as db:
            for table in VIEW_TABLES:
                db.execute(f"DELETE FROM {table}")  # noqa: S608 - our own table names
            db.execute("DELETE FROM parked_events")
            db.execute("DELETE FROM checkpoints WHERE name = ?", (CHECKPOINT,))
        return self.catch_up()


@dataclass(frozen=True)
class Lag:
    checkpoint: int
    head: int
    events: int
    """Events stored but not applied yet."""
    seconds: float
    """How long the oldest event not applied yet has been waiting; 0 when caught up."""
    parked: int


def lag(store: EventStore, models: ReadModels) -> Lag:
    """How far the read models are behind the store."""
    checkpoint = models.checkpoint()
    head = store.head_position()
    pending = store.read_all(after=checkpoint, limit=1) if head > checkpoint else []
    if not pending:
        events = 0
    elif store.dense_positions:
        events = head - checkpoint
    else:
        events = len(store.read_all(after=checkpoint, limit=_UNCOUNTED_LAG))
    seconds = (
        max(0.0, (datetime.now(UTC) - pending[0].recorded_at).total_seconds()) if pending else 0.0
    )
    return Lag(checkpoint, head, events, seconds, models.parked_count())


def _apply(
    db: Db,
    event: RecordedEvent,
    batch: views.Batch | None = None,
    store: EventStore | None = None,
) -> None:
    views.apply(db, event, batch, store)


def _save_checkpoint(db: Db, position: int) -> None:
    db.execute(
        "INSERT INTO checkpoints (name, position) VALUES (?, ?)"
        " ON CONFLICT (name) DO UPDATE SET position = excluded.position",
        (CHECKPOINT, position),
    )


def _park(db: Db, event: RecordedEvent, exc: BaseException) -> None:
    db.execute(
        "INSERT INTO parked_events (position, stream, type, error, parked_at)"
        " VALUES (?, ?, ?, ?, ?) ON CONFLICT (position) DO UPDATE SET"
        " error = excluded.error, parked_at = excluded.parked_at",
        (
            event.position,
            event.stream,
            event.type,
            describe(exc),
            datetime.now(UTC).isoformat(timespec="microseconds"),
        ),
    )


def describe(exc: BaseException) -> str:
    """The error for the parked_events table: pydantic's errors without their input
    values (which are payload data); other errors as raised, shortened."""
    if isinstance(exc, ValidationError):
        problems = "; ".join(
            f"{'.'.join(str(part) for part in e['loc'])}: {e['msg']}"
            for e in exc.errors(include_input=False, include_url=False)
        )
        text = f"{type(exc).__name__}: {problems}"
    else:
        text = f"{type(exc).__name__}: {exc}"
    return text[:_ERROR_CHARS]
