"""An application with a face check, end to end: the real Temporal dev server, the
application worker and the face worker (on its own task queue), the projector and the
API. A selfie that matches the enrolment goes straight on; one that does not, or none,
takes the definition's mismatch branch (an identity check at the counter)."""

from __future__ import annotations

import asyncio
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from api.main import create_app
from config.settings import TaskQueues, TemporalSettings
from domain import events as ev
from eventstore.factory import open_store
from face.store import FaceStore
from lincah.worker import build_worker
from projections.projector import Projector
from projections.readmodels import ReadModels
from tests.face.conftest import needs_face_extra, needs_faces, photo
from tests.support import end_applications

pytestmark = [pytest.mark.e2e, needs_face_extra, needs_faces]

AGENCY = {"code": "BWI", "name": "Kabupaten Banyuwangi"}
SERVICE = {
    "id": "kartu-pencari-kerja",
    "name": "Kartu Pencari Kerja (AK/1)",
    "agency": AGENCY,
    "standard": {
        "delivery": {"time_limit": "Selesai pada hari yang sama", "product": "Kartu AK/1"},
        "complaint_channel": "Loket pengaduan MPP",
    },
    "fields": [
        {"id": "nik", "label": "NIK", "type": "nik"},
        {"id": "full_name", "label": "Nama lengkap", "type": "text"},
    ],
    "steps": [
        {"kind": "form", "id": "submission", "name": "Pengajuan", "next": "face_check"},
        {
            "kind": "face_verify",
            "id": "face_check",
            "name": "Verifikasi wajah",
            "on_match": "issued",
            "on_mismatch": "counter_check",
        },
        {
            "kind": "review",
            "id": "counter_check",
            "name": "Verifikasi identitas di loket",
            "role": "officer",
            "instructions": "Check the applicant's KTP at the counter.",
            "outcomes": {"approve": "issued", "reject": "refused"},
        },
        {"kind": "end", "id": "issued", "name": "Kartu terbit", "result": "approved"},
        {"kind": "end", "id": "refused", "name": "Ditolak", "result": "rejected"},
    ],
}
SITI = {"subject": "siti@example.id", "role": "citizen"}
AGUS = {"subject": "agus@example.id", "role": "citizen"}
DEWI = {"subject": "dewi@example.id", "role": "citizen"}
OFFICER = {"subject": "budi@banyuwangikab.go.id", "role": "officer", "agency": "BWI"}
ADMIN = {"subject": "admin@banyuwangikab.go.id", "role": "agency_admin", "agency": "BWI"}
DATA = {"nik": "3510154808900003", "full_name": "Siti Aminah"}


@pytest.fixture
async def stack(dev_env, face_settings, dlib_pipeline):
    from lincah.face_worker import build_face_worker

    settings = face_settings.model_copy(
        update={
            "temporal": TemporalSettings(
                address=dev_env.client.service_client.config.target_host,
                task_queues=TaskQueues(
                    applications=f"apps-{uuid.uuid4()}", face=f"face-{uuid.uuid4()}"
                ),
            )
        }
    )
    store = open_store(settings)  # as every process of Lincah opens it
    models = ReadModels(settings.readmodel_location)
    stop = threading.Event()
    projector = threading.Thread(target=Projector(store, models).run_forever, args=(stop,))
    projector.start()
    queues = settings.temporal.task_queues
    with ThreadPoolExecutor(8) as app_exec, ThreadPoolExecutor(8) as face_exec:
        app_worker = build_worker(dev_env.client, store, queues.applications, app_exec, settings)
        face_worker = build_face_worker(dev_env.client, settings, face_exec, dlib_pipeline)
        transport = httpx.ASGITransport(app=create_app(settings))
        async with (
            app_worker,
            face_worker,
            httpx.AsyncClient(transport=transport, base_url="http://lincah", timeout=60) as http,
        ):
            yield http, FaceStore.from_settings(settings), store, settings.face_threshold_dlib
            # The next test's fresh store numbers its applications from 000001 again.
            await end_applications(dev_env.client, store)
    stop.set()
    projector.join(10)


