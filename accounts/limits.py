"""Backoff for sign-in attempts, per account name and per client address.

In-process: each API process counts its own failures, so N processes allow N times the
attempts, and a restart forgets them. That bounds guessing well enough for one API
process per region; several would share the counts through the event store or a cache.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class _Record:
    failures: int = 0
    locked_until: float = 0.0


class Backoff:
    """``free`` failures in a row are allowed; each one after that locks the key for
    twice as long as the last (1 s, 2 s, 4 s ... up to ``max_lock_s``). A success
    clears the key."""

    def __init__(
        self,
        free: int,
        max_lock_s: float = 900.0,
        max_keys: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.free = free
        self.max_lock_s = max_lock_s
        self.max_keys = max_keys
        self.clock = clock
        self._records: OrderedDict[str, _Record] = OrderedDict()
        self._lock = threading.Lock()

    def retry_after(self, key: str) -> float:
        """Seconds until ``key`` may try again; 0 when it may now."""
        with self._lock:
            r = self._records.get(key)
            return max(0.0, r.locked_until - self.clock()) if r else 0.0

    def failed(self, key: str) -> None:
        with self._lock:
            r = self._records.pop(key, None) or _Record()
            r.failures += 1
            if r.failures > self.free:
                lock_s = min(self.max_lock_s, 2.0 ** (r.failures - self.free - 1))
                r.locked_until = self.clock() + lock_s
            self._records[key] = r  # most recent last
            while len(self._records) > self.max_keys:
                self._records.popitem(last=False)  # forget the oldest

    def succeeded(self, key: str) -> None:
        with self._lock:
            self._records.pop(key, None)


class SignInLimits:
    """The API's limits: per account name (5 free failures) and per client address
    (20, since an office may share one address)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.by_name = Backoff(free=5, clock=clock)
        self.by_address = Backoff(free=20, clock=clock)

    def retry_after(self, name: str, address: str) -> float:
        return max(self.by_name.retry_after(name), self.by_address.retry_after(address))

    def failed(self, name: str, address: str) -> None:
        self.by_name.failed(name)
        self.by_address.failed(address)

    def succeeded(self, name: str) -> None:
        # The address keeps its count: one right password must not wipe a spray of
        # guesses at other accounts from the same place.
        self.by_name.succeeded(name)
