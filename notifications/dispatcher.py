"""The dispatcher: claims due deliveries, sends them, records the end of each attempt.

- Two dispatchers never send the same row at once: a claim is a lease
  (``notify_lease_s``) taken in one write transaction.
- An attempt is counted before the send (``Outbox.claim``). A dispatcher that dies
  mid-send leaves its rows ``sending``; after the lease they are sent again under the
  same delivery id, the provider's Idempotency-Key and the e-mail's Message-ID, so the
  receiving side can drop the repeat. Rows already recorded ``sent`` are never sent
  again, and a dispatcher that stops on request gives back the rows it did not try.
- A failed attempt waits ``backoff`` (exponential, with jitter) and is tried again, up to
  ``notify_max_attempts`` attempts; then, or at once when the receiver refused the
  message for good, the delivery is ``dead`` until an administrator replays it.
"""

from __future__ import annotations

import logging
import random
import threading
import time
import uuid
from typing import Final

from config.settings import Settings
from notifications.channels import Refused, Sender, TryAgain
from notifications.outbox import Delivery, Outbox

log = logging.getLogger(__name__)

BATCH: Final = 20
_ERROR_CHARS: Final = 500


def backoff(attempt: int, base_s: float, cap_s: float, rng: random.Random) -> float:
    """Seconds to wait after failed attempt number ``attempt`` (1, 2, ...): the
    exponential step ``base_s * 2**(attempt-1)`` (at most ``cap_s``) with "equal
    jitter", a random time between half of it and all of it, so that deliveries failed
    together do not all come back at the same moment."""
    step = min(cap_s, base_s * 2.0 ** min(attempt - 1, 62))
    return step / 2 + rng.uniform(0, step / 2)


class Dispatcher:
    def __init__(
        self,
        outbox: Outbox,
        senders: dict[str, Sender],
        settings: Settings,
        rng: random.Random | None = None,
    ) -> None:
        self.outbox = outbox
        self.senders = senders
        self.max_attempts = settings.notify_max_attempts
        self.base_s = settings.notify_backoff_s
        self.cap_s = settings.notify_backoff_max_s
        self.lease_s = settings.notify_lease_s
        self.rng = rng or random.Random()
        self.owner = f"dispatcher-{uuid.uuid4()}"

    def run_once(self, stop: threading.Event | None = None, limit: int = BATCH) -> int:
        """Send one batch of due deliveries; returns how many were tried."""
        claimed = self.outbox.claim(self.owner, self.lease_s, limit)
        tried = 0
        for i, delivery in enumerate(claimed):
            if stop is not None and stop.is_set():
                for rest in claimed[i:]:
                    self.outbox.release(self.owner, rest.delivery_id)
                break
            self._attempt(delivery)
            tried += 1
        return tried

    def run_forever(self, stop: threading.Event, idle_sleep_s: float = 0.2) -> None:
        log.info("notification dispatcher %s running", self.owner)
        while not stop.is_set():
            try:
                if self.run_once(stop) == 0:
                    stop.wait(idle_sleep_s)
            except Exception as exc:  # the outbox file itself failed: wait and retry
                log.error("notification dispatcher failed (%s); retrying", type(exc).__name__)
                stop.wait(1.0)

    def _attempt(self, d: Delivery) -> None:
        sender = self.senders.get(d.channel)
        try:
            if sender is None:
                raise Refused(f"the {d.channel} channel is not configured here")
            sender.send(d)
        except TryAgain as e:
            retry_at = (
                time.time() + backoff(d.attempts, self.base_s, self.cap_s, self.rng)
                if d.attempts < self.max_attempts
                else None
            )
            self._failed(d, str(e), retry_at)
        except Refused as e:
            self._failed(d, str(e), None)
        except Exception as e:  # a sender's bug: keep the row, try again later
            self._failed(d, f"{type(e).__name__}", time.time() + self.cap_s)
        else:
            self.outbox.mark_sent(self.owner, d.delivery_id)

    def _failed(self, d: Delivery, error: str, retry_at: float | None) -> None:
        if retry_at is None:
            log.warning(
                "notification %s (%s) is dead after %d attempts: %s",
                d.delivery_id,
                d.channel,
                d.attempts,
                error,
            )
        self.outbox.mark_failed(self.owner, d.delivery_id, error[:_ERROR_CHARS], retry_at)
