"""The notifier as one part: the outbox subscriber, the dispatcher and the appointment
sweeper (run-out holds and reminders), each in its own thread, until ``stop`` is set.
``lincah notifier`` runs it under ``lincah up``; the test stack
(tests/support.py) runs it beside the projector."""

from __future__ import annotations

import threading

from config.settings import Settings
from eventstore.port import EventStore
from notifications.appointment_sweeper import AppointmentSweeper
from notifications.channels import WebhookSender, senders
from notifications.dispatcher import Dispatcher
from notifications.outbox import Outbox
from notifications.subscriber import OutboxSubscriber


def run(store: EventStore, settings: Settings, stop: threading.Event) -> None:
    outbox = Outbox(settings.outbox_location)
    channel_senders = senders(settings)
    subscriber = OutboxSubscriber(store, outbox, settings)
    dispatcher = Dispatcher(outbox, channel_senders, settings)
    sweeper = AppointmentSweeper(store, settings.appointment_sweep_s)
    threads = [
        threading.Thread(target=subscriber.run_forever, args=(stop,), name="outbox-subscriber"),
        threading.Thread(target=dispatcher.run_forever, args=(stop,), name="dispatcher"),
        threading.Thread(target=sweeper.run_forever, args=(stop,), name="appointment-sweeper"),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    webhook = channel_senders.get("sms")  # the one sender of sms and whatsapp
    if isinstance(webhook, WebhookSender):
        webhook.close()
    outbox.close()
