"""Booking a visit through the whole stack (API, worker, projector, notifier with its
appointment sweeper): an administrator defines a location, a citizen lists its slots,
books, confirms, gets a QR ticket that verifies, is reminded by e-mail, moves and
cancels the visit; another citizen sees none of it."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from accounts.registry import Registry
from config.settings import Settings
from domain import qr_ticket
from tests.accounts.conftest import Inbox, smtp  # noqa: F401 - fixture
from tests.api.test_e2e import SITI, apply, publish
from tests.support import Stack, run_stack

pytestmark = pytest.mark.e2e

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
ALL_DAY = [{"start": "00:00", "end": "23:59"}]


@pytest.fixture
async def stack(
    dev_env: Any,
    settings: Settings,
    smtp: tuple[Inbox, int],  # noqa: F811
) -> AsyncIterator[Stack]:
    mailing = settings.model_copy(
        update={"smtp_host": "127.0.0.1", "smtp_port": smtp[1], "appointment_sweep_s": 0.2}
    )
    async with run_stack(dev_env, mailing) as s:
        yield s


async def mail_with_subject(inbox: Inbox, subject: str, timeout_s: float = 30.0) -> str:
    for _ in range(int(timeout_s / 0.1)):
        for msg in inbox.messages:
            if msg["Subject"] == subject:
                return str(msg.get_content())
        await asyncio.sleep(0.1)
    raise AssertionError(f"no mail {subject!r}; got {[m['Subject'] for m in inbox.messages]}")


async def test_book_confirm_ticket_remind_move_and_cancel(
    stack: Stack,
    domisili: dict[str, Any],
    smtp: tuple[Inbox, int],  # noqa: F811
) -> None:
    s = stack
    # The Domisili flow with a visit first: the citizen brings the originals.
    visit = {
        "kind": "appointment",
        "id": "ambil_dokumen",
        "name": "Pencocokan dokumen asli",
        "purpose": "Membawa KTP dan KK asli",
        "deadline": {"amount": 10, "unit": "working_days"},
        "next": "verify_residence",
        "no_show": "notify_refused",
    }
    steps = [dict(x) for x in domisili["steps"]]
    steps[0]["next"] = "ambil_dokumen"
    domisili = {**domisili, "steps": [steps[0], visit, *steps[1:]]}
    service = domisili["id"]
    admin = await s.token("admin@banyuwangikab.go.id", "agency_admin", "BWI")
    officer = await s.token("budi@banyuwangikab.go.id", "officer", "BWI")
    other_officer = await s.token("petugas@depok.go.id", "officer", "DPK")
    account = Registry(s.store, s.settings).register(
        SITI["nik"], "Siti Aminah", "siti@example.id", "+6281234567890", "kata-sandi-uji-2026"
    )
    siti = await s.token(account.account_id, "citizen")
    dewi = await s.token("dewi@example.id", "citizen")

    # The location: open all day every day, one officer for the service.
    location = {
        "name": "MPP Banyuwangi",
        "address": "Jl. Dr. Sutomo No. 1, Banyuwangi",
        "counters": [{"id": "1", "name": "Loket 1", "services": [service]}],
        "hours": {str(d): ALL_DAY for d in range(7)},
    }
    r = await s.http.put("/agencies/BWI/locations/mpp-bwi", json=location, headers=admin)
    assert r.status_code == 200, r.text
    r = await s.http.put(
        "/agencies/BWI/locations/mpp-bwi", json={**location, "agency": "DPK"}, headers=admin
    )
    assert r.status_code == 422 and "differs from the path" in r.text
    r = await s.http.put("/agencies/DPK/locations/mpp-dpk", json=location, headers=admin)
    assert r.status_code == 403
    [listed] = (await s.http.get("/public/locations?agency=BWI")).json()
    assert listed["address"] == location["address"] and listed["time_zone"] == "WIB"
    assert (await s.http.get("/public/locations/mpp-bwi")).json() == listed
    assert (await s.http.get("/public/locations/tidak-ada")).status_code == 404

    await publish(s, domisili)
    application = (await apply(s, siti, service, SITI))["application_id"]

    # Slots: from now plus the booking notice; two at least 2 hours ahead, so the
    # visit can still be moved (changes close an hour before) and is due a reminder.
    r = await s.http.get(f"/public/locations/mpp-bwi/slots?service={service}&days=2")
    assert r.status_code == 200, r.text
    slots = r.json()
    now = datetime.now(UTC)
    assert slots and all(datetime.fromisoformat(x["start"]) >= now for x in slots)
    later = [x for x in slots if datetime.fromisoformat(x["start"]) > now + timedelta(hours=2)]
    first, second = later[0], later[1]
    assert datetime.fromisoformat(first["start"]) < now + timedelta(hours=23)
    assert first["capacity"] == first["remaining"] == 1

    async def remaining(slot: dict[str, Any]) -> int:
        day = (datetime.fromisoformat(slot["start"]) + timedelta(hours=7)).date()  # WIB
        r = await s.http.get(f"/public/locations/mpp-bwi/slots?service={service}&from={day}&days=2")
        return next(x["remaining"] for x in r.json() if x["id"] == slot["id"])

    # Book, with a retry under the same Idempotency-Key.
    booking = {"application_id": application, "step": "ambil_dokumen", "slot_id": first["id"]}
    key = {"Idempotency-Key": str(uuid.uuid4())}
    r = await s.http.post("/me/appointments", json=booking, headers={**siti, **key})
    assert r.status_code == 201, r.text
    held = r.json()
    assert held["status"] == "held" and held["qr_ticket"] is None and held["hold_until"]
    again = await s.http.post("/me/appointments", json=booking, headers={**siti, **key})
    assert again.status_code == 201 and again.json() == held
    assert await remaining(first) == 0
    appointment = held["appointment_id"]
    r = await s.http.post("/me/appointments", json=booking, headers=dewi)
    assert r.status_code == 404  # not her application

    # Another citizen's appointment is as unknown as one that does not exist.
    for method, path in (
        ("GET", f"/me/appointments/{appointment}"),
        ("GET", f"/me/appointments/{appointment}/ticket.png"),
        ("POST", f"/me/appointments/{appointment}/confirm"),
        ("DELETE", f"/me/appointments/{appointment}"),
    ):
        mine = await s.http.request(method, path, headers=dewi)
        unknown = await s.http.request(method, path.replace(application, "BWI-2026-999999"),
                                       headers=dewi)  # fmt: skip
        assert mine.status_code == unknown.status_code == 404, (path, mine.text)
        assert mine.json()["detail"].replace(application, "X") == unknown.json()["detail"].replace(
            "BWI-2026-999999", "X"
        )
    assert (await s.http.get("/me/appointments", headers=dewi)).json() == []

    # Confirm: the QR ticket, in the answer and as a PNG.
    r = await s.http.get(f"/me/appointments/{appointment}/ticket.png", headers=siti)
    assert r.status_code == 409  # held, not yet confirmed
    r = await s.http.post(f"/me/appointments/{appointment}/confirm", headers=siti)
    assert r.status_code == 200, r.text
    confirmed = r.json()
    assert confirmed["status"] == "confirmed"
    payload = qr_ticket.read(s.settings.ticket_secret(), confirmed["qr_ticket"])
    assert (payload.appointment_id, payload.slot_id) == (appointment, first["id"])
    r = await s.http.get(f"/me/appointments/{appointment}/ticket.png", headers=siti)
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    assert r.content.startswith(PNG_SIGNATURE)

    # Staff of the agency see who is booked when, the name masked.
    local_day = (datetime.fromisoformat(first["start"]) + timedelta(hours=7)).date()
    r = await s.http.get(f"/locations/mpp-bwi/appointments?day={local_day}", headers=officer)
    assert r.status_code == 200, r.text
    [visit] = r.json()
    assert visit["appointment_id"] == appointment and visit["status"] == "confirmed"
    assert account.account_id not in r.text and "siti" not in r.text.lower()
    r = await s.http.get(f"/locations/mpp-bwi/appointments?day={local_day}", headers=other_officer)
    assert r.status_code == 404

    # The reminder is due (the visit is within 24 hours): the sweeper records it and the
    # notifier e-mails it.
    when = confirmed["when"]
    body = await mail_with_subject(smtp[0], f"Pengingat: kunjungan {when}")
    assert application in body
    reminded = await s.until(f"/me/appointments/{appointment}", siti, lambda b: b["reminded"])
    assert reminded["status"] == "confirmed"

    # Move to the second slot: the first is free again, the ticket names the new slot.
    r = await s.http.post(
        f"/me/appointments/{appointment}/reschedule", json={"slot_id": second["id"]}, headers=siti
    )
    assert r.status_code == 200, r.text
    moved = r.json()
    assert moved["slot_id"] == second["id"] and moved["reschedules"] == 1
    assert qr_ticket.read(s.settings.ticket_secret(), moved["qr_ticket"]).slot_id == second["id"]
    assert (await remaining(first), await remaining(second)) == (1, 0)
    await mail_with_subject(smtp[0], f"Jadwal kunjungan dipindah ke {moved['when']}")

    # Cancel: the place comes back; a second cancel answers the same.
    r = await s.http.delete(f"/me/appointments/{appointment}", headers=siti)
    assert r.status_code == 200 and r.json()["status"] == "cancelled", r.text
    assert (await s.http.delete(f"/me/appointments/{appointment}", headers=siti)).json()[
        "status"
    ] == "cancelled"
    assert await remaining(second) == 1
    [mine] = (await s.http.get("/me/appointments", headers=siti)).json()
    assert mine["status"] == "cancelled" and mine["qr_ticket"] is None
    await mail_with_subject(smtp[0], f"Jadwal kunjungan {moved['when']} dibatalkan")


async def test_slots_outside_the_horizon_are_refused(stack: Stack) -> None:
    admin = await stack.token("admin@banyuwangikab.go.id", "agency_admin", "BWI")
    location = {
        "name": "MPP Banyuwangi",
        "counters": [{"id": "1", "name": "Loket 1", "services": ["ktp-el"]}],
        "hours": {"0": ALL_DAY},
    }
    r = await stack.http.put("/agencies/BWI/locations/mpp-bwi", json=location, headers=admin)
    assert r.status_code == 200, r.text
    for day in ("0001-01-01", "9999-12-31", "2000-01-01"):
        r = await stack.http.get(f"/public/locations/mpp-bwi/slots?service=ktp-el&from={day}")
        assert r.status_code == 422, (day, r.text)
        assert r.json()["problems"][0]["path"] == "query.from"
    r = await stack.http.get("/public/locations/mpp-bwi/slots?service=ktp-el&days=15")
    assert r.status_code == 422
