"""Issue 20, part 1: Temporal sees no personal data. A registered citizen with a profile
applies on the real stack (Temporal dev server on its own SQLite file) and an officer
approves; then neither that file, read as raw bytes, nor the history fetched without the
codec holds her NIK, name or e-mail address, in the clear, JSON-escaped or base64. With
the codec (the API's endpoint for the Temporal Web UI, and the replayer) the history
opens and holds them."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from google.protobuf.message import Message
from temporalio.api.common.v1 import Payload
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from accounts.registry import Registry
from audit.replay import replay_history
from config.settings import Settings
from config.temporal import data_converter
from lincah import devserver
from lincah.worker import WORKFLOWS
from tests.support import Stack, run_stack

pytestmark = pytest.mark.e2e

NIK = "3510154808900003"
NAME = "Siti Aminah"
EMAIL = "siti.aminah@example.id"
PROFILE = {"nik": NIK, "full_name": NAME, "birth_place": "Banyuwangi",
           "birth_date": "1990-08-08", "sex": "P", "phone": "081234567890"}  # fmt: skip
UI = "http://127.0.0.1:8233"


def forms(secret: str) -> set[bytes]:
    """How ``secret`` may sit in a file or a history: as it is, JSON-escaped, and in
    base64 at each of the three alignments (the characters its neighbours share cut
    off), also from its own JSON string (quoted)."""
    raw = secret.encode()
    found = {raw, json.dumps(secret).encode()[1:-1]}
    for text in (raw, json.dumps(secret).encode()):
        for shift in range(3):
            encoded = base64.b64encode(b"\0" * shift + text)
            found.add(encoded[(shift * 4 + 2) // 3 + 1 : -4])
    return {f for f in found if len(f) >= 8}


SECRETS = {"NIK": forms(NIK), "name": forms(NAME), "e-mail": forms(EMAIL)}


def exposed(blob: bytes) -> list[str]:
    return [what for what, variants in SECRETS.items() if any(v in blob for v in variants)]


def test_the_forms_find_a_secret_wherever_it_sits() -> None:
    for prefix in (b"", b"x", b"xy"):
        assert exposed(base64.b64encode(prefix + json.dumps({"nik": NIK}).encode())) == ["NIK"]
        assert exposed(base64.b64encode(prefix + NAME.encode() + b"!")) == ["name"]
    assert exposed(json.dumps({"to": EMAIL}).encode()) == ["e-mail"]
    assert exposed(b"BWI-2026-000001 approved") == []


def payloads(message: Message) -> Iterator[Payload]:
    """Every payload anywhere in a history event (inputs, results, updates, failures)."""
    if isinstance(message, Payload):
        yield message
        return
    for _, value in message.ListFields():
        if isinstance(value, Message):
            yield from payloads(value)
        elif not isinstance(value, str | bytes | int | float | bool):  # repeated, or a map
            for item in value.values() if hasattr(value, "values") else value:
                if isinstance(item, Message):
                    yield from payloads(item)


def encrypted(p: Payload) -> bool:
    return p.metadata.get("encoding") == b"binary/encrypted" and "encryption-key-id" in p.metadata


def wire(p: Payload) -> dict[str, object]:
    return {
        "metadata": {k: base64.b64encode(v).decode() for k, v in p.metadata.items()},
        "data": base64.b64encode(p.data).decode(),
    }


@pytest.fixture
async def own_server(tmp_path: Path) -> AsyncIterator[tuple[WorkflowEnvironment, Path]]:
    """A dev server of this test's own, so its SQLite file holds this test's data only."""
    folder = tmp_path / "temporal"
    folder.mkdir()
    env = await WorkflowEnvironment.start_local(
        data_converter=data_converter(Settings()),
        dev_server_existing_path=str(devserver.temporal_cli()),
        dev_server_database_filename=str(folder / "temporal.db"),
        dev_server_extra_args=devserver.pragma_args(Settings()),
    )
    try:
        yield env, folder
    finally:
        await env.shutdown()


async def approved_application(s: Stack, domisili: dict) -> str:
    admin = await s.token("admin@banyuwangikab.go.id", "agency_admin", "BWI")
    r = await s.http.post("/services", json=domisili, headers=admin)
    assert r.status_code == 201, r.text
    r = await s.http.post(f"/services/{domisili['id']}/versions/1/publish", headers=admin)
    assert r.status_code == 200, r.text
    account = (
        Registry(s.store, s.settings)
        .register(NIK, NAME, EMAIL, None, "kata-sandi-uji-2026")
        .account_id
    )
    citizen = await s.token(account, "citizen")
    r = await s.http.patch("/me/profile", json=PROFILE, headers=citizen)
    assert r.status_code == 200, r.text
    r = await s.http.get(f"/services/{domisili['id']}/form?prefill=true", headers=citizen)
    data = {f["id"]: f["value"] for f in r.json()["fields"] if f["value"] is not None}
    assert data["nik"] == NIK and data["full_name"] == NAME  # from her profile
    data |= {"address": "Jl. Ahmad Yani No. 12", "kelurahan": "Penganjuran",
             "purpose": f"Pembukaan rekening bank; kabari saya di {EMAIL}"}  # fmt: skip
    r = await s.http.post(  # with a key: its digest goes in the workflow's memo
        "/applications",
        json={"service_id": domisili["id"], "data": data},
        headers={**citizen, "Idempotency-Key": "submission-1"},
    )
    assert r.status_code == 201, r.text
    app_id = r.json()["application_id"]
    officer = await s.token("s-budi", "officer", "BWI")
    r = await s.http.post(
        f"/tasks/{app_id}.verify_residence.1/complete",
        headers=officer,
        json={"outcome": "approve", "comment": f"Alamat {NAME} sesuai KK"},
    )
    assert r.status_code == 200 and r.json()["status"] == "approved", r.text
    return str(app_id)


async def cli(*argv: str) -> bytes:
    proc = await asyncio.create_subprocess_exec(
        *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await proc.communicate()
    assert proc.returncode == 0, err.decode()
    return out


def files_of(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


async def test_temporal_holds_ciphertext_only_and_the_codec_opens_it(
    own_server: tuple[WorkflowEnvironment, Path], settings: Settings, domisili: dict
) -> None:
    env, folder = own_server
    async with run_stack(env, settings) as s:
        app_id = await approved_application(s, domisili)
        handle = env.client.get_workflow_handle(app_id)
        assert await handle.result() is not None  # the codec's client reads the result

        # Temporal's own files, as a database administrator would read them.
        db = files_of(folder)
        assert any(app_id.encode() in blob for blob in db.values())  # the scan sees data
        assert {name: exposed(blob) for name, blob in db.items() if exposed(blob)} == {}

        # The history as anyone with access to Temporal (its Web UI, tctl) gets it.
        target = env.client.service_client.config.target_host
        plain = await Client.connect(target, data_converter=pydantic_data_converter)
        history = await plain.get_workflow_handle(app_id).fetch_history()
        as_json = history.to_json().encode()
        as_bytes = b"".join(e.SerializeToString() for e in history.events)
        assert exposed(as_json) == [] and exposed(as_bytes) == []
        sealed = [p for e in history.events for p in payloads(e) if encrypted(p)]
        assert len(sealed) >= 10
        # In the clear: only what the SDK records of workflow.patched (the patch's id, as
        # a marker and the TemporalChangeVersion search attribute), never through a codec.
        assert {
            EventType.Name(e.event_type)
            for e in history.events
            for p in payloads(e)
            if not encrypted(p)
        } <= {"EVENT_TYPE_MARKER_RECORDED", "EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES"}
        with pytest.raises(Exception, match="binary/encrypted"):
            await plain.get_workflow_handle(app_id).result()

        # With the codec it opens: the replayer replays it, the Web UI's endpoint decodes.
        report = await replay_history(
            WorkflowHistory.from_json(app_id, history.to_json()),
            WORKFLOWS,
            data_converter(s.settings),
        )
        assert report.deterministic, report.failure
        body = {"payloads": [wire(p) for p in sealed]}
        auditor = await s.token("s-auditor", "auditor")
        ui = {**auditor, "Origin": UI, "X-Namespace": "default"}
        r = await s.http.post("/codec/decode", json=body, headers=ui)
        assert r.status_code == 200, r.text
        assert r.headers["access-control-allow-origin"] == UI
        opened = b"".join(base64.b64decode(p["data"]) for p in r.json()["payloads"])
        assert exposed(opened) == ["NIK", "name", "e-mail"]

        # Temporal's own CLI, pointed at the codec endpoint with an auditor's token.
        show = [str(devserver.temporal_cli()), "workflow", "show", "-w", app_id,
                "--address", target, "-o", "json"]  # fmt: skip
        codec = ["--codec-endpoint", f"{s.base}/codec", "--codec-auth", auditor["Authorization"]]
        assert exposed(await cli(*show)) == []
        assert exposed(await cli(*show, *codec)) == ["NIK", "name", "e-mail"]

        # Only the region's auditors and administrators may decode.
        citizen = await s.token("c-someone", "citizen")
        officer = await s.token("s-budi", "officer", "BWI")
        for headers, status in ((citizen, 403), (officer, 403), ({}, 401)):
            r = await s.http.post("/codec/decode", json=body, headers=headers)
            assert r.status_code == status, r.text
            assert NIK not in r.text

    # Stopped, the dev server folds its write-ahead log into the file: scan it again.
    await env.shutdown()
    assert {n: exposed(b) for n, b in files_of(folder).items() if exposed(b)} == {}


async def test_the_ui_may_ask_from_its_origin_only(settings: Settings, dev_env) -> None:
    """The browser's preflight from the Web UI is answered for the codec routes; other
    routes and other origins get no CORS allowance."""
    async with run_stack(dev_env, settings) as s:
        ask = {
            "Origin": UI,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type,x-namespace",
        }
        r = await s.http.options("/codec/decode", headers=ask)
        assert r.status_code == 200 and r.headers["access-control-allow-origin"] == UI
        assert "x-namespace" in r.headers["access-control-allow-headers"].lower()
        r = await s.http.options("/codec/decode", headers={**ask, "Origin": "http://evil.example"})
        assert "access-control-allow-origin" not in r.headers
        r = await s.http.get("/health", headers={"Origin": UI})
        assert "access-control-allow-origin" not in r.headers
        r = await s.http.post(
            "/auth/dev-token",
            json={"subject": "s-region", "role": "region_admin", "region": "35.10"},
        )
        admin = {"Authorization": f"Bearer {r.json()['access_token']}"}
        r = await s.http.post("/codec/encode", headers=admin, json={"payloads": [
            {"metadata": {"encoding": base64.b64encode(b"json/plain").decode()},
             "data": base64.b64encode(json.dumps({"nik": NIK}).encode()).decode()}]})  # fmt: skip
        assert r.status_code == 200, r.text
        [encoded] = r.json()["payloads"]
        assert base64.b64decode(encoded["metadata"]["encoding"]) == b"binary/encrypted"
        assert exposed(r.content) == []
        r = await s.http.post("/codec/decode", headers=admin, json=r.json())
        assert json.loads(base64.b64decode(r.json()["payloads"][0]["data"])) == {"nik": NIK}
        r = await s.http.post("/codec/decode", headers=admin,
                              json={"payloads": [{"data": "not base64!"}]})  # fmt: skip
        assert r.status_code == 422 and "base64" in r.json()["detail"]
