"""The access log (issue 20 part 4): staff's reads of a citizen's personal data are
recorded with the task they hold or the reason they give; the citizen sees who looked
at their data, the auditor every read of their agency's records, and the log is
itself anchored.

The API runs in process on real stores (the event store, the read models and the
projector that fills them); reads need no Temporal, so none runs here."""

from __future__ import annotations

import hashlib
import io
import sqlite3
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from api.main import create_app
from audit.checkpoints import write_checkpoint
from audit.ledger import FileLedger
from commands import profile
from documents.numbering import document_path
from domain import events as ev
from domain.access_log import access_stream
from eventstore import chain
from eventstore.port import NewEvent
from lincah import audit
from projections.projector import Projector

SITI, BUDI, WATI = "c-siti", "c-budi", "c-wati"


def submit(store, app_id: str, citizen: str, agency: str) -> None:
    """An application waiting for an officer's review, as the workflow writes it."""
    stream = ev.application_stream(app_id)
    events: list[tuple[str, dict[str, Any]]] = [
        (
            ev.APPLICATION_SUBMITTED,
            {
                "application_id": app_id,
                "citizen": citizen,
                "start_step": "submission",
                "service": {"id": "domisili", "version": 1, "name": "Surat Domisili"},
                "agency": {"code": agency, "name": f"Dinas {agency}"},
                "data": {"full_name": "Nama Warga", "nik": "3510154808900003"},
            },
        ),
        (
            ev.TASK_ASSIGNED,
            {
                "task_id": f"{app_id}.review.1",
                "step": "review",
                "step_name": "Pemeriksaan",
                "role": "officer",
                "agency": agency,
                "outcomes": ["approve", "reject"],
            },
        ),
    ]
    for i, (type_, data) in enumerate(events):
        store.append(stream, [NewEvent(ev.event_id(stream, i), type_, data)], i - 1)


class Api:
    def __init__(self, http: httpx.AsyncClient, app: Any) -> None:
        self.http = http
        self.rt = app.state.runtime
        self.store = self.rt.store

    def project(self) -> None:
        Projector(self.store, self.rt.models).catch_up()

    async def token(self, subject: str, role: str, agency: str | None = None) -> dict[str, str]:
        r = await self.http.post(
            "/auth/dev-token", json={"subject": subject, "role": role, "agency": agency}
        )
        assert r.status_code == 200, r.text
        return {"Authorization": f"Bearer {r.json()['access_token']}"}

    async def get(self, url: str, who: dict[str, str], **kw: Any) -> httpx.Response:
        return await self.http.get(url, headers={**who, **kw.pop("headers", {})}, **kw)


@pytest.fixture
async def api(settings) -> AsyncIterator[Api]:
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://lincah") as client:
        a = Api(client, app)
        submit(a.store, "BWI-2026-000001", SITI, "BWI")
        submit(a.store, "BWI-2026-000002", BUDI, "BWI")
        submit(a.store, "SBY-2026-000001", WATI, "SBY")
        profile.declare(a.store, settings, SITI, {"occupation": "Guru"}, SITI)
        a.project()
        yield a
    app.state.runtime.close()


def logged(api: Api, citizen: str) -> list[dict[str, Any]]:
    return [e.data for e in api.store.read_stream(access_stream(citizen))]


