"""POST/GET/DELETE /me/face and POST /me/selfies: every bad input gets a 4xx with its
reason and leaves nothing stored; good photos enrol and verify through the face worker
on the real Temporal dev server."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from PIL import Image

from api.main import create_app
from config.settings import TaskQueues, TemporalSettings
from face.store import FaceStore
from tests.face.conftest import FACES, encode, needs_face_extra, needs_faces, photo, shrunk

SITI = {"subject": "siti@example.id", "role": "citizen"}


async def token(http: httpx.AsyncClient, who: dict) -> dict:
    r = await http.post("/auth/dev-token", json=who)
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def client_for(settings) -> httpx.AsyncClient:
    app = create_app(settings)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://lincah")


def upload(data: bytes, content_type: str = "image/jpeg") -> dict:
    return {"photo": ("photo", data, content_type)}


# Refused before the face worker is asked (no Temporal needed) ---------------------------
async def test_bad_uploads_are_refused_with_a_reason_and_nothing_is_stored(face_settings):
    settings = face_settings.model_copy(update={"face_max_upload_bytes": 2 * 1024 * 1024})
    store = FaceStore.from_settings(settings)
    jpeg = encode(Image.effect_noise((640, 480), 50).convert("RGB"), quality=90)
    async with client_for(settings) as http:
        siti = await token(http, SITI)
        cases = [
            ("not an image", upload(b"%PDF-1.7\n%\xe2\xe3"), 422, "not an image"),
            ("truncated", upload(jpeg[: len(jpeg) // 2]), 422, "truncated"),
            ("empty", upload(b""), 422, "empty"),
            ("40 megapixels", upload(encode(Image.new("L", (8000, 5000)))), 422, "megapixels"),
            ("gif", upload(encode(Image.new("RGB", (8, 8)), "GIF"), "image/gif"), 415, "GIF"),
            ("pdf type", upload(jpeg, "application/pdf"), 415, "declared as application/pdf"),
            ("gif as jpeg", upload(encode(Image.new("RGB", (8, 8)), "GIF")), 415, "GIF"),
        ]
        for path in ("/me/face", "/me/selfies"):
            for what, files, status, reason in cases:
                r = await http.post(path, files=files, headers=siti)
                assert r.status_code == status, (path, what, r.text)
                assert reason in r.json()["detail"], (path, what, r.text)
            r = await http.post(path, json={"photo": "base64..."}, headers=siti)
            assert r.status_code == 415 and "multipart/form-data" in r.json()["detail"]
    assert store.count_photos() == 0 and store.enrolments("siti@example.id") == []


async def test_oversized_uploads_get_413_before_the_body_is_read(face_settings):
    settings = face_settings.model_copy(update={"face_max_upload_bytes": 10 * 1024 * 1024})
    fifty_mb = b"\xff\xd8" + bytes(50 * 1024 * 1024)
    async with client_for(settings) as http:
        siti = await token(http, SITI)
        r = await http.post("/me/selfies", files=upload(fifty_mb), headers=siti)
        assert r.status_code == 413 and "larger than 10 MB" in r.json()["detail"]

        read = 0

        async def chunks():  # no Content-Length: the limit is counted as the body streams
            nonlocal read
            yield b"--b\r\nContent-Disposition: form-data; name=photo; filename=p\r\n"
            yield b"Content-Type: image/jpeg\r\n\r\n"
            for _ in range(50):
                read += 1
                yield bytes(1024 * 1024)

        r = await http.post(
            "/me/face",
            content=chunks(),
            headers={**siti, "Content-Type": "multipart/form-data; boundary=b"},
        )
        assert r.status_code == 413 and "larger than 10 MB" in r.json()["detail"]
        assert read < 50  # refused part-way, not after all 50 MB
    assert FaceStore.from_settings(settings).count_photos() == 0


async def test_only_citizens_upload(face_settings):
    async with client_for(face_settings) as http:
        r = await http.post("/me/face", files=upload(b"x"))
        assert r.status_code == 401
        officer = await token(
            http, {"subject": "budi@banyuwangikab.go.id", "role": "officer", "agency": "BWI"}
        )
        r = await http.post("/me/selfies", files=upload(b"x"), headers=officer)
        assert r.status_code == 403 and "citizen" in r.json()["detail"]


# Through the face worker -----------------------------------------------------------------
@pytest.fixture
async def face_api(dev_env, face_settings, dlib_pipeline):
    from lincah.face_worker import build_face_worker

    settings = face_settings.model_copy(
        update={
            "temporal": TemporalSettings(
                address=dev_env.client.service_client.config.target_host,
                task_queues=TaskQueues(face=f"face-{uuid.uuid4()}"),
            )
        }
    )
    with ThreadPoolExecutor(8) as executor:
        worker = build_face_worker(dev_env.client, settings, executor, pipeline=dlib_pipeline)
        async with worker, client_for(settings) as http:
            yield http, FaceStore.from_settings(settings)


@needs_face_extra
@needs_faces
async def test_enrol_selfies_and_forget(face_api):
    http, store = face_api
    siti = await token(http, SITI)
    r = await http.get("/me/face", headers=siti)
    assert r.json() == {"enrolled": False, "backends": [], "enrolled_at": None, "provenance": None}

    refusals = [
        (photo("multiple_faces/obama_and_biden.jpg"), "faces of similar size were found"),
        (encode(Image.effect_noise((640, 480), 40).convert("RGB")), "no face was found"),
        (shrunk("obama/obama1.jpg", 120), "too small"),
    ]
    for path in ("/me/face", "/me/selfies"):
        for data, reason in refusals:
            r = await http.post(path, files=upload(data), headers=siti)
            assert r.status_code == 422 and reason in r.json()["detail"], (path, r.text)
    assert store.count_photos() == 0 and store.enrolments("siti@example.id") == []

    r = await http.post("/me/face", files=upload(photo("obama/obama1.jpg")), headers=siti)
    assert r.status_code == 201, r.text
    assert r.json() == {"enrolled": True, "backend": "dlib", "replaced": False}
    assert store.count_photos() == 0  # only the embedding is kept
    r = await http.post(
        "/me/face", files=upload(photo("lin_manuel_miranda/lin1.png"), "image/png"), headers=siti
    )
    assert r.status_code == 201 and r.json()["replaced"] is True
    r = await http.get("/me/face", headers=siti)
    assert r.json()["enrolled"] is True and r.json()["backends"] == ["dlib"]

    r = await http.post("/me/selfies", files=upload(photo("obama/obama2.jpg")), headers=siti)
    assert r.status_code == 201, r.text
    ref = r.json()["selfie_ref"]
    assert store.has_photo(ref, "siti@example.id")

    r = await http.delete("/me/face", headers=siti)
    assert r.status_code == 204
    r = await http.delete("/me/face", headers=siti)
    assert r.status_code == 404 and "no face enrolment" in r.json()["detail"]
    assert store.enrolments("siti@example.id") == []


@needs_faces
async def test_no_face_worker_is_a_503_and_nothing_is_kept(dev_env, face_settings, monkeypatch):
    from datetime import timedelta

    monkeypatch.setattr("api.routers.face.INTAKE_TIMEOUT", timedelta(seconds=2))
    settings = face_settings.model_copy(
        update={
            "temporal": TemporalSettings(
                address=dev_env.client.service_client.config.target_host,
                task_queues=TaskQueues(face=f"nobody-polls-{uuid.uuid4()}"),
            )
        }
    )
    async with client_for(settings) as http:
        siti = await token(http, SITI)
        for path in ("/me/face", "/me/selfies"):
            r = await http.post(path, files=upload(photo("obama/obama2.jpg")), headers=siti)
            assert r.status_code == 503 and "try again" in r.json()["detail"], r.text
    assert FaceStore.from_settings(settings).count_photos() == 0


@needs_face_extra
@needs_faces
async def test_counter_enrolment_is_recorded_and_the_citizen_cannot_replace_it(face_api):
    """An officer enrols a walk-in's face after checking the KTP; the event names the
    officer; the citizen alone cannot replace it online. A HEIC selfie, named .jpg and
    sent as octet-stream, is taken for what its content is."""
    from domain.face_events import FACE_ENROLLED, face_stream

    http, store = face_api
    rt = http._transport.app.state.runtime
    nik = "3510154808900003"
    account, _ = rt.accounts.walk_in_citizen(nik, "Siti Aminah", "budi@banyuwangikab.go.id")
    officer = await token(
        http, {"subject": "budi@banyuwangikab.go.id", "role": "officer", "agency": "BWI"}
    )
    r = await http.post(
        "/counter/face", data={"nik": "3510150000000001"}, files=upload(photo("obama/obama1.jpg")),
        headers=officer,
    )  # fmt: skip
    assert r.status_code == 404 and "no citizen account has this NIK" in r.text, r.text
    r = await http.post(
        "/counter/face", data={"nik": nik}, files=upload(photo("obama/obama1.jpg")),
        headers=officer,
    )  # fmt: skip
    assert r.status_code == 201, r.text
    (event,) = rt.store.read_stream(face_stream(account.account_id))
    assert event.type == FACE_ENROLLED
    assert event.data == {
        "backend": "dlib", "provenance": "counter", "by": "budi@banyuwangikab.go.id",
        "replaced": False,
    }  # fmt: skip

    siti = await token(http, {"subject": account.account_id, "role": "citizen"})
    r = await http.get("/me/face", headers=siti)
    assert r.json()["provenance"] == "counter"
    r = await http.post("/me/face", files=upload(photo("obama/obama2.jpg")), headers=siti)
    assert r.status_code == 409 and "officer" in r.json()["detail"], r.text
    assert store.enrolments(account.account_id)[0].provenance == "counter"

    heic = encode(Image.open(FACES / "obama" / "obama2.jpg"), "HEIF")
    r = await http.post(
        "/me/selfies", files={"photo": ("IMG_0001.jpg", heic, "application/octet-stream")},
        headers=siti,
    )  # fmt: skip
    assert r.status_code == 201, r.text
