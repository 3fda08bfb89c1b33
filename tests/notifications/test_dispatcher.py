"""The dispatcher against a real SMTP server (aiosmtpd) and a real HTTP receiver in
the provider's place: each delivery arrives once and signed, a failure is retried
after a backoff, a delivery that keeps failing goes to the dead-letter list and comes
back on replay, and a dispatcher killed mid-batch sends nothing twice."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from email.message import EmailMessage

import pytest

from config.settings import Settings
from eventstore.port import EventStore
from notifications.channels import Sender, WebhookSender, message_id, senders
from notifications.dispatcher import Dispatcher, backoff
from notifications.outbox import Delivery, Outbox
from notifications.subscriber import OutboxSubscriber
from tests.accounts.conftest import Inbox
from tests.notifications.conftest import Receiver, register, submit

Smtp = tuple[Inbox, int]


def _outbox(store: EventStore, settings: Settings, applications: int = 1) -> Outbox:
    siti = register(store, settings)
    for i in range(1, applications + 1):
        submit(store, f"BWI-2026-{i:06d}", siti)
    outbox = Outbox(settings.outbox_location)
    OutboxSubscriber(store, outbox, settings).catch_up()
    return outbox


def _ours(inbox: Inbox) -> list[EmailMessage]:
    """The notifications among the mails (the registration's code went there too)."""
    return [m for m in inbox.messages if str(m["Message-ID"]).endswith("@lincah>")]


def _until(check: Callable[[], bool], what: str, timeout_s: float = 15.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, what
        time.sleep(0.02)


def _drain(dispatcher: Dispatcher, outbox: Outbox, settled: set[str]) -> None:
    """Run the dispatcher until no delivery is queued, sending or failed."""

    def done() -> bool:
        dispatcher.run_once()
        return all(d["status"] in settled for d in outbox.deliveries())

    _until(done, f"the deliveries never settled: {outbox.deliveries()}")


def test_each_channel_delivers_once_and_signed(
    store: EventStore, notify_settings: Settings, smtp: Smtp, receiver: Receiver
) -> None:
    outbox = _outbox(store, notify_settings)
    dispatcher = Dispatcher(outbox, senders(notify_settings), notify_settings)
    _drain(dispatcher, outbox, {"sent"})
    assert dispatcher.run_once() == 0  # nothing left to send
    email = next(d for d in outbox.deliveries() if d["channel"] == "email")
    whatsapp = next(d for d in outbox.deliveries() if d["channel"] == "whatsapp")
    [mail] = _ours(smtp[0])
    assert mail["To"] == "siti@example.id"
    assert mail["Message-ID"] == message_id(email["delivery_id"])
    assert mail["Subject"] == "Permohonan BWI-2026-000001 telah diterima"
    assert "Yth. Bapak/Ibu" in mail.get_content() and "BWI-2026-000001" in mail.get_content()
    [request] = receiver.requests
    assert request.signed and request.key == whatsapp["delivery_id"]
    assert request.body["delivery_id"] == whatsapp["delivery_id"]
    assert request.body["channel"] == "whatsapp" and request.body["to"] == "+6281234567890"
    assert "BWI-2026-000001" in request.body["text"] and len(request.body["text"]) <= 160


def test_a_wrong_secret_does_not_verify(
    store: EventStore, notify_settings: Settings, receiver: Receiver
) -> None:
    outbox = _outbox(store, notify_settings)
    wrong = notify_settings.model_copy(update={"notify_webhook_secret": "x" * 40})
    webhook: Sender = WebhookSender(wrong)
    dispatcher = Dispatcher(outbox, {"whatsapp": webhook}, notify_settings)
    dispatcher.run_once()
    assert [r.signed for r in receiver.requests] == [False]


def test_a_failure_is_retried_after_a_backoff(
    store: EventStore, notify_settings: Settings, receiver: Receiver
) -> None:
    receiver.script = [500]
    outbox = _outbox(store, notify_settings)
    dispatcher = Dispatcher(outbox, senders(notify_settings), notify_settings)
    before = time.time()
    dispatcher.run_once()
    [whatsapp] = [d for d in outbox.deliveries() if d["channel"] == "whatsapp"]
    assert whatsapp["status"] == "failed" and whatsapp["attempts"] == 1
    assert whatsapp["last_error"] == "the provider answered 500"
    [citizen_view] = outbox.messages(whatsapp["citizen"])
    state = next(d for d in citizen_view["deliveries"] if d["channel"] == "whatsapp")
    assert state["state"] == "failed" and state["next_attempt_at"] is not None
    retry_at = (
        outbox._conn()
        .execute(
            "SELECT next_attempt_at FROM deliveries WHERE delivery_id = ?",
            (whatsapp["delivery_id"],),
        )
        .fetchone()[0]
    )
    # The first backoff is between half of notify_backoff_s and all of it.
    assert before + notify_settings.notify_backoff_s / 2 <= retry_at
    assert retry_at <= time.time() + notify_settings.notify_backoff_s
    _drain(dispatcher, outbox, {"sent"})
    assert receiver.keys() == [whatsapp["delivery_id"]] * 2
    assert len(receiver.sent) == 1
    assert next(d for d in outbox.deliveries() if d["channel"] == "whatsapp")["attempts"] == 2


def test_backoff_doubles_with_jitter_up_to_its_cap() -> None:
    rng = random.Random(7)
    for attempt, step in ((1, 2.0), (2, 4.0), (3, 8.0), (4, 16.0), (10, 600.0), (70, 600.0)):
        waits = [backoff(attempt, 2.0, 600.0, rng) for _ in range(200)]
        assert all(step / 2 <= w <= step for w in waits)
        assert max(waits) - min(waits) > step / 4  # jittered, not one value


def test_dead_after_the_last_attempt_and_replayed(
    store: EventStore, notify_settings: Settings, receiver: Receiver
) -> None:
    receiver.script = [503] * notify_settings.notify_max_attempts
    outbox = _outbox(store, notify_settings)
    dispatcher = Dispatcher(outbox, senders(notify_settings), notify_settings)
    _drain(dispatcher, outbox, {"sent", "dead"})
    [dead] = outbox.dead(None)
    assert dead["channel"] == "whatsapp" and dead["attempts"] == 3
    assert dead["last_error"] == "the provider answered 503"
    assert outbox.dead(frozenset({"BWI"})) == [dead] and outbox.dead(frozenset({"DKS"})) == []
    assert receiver.keys() == [dead["delivery_id"]] * 3 and receiver.sent == {}
    assert outbox.replay(dead["delivery_id"]) and not outbox.replay(dead["delivery_id"])
    _drain(dispatcher, outbox, {"sent"})
    assert list(receiver.sent) == [dead["delivery_id"]]  # same Idempotency-Key


def test_a_refusal_is_dead_at_once(
    store: EventStore, notify_settings: Settings, receiver: Receiver
) -> None:
    receiver.script = [400]
    outbox = _outbox(store, notify_settings)
    dispatcher = Dispatcher(outbox, senders(notify_settings), notify_settings)
    _drain(dispatcher, outbox, {"sent", "dead"})
    [dead] = outbox.dead(None)
    assert dead["attempts"] == 1 and dead["last_error"] == "the provider answered 400"


def test_an_unreachable_mail_server_is_retried(
    store: EventStore, notify_settings: Settings, smtp: Smtp
) -> None:
    from tests.conftest import free_port

    down = notify_settings.model_copy(update={"smtp_port": free_port()})
    outbox = _outbox(store, notify_settings)
    Dispatcher(outbox, senders(down), notify_settings).run_once()
    email = next(d for d in outbox.deliveries() if d["channel"] == "email")
    assert email["status"] == "failed" and "not reachable" in email["last_error"]
    _drain(Dispatcher(outbox, senders(notify_settings), notify_settings), outbox, {"sent"})
    assert len(_ours(smtp[0])) == 1


def test_two_dispatchers_never_hold_the_same_row(
    store: EventStore, notify_settings: Settings
) -> None:
    outbox = _outbox(store, notify_settings, applications=10)
    first = Dispatcher(outbox, senders(notify_settings), notify_settings)
    second = Dispatcher(Outbox(notify_settings.outbox_location), {}, notify_settings)
    a = first.outbox.claim(first.owner, 30, 12)
    b = second.outbox.claim(second.owner, 30, 12)
    assert len(a) == 12 and len(b) == 8
    assert not {d.delivery_id for d in a} & {d.delivery_id for d in b}
    assert second.outbox.claim(second.owner, 30, 12) == []


class _Crash(BaseException):
    """The process dies: nothing of the dispatcher runs after it."""


class _DiesAfterSending:
    """The provider accepted the n-th message, then the dispatcher's process died
    before it could record the send."""

    def __init__(self, inner: Sender, n: int) -> None:
        self.inner, self.n, self.count = inner, n, 0

    def send(self, delivery: Delivery) -> None:
        self.inner.send(delivery)
        self.count += 1
        if self.count == self.n:
            raise _Crash


def test_a_restart_mid_batch_sends_nothing_twice(
    store: EventStore, notify_settings: Settings, smtp: Smtp, receiver: Receiver
) -> None:
    outbox = _outbox(store, notify_settings, applications=3)
    webhook = WebhookSender(notify_settings)
    dying = Dispatcher(
        outbox,
        {**senders(notify_settings), "whatsapp": _DiesAfterSending(webhook, 2)},
        notify_settings,
    )
    with pytest.raises(_Crash):
        dying.run_once()
    sent_before = {
        d["delivery_id"] for d in outbox.deliveries("sent") if d["channel"] == "whatsapp"
    }
    assert len(sent_before) == 1  # the first was recorded; the second was sent, not recorded
    assert len(outbox.deliveries("sending")) > 1  # the rest of the batch: claimed, unsent
    # The restarted process (another dispatcher) takes the batch up once the lease ends.
    restarted = Dispatcher(Outbox(notify_settings.outbox_location), senders(notify_settings),
                           notify_settings)  # fmt: skip
    _drain(restarted, restarted.outbox, {"sent"})
    keys = receiver.keys()
    assert sorted(set(keys)) == sorted(
        d["delivery_id"] for d in outbox.deliveries() if d["channel"] == "whatsapp"
    )
    assert all(keys.count(k) == 1 for k in sent_before)  # recorded sends never repeat
    assert len(keys) == 4  # three messages; the unrecorded one repeated with its key...
    assert len(receiver.sent) == 3  # ...so the provider sent each message once
    assert len(_ours(smtp[0])) == 3
    webhook.close()


def test_a_stopping_dispatcher_gives_back_what_it_did_not_try(
    store: EventStore, notify_settings: Settings, receiver: Receiver
) -> None:
    outbox = _outbox(store, notify_settings, applications=3)
    stop = threading.Event()

    class StopsAfterOne:
        def send(self, delivery: Delivery) -> None:
            stop.set()

    stopping = StopsAfterOne()
    dispatcher = Dispatcher(outbox, {"email": stopping, "whatsapp": stopping}, notify_settings)
    assert dispatcher.run_once(stop) == 1
    statuses = sorted(d["status"] for d in outbox.deliveries() if d["channel"] != "in_app")
    assert statuses == ["queued"] * 5 + ["sent"]
    assert all(d["attempts"] == 0 for d in outbox.deliveries("queued"))
