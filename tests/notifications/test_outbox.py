"""The outbox subscriber: each citizen-facing event becomes one message and one
delivery per channel, exactly once: across restarts, with a crash between the rows and
the checkpoint, with a process killed mid-run, and never again after a read-model
rebuild."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

import pytest

from config.settings import Settings
from domain import events as ev
from eventstore.port import EventStore, NewEvent
from notifications import preferences
from notifications.outbox import Outbox
from notifications.subscriber import NO_PHONE, OutboxSubscriber
from projections.projector import Projector
from projections.readmodels import ReadModels
from projections.sqldb import Db
from tests.notifications.conftest import correction, later, register, submit, task

ROOT = Path(__file__).resolve().parents[2]


def _subscriber(store: EventStore, settings: Settings) -> OutboxSubscriber:
    return OutboxSubscriber(store, Outbox(settings.outbox_location), settings)


def _rows(outbox: Outbox) -> list[tuple[int, str, str]]:
    return [(d["position"], d["channel"], d["status"]) for d in outbox.deliveries()]


def test_citizen_facing_events_become_one_delivery_per_channel(
    store: EventStore, notify_settings: Settings
) -> None:
    siti = register(store, notify_settings)
    submit(store, "BWI-2026-000001", siti)
    later(store, "BWI-2026-000001", task())  # officers' business: no message
    later(store, "BWI-2026-000001", correction(siti))
    later(store, "BWI-2026-000001", ev.ApplicationCompleted(step="end", result="approved"))
    sub = _subscriber(store, notify_settings)
    assert sub.catch_up() == store.head_position()
    messages = sub.outbox.messages(siti)
    assert [m["kind"] for m in messages] == ["approved", "correction", "submitted"]
    fix = messages[1]
    assert fix["reference"] == "BWI-2026-000001" and "Foto KTP buram" in fix["message"]
    assert "2026-12-03" in fix["message"] and "Siti" not in fix["message"]  # no name
    # in-app is delivered by being listed; e-mail, SMS and WhatsApp by the dispatcher,
    # SMS only for those who chose it (off by default).
    assert {(d["channel"], d["state"]) for d in fix["deliveries"]} == {
        ("in_app", "sent"),
        ("email", "queued"),
        ("whatsapp", "queued"),
    }
    ids = [d["delivery_id"] for d in sub.outbox.deliveries()]
    assert len(ids) == len(set(ids)) == 9
    event = store.read_all(after=0, limit=100)[messages[1]["position"] - 1]
    assert f"{event.id}-email" in ids  # deterministic: the event's id and the channel


def test_exactly_once_across_a_restart(store: EventStore, notify_settings: Settings) -> None:
    siti = register(store, notify_settings)
    submit(store, "BWI-2026-000001", siti)
    first = _subscriber(store, notify_settings)
    first.catch_up()
    before = _rows(first.outbox)
    first.outbox.close()
    later(store, "BWI-2026-000001", correction(siti))
    again = _subscriber(store, notify_settings)  # a new process on the same file
    again.catch_up()
    after = _rows(again.outbox)
    assert after[: len(before)] == before
    assert len(after) == len(before) * 2
    assert again.catch_up() == 0 and again.outbox.checkpoint() == store.head_position()


def test_a_stale_batch_is_refused(store: EventStore, notify_settings: Settings) -> None:
    """Two subscribers read the same batch; only the first one's derivation counts."""
    siti = register(store, notify_settings)
    submit(store, "BWI-2026-000001", siti)
    a, b = _subscriber(store, notify_settings), _subscriber(store, notify_settings)
    batch = store.read_all(after=0)
    assert a.apply_batch(0, batch) == len(batch)
    assert b.apply_batch(0, batch) == 0
    assert len(_rows(a.outbox)) == 3


class _CrashBeforeCheckpoint(OutboxSubscriber):
    def _save_checkpoint(self, db: Db, position: int) -> None:
        raise SystemExit("killed between the rows and the checkpoint")


