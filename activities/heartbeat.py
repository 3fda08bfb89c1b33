"""Heartbeats for activities that may run longer than a second or two (issuing a
document, a face check, reading a service's history).

The workflow gives such activities a short heartbeat timeout (a few seconds) instead of
relying on their start-to-close timeout alone: when the worker running one is killed,
Temporal notices the missing heartbeats within seconds and retries the activity on
another worker, so the application waits seconds, not the whole timeout. The heartbeat
says "this worker is alive", which is what that needs: it comes from a background
thread, so a step that takes long (rendering a PDF on a busy machine) still heartbeats.
"""

from __future__ import annotations

import contextlib
import contextvars
import threading
from collections.abc import Iterator
from typing import Final

from temporalio import activity

EVERY_S: Final = 0.5
"""Seconds between heartbeats; the SDK throttles what it sends to the server."""


@contextlib.contextmanager
def heartbeating(every: float = EVERY_S) -> Iterator[None]:
    """Heartbeat from a background thread while the body runs (a no-op outside an
    activity, e.g. when a test calls the function directly)."""
    if not activity.in_activity():
        yield
        return
    context = contextvars.copy_context()  # the activity's context, for the thread
    done = threading.Event()

    def beat() -> None:
        while not done.wait(every):
            try:
                context.run(activity.heartbeat)
            except Exception:  # the activity is finishing or the worker shutting down
                return

    activity.heartbeat()
    thread = threading.Thread(target=beat, name="activity-heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()
