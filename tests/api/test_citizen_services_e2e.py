"""Issue 12's acceptance, end to end on the real parts: Temporal's dev server, the
application worker, the projector, the notifier, the SQLite event store, an SMTP server
(aiosmtpd) and a signed-webhook receiver on 127.0.0.1.

A citizen registers (the code comes by e-mail), fills their profile, a counter officer
verifies it against the KTP, the citizen applies for a service whose form comes fully
prefilled and attaches a requirement from their wallet; every stage reaches them by
e-mail and WhatsApp exactly once, across a restart of the application worker and of
the notifier; they download all of their data. A walk-in filed at the counter counts
under the channel ``counter`` in the statistics."""

from __future__ import annotations

import asyncio
import copy
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest

from config.settings import Settings
from lincah.demo import DOMISILI
from tests.accounts.conftest import Inbox
from tests.api.test_e2e import publish
from tests.documents.samples import pdf
from tests.notifications.conftest import Receiver, receiver, smtp  # noqa: F401 - fixtures
from tests.support import Stack, run_stack

pytestmark = pytest.mark.e2e

NIK = "3510154808900003"  # born 8 August 1990 (day + 40: a woman)
PASSWORD = "kopi-luwak-2026"
PROFILE = {
    "kk_number": "3510150101090007",
    "full_name": "Siti Aminah",
    "birth_place": "Banyuwangi",
    "birth_date": "1990-08-08",
    "sex": "P",
    "address": {
        "street": "Jl. Ahmad Yani No. 12",
        "rt": "002",
        "rw": "005",
        "kelurahan_desa": "Penganjuran",
        "kecamatan": "Banyuwangi",
        "kabupaten_kota": "Kabupaten Banyuwangi",
        "province": "Jawa Timur",
    },
    "religion": "Islam",
    "marital_status": "Kawin",
    "occupation": "Wiraswasta",
    # Not the account's number: the profile's is the one she chose to be reached at.
    "phone": "+6285712345678",
}
CONFIRM_CODE = r"confirmation code: (\d{6})"

# Every field of this service's form comes from the profile; the Kartu Keluarga scan is
# required and comes from the wallet.
PREFILLED = {
    **copy.deepcopy(DOMISILI),
    "id": "surat-keterangan-domisili-prefill",
    "name": "Surat Keterangan Domisili (formulir terisi otomatis)",
}
PREFILLED["fields"] = [f for f in PREFILLED["fields"] if f["id"] != "purpose"]
for field in PREFILLED["fields"]:
    if field["id"] == "kk_scan":
        field["required"] = True


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
        }
    )
    async with run_stack(dev_env, notifying) as s:
        yield s


def _states(note: dict[str, Any]) -> dict[str, str]:
    return {d["channel"]: d["state"] for d in note["deliveries"]}


def _all_sent(notes: list[dict[str, Any]], count: int) -> bool:
    return len(notes) == count and all(
        _states(n) == {"in_app": "sent", "email": "sent", "whatsapp": "sent"} for n in notes
    )