async def test_staff_reads_are_logged_with_the_task_or_the_reason(api: Api) -> None:
    officer = await api.token("s-budi", "officer", "BWI")
    supervisor = await api.token("s-rina", "supervisor", "BWI")
    citizen = await api.token(SITI, "citizen")
    stranger = await api.token("s-eko", "officer", "SBY")

    # The citizen reading their own application records nothing.
    assert (await api.get("/applications/BWI-2026-000001", citizen)).status_code == 200
    assert logged(api, SITI) == []
    # Another agency's officer is refused as for an unknown application: nothing read.
    assert (await api.get("/applications/BWI-2026-000001", stranger)).status_code == 404
    assert logged(api, SITI) == []

    # The officer holds the review task: it is the reason.
    assert (await api.get("/applications/BWI-2026-000001", officer)).status_code == 200
    # The supervisor holds none, and says why (header; or the query parameter).
    r = await api.get(
        "/applications/BWI-2026-000001",
        supervisor,
        headers={"X-Access-Reason": "Pengaduan warga no. 12"},
    )
    assert r.status_code == 200
    r = await api.get("/citizens/c-siti/profile", officer, params={"reason": "Layanan loket"})
    assert r.status_code == 200
    # A read without a task or a reason is logged as such.
    assert (await api.get("/applications/BWI-2026-000001", supervisor)).status_code == 200

    reads = logged(api, SITI)
    assert reads == [
        {
            "citizen": SITI,
            "what": "application",
            "application": "BWI-2026-000001",
            "agency": "BWI",
            "staff": "s-budi",
            "role": "officer",
            "staff_agency": "BWI",
            "task": "BWI-2026-000001.review.1",
        },
        {
            "citizen": SITI,
            "what": "application",
            "application": "BWI-2026-000001",
            "agency": "BWI",
            "staff": "s-rina",
            "role": "supervisor",
            "staff_agency": "BWI",
            "reason": "Pengaduan warga no. 12",
        },
        {
            "citizen": SITI,
            "what": "profile",
            "agency": "BWI",
            "staff": "s-budi",
            "role": "officer",
            "staff_agency": "BWI",
            "reason": "Layanan loket",
        },
        {
            "citizen": SITI,
            "what": "application",
            "application": "BWI-2026-000001",
            "agency": "BWI",
            "staff": "s-rina",
            "role": "supervisor",
            "staff_agency": "BWI",
        },
    ]
    assert logged(api, BUDI) == []

    # An auditor's replay of the state (it holds the application's data) is logged too.
    auditor = await api.token("s-audit", "auditor", "BWI")
    r = await api.get("/audit/applications/BWI-2026-000001", auditor, params={"reason": "Audit"})
    assert r.status_code == 200
    assert logged(api, SITI)[-1]["what"] == "audit_state"
    assert logged(api, SITI)[-1]["reason"] == "Audit"


async def test_a_staff_download_of_an_issued_document_is_logged(api: Api) -> None:
    pdf = b"%PDF-1.7 surat keterangan domisili"
    number = "BWI/SKD/2026/000001"
    stream = ev.application_stream("BWI-2026-000001")
    issued = {
        "step": "issue",
        "number": number,
        "sha256": hashlib.sha256(pdf).hexdigest(),
        "signature": "-",
        "public_key_id": "-",
        "issued_at": "2026-11-29T08:00:00+00:00",
        "title": "Surat Keterangan Domisili",
        "verify_url": "-",
    }
    api.store.append(stream, [NewEvent(ev.event_id(stream, 2), ev.DOCUMENT_ISSUED, issued)], 1)
    path = document_path(api.rt.settings, number)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pdf)
    api.project()

    holder = await api.token(SITI, "citizen")
    assert (await api.get(f"/documents/{number}", holder)).content == pdf
    assert logged(api, SITI) == []
    cashier = await api.token("s-dewi", "cashier", "BWI")
    r = await api.get(f"/documents/{number}", cashier, headers={"X-Access-Reason": "Cetak ulang"})
    assert r.content == pdf
    assert logged(api, SITI) == [
        {
            "citizen": SITI,
            "what": "document",
            "application": "BWI-2026-000001",
            "item": number,
            "agency": "BWI",
            "staff": "s-dewi",
            "role": "cashier",
            "staff_agency": "BWI",
            "reason": "Cetak ulang",
        }
    ]


async def test_the_citizen_sees_who_read_their_data_and_no_one_else_s(api: Api) -> None:
    officer = await api.token("s-budi", "officer", "BWI")
    await api.get("/applications/BWI-2026-000001", officer)
    await api.get("/applications/BWI-2026-000002", officer, headers={"X-Access-Reason": "Cek"})

    siti = await api.token(SITI, "citizen")
    r = await api.get("/me/access-log", siti)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["total"] == 1 and len(body["items"]) == 1
    (entry,) = body["items"]
    assert entry["role"] == "officer" and entry["agency"] == "BWI"
    assert entry["application"] == "BWI-2026-000001" and entry["what"] == "application"
    assert entry["task"] == "BWI-2026-000001.review.1" and entry["reason"] is None
    assert entry["at"]
    # The reader is named by role and agency, not by account.
    assert "s-budi" not in r.text
    # The export of all one's data (right of access) carries the log too.
    r = await api.get("/me/export", siti)
    assert r.status_code == 200, r.text
    exported = orjson.loads(r.content)["access_log"]
    assert [(e["role"], e["application"]) for e in exported] == [("officer", "BWI-2026-000001")]
    assert "s-budi" not in r.text

    budi = await api.token(BUDI, "citizen")
    body = (await api.get("/me/access-log", budi)).json()
    assert [e["application"] for e in body["items"]] == ["BWI-2026-000002"]
    assert body["items"][0]["reason"] == "Cek"
    assert "BWI-2026-000001" not in str(body)

    # Newest first, paged.
    for _ in range(3):
        await api.get("/applications/BWI-2026-000001", officer)
    body = (await api.get("/me/access-log", siti, params={"limit": 2, "offset": 1})).json()
    assert body["total"] == 4 and len(body["items"]) == 2
    assert (await api.get("/me/access-log", officer)).status_code == 403


