"""``lincah notifier``: the notifications part of ``lincah up`` (its own process, so a
stuck mail server never slows the worker or the projector): the outbox subscriber and
the dispatcher (``notifications.service``) until SIGINT or SIGTERM."""

from __future__ import annotations

import threading

from config.settings import Settings
from eventstore.factory import open_event_store
from lincah import health
from notifications import service


def run_notifier(settings: Settings, stop: threading.Event) -> None:
    store = open_event_store(settings.eventstore, settings.eventstore_location)
    port = health.serve(settings, "notifier", health.store_check(store))
    try:
        service.run(store, settings, stop)
    finally:
        store.close()
        if port is not None:
            port.close()