async def test_a_citizen_is_served_once_from_profile_to_export(
    stack: Stack,
    smtp: tuple[Inbox, int],  # noqa: F811
    receiver: Receiver,  # noqa: F811
) -> None:
    s, inbox = stack, smtp[0]
    await publish(s, PREFILLED)
    await publish(s, DOMISILI)
    officer = await s.token("budi@banyuwangikab.go.id", "officer", "BWI")

    # She registers; the confirmation code comes by e-mail.
    r = await s.http.post(
        "/auth/register",
        json={"nik": NIK, "full_name": "Siti Aminah", "email": "siti@example.id",
              "phone": "+6281234567890", "password": PASSWORD},
    )  # fmt: skip
    assert r.status_code == 202, r.text
    account_id = r.json()["account_id"]
    code = await inbox.code("siti@example.id", CONFIRM_CODE)
    r = await s.http.post("/auth/confirm", json={"account_id": account_id, "code": code})
    assert r.status_code == 200, r.text
    r = await s.http.post("/auth/login", json={"login": "siti@example.id", "password": PASSWORD})
    assert r.status_code == 200, r.text
    siti = {"Authorization": f"Bearer {r.json()['access_token']}"}

    # Her profile starts with the NIK she registered with; a birth date it contradicts
    # is refused, and she fills the rest once.
    mine = (await s.http.get("/me/profile", headers=siti)).json()
    assert mine["fields"]["nik"]["value"] == NIK
    r = await s.http.patch("/me/profile", headers=siti, json={"birth_date": "1990-08-09"})
    assert r.status_code == 422 and "birth_date" in r.text, r.text
    r = await s.http.patch("/me/profile", headers=siti, json=PROFILE)
    assert r.status_code == 200, r.text
    assert {f["provenance"] for f in r.json()["fields"].values()} == {"self-declared"}

    # At the counter the officer finds her by the NIK on her KTP and verifies it all.
    r = await s.http.post("/citizens/lookup", headers=officer, json={"nik": NIK})
    assert r.status_code == 200, r.text
    assert r.json()["account_id"] == account_id and r.json()["nik"].endswith("0003")
    declared = list((await s.http.get("/me/profile", headers=siti)).json()["fields"])
    r = await s.http.post(
        f"/citizens/{account_id}/profile/verify", headers=officer, json={"fields": declared}
    )
    assert r.status_code == 200, r.text
    mine = (await s.http.get("/me/profile", headers=siti)).json()
    assert {f["provenance"] for f in mine["fields"].values()} == {"verified-counter"}
    assert [h["kind"] for h in mine["history"]] == ["declared", "declared", "verified"]

    # She keeps her Kartu Keluarga scan in the wallet, once.
    scan = pdf("KARTU KELUARGA 3510150101090007")
    r = await s.http.post(
        "/me/documents",
        headers=siti,
        files={"file": ("kk.pdf", scan, "application/pdf")},
        data={"kind": "kk"},
    )
    assert r.status_code == 201, r.text
    document_id = r.json()["document_id"]

    # The form comes filled from the profile, every field verified, and the wallet's
    # KK offered for the upload.
    r = await s.http.get(f"/services/{PREFILLED['id']}/form?prefill=true", headers=siti)
    assert r.status_code == 200, r.text
    fields = {f["id"]: f for f in r.json()["fields"]}
    typed = {k: f for k, f in fields.items() if f["type"] != "file"}
    assert typed and all(f["provenance"] == "verified-counter" for f in typed.values()), typed
    assert fields["full_name"]["value"] == "Siti Aminah"
    assert [d["document_id"] for d in fields["kk_scan"]["offers"]] == [document_id]

    # She applies without typing anything.
    r = await s.http.post(
        "/applications",
        headers={**siti, "Idempotency-Key": "siti-domisili-1"},
        json={
            "service_id": PREFILLED["id"],
            "data": {k: f["value"] for k, f in typed.items()},
            "attachments": {"kk_scan": document_id},
        },
    )
    assert r.status_code == 201, r.text
    app_id, position = r.json()["application_id"], r.json()["position"]
    view = (
        await s.http.get(f"/applications/{app_id}?min_position={position}", headers=officer)
    ).json()
    assert view["channel"] == "online"
    assert set(view["provenance"].values()) == {"verified-counter"}
    assert view["warnings"] == []  # nothing changed that the counter had verified
    [attached] = view["attachments"]
    assert attached["document_id"] == document_id
    r = await s.http.get(f"/applications/{app_id}/attachments/{document_id}", headers=officer)
    assert r.status_code == 200 and r.content == scan

    await s.until(
        f"/me/notifications?min_position={position}", siti, lambda notes: _all_sent(notes, 1)
    )

    # The application worker and the notifier restart (as `lincah up` restarts a part
    # that died); the officer decides meanwhile.
    await s.restart("worker")
    await s.restart("notifier")
    tasks = (await s.http.get(f"/tasks?min_position={position}", headers=officer)).json()
    [task] = [t for t in tasks if t["application_id"] == app_id]
    r = await s.http.post(
        f"/tasks/{task['task_id']}/complete",
        headers=officer,
        json={"outcome": "approve", "comment": "Alamat sesuai KK"},
    )
    assert r.status_code == 200, r.text
    notes = await s.until("/me/notifications", siti, lambda notes: _all_sent(notes, 3))
    assert sorted(n["kind"] for n in notes) == ["approved", "notice", "submitted"]
    await s.restart("notifier")
    await asyncio.sleep(1.0)  # a restarted notifier that resent would do so now

    # Each stage reached her exactly once by e-mail and by WhatsApp, at her profile's
    # number, signed.
    mails = [m for m in inbox.messages if str(m["Message-ID"]).endswith("@lincah>")]
    assert len(mails) == 3 and {m["To"] for m in mails} == {"siti@example.id"}
    assert len({m["Message-ID"] for m in mails}) == 3
    assert any(app_id in str(m["Subject"]) for m in mails)
    hooks = [q for q in receiver.requests if q.body["to"] == PROFILE["phone"]]
    assert len(hooks) == len(receiver.requests) == 3
    assert all(q.signed for q in hooks) and len(set(receiver.keys())) == 3
    assert Counter(q.body["channel"] for q in hooks) == {"whatsapp": 3}

    # Right of access: all of her data, in one download.
    r = await s.http.get("/me/export", headers=siti)
    assert r.status_code == 200, r.text
    assert "attachment" in r.headers["content-disposition"]
    export = orjson.loads(r.content)
    assert [a["application_id"] for a in export["applications"]] == [app_id]
    assert export["applications"][0]["status"] == "approved"
    assert export["profile"]["fields"]["full_name"]["provenance"] == "verified-counter"
    assert [d["document_id"] for d in export["wallet"]] == [document_id]
    assert len(export["notifications"]) == 3
    assert "budi@banyuwangikab.go.id" not in r.text  # staff are named by their part

    # A walk-in without an account is served at the counter: the officer files for him.
    r = await s.http.post(
        "/counter/applications",
        headers={**officer, "Idempotency-Key": "walk-in-1"},
        json={
            "nik": "3510150505850002",
            "full_name": "Ahmad Fauzi",
            "service_id": DOMISILI["id"],
            "data": {
                "nik": "3510150505850002",
                "full_name": "Ahmad Fauzi",
                "address": "Jl. Brawijaya No. 3, RT 01/RW 02",
                "kelurahan": "Kepatihan",
                "purpose": "Pendaftaran sekolah anak",
            },
        },
    )
    assert r.status_code == 201, r.text
    walk_in = r.json()
    admin = await s.token("admin@banyuwangikab.go.id", "agency_admin", "BWI")
    stats = (
        await s.http.get(f"/stats/applications?min_position={walk_in['position']}", headers=admin)
    ).json()
    by_channel = {row["channel"]: row["total"] for row in stats["by_channel"]}
    assert by_channel == {"online": 1, "counter": 1, "kiosk": 0, "mobile": 0}
    filed = (await s.http.get(f"/applications/{walk_in['application_id']}", headers=officer)).json()
    assert filed["channel"] == "counter" and filed["filed_by"] == "budi@banyuwangikab.go.id"
