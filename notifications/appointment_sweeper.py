"""The notifier's third loop: records appointment holds that ran out (giving their
places back), reminders that are due and confirmed appointments nobody came to by the
end of the grace (no-shows, listed in the day's queue for its figures)
(``commands.appointments.sweep_one``); the outbox subscriber then turns those events
into messages like any other.

It learns the appointments from the event log (each ``AppointmentHeld``) and keeps in
memory the ones that may still need it. A restart reads the log again from its start:
every decision is made on the stream's state and appended with its expected version, so
sweeping twice (or in two notifiers) records each expiry and reminder once.
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime

from commands import appointments as cmd
from domain.appointments import BookingPolicy
from eventstore.port import EventStore

log = logging.getLogger(__name__)


class AppointmentSweeper:
    def __init__(self, store: EventStore, interval_s: float) -> None:
        self.store = store
        self.interval_s = interval_s
        self.position = 0
        self.pending: set[str] = set()

    def sweep(self, now: datetime) -> None:
        """One round: learn new appointments, then settle each that may need it."""
        while True:
            ids, read_to = cmd.all_ids(self.store, self.position)
            self.pending.update(ids)
            if read_to == self.position:
                break
            self.position = read_to
        policy = BookingPolicy()
        for appointment_id in sorted(self.pending):
            appt = cmd.sweep_one(self.store, appointment_id, policy, now)
            # Held or confirmed: a hold may run out, a reminder or a no-show may be due.
            if appt is None or appt.status not in ("held", "confirmed"):
                self.pending.discard(appointment_id)

    def run_forever(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                self.sweep(datetime.now(UTC))
            except Exception as exc:  # the next round tries again; the log says why
                log.error(
                    "appointment sweep failed (%s: %s); trying again in %.0f s",
                    type(exc).__name__,
                    exc,
                    self.interval_s,
                )
            stop.wait(self.interval_s)
