"""``lincah notifier`` as `lincah up` runs it: a process that derives and delivers until
SIGTERM, then exits 0."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from config.settings import Settings
from eventstore.port import EventStore
from lincah.notifier import run_notifier
from notifications.outbox import Outbox
from tests.accounts.conftest import Inbox
from tests.notifications.conftest import Receiver, register, submit

ROOT = Path(__file__).resolve().parents[2]


def test_the_notifier_process_delivers_and_stops_on_sigterm(
    store: EventStore, notify_settings: Settings, smtp: tuple[Inbox, int], receiver: Receiver
) -> None:
    siti = register(store, notify_settings)
    submit(store, "BWI-2026-000001", siti)
    env = {
        **os.environ,
        "LINCAH_VAR_DIR": str(notify_settings.var_dir),
        "LINCAH_SMTP_HOST": "127.0.0.1",
        "LINCAH_SMTP_PORT": str(smtp[1]),
        "LINCAH_NOTIFY_WEBHOOK_URL": receiver.url,
        "LINCAH_NOTIFY_WEBHOOK_SECRET": notify_settings.notify_webhook_secret,
        "LINCAH_CONFIG": str(ROOT / "no-such-config.yaml"),
    }
    child = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "lincah.cli", "notifier"], cwd=ROOT, env=env
    )
    outbox = Outbox(notify_settings.outbox_location)
    try:
        deadline = time.monotonic() + 60
        while len(outbox.deliveries("sent")) < 3:
            assert child.poll() is None, "the notifier ended by itself"
            assert time.monotonic() < deadline, outbox.deliveries()
            time.sleep(0.05)
    finally:
        child.send_signal(signal.SIGTERM)
        code = child.wait(30)
    assert code == 0
    assert len(receiver.sent) == 1


def test_a_second_notifier_on_the_same_outbox_stands_by(
    store: EventStore, notify_settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    """Two notifiers on one outbox: one derives and sends, the other logs that it stands
    by and takes over once the first stops."""
    settings = notify_settings.model_copy(update={"lease_poll_s": 0.05})
    stops = [threading.Event(), threading.Event()]
    notifiers = [threading.Thread(target=run_notifier, args=(settings, stop)) for stop in stops]

    def wait_for(check: Callable[[], bool]) -> None:
        deadline = time.monotonic() + 30
        while not check():
            assert time.monotonic() < deadline, caplog.text
            time.sleep(0.02)

    with caplog.at_level(logging.INFO, logger="projections.lease"):
        notifiers[0].start()
        wait_for(lambda: "notifier active" in caplog.text)
        notifiers[1].start()
        wait_for(lambda: "notifier standing by" in caplog.text)
        assert caplog.text.count("notifier active") == 1
        stops[0].set()
        notifiers[0].join(30)
        wait_for(lambda: caplog.text.count("notifier active") == 2)
        stops[1].set()
        notifiers[1].join(30)
    assert not any(n.is_alive() for n in notifiers)
