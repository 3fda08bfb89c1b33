"""``lincah notifier``: the notifications part of ``lincah up`` (its own process, so a
stuck mail server never slows the worker or the projector): the outbox subscriber and
the dispatcher (``notifications.service``) until SIGINT or SIGTERM."""

from __future__ import annotations

import threading

from config.settings import Settings
from eventstore.factory import open_store
from notifications import service


def run_notifier(settings: Settings, stop: threading.Event) -> None:
    store = open_store(settings)
    try:
        service.run(store, settings, stop)
    finally:
        store.close()
