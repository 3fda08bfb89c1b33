"""Requirement documents and the wallet over HTTP, on the real stack: a citizen uploads
a KTP scan once, attaches it to two applications, the agency's officer downloads it,
nobody else can; bad uploads are refused with what was wrong."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import uuid
from typing import Any

import pytest

from tests.api.test_e2e import publish
from tests.documents import samples
from tests.support import Stack, record_histories, run_stack

pytestmark = [pytest.mark.e2e]

MAX_BYTES = 64 * 1024

SERVICE: dict[str, Any] = {
    "id": "izin-usaha-mikro",
    "name": "Izin Usaha Mikro",
    "agency": {"code": "BWI", "name": "DPMPTSP Kabupaten Banyuwangi"},
    "standard": {
        "delivery": {"time_limit": "Selesai 3 hari kerja", "product": "Izin usaha mikro"},
        "complaint_channel": "Loket pengaduan MPP",
    },
    "fields": [
        {"id": "full_name", "label": "Nama", "type": "text"},
        {"id": "ktp", "label": "KTP-el pemohon", "type": "file", "kinds": ["ktp"]},
        {"id": "kk", "label": "Kartu Keluarga", "type": "file", "kinds": ["kk"], "required": False},
    ],
    "steps": [
        {"kind": "form", "id": "submission", "name": "Pengajuan", "next": "check"},
        {
            "kind": "review",
            "id": "check",
            "name": "Periksa berkas",
            "role": "officer",
            "outcomes": {"approve": "done"},
        },
        {"kind": "end", "id": "done", "name": "Selesai", "result": "approved"},
    ],
}


@pytest.fixture
async def stack(dev_env, settings):
    limited = settings.model_copy(update={"upload_max_bytes": MAX_BYTES})
    async with run_stack(dev_env, limited) as s:
        await publish(s, SERVICE)
        yield s


async def upload(
    s: Stack, who: dict[str, str], data: bytes, content_type: str, kind: str = "ktp",
    name: str = "ktp siti.pdf", key: str | None = None,
) -> Any:  # fmt: skip
    headers = {**who, **({"Idempotency-Key": key} if key else {})}
    return await s.http.post(
        "/me/documents",
        files={"file": (name, data, content_type)},
        data={"kind": kind},
        headers=headers,
    )


async def submit(s: Stack, who: dict[str, str], attachments: dict[str, str], **data: Any) -> Any:
    body = {"service_id": SERVICE["id"], "data": {"full_name": "Siti Aminah", **data},
            "attachments": attachments}  # fmt: skip
    return await s.http.post("/applications", json=body, headers=who)


async def test_a_ktp_uploaded_once_serves_two_applications(stack: Stack, dev_env):
    s = stack
    siti = await s.token("siti@example.id", "citizen")
    agus = await s.token("agus@example.id", "citizen")
    officer = await s.token("budi@banyuwangikab.go.id", "officer", "BWI")
    other_agency = await s.token("dewi@jemberkab.go.id", "officer", "JMB")
    pdf = samples.pdf()

    # Upload; a retry with the same key answers the same document.
    key = str(uuid.uuid4())
    r = await upload(s, siti, pdf, "application/pdf", key=key)
    assert r.status_code == 201, r.text
    ktp = r.json()
    assert ktp["kind"] == "ktp" and ktp["kind_name"] == "KTP-el"
    assert ktp["sha256"] == hashlib.sha256(pdf).hexdigest() and ktp["size"] == len(pdf)
    assert ktp["filename"] == "ktp siti.pdf" and ktp["content_type"] == "application/pdf"
    again = await upload(s, siti, pdf, "application/pdf", key=key)
    assert (again.status_code, again.json()["document_id"]) == (201, ktp["document_id"])
    r = await upload(s, siti, samples.jpeg(), "image/jpeg", kind="kk", name="../../kk.jpg")
    assert r.status_code == 201, r.text
    kk = r.json()
    assert kk["filename"] == "kk.jpg"

    # The wallet offers each document for the requirements of its kind.
    wallet = (await s.http.get("/me/documents", headers=siti)).json()
    assert [d["document_id"] for d in wallet] == [kk["document_id"], ktp["document_id"]]
    only_ktp = (await s.http.get("/me/documents?kind=ktp", headers=siti)).json()
    assert [d["document_id"] for d in only_ktp] == [ktp["document_id"]]
    assert (await s.http.get("/me/documents", headers=agus)).json() == []
    r = await s.http.get("/me/documents?kind=paspor", headers=siti)
    assert r.status_code == 422 and "ktp, kk" in r.json()["detail"]

    # The file rests encrypted under its id; the event store has its hash, not its bytes.
    on_disk = [p for p in (s.settings.var_dir / "uploads").rglob("doc-*") if p.is_file()]
    assert sorted(p.name for p in on_disk) == sorted([ktp["document_id"], kk["document_id"]])
    for p in on_disk:
        assert samples.SECRET_TEXT.encode() not in p.read_bytes()
    assert samples.SECRET_TEXT not in _all_event_text(s)

    # Missing, mismatched and foreign documents are refused, each named.
    r = await submit(s, siti, {})
    assert r.status_code == 422
    assert _problems(r) == {"attachments.ktp": "'KTP-el pemohon' is required: upload it (POST "
                            "/me/documents with kind ktp) or pick one GET /me/documents lists, "
                            "and send its document_id as attachments.ktp"}  # fmt: skip
    r = await submit(s, siti, {"ktp": kk["document_id"]})
    assert _problems(r)["attachments.ktp"].startswith(
        f"document {kk['document_id']} is a Kartu Keluarga (kk); 'KTP-el pemohon' takes a "
        "KTP-el (ktp)"
    )
    r = await submit(s, agus, {"ktp": ktp["document_id"]})
    assert _problems(r)["attachments.ktp"].startswith(
        f"there is no document {ktp['document_id']} in your wallet"
    )
    r = await submit(s, siti, {"ktp": ktp["document_id"], "akta": kk["document_id"]})
    assert "there is no upload requirement 'akta'" in _problems(r)["attachments.akta"]
    r = await submit(s, siti, {}, ktp="scan-ktp.pdf")
    assert "takes an uploaded document" in _problems(r)["data.ktp"]

    # Two applications with the one KTP scan.
    first = await submit(s, siti, {"ktp": ktp["document_id"], "kk": kk["document_id"]})
    assert first.status_code == 201, first.text
    second = await submit(s, siti, {"ktp": ktp["document_id"]})
    assert second.status_code == 201, second.text
    app, app2 = first.json()["application_id"], second.json()["application_id"]
    view = (
        await s.http.get(f"/applications/{app}?min_position={first.json()['position']}",
                         headers=officer)
    ).json()  # fmt: skip
    assert view["data"]["ktp"] == ktp["document_id"]
    assert {a["requirement"]: a["document_id"] for a in view["attachments"]} == {
        "ktp": ktp["document_id"],
        "kk": kk["document_id"],
    }
    assert view["attachments"][0] == {
        "document_id": ktp["document_id"], "sha256": ktp["sha256"], "requirement": "ktp",
        "filename": "ktp siti.pdf", "content_type": "application/pdf", "size": len(pdf),
    }  # fmt: skip
    await s.http.get(f"/applications/{app2}?min_position={second.json()['position']}",
                     headers=siti)  # fmt: skip

    # The agency's officer and the citizen download it; another agency and another
    # citizen get 404, as for an application that does not exist.
    url = f"/applications/{app}/attachments/{ktp['document_id']}"
    for who in (officer, siti):
        r = await s.http.get(url, headers=who)
        assert r.status_code == 200, r.text
        assert r.content == pdf and r.headers["content-type"] == "application/pdf"
        assert r.headers["x-content-type-options"] == "nosniff"
        assert "ktp%20siti.pdf" in r.headers["content-disposition"]
    for who in (other_agency, agus):
        r = await s.http.get(url, headers=who)
        assert (r.status_code, r.json()["detail"]) == (
            404, f"there is no application {app} you may see"
        )  # fmt: skip
    r = await s.http.get(f"/applications/{app2}/attachments/{kk['document_id']}", headers=officer)
    assert (r.status_code, r.json()["detail"]) == (
        404, f"application {app2} has no attachment {kk['document_id']}"
    )  # fmt: skip
    r = await s.http.get(f"/me/documents/{ktp['document_id']}", headers=siti)
    assert (r.status_code, r.content) == (200, pdf)
    r = await s.http.get(f"/me/documents/{ktp['document_id']}", headers=agus)
    assert r.status_code == 404

    # Removed from the wallet, the KTP stays with the applications it was attached to.
    listed = {d["document_id"]: d for d in (await s.http.get("/me/documents", headers=siti)).json()}
    assert sorted(listed[ktp["document_id"]]["attached_to"]) == sorted([app, app2])
    r = await s.http.delete(f"/me/documents/{ktp['document_id']}", headers=agus)
    assert r.status_code == 404
    r = await s.http.delete(f"/me/documents/{ktp['document_id']}", headers=siti)
    assert r.status_code == 200 and sorted(r.json()["kept_for_applications"]) == sorted([app, app2])
    assert (
        await s.http.get(f"/me/documents/{ktp['document_id']}", headers=siti)
    ).status_code == 404
    assert (await s.http.get(url, headers=officer)).content == pdf
    r = await submit(s, siti, {"ktp": ktp["document_id"]})
    assert "there is no document" in _problems(r)["attachments.ktp"]

    # The application runs on with its attachments to the end.
    r = await s.http.post(f"/tasks/{app}.check.1/complete", json={"outcome": "approve"},
                          headers=officer)  # fmt: skip
    assert (r.status_code, r.json()["status"]) == (200, "approved"), r.text
    await record_histories(dev_env.client, {"application-with-attachments": app})

    # A document never attached is deleted with its file.
    r = await upload(s, siti, samples.png(), "image/png", kind="pas_foto", name="foto.png")
    photo = r.json()["document_id"]
    r = await s.http.delete(f"/me/documents/{photo}", headers=siti)
    assert r.json()["kept_for_applications"] == []
    assert not list((s.settings.var_dir / "uploads").rglob(photo))


async def test_bad_uploads_are_refused_with_what_was_wrong(stack: Stack):
    s = stack
    siti = await s.token("siti@example.id", "citizen")

    r = await upload(s, siti, b"%PDF-1.7\n" + b"0" * MAX_BYTES, "application/pdf")
    assert r.status_code == 413 and "larger than 0.0625 MB" in r.json()["detail"]
    r = await s.http.post(
        "/me/documents", content=b"x" * (3 * MAX_BYTES), headers={**siti,
        "content-type": "multipart/form-data; boundary=abc"},
    )  # fmt: skip
    assert r.status_code == 413

    async def unannounced():  # chunked: no Content-Length to refuse it by
        for _ in range(4):
            yield b"x" * MAX_BYTES

    r = await s.http.post(
        "/me/documents", content=unannounced(), headers={**siti,
        "content-type": "multipart/form-data; boundary=abc"},
    )  # fmt: skip
    assert r.status_code == 413

    r = await upload(s, siti, samples.png(), "application/pdf")
    assert r.status_code == 415
    assert r.json()["detail"] == (
        "the file is declared as application/pdf but its content is a PNG image; send it as "
        "image/png"
    )
    r = await upload(s, siti, b"PK\x03\x04" + b"\x00" * 200, "application/pdf", name="ktp.docx")
    assert r.status_code == 415 and "a ZIP archive" in r.json()["detail"]
    r = await upload(s, siti, samples.pdf(), "application/msword")
    assert r.status_code == 415 and "declared as application/msword" in r.json()["detail"]
    r = await s.http.post("/me/documents", json={"file": "x"}, headers=siti)
    assert r.status_code == 415 and "multipart/form-data" in r.json()["detail"]

    active = samples.hand_pdf(samples.CATALOG, samples.PAGES, b"<< /S /JavaScript /JS (x) >>")
    r = await upload(s, siti, active, "application/pdf")
    assert r.status_code == 422 and "the PDF contains JavaScript" in r.json()["detail"]
    r = await upload(s, siti, samples.png_bomb(), "image/png")
    assert r.status_code == 422 and "100000 x 100000 pixels" in r.json()["detail"]
    r = await upload(s, siti, samples.pdf()[:-200], "application/pdf")
    assert r.status_code == 422 and "incomplete" in r.json()["detail"]
    r = await upload(s, siti, samples.pdf(), "application/pdf", kind="paspor")
    assert r.status_code == 422 and _problems(r) == {
        "kind": "the kind must be one of ktp, kk, akta, pas_foto, npwp, ijazah, str, "
        "surat_pengantar, other"
    }
    r = await upload(s, siti, b"", "application/pdf")
    assert r.status_code == 422 and "empty" in r.json()["detail"]

    officer = await s.token("budi@banyuwangikab.go.id", "officer", "BWI")
    r = await upload(s, officer, samples.pdf(), "application/pdf")
    assert r.status_code == 403
    # Nothing refused was kept.
    assert (await s.http.get("/me/documents", headers=siti)).json() == []
    assert not [p for p in (s.settings.var_dir / "uploads").rglob("doc-*") if p.is_file()]


def _problems(r: Any) -> dict[str, str]:
    assert r.status_code == 422, r.text
    return {p["path"]: p["message"] for p in r.json()["problems"]}


def _all_event_text(s: Stack) -> str:
    db = sqlite3.connect(s.settings.eventstore_location)
    try:
        return json.dumps([bytes(row[0]).decode() for row in db.execute("SELECT data FROM events")])
    finally:
        db.close()