async def token(http, who: dict) -> dict:
    r = await http.post("/auth/dev-token", json=who)
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


async def enrol(http, who: dict, name: str) -> None:
    r = await http.post("/me/face", files={"photo": ("p", photo(name), "image/jpeg")}, headers=who)
    assert r.status_code == 201, r.text


async def selfie(http, who: dict, name: str) -> str:
    r = await http.post(
        "/me/selfies", files={"photo": ("p", photo(name), "image/jpeg")}, headers=who
    )
    assert r.status_code == 201, r.text
    return str(r.json()["selfie_ref"])


async def apply(http, who: dict, selfie_ref: str | None) -> str:
    r = await http.post(
        "/applications",
        json={"service_id": SERVICE["id"], "data": DATA, "selfie_ref": selfie_ref},
        headers=who,
    )
    assert r.status_code == 201, r.text
    return str(r.json()["application_id"])


async def settled(http, who: dict, app_id: str, step: str | None) -> dict:
    """The application's view once the flow has left the face check (polled, bounded)."""
    for _ in range(300):
        r = await http.get(f"/applications/{app_id}", headers=who)
        if (
            r.status_code == 200
            and r.json().get("face_check")
            and (r.json()["current_step"] == step or r.json()["status"] == "approved")
        ):
            return dict(r.json())
        await asyncio.sleep(0.1)
    raise AssertionError(f"{app_id} never left the face check: {r.text}")


async def test_matching_selfie_goes_on_and_others_go_to_the_counter(stack):
    http, faces, events, threshold = stack
    admin = await token(http, ADMIN)
    r = await http.post("/services", json=SERVICE, headers=admin)
    assert r.status_code == 201, r.text
    r = await http.post(f"/services/{SERVICE['id']}/versions/1/publish", headers=admin)
    assert r.status_code == 200, r.text

    siti, agus, dewi = await token(http, SITI), await token(http, AGUS), await token(http, DEWI)
    await enrol(http, siti, "obama/obama1.jpg")
    await enrol(http, agus, "biden/biden1.jpg")

    # Siti's selfie is her: the card is issued without anyone looking.
    matched = await apply(http, siti, await selfie(http, siti, "obama/obama2.jpg"))
    # Agus sends someone else's face; Dewi never enrolled and sends no selfie.
    mismatched = await apply(http, agus, await selfie(http, agus, "obama/obama3.jpg"))
    undecided = await apply(http, dewi, None)

    view = await settled(http, siti, matched, None)
    assert view["status"] == "approved" and view["outcomes"]["face_check"] == "match"
    assert view["face_check"]["backend"] == "dlib" and view["face_check"]["distance"] <= threshold

    view = await settled(http, agus, mismatched, "counter_check")
    assert view["outcomes"]["face_check"] == "mismatch" and view["status"] != "approved"
    assert view["face_check"]["distance"] > threshold
    view = await settled(http, dewi, undecided, "counter_check")
    assert view["outcomes"]["face_check"] == "unusable"

    # The officer checks Agus's KTP at the counter and approves: the flow goes on.
    officer = await token(http, OFFICER)
    r = await http.post(
        f"/tasks/{mismatched}.counter_check.1/complete",
        headers=officer,
        json={"outcome": "approve", "comment": "KTP diperiksa"},
    )
    assert r.status_code == 200 and r.json()["status"] == "approved", r.text

    # Selfies are gone after their checks; events hold the outcome, never a face.
    assert faces.count_photos() == 0
    checks = [
        e.data
        for app_id in (matched, mismatched, undecided)
        for e in events.read_stream(ev.application_stream(app_id))
        if e.type == "FaceVerified"
    ]
    assert [c["outcome"] for c in checks] == ["match", "mismatch", "unusable"]
    for c in checks:
        assert set(c) <= {"step", "outcome", "backend", "distance"}
        assert "siti" not in str(c) and "agus" not in str(c)


