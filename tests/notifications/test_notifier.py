"""``lincah notifier`` as `lincah up` runs it: a process that derives and delivers until
SIGTERM, then exits 0."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from config.settings import Settings
from eventstore.port import EventStore
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
