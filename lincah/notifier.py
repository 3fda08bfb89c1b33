"""``lincah notifier``: the notifications part of ``lincah up`` (its own process, so a
stuck mail server never slows the worker or the projector): the outbox subscriber and
the dispatcher (``notifications.service``) until SIGINT or SIGTERM."""

from __future__ import annotations

import threading

from config.settings import Settings
from eventstore.factory import open_store
from lincah import health
from notifications import service
from projections.lease import lease_for, run_leased


def run_notifier(settings: Settings, stop: threading.Event) -> None:
    """One notifier per outbox is active (a lock file beside it); a second copy started
    on the same outbox stands by until the first ends."""
    store = open_store(settings)
    port = health.serve(settings, "notifier", health.store_check(store))
    try:
        run_leased(
            lease_for(settings.outbox_location, "notifier"),
            lambda working: service.run(store, settings, working),
            stop,
            "notifier",
            settings.lease_poll_s,
        )
    finally:
        store.close()
        if port is not None:
            port.close()