async def test_a_step_that_requires_a_counter_enrolment(stack):
    """The face step asks for an enrolment an officer made: a matching selfie against a
    self-service enrolment goes to the counter; after the officer enrols the citizen at
    the counter (checking the KTP), the same kind of selfie goes straight on."""
    http, faces, events, threshold = stack
    steps: list[dict[str, Any]] = list(SERVICE["steps"])  # type: ignore[arg-type]
    service = {
        **SERVICE,
        "id": "kartu-pencari-kerja-loket",
        "steps": [
            {**s, "require_counter_enrolment": True} if s["kind"] == "face_verify" else s
            for s in steps
        ],
    }
    admin = await token(http, ADMIN)
    r = await http.post("/services", json=service, headers=admin)
    assert r.status_code == 201, r.text
    r = await http.post(f"/services/{service['id']}/versions/1/publish", headers=admin)
    assert r.status_code == 200, r.text

    rt = http._transport.app.state.runtime
    account, _ = rt.accounts.walk_in_citizen(DATA["nik"], DATA["full_name"], OFFICER["subject"])
    siti = await token(http, {"subject": account.account_id, "role": "citizen"})

    async def apply_with(name: str) -> str:
        ref = await selfie(http, siti, name)
        body = {"service_id": service["id"], "data": DATA, "selfie_ref": ref}
        r = await http.post("/applications", json=body, headers=siti)
        assert r.status_code == 201, r.text
        return str(r.json()["application_id"])

    await enrol(http, siti, "obama/obama1.jpg")  # online, by herself
    view = await settled(http, siti, await apply_with("obama/obama2.jpg"), "counter_check")
    assert view["outcomes"]["face_check"] == "unusable"

    officer = await token(http, OFFICER)
    r = await http.post(
        "/counter/face", data={"nik": DATA["nik"]},
        files={"photo": ("ktp-check.jpg", photo("obama/obama4.jpg"), "image/jpeg")},
        headers=officer,
    )  # fmt: skip
    assert r.status_code == 201 and r.json()["replaced"] is True, r.text
    view = await settled(http, siti, await apply_with("obama/obama2.jpg"), None)
    assert view["status"] == "approved" and view["outcomes"]["face_check"] == "match"


async def test_an_application_with_the_head_turn_check(stack):
    """Two selfies and the turn asked for: the head turned that way and both match, the
    card is issued; the other way, the application goes to the counter. The enrolment
    photo sent again as the selfie is a replay: to the counter too."""
    http, faces, events, threshold = stack
    admin = await token(http, ADMIN)
    service = {**SERVICE, "id": "kartu-pencari-kerja-kios"}
    r = await http.post("/services", json=service, headers=admin)
    assert r.status_code == 201, r.text
    r = await http.post(f"/services/{service['id']}/versions/1/publish", headers=admin)
    assert r.status_code == 200, r.text
    siti = await token(http, SITI)
    await enrol(http, siti, "obama/obama1.jpg")

    async def apply_turning(first: str, second: str | None, turn: str | None) -> str:
        body = {
            "service_id": service["id"],
            "data": DATA,
            "selfie_ref": await selfie(http, siti, first),
            "second_selfie_ref": await selfie(http, siti, second) if second else None,
            "turn": turn,
        }
        r = await http.post("/applications", json=body, headers=siti)
        assert r.status_code == 201, r.text
        return str(r.json()["application_id"])

    # obama2 looks a little to the image's left, obama3 to its right.
    turned = await apply_turning("obama/obama2.jpg", "obama/obama3.jpg", "right")
    view = await settled(http, siti, turned, None)
    assert view["status"] == "approved" and view["outcomes"]["face_check"] == "match"
    wrong_way = await apply_turning("obama/obama2.jpg", "obama/obama3.jpg", "left")
    view = await settled(http, siti, wrong_way, "counter_check")
    assert view["outcomes"]["face_check"] == "mismatch"
    replayed = await apply_turning("obama/obama1.jpg", None, None)
    view = await settled(http, siti, replayed, "counter_check")
    assert view["outcomes"]["face_check"] == "mismatch"
    assert faces.count_photos() == 0
