"""The projector: reads the global log from its checkpoint and updates the read models.

Each batch of view-row changes and the new checkpoint commit in one transaction, so
after a crash the projector resumes exactly where the last commit left it.
"""

from __future__ import annotations

import logging
import sqlite3
import threading

from eventstore.port import EventStore, RecordedEvent
from projections import views
from projections.readmodels import CHECKPOINT, VIEW_TABLES, ReadModels

log = logging.getLogger(__name__)

BATCH = 500


class Projector:
    def __init__(self, store: EventStore, models: ReadModels) -> None:
        self.store = store
        self.models = models

    def run_once(self, limit: int = BATCH) -> int:
        """Apply the next batch; returns how many events it applied."""
        checkpoint = self.models.checkpoint()
        batch = self.store.read_all(after=checkpoint, limit=limit)
        if not batch:
            return 0
        with self.models.transaction() as db:
            # Another projector (or a rebuild) may have committed since we read the
            # checkpoint: then this batch is stale, and applying it would double events.
            if self.models.checkpoint() != checkpoint:
                return 0
            for event in batch:
                _apply(db, event)
            db.execute(
                "INSERT INTO checkpoints (name, position) VALUES (?, ?)"
                " ON CONFLICT (name) DO UPDATE SET position = excluded.position",
                (CHECKPOINT, batch[-1].position),
            )
        return len(batch)

    def catch_up(self) -> int:
        total = 0
        while n := self.run_once():
            total += n
        return total

    def run_forever(self, stop: threading.Event, idle_sleep_s: float = 0.05) -> None:
        log.info("projector running from position %d", self.models.checkpoint())
        while not stop.is_set():
            if self.run_once() == 0:
                stop.wait(idle_sleep_s)

    def rebuild(self) -> int:
        """Drop every view row and the checkpoint, then replay from position 0."""
        with self.models.transaction() as db:
            for table in VIEW_TABLES:
                db.execute(f"DELETE FROM {table}")  # noqa: S608 - our own table names
            db.execute("DELETE FROM checkpoints WHERE name = ?", (CHECKPOINT,))
        return self.catch_up()


def _apply(db: sqlite3.Connection, event: RecordedEvent) -> None:
    views.apply(db, event)