def test_rows_and_checkpoint_commit_together(store: EventStore, notify_settings: Settings) -> None:
    siti = register(store, notify_settings)
    submit(store, "BWI-2026-000001", siti)
    crashing = _CrashBeforeCheckpoint(
        store, Outbox(notify_settings.outbox_location), notify_settings
    )
    with pytest.raises(SystemExit):
        crashing.run_once()
    outbox = Outbox(notify_settings.outbox_location)
    assert outbox.checkpoint() == 0 and outbox.deliveries() == []  # nothing half-written
    _subscriber(store, notify_settings).catch_up()
    assert len(_rows(outbox)) == 3  # derived once, after the "restart"


def test_a_killed_subscriber_resumes_exactly_once(
    store: EventStore, notify_settings: Settings, tmp_path: Path
) -> None:
    """kill -9 while a separate process derives one event at a time; the restart derives
    every remaining event once (a second derivation would break the UNIQUE keys)."""
    siti = register(store, notify_settings)
    apps = 150
    for i in range(1, apps + 1):
        submit(store, f"BWI-2026-{i:06d}", siti)
        later(store, f"BWI-2026-{i:06d}", correction(siti))
    settings_file = tmp_path / "settings.json"
    settings_file.write_text(notify_settings.model_dump_json())
    script = textwrap.dedent(f"""
        from config.settings import Settings
        from eventstore.factory import open_event_store
        from notifications.outbox import Outbox
        from notifications.subscriber import OutboxSubscriber
        s = Settings.model_validate_json(open({str(settings_file)!r}).read())
        store = open_event_store("sqlite", s.eventstore_location)
        sub = OutboxSubscriber(store, Outbox(s.outbox_location), s)
        while sub.run_once(limit=1):
            pass
    """)
    child = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT)  # noqa: S603
    outbox = Outbox(notify_settings.outbox_location)
    try:
        deadline = time.monotonic() + 120
        while outbox.checkpoint() < store.head_position() // 3:
            assert child.poll() is None, "the subscriber ended before it could be killed"
            assert time.monotonic() < deadline
            time.sleep(0.01)
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
    assert outbox.checkpoint() < store.head_position()
    _subscriber(store, notify_settings).catch_up()
    rows = _rows(outbox)
    assert len(rows) == apps * 2 * 3  # two messages each, in-app + e-mail + WhatsApp
    assert len({(p, c) for p, c, _ in rows}) == len(rows)


def test_a_read_model_rebuild_sends_nothing_again(
    store: EventStore, notify_settings: Settings
) -> None:
    siti = register(store, notify_settings)
    submit(store, "BWI-2026-000001", siti)
    sub = _subscriber(store, notify_settings)
    sub.catch_up()
    rows = _rows(sub.outbox)
    models = ReadModels(notify_settings.readmodel_location)
    Projector(store, models).rebuild()
    assert models.path != sub.outbox.path
    assert sub.catch_up() == 0 and _rows(sub.outbox) == rows


def test_preferences_hold_from_their_event_on(store: EventStore, notify_settings: Settings) -> None:
    siti = register(store, notify_settings)
    submit(store, "BWI-2026-000001", siti)
    preferences.save(
        store, siti, preferences.Preferences(email=False, sms=True, whatsapp=False, language="en")
    )
    later(store, "BWI-2026-000001", correction(siti, "Blurred ID card"))
    sub = _subscriber(store, notify_settings)
    sub.catch_up()
    fix, submitted = sub.outbox.messages(siti)
    assert {d["channel"] for d in submitted["deliveries"]} == {"in_app", "email", "whatsapp"}
    assert {d["channel"] for d in fix["deliveries"]} == {"in_app", "sms"}
    assert fix["title"] == "Application BWI-2026-000001 needs a correction"
    assert submitted["title"] == "Permohonan BWI-2026-000001 telah diterima"


