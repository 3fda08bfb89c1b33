"""Notifications through the whole stack (Temporal, worker, projector, notifier, API):
the citizen's preferences, their messages with each channel's delivery state, e-mail
over a real SMTP server and WhatsApp through a real signed-webhook receiver, each
exactly once, and the administrators' dead-letter list and replay."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from typing import Any

import pytest

from accounts.registry import Registry
from config.settings import Settings
from notifications import service
from tests.accounts.conftest import Inbox
from tests.api.test_e2e import SITI, apply, publish
from tests.notifications.conftest import Receiver, receiver, smtp  # noqa: F401 - fixtures
from tests.support import Stack, run_stack

pytestmark = pytest.mark.e2e


@pytest.fixture
async def stack(
    dev_env: Any,
    settings: Settings,
    smtp: tuple[Inbox, int],  # noqa: F811
    receiver: Receiver,  # noqa: F811
) -> AsyncIterator[Stack]:
    notifying = settings.model_copy(
        update={
            "smtp_host": "127.0.0.1",
            "smtp_port": smtp[1],
            "notify_webhook_url": receiver.url,
            "notify_webhook_secret": "notify-webhook-secret-for-the-tests-0123456789",
            "notify_backoff_s": 0.05,
            "notify_backoff_max_s": 0.2,
            "notify_max_attempts": 2,
        }
    )
    async with run_stack(dev_env, notifying) as s:
        yield s


def _channels(note: dict[str, Any]) -> dict[str, str]:
    return {d["channel"]: d["state"] for d in note["deliveries"]}


async def test_preferences_delivery_state_and_dead_letters(
    stack: Stack,
    domisili: dict[str, Any],
    smtp: tuple[Inbox, int],  # noqa: F811
    receiver: Receiver,  # noqa: F811
) -> None:
    s = stack
    account = (
        Registry(s.store, s.settings)
        .register(
            SITI["nik"], "Siti Aminah", "siti@example.id", "+6281234567890", "kata-sandi-uji-2026"
        )
        .account_id
    )
    siti = await s.token(account, "citizen")
    officer = await s.token("budi@banyuwangikab.go.id", "officer", "BWI")
    admin = await s.token("admin@banyuwangikab.go.id", "agency_admin", "BWI")
    other_admin = await s.token("admin@depok.go.id", "agency_admin", "DPK")

    # Preferences: the defaults, a change, and what cannot be chosen.
    r = await s.http.get("/me/notification-preferences", headers=siti)
    assert r.json() == {
        "email": True, "sms": False, "whatsapp": True, "language": "id", "in_app": True,
        "position": None,
    }  # fmt: skip
    for wrong in ({"in_app": False}, {"language": "fr"}, {"email": "maybe"}, {"fax": True}):
        r = await s.http.put("/me/notification-preferences", headers=siti, json=wrong)
        assert r.status_code == 422, (wrong, r.text)
        assert [p["path"] for p in r.json()["problems"]] == [f"body.{next(iter(wrong))}"]
    r = await s.http.put("/me/notification-preferences", headers=siti, json={"in_app": False})
    assert "always on" in r.json()["problems"][0]["message"]
    r = await s.http.put(
        "/me/notification-preferences", headers=siti, json={"email": True, "whatsapp": True}
    )
    assert r.status_code == 200 and r.json()["position"] > 0

    # The provider fails twice: the submission's WhatsApp message is given up on.
    receiver.script = [500, 500]
    await publish(s, domisili)
    submitted = await apply(s, siti, domisili["id"], SITI)
    app_id = submitted["application_id"]
    r = await s.http.get(f"/me/notifications?min_position={submitted['position']}", headers=siti)
    [note] = r.json()
    assert note["kind"] == "submitted" and note["application_id"] == app_id
    assert note["title"] == f"Permohonan {app_id} telah diterima"
    assert _channels(note)["in_app"] == "sent"
    settled = await s.until(
        "/me/notifications",
        siti,
        lambda body: _channels(body[0]) == {"in_app": "sent", "email": "sent", "whatsapp": "dead"},
    )
    assert settled[0]["deliveries"][2]["attempts"] == 2

    health = (await s.http.get("/health")).json()["notifications"]
    assert health["dead"] == 1 and health["checkpoint"] >= submitted["position"]
    assert "lincah_notifications_dead 1.0\n" in (await s.http.get("/metrics")).text

    # The dead letter, for the agency's administrator only.
    r = await s.http.get("/admin/notifications/dead", headers=admin)
    [dead] = r.json()
    assert dead["reference"] == app_id and dead["channel"] == "whatsapp"
    assert dead["last_error"] == "the provider answered 500"
    assert (await s.http.get("/admin/notifications/dead", headers=other_admin)).json() == []
    assert (await s.http.get("/admin/notifications/dead", headers=siti)).status_code == 403
    replay = f"/admin/notifications/{dead['delivery_id']}/replay"
    assert (await s.http.post(replay, headers=other_admin)).status_code == 404
    r = await s.http.post(replay, headers=admin)
    assert r.status_code == 200 and r.json()["state"] == "queued", r.text
    await s.until("/me/notifications", siti, lambda body: _channels(body[0])["whatsapp"] == "sent")
    r = await s.http.post(replay, headers=admin)
    assert r.status_code == 409 and "not dead" in r.json()["detail"]
    assert list(receiver.sent) == [dead["delivery_id"]]

    # English from now on; the officer approves; every stage arrives once per channel.
    r = await s.http.put("/me/notification-preferences", headers=siti, json={"language": "en"})
    assert r.status_code == 200
    r = await s.http.post(
        f"/tasks/{app_id}.verify_residence.1/complete", headers=officer, json={"outcome": "approve"}
    )
    assert r.status_code == 200, r.text
    notes = (
        await s.http.get(f"/me/notifications?min_position={r.json()['position']}", headers=siti)
    ).json()
    assert [n["kind"] for n in notes] == ["approved", "notice", "submitted"]
    assert notes[0]["title"] == f"Application {app_id} approved"
    assert "Siti Aminah has been issued" in notes[1]["message"]
    await s.until(
        "/me/notifications",
        siti,
        lambda body: all(set(_channels(n).values()) == {"sent"} for n in body),
    )
    mails = [m for m in smtp[0].messages if str(m["Message-ID"]).endswith("@lincah>")]
    assert len(mails) == len({m["Message-ID"] for m in mails}) == 3
    assert len(receiver.sent) == 3 and all(
        app_id in body["text"] and len(body["text"]) <= 160 for body in receiver.sent.values()
    )
    assert all(r.signed for r in receiver.requests)


async def test_notifications_wait_for_min_position(stack: Stack) -> None:
    siti = await stack.token("siti@example.id", "citizen")
    head = stack.store.head_position()
    r = await stack.http.get(f"/me/notifications?min_position={head + 5}", headers=siti)
    assert r.status_code == 409 and "does not exist yet" in r.json()["detail"]
    assert (await stack.http.get("/me/notifications", headers=siti)).json() == []


async def test_a_notifier_restart_sends_nothing_twice(
    dev_env: Any,
    settings: Settings,
    domisili: dict[str, Any],
    smtp: tuple[Inbox, int],  # noqa: F811
    receiver: Receiver,  # noqa: F811
) -> None:
    """The notifier stops (as `lincah up` stops or restarts it) while applications move
    on; the next one delivers what happened meanwhile, and nothing already sent."""
    notifying = settings.model_copy(
        update={
            "smtp_host": "127.0.0.1",
            "smtp_port": smtp[1],
            "notify_webhook_url": receiver.url,
            "notify_webhook_secret": "notify-webhook-secret-for-the-tests-0123456789",
        }
    )
    async with run_stack(dev_env, notifying, notifier=False) as s:
        account = (
            Registry(s.store, s.settings)
            .register(
                SITI["nik"],
                "Siti Aminah",
                "siti@example.id",
                "+6281234567890",
                "kata-sandi-uji-2026",
            )
            .account_id
        )
        siti = await s.token(account, "citizen")
        officer = await s.token("budi@banyuwangikab.go.id", "officer", "BWI")
        await publish(s, domisili)

        def start() -> tuple[threading.Event, threading.Thread]:
            stop = threading.Event()
            thread = threading.Thread(target=service.run, args=(s.store, s.settings, stop))
            thread.start()
            return stop, thread

        def all_sent(body: list[dict[str, Any]]) -> bool:
            return all(set(_channels(n).values()) == {"sent"} for n in body)

        stop, thread = start()
        first = await apply(s, siti, domisili["id"], SITI)
        await s.until(
            f"/me/notifications?min_position={first['position']}",
            siti,
            lambda body: len(body) == 1 and all_sent(body),
        )
        stop.set()
        thread.join(10)

        r = await s.http.post(
            f"/tasks/{first['application_id']}.verify_residence.1/complete",
            headers=officer,
            json={"outcome": "approve"},
        )
        assert r.status_code == 200, r.text
        second = await apply(s, siti, domisili["id"], SITI)
        stop, thread = start()
        try:
            body = await s.until(
                f"/me/notifications?min_position={second['position']}",
                siti,
                lambda body: len(body) == 4 and all_sent(body),
            )
        finally:
            stop.set()
            thread.join(10)
    assert [n["kind"] for n in body] == ["submitted", "approved", "notice", "submitted"]
    mails = [m for m in smtp[0].messages if str(m["Message-ID"]).endswith("@lincah>")]
    assert len(mails) == len({m["Message-ID"] for m in mails}) == 4
    assert len(receiver.requests) == len(set(receiver.keys())) == 4