async def test_the_auditor_filters_the_reads_of_their_agency_only(api: Api) -> None:
    budi = await api.token("s-budi", "officer", "BWI")
    rina = await api.token("s-rina", "supervisor", "BWI")
    eko = await api.token("s-eko", "officer", "SBY")
    await api.get("/applications/BWI-2026-000001", budi)
    await api.get("/applications/BWI-2026-000002", budi)
    middle = api.store.read_all(after=0, limit=1000)[-1].recorded_at
    await api.get("/applications/BWI-2026-000001", rina, headers={"X-Access-Reason": "Supervisi"})
    await api.get("/applications/SBY-2026-000001", eko)
    api.project()

    auditor = await api.token("s-audit", "auditor", "BWI")

    async def log(**params: Any) -> dict[str, Any]:
        r = await api.get("/audit/access-log", auditor, params=params)
        assert r.status_code == 200, r.text
        return r.json()

    everything = await log()
    assert everything["total"] == 3
    assert [(e["staff"], e["application"]) for e in everything["items"]] == [
        ("s-rina", "BWI-2026-000001"),
        ("s-budi", "BWI-2026-000002"),
        ("s-budi", "BWI-2026-000001"),
    ]
    assert everything["items"][0]["reason"] == "Supervisi"
    assert everything["items"][0]["citizen"] == SITI
    assert "SBY" not in str(everything)

    assert [e["staff"] for e in (await log(application="BWI-2026-000001"))["items"]] == [
        "s-rina",
        "s-budi",
    ]
    assert (await log(staff="s-budi"))["total"] == 2
    assert (await log(citizen=BUDI))["total"] == 1
    # since is inclusive, until exclusive: the read at ``middle`` is in the first only.
    at = middle.isoformat()
    assert [e["staff"] for e in (await log(since=at))["items"]] == ["s-rina", "s-budi"]
    assert [e["application"] for e in (await log(until=at))["items"]] == ["BWI-2026-000001"]
    assert (await log(limit=1, offset=1))["items"][0]["application"] == "BWI-2026-000002"
    r = await api.get("/audit/access-log", auditor, params={"since": "9999-12-31T23:00-05:00"})
    assert r.status_code == 422

    # Another agency's auditor sees nothing of BWI's, only their own agency's read.
    other = await api.token("s-audit-sby", "auditor", "SBY")
    body = (await api.get("/audit/access-log", other)).json()
    assert body["total"] == 1 and body["items"][0]["staff"] == "s-eko"
    assert "BWI" not in str(body) and SITI not in str(body)
    body = (await api.get("/audit/access-log", other, params={"citizen": SITI})).json()
    assert body["total"] == 0
    # Officers do not read the log.
    assert (await api.get("/audit/access-log", budi)).status_code == 403


async def test_a_read_erased_from_the_log_is_caught_against_the_checkpoint(
    api: Api, tmp_path
) -> None:
    """The access log lives in the event store: hash-chained and anchored like the
    rest, so wiping a read out of it (the reason rewritten, every hash recomputed) is
    reported."""
    officer = await api.token("s-budi", "officer", "BWI")
    await api.get("/applications/BWI-2026-000001", officer, headers={"X-Access-Reason": "Iseng"})
    ledger, key = FileLedger(tmp_path / "checkpoints.jsonl"), Ed25519PrivateKey.generate()
    write_checkpoint(api.store, ledger, key)

    stream = access_stream(SITI)
    db = api.rt.settings.eventstore_location
    with sqlite3.connect(db) as conn:
        (event_id, at, data, metadata) = conn.execute(
            "SELECT event_id, recorded_at, data, metadata FROM events WHERE stream = ?",
            (stream,),
        ).fetchone()
        forged = chain.canonical_json({**orjson.loads(data), "reason": "Tugas"})
        if isinstance(event_id, bytes):  # stored as 16 bytes (SQLite schema 3)
            event_id = str(uuid.UUID(bytes=event_id))
        new_hash = chain.link(
            chain.GENESIS, event_id, stream, 0, "PersonalDataRead", at, forged, metadata
        )
        conn.execute(
            "UPDATE events SET data = ?, hash = ? WHERE stream = ?", (forged, new_hash, stream)
        )
    conn.close()

    out = io.StringIO()
    assert audit.cmd_verify(api.store, None, out, (ledger, key)) == 1
    assert f"stream {stream!r}: version 0 was signed with hash" in out.getvalue()