def test_no_address_is_skipped_with_the_reason(
    store: EventStore, notify_settings: Settings
) -> None:
    siti = register(store, notify_settings, phone=None)
    submit(store, "BWI-2026-000001", siti)
    submit(store, "BWI-2026-000002", "dev-subject-without-account")
    sub = _subscriber(store, notify_settings)
    sub.catch_up()
    by_channel = {d["channel"]: d for d in sub.outbox.deliveries() if d["citizen"] == siti}
    assert by_channel["whatsapp"]["status"] == "skipped"
    assert by_channel["whatsapp"]["last_error"] == NO_PHONE
    assert by_channel["email"]["status"] == "queued"
    other = {d["channel"]: d["status"] for d in sub.outbox.deliveries() if d["citizen"] != siti}
    assert other == {"in_app": "sent", "email": "skipped", "whatsapp": "skipped"}


def test_an_unreadable_event_is_skipped_not_fatal(
    store: EventStore, notify_settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    siti = register(store, notify_settings)
    submit(store, "BWI-2026-000001", siti)
    store.append(
        ev.application_stream("BWI-2026-000001"),
        [NewEvent(uuid.uuid4(), ev.CORRECTION_REQUESTED, {"reason": 1})],
    )
    later(store, "BWI-2026-000001", correction(siti))
    sub = _subscriber(store, notify_settings)
    with caplog.at_level(logging.WARNING):
        sub.catch_up()
    assert [m["kind"] for m in sub.outbox.messages(siti)] == ["correction", "submitted"]
    assert "type CorrectionRequested" in caplog.text and "reason" not in caplog.text


def test_old_events_are_listed_but_not_sent(store: EventStore, notify_settings: Settings) -> None:
    """A first start on an existing event log must not mail years of history."""
    siti = register(store, notify_settings)
    submit(store, "BWI-2026-000001", siti)
    time.sleep(0.3)
    late = notify_settings.model_copy(update={"notify_max_age_s": 0.2})
    sub = _subscriber(store, late)
    sub.catch_up()
    [note] = sub.outbox.messages(siti)
    assert {d["channel"]: d["state"] for d in note["deliveries"]} == {
        "in_app": "sent",
        "email": "skipped",
        "whatsapp": "skipped",
    }


def test_complaints_tell_their_named_complainant(
    store: EventStore, notify_settings: Settings
) -> None:
    from domain import complaints as c

    siti = register(store, notify_settings)

    def file(complaint_id: str, complainant: str | None, *more: ev.Event) -> None:
        filed = c.ComplaintFiled(
            complaint_id=complaint_id,
            agency="BWI",
            subject=c.Subject(kind="service", ref="surat-keterangan-domisili"),
            text="Petugas tidak ada di loket",
            complainant=complainant,
            anonymity="named" if complainant else "anonymous",
        )
        store.append(
            c.complaint_stream(complaint_id),
            [NewEvent(uuid.uuid4(), e.TYPE, e.payload()) for e in (filed, *more)],
        )

    file(
        "lpr-1",
        siti,
        c.ComplaintForwarded(from_agency="BWI", to_agency="DKS", by="desk"),
        c.ComplaintFollowedUp(by="desk", unit="Loket 3", text="Sudah ditegur"),
    )
    file("lpr-2", None)  # anonymous: nobody to write to
    sub = _subscriber(store, notify_settings)
    sub.catch_up()
    notes = sub.outbox.messages(siti)
    assert [(n["kind"], n["reference"]) for n in notes] == [
        ("complaint_followed_up", "lpr-1"),
        ("complaint_forwarded", "lpr-1"),
        ("complaint_received", "lpr-1"),
    ]
    assert notes[0]["application_id"] is None and "DKS" in notes[1]["message"]
    # The dead-letter scope follows the complaint to the agency that handles it now.
    agencies = {d["kind"]: d["agency"] for d in sub.outbox.deliveries()}
    assert agencies == {
        "complaint_received": "BWI",
        "complaint_forwarded": "DKS",
        "complaint_followed_up": "DKS",
    }
    assert len(sub.outbox.deliveries()) == 9
