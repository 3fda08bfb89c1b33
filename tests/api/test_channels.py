"""The four channels end to end on the real stack (tests/support.py): applications
filed at the counter and by the mobile service for a citizen found by NIK or recorded
as a walk-in (who later claims the account by registering), a citizen's own online
application, and a kiosk session opened by a face match; each shows its channel in the
application and in GET /stats/applications. Registration codes come through a real
SMTP server (aiosmtpd)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from config.settings import Settings
from domain import accounts as acc
from domain import events as ev
from lincah.demo import DOMISILI
from tests.accounts.conftest import Inbox
from tests.conftest import free_port
from tests.face.conftest import HAVE_FACE_EXTRA, needs_face_extra, needs_faces, photo
from tests.support import Stack, record_histories, run_stack

pytestmark = pytest.mark.e2e

PASSWORD = "kata-sandi-uji-2026"
CONFIRM_CODE = r"confirmation code: (\d{6})"
SERVICE = DOMISILI["id"]


def form(nik: str, name: str) -> dict[str, Any]:
    return {
        "nik": nik,
        "full_name": name,
        "address": "Jl. Ahmad Yani No. 12, RT 02/RW 05",
        "kelurahan": "Penganjuran",
        "purpose": "Pembukaan rekening bank",
    }


AGUS = ("3510151203850001", "Agus Salim")
DEWI = ("3510156512880004", "Dewi Sartika")
SITI = ("3510154808900003", "Siti Aminah")


@pytest.fixture
def inbox() -> Iterator[tuple[Inbox, int]]:
    box = Inbox()
    controller = Controller(box, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield box, controller.port
    finally:
        controller.stop()


@pytest.fixture
async def stack(dev_env, settings: Settings, inbox) -> AsyncIterator[Stack]:
    mailed = settings.model_copy(update={"smtp_host": "127.0.0.1", "smtp_port": inbox[1]})
    async with run_stack(dev_env, mailed) as s:
        admin = await s.token("admin@banyuwangikab.go.id", "agency_admin", "BWI")
        r = await s.http.post("/services", json=DOMISILI, headers=admin)
        assert r.status_code == 201, r.text
        r = await s.http.post(f"/services/{SERVICE}/versions/1/publish", headers=admin)
        assert r.status_code == 200, r.text
        yield s


async def register(s: Stack, box: Inbox, nik: str, name: str, email: str) -> dict[str, str]:
    """Register and confirm a citizen through the API; their login headers."""
    r = await s.http.post(
        "/auth/register",
        json={"nik": nik, "full_name": name, "email": email, "password": PASSWORD},
    )
    assert r.status_code == 202, r.text
    account_id = r.json()["account_id"]
    code = await box.code(email, CONFIRM_CODE)
    r = await s.http.post("/auth/confirm", json={"account_id": account_id, "code": code})
    assert r.status_code == 200 and r.json()["status"] == "active", r.text
    r = await s.http.post("/auth/login", json={"login": nik, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


async def view(s: Stack, who: dict[str, str], submitted: dict[str, Any]) -> dict[str, Any]:
    r = await s.http.get(
        f"/applications/{submitted['application_id']}?min_position={submitted['position']}",
        headers=who,
    )
    assert r.status_code == 200, r.text
    return dict(r.json())


def by_channel(stats: dict[str, Any]) -> dict[str, int]:
    return {row["channel"]: row["total"] for row in stats["by_channel"]}


async def test_counter_and_mobile_filings_walk_ins_and_their_claim(stack: Stack, inbox, dev_env):
    s, box = stack, inbox[0]
    officer = await s.token("budi@banyuwangikab.go.id", "officer", "BWI")

    # A walk-in without an account, at the counter: recorded from NIK and name.
    body = {
        "nik": AGUS[0],
        "service_id": SERVICE,
        "data": form(*AGUS),
        "location": "MPP Banyuwangi, loket 3",
    }
    key = {"Idempotency-Key": str(uuid.uuid4())}
    r = await s.http.post("/counter/applications", json=body, headers={**officer, **key})
    assert r.status_code == 201, r.text
    at_counter = r.json()
    again = await s.http.post("/counter/applications", json=body, headers={**officer, **key})
    assert again.json() == at_counter  # the key's first answer; nothing filed twice

    walk_in = acc.citizen_account_id(_lookup(s, AGUS[0]))
    shown = await view(s, officer, at_counter)
    assert (shown["channel"], shown["filed_by"]) == ("counter", "budi@banyuwangikab.go.id")
    assert shown["citizen"] == walk_in and shown["location"] == "MPP Banyuwangi, loket 3"
    assert shown["timeline"][0]["actor"] == "budi@banyuwangikab.go.id"
    notified = [
        e.data["message"]
        for e in s.store.read_stream(ev.application_stream(at_counter["application_id"]))
        if e.type == ev.CITIZEN_NOTIFIED
    ]
    assert len(notified) == 1 and "diajukan oleh petugas loket" in notified[0]

    # The mobile service files for the same NIK: the same citizen, no second account.
    r = await s.http.post(
        "/counter/applications",
        json={"nik": AGUS[0], "service_id": SERVICE, "data": form(*AGUS), "channel": "mobile",
              "location": "Kecamatan Glenmore"},
        headers=officer,
    )  # fmt: skip
    assert r.status_code == 201, r.text
    mobile = r.json()
    assert (await view(s, officer, mobile))["citizen"] == walk_in

    # A citizen's own application is online.
    siti = await s.token("siti@example.id", "citizen")
    r = await s.http.post(
        "/applications", json={"service_id": SERVICE, "data": form(*SITI)}, headers=siti
    )
    assert r.status_code == 201, r.text
    online = r.json()
    own = await view(s, siti, online)
    assert (own["channel"], own["filed_by"]) == ("online", None)

    r = await s.http.get(f"/stats/applications?min_position={online['position']}", headers=officer)
    assert r.status_code == 200, r.text
    assert by_channel(r.json()) == {"online": 1, "counter": 1, "kiosk": 0, "mobile": 1}

    # Agus registers with his NIK: he claims the walk-in account and sees what was
    # filed for him, with the notification.
    agus = await register(s, box, AGUS[0], AGUS[1], "agus@example.id")
    r = await s.http.get("/auth/me", headers=agus)
    assert r.json()["account_id"] == walk_in
    mine = (await s.http.get("/applications", headers=agus)).json()
    assert {a["application_id"]: a["channel"] for a in mine} == {
        at_counter["application_id"]: "counter",
        mobile["application_id"]: "mobile",
    }
    messages = (await s.http.get("/me/notifications", headers=agus)).json()
    assert sum("petugas layanan keliling" in m["message"] for m in messages) == 1

    # The flow runs on as any other: the officer approves the counter's application.
    app_id = at_counter["application_id"]
    r = await s.http.post(
        f"/tasks/{app_id}.verify_residence.1/complete",
        json={"outcome": "approve", "comment": "Alamat sesuai KK"},
        headers=officer,
    )
    assert r.status_code == 200 and r.json()["status"] == "approved", r.text
    await record_histories(dev_env.client, {"domisili-filed-at-counter": app_id})


async def test_a_registered_citizen_is_found_by_nik_and_others_may_not_file(stack: Stack, inbox):
    s, box = stack, inbox[0]
    dewi = await register(s, box, DEWI[0], DEWI[1], "dewi@example.id")
    dewi_id = (await s.http.get("/auth/me", headers=dewi)).json()["account_id"]
    supervisor = await s.token("kadis@banyuwangikab.go.id", "supervisor", "BWI")
    # Found by NIK: no name needed, the account is hers.
    r = await s.http.post(
        "/counter/applications",
        json={"nik": DEWI[0], "service_id": SERVICE, "data": form(*DEWI)},
        headers=supervisor,
    )
    assert r.status_code == 201, r.text
    filed = r.json()
    assert (await view(s, dewi, filed))["filed_by"] == "kadis@banyuwangikab.go.id"
    r = await s.http.post(
        "/counter/applications",
        json={"account_id": dewi_id, "service_id": SERVICE, "data": form(*DEWI)},
        headers=supervisor,
    )
    assert r.status_code == 201, r.text
    assert (await view(s, dewi, r.json()))["citizen"] == dewi_id

    # Another agency's officer may not file for this agency's service; nor may a
    # cashier or a citizen file at the counter. Nothing is recorded for them.
    body = {"nik": SITI[0], "service_id": SERVICE, "data": form(*SITI)}
    other = await s.token("petugas@dinkes.go.id", "officer", "DKS")
    r = await s.http.post("/counter/applications", json=body, headers=other)
    assert r.status_code == 403, r.text
    assert "belongs to agency BWI" in r.json()["detail"]
    for who in (
        await s.token("kasir@banyuwangikab.go.id", "cashier", "BWI"),
        await s.token("siti@example.id", "citizen"),
    ):
        r = await s.http.post("/counter/applications", json=body, headers=who)
        assert r.status_code == 403, r.text
    assert s.store.stream_version(acc.account_stream(acc.citizen_account_id(
        _lookup(s, SITI[0])))) == -1  # fmt: skip
    # A walk-in needs a name to be recorded; a NIK and an account id are one too many.
    r = await s.http.post(
        "/counter/applications",
        json={"nik": SITI[0], "service_id": SERVICE, "data": {**form(*SITI), "full_name": ""}},
        headers=supervisor,
    )
    assert r.status_code == 422, r.text
    r = await s.http.post(
        "/counter/applications", json={**body, "account_id": dewi_id}, headers=supervisor
    )
    assert r.status_code == 422, r.text


def _lookup(s: Stack, nik: str) -> str:
    from accounts.registry import Registry

    return Registry(s.store, s.settings).lookup("nik", nik)


# -- kiosk ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory):
    if not HAVE_FACE_EXTRA:
        pytest.skip("the face extra is not installed (make install)")
    from face.pipeline import get_pipeline

    settings = Settings(var_dir=tmp_path_factory.mktemp("face-var"), face_backend="dlib")
    return get_pipeline(settings, "dlib")


@needs_face_extra
@needs_faces
async def test_a_kiosk_session_opens_by_face_match_and_files_on_the_kiosk_channel(
    dev_env, settings: Settings, inbox, pipeline
):
    from lincah.face_worker import build_face_worker

    box = inbox[0]
    face = settings.model_copy(
        update={"smtp_host": "127.0.0.1", "smtp_port": inbox[1], "face_backend": "dlib"}
    )
    async with run_stack(dev_env, face) as s:
        with ThreadPoolExecutor(8) as executor:
            async with build_face_worker(dev_env.client, s.settings, executor, pipeline):
                await _kiosk_walkthrough(s, box)


async def _kiosk_walkthrough(s: Stack, box: Inbox) -> None:
    admin = await s.token("admin@banyuwangikab.go.id", "agency_admin", "BWI")
    r = await s.http.post("/services", json=DOMISILI, headers=admin)
    assert r.status_code == 201, r.text
    r = await s.http.post(f"/services/{SERVICE}/versions/1/publish", headers=admin)
    assert r.status_code == 200, r.text
    siti = await register(s, box, SITI[0], SITI[1], "siti@example.id")
    r = await s.http.post(
        "/me/face", files={"photo": ("p.jpg", photo("obama/obama1.jpg"), "image/jpeg")},
        headers=siti,
    )  # fmt: skip
    assert r.status_code == 201, r.text

    r = await s.http.post("/agencies/BWI/kiosks", json={"label": "MPP lantai 1"}, headers=admin)
    assert r.status_code == 201, r.text
    kiosk_id, device = r.json()["kiosk_id"], {"X-Kiosk-Key": r.json()["device_key"]}

    async def at_kiosk(nik: str, name: str, headers: dict[str, str]) -> Any:
        return await s.http.post(
            "/auth/kiosk",
            data={"nik": nik},
            files={"photo": ("k.jpg", photo(name), "image/jpeg")},
            headers=headers,
        )

    # Someone else's face, a NIK without an account, and no kiosk key: refused alike.
    wrong = await at_kiosk(SITI[0], "biden/biden1.jpg", device)
    assert wrong.status_code == 401, wrong.text
    assert "could not confirm that you hold this NIK" in wrong.json()["detail"]
    nobody = await at_kiosk(AGUS[0], "obama/obama2.jpg", device)
    assert (nobody.status_code, nobody.json()) == (401, wrong.json())
    r = await at_kiosk(SITI[0], "obama/obama2.jpg", {})
    assert r.status_code == 401 and "not a registered kiosk" in r.json()["detail"], r.text

    # Her own face: a short session, without a refresh token, marked kiosk.
    r = await at_kiosk(SITI[0], "obama/obama2.jpg", device)
    assert r.status_code == 200, r.text
    session = r.json()
    assert session["expires_in"] == 600 and "refresh_token" not in session
    kiosk = {"Authorization": f"Bearer {session['access_token']}"}
    # The face that opened the session is not the session's to change.
    r = await s.http.post(
        "/me/face", files={"photo": ("p.jpg", photo("biden/biden1.jpg"), "image/jpeg")},
        headers=kiosk,
    )  # fmt: skip
    assert r.status_code == 403, r.text
    assert (await s.http.delete("/me/face", headers=kiosk)).status_code == 403
    r = await s.http.post(
        "/applications", json={"service_id": SERVICE, "data": form(*SITI)}, headers=kiosk
    )
    assert r.status_code == 201, r.text
    filed = r.json()
    shown = await view(s, siti, filed)
    assert (shown["channel"], shown["filed_by"]) == ("kiosk", None)
    officer = await s.token("budi@banyuwangikab.go.id", "officer", "BWI")
    r = await s.http.get(f"/stats/applications?min_position={filed['position']}", headers=officer)
    assert by_channel(r.json())["kiosk"] == 1

    # A revoked kiosk opens no more sessions.
    r = await s.http.post(f"/agencies/BWI/kiosks/{kiosk_id}/revoke", headers=admin)
    assert r.status_code == 200 and r.json()["revoked"] is True, r.text
    r = await at_kiosk(SITI[0], "obama/obama2.jpg", device)
    assert r.status_code == 401, r.text
