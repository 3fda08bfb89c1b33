"""The documents API over a real event store and read models: the DocumentIssued events
are appended as the interpreter workflow appends them (after ApplicationSubmitted, ids
``event_id(stream, i)``, data {step, number, sha256, signature, public_key_id, issued_at,
title, verify_url}), then projected by the real projector."""

from __future__ import annotations

import io
import sqlite3
from urllib.parse import urlsplit

import httpx
import pypdf
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    load_pem_public_key,
)

from api.main import create_app
from api.routers.documents import NOT_ISSUED, mask_holder
from documents.numbering import document_path
from documents.pdf import MAX_PDF_BYTES
from documents.signing import public_key_id
from domain import events as ev
from eventstore.port import NewEvent
from projections.projector import Projector
from projections.readmodels import ReadModels

SITI = "siti@example.id"
DEWI = "dewi@example.id"
NUMBER = "BWI/SKD/2026/000001"


def submitted(app_id: str, citizen: str, agency: str = "BWI") -> dict:
    return {
        "application_id": app_id,
        "service": {
            "id": "surat-keterangan-domisili",
            "version": 1,
            "name": "Surat Keterangan Domisili",
        },
        "agency": {"code": agency, "name": "Kabupaten Banyuwangi"},
        "citizen": citizen,
        "data": {"full_name": "Siti Aminah"},
        "start_step": "issue_certificate",
    }


def write_application(store, app_id: str, *events: tuple[str, dict]) -> None:
    stream = ev.application_stream(app_id)
    for i, (kind, data) in enumerate(events):
        store.append(
            stream,
            [NewEvent(ev.event_id(stream, i), kind, data, {"workflow_id": app_id})],
            expected_version=i - 1,
        )


def issued(doc, step: str = "issue_certificate") -> tuple[str, dict]:
    return (
        ev.DOCUMENT_ISSUED,
        {
            "step": step,
            "number": doc.number,
            "sha256": doc.sha256,
            "signature": doc.signature,
            "public_key_id": doc.public_key_id,
            "issued_at": doc.issued_at,
            "title": doc.title,
            "verify_url": doc.verify_url,
        },
    )


def edit_text(pdf: bytes, old: str, new: str) -> bytes:
    """What a forger does: change words in the page's (compressed) content stream."""
    writer = pypdf.PdfWriter(clone_from=pypdf.PdfReader(io.BytesIO(pdf)))
    contents = writer.pages[0].get_contents()
    assert contents is not None
    contents.set_data(contents.get_data().replace(old.encode(), new.encode()))
    writer.pages[0].replace_contents(contents)
    out = io.BytesIO()
    writer.write(out)
    assert new in pypdf.PdfReader(io.BytesIO(out.getvalue())).pages[0].extract_text()
    return out.getvalue()


def edit_metadata(pdf: bytes, key: str, value: str) -> bytes:
    writer = pypdf.PdfWriter(clone_from=pypdf.PdfReader(io.BytesIO(pdf)))
    writer.add_metadata({key: value})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


class World:
    def __init__(self, client: httpx.AsyncClient, settings, store, models, doc):
        self.client = client
        self.settings = settings
        self.store = store
        self.models = models
        self.doc = doc
        self.pdf = document_path(settings, doc.number).read_bytes()

    async def token(self, subject: str, role: str, agency: str | None = None) -> dict:
        r = await self.client.post(
            "/auth/dev-token", json={"subject": subject, "role": role, "agency": agency}
        )
        assert r.status_code == 200, r.text
        return {"Authorization": f"Bearer {r.json()['access_token']}"}

    def tamper_registry(self, sql: str, *args) -> None:
        db = sqlite3.connect(self.settings.readmodel_location)
        with db:
            db.execute(sql, args)
        db.close()


@pytest.fixture
async def world(settings, store, issue):
    doc = issue()
    write_application(
        store,
        "BWI-2026-000001",
        (ev.APPLICATION_SUBMITTED, submitted("BWI-2026-000001", SITI)),
        issued(doc),
    )
    # Dewi's application in the same agency: no document.
    write_application(
        store, "BWI-2026-000002", (ev.APPLICATION_SUBMITTED, submitted("BWI-2026-000002", DEWI))
    )
    models = ReadModels(settings.readmodel_location)
    assert Projector(store, models).catch_up() == 4  # with the number reservation
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://lincah.test") as client:
        yield World(client, settings, store, models, doc)
    app.state.runtime.close()
    models.close()


# -- verification by number (the QR code) ------------------------------------------------


async def test_verify_by_number_is_public_and_masks_the_holder(world):
    r = await world.client.get(f"/documents/{NUMBER}/verify")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["valid"] is True
    assert body["number"] == NUMBER
    assert body["title"] == "Surat Keterangan Domisili"
    assert body["service_name"] == "Surat Keterangan Domisili"
    assert body["agency_code"] == "BWI"
    assert body["issued_at"] == world.doc.issued_at
    assert body["holder"] == "s***@e***.i***"
    assert world.doc.public_key_id in body["reason"]
    assert SITI not in r.text and "siti" not in r.text


async def test_the_qr_code_url_opens_the_verification(world):
    assert world.doc.verify_url.endswith(f"/documents/{NUMBER}/verify")
    r = await world.client.get(urlsplit(world.doc.verify_url).path)
    assert r.status_code == 200 and r.json()["valid"] is True
    encoded = await world.client.get("/documents/BWI%2FSKD%2F2026%2F000001/verify")
    assert encoded.status_code == 200 and encoded.json()["valid"] is True


@pytest.mark.parametrize(
    "number", ["BWI/SKD/2026/000002", "SBY/SKD/2026/000001", "nonsense", "BWI/SKD/2026/x/y"]
)
async def test_unknown_number_is_404_and_not_valid(world, number):
    r = await world.client.get(f"/documents/{number}/verify")
    assert r.status_code == 404, r.text
    body = r.json()
    assert body["valid"] is False
    assert body["number"] == number
    assert body["reason"]
    assert body["holder"] is None


async def test_altered_registry_signature_is_invalid(world):
    sig = world.doc.signature
    forged = ("B" if sig[0] == "A" else "A") + sig[1:]
    world.tamper_registry("UPDATE documents SET signature = ? WHERE number = ?", forged, NUMBER)
    body = (await world.client.get(f"/documents/{NUMBER}/verify")).json()
    assert body["valid"] is False
    assert "signature does not verify" in body["reason"]
    # The genuine file now points to a record that no longer verifies either.
    upload = await world.client.post(
        "/documents/verify", content=world.pdf, headers={"content-type": "application/pdf"}
    )
    assert upload.status_code == 200 and upload.json()["valid"] is False


@pytest.mark.parametrize(
    ("column", "value"),
    [("citizen", DEWI), ("issued_at", "2026-01-01T00:00:00+00:00"), ("signature", "@@@")],
)
async def test_any_altered_registry_field_is_invalid(world, column, value):
    world.tamper_registry(f"UPDATE documents SET {column} = ? WHERE number = ?", value, NUMBER)
    body = (await world.client.get(f"/documents/{NUMBER}/verify")).json()
    assert body["valid"] is False, body


async def test_a_document_signed_with_another_key_is_invalid(world):
    other = Ed25519PrivateKey.generate()
    world.settings.document_key_location.write_bytes(
        other.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    )
    body = (await world.client.get(f"/documents/{NUMBER}/verify")).json()
    assert body["valid"] is False
    assert world.doc.public_key_id in body["reason"]


async def test_documents_signed_before_a_key_rotation_still_verify(world, issue):
    from backup.rotation import rotate_document_signing

    old = world.doc.public_key_id
    assert old in rotate_document_signing(world.settings)
    new = (await world.client.get("/documents/public-key")).headers["x-key-id"]
    assert new != old  # new documents get the new key
    body = (await world.client.get(f"/documents/{NUMBER}/verify")).json()
    assert body["valid"] is True and old in body["reason"], body
    r = await world.client.post(
        "/documents/verify", content=world.pdf, headers={"content-type": "application/pdf"}
    )
    assert r.json()["valid"] is True
    # One issued after the rotation is signed with the new key, and verifies too.
    doc = issue(application_id="BWI-2026-000003")
    assert doc.public_key_id == new
    write_application(
        world.store,
        "BWI-2026-000003",
        (ev.APPLICATION_SUBMITTED, submitted("BWI-2026-000003", SITI)),
        issued(doc),
    )
    Projector(world.store, world.models).catch_up()
    body = (await world.client.get(f"/documents/{doc.number}/verify")).json()
    assert body["valid"] is True, body
    # What keeps the old one valid is its retired public key: without it, it is not.
    (world.settings.retired_document_keys_dir / f"{old}.pem").unlink()
    body = (await world.client.get(f"/documents/{NUMBER}/verify")).json()
    assert body["valid"] is False and old in body["reason"]


# -- verification by file ------------------------------------------------------------------


async def test_upload_of_the_issued_pdf_is_valid(world):
    raw = await world.client.post(
        "/documents/verify", content=world.pdf, headers={"content-type": "application/pdf"}
    )
    assert raw.status_code == 200, raw.text
    assert raw.json()["valid"] is True and raw.json()["number"] == NUMBER
    multipart = await world.client.post(
        "/documents/verify", files={"file": ("surat.pdf", world.pdf, "application/pdf")}
    )
    assert multipart.status_code == 200, multipart.text
    assert multipart.json()["valid"] is True and multipart.json()["number"] == NUMBER


@pytest.mark.parametrize(
    "tamper",
    [
        lambda pdf: edit_text(pdf, "Camat Banyuwangi", "Bupati Banyuwangi"),
        lambda pdf: edit_metadata(pdf, "/Title", "Surat Keterangan Usaha"),
        lambda pdf: (
            pdf[: len(pdf) // 2] + bytes([pdf[len(pdf) // 2] ^ 1]) + pdf[len(pdf) // 2 + 1 :]
        ),
        lambda pdf: pdf + b"\n% incremental update\n",
    ],
)
async def test_altered_pdf_is_not_valid(world, tamper):
    altered = tamper(world.pdf)
    assert altered != world.pdf
    for kwargs in (
        {"content": altered, "headers": {"content-type": "application/pdf"}},
        {"files": {"file": ("surat.pdf", altered, "application/pdf")}},
    ):
        r = await world.client.post("/documents/verify", **kwargs)
        assert r.status_code == 200, r.text
        assert r.json() == {
            "valid": False,
            "number": None,
            "title": None,
            "service_name": None,
            "agency_code": None,
            "agency_name": None,
            "issued_at": None,
            "holder": None,
            "revoked": None,
            "reason": NOT_ISSUED,
        }


async def test_upload_that_is_not_a_pdf(world):
    r = await world.client.post(
        "/documents/verify", content=b"hello", headers={"content-type": "application/pdf"}
    )
    assert r.status_code == 200 and r.json()["valid"] is False
    assert "not a PDF" in r.json()["reason"]


async def test_bad_uploads_get_clear_4xx(world):
    c = world.client
    empty = await c.post(
        "/documents/verify", content=b"", headers={"content-type": "application/pdf"}
    )
    assert empty.status_code == 422 and "empty" in empty.json()["detail"]
    wrong = await c.post("/documents/verify", json={"pdf": "..."})
    assert wrong.status_code == 415 and "application/pdf" in wrong.json()["detail"]
    empty_part = await c.post(
        "/documents/verify", data={"note": "x"}, files={"other": ("a.pdf", b"")}
    )
    assert empty_part.status_code == 422 and "empty" in empty_part.json()["detail"]
    bad_form = await c.post(
        "/documents/verify",
        content=b"--x\r\nnot a part",
        headers={"content-type": "multipart/form-data; boundary=x"},
    )
    assert bad_form.status_code == 400, bad_form.text


async def test_multipart_without_a_file_field_is_422(world):
    r = await world.client.post("/documents/verify", data={"note": "x"})  # urlencoded
    assert r.status_code == 415, r.text
    r = await world.client.post(
        "/documents/verify",
        content=b'--x\r\nContent-Disposition: form-data; name="note"\r\n\r\nhi\r\n--x--\r\n',
        headers={"content-type": "multipart/form-data; boundary=x"},
    )
    assert r.status_code == 422 and "'file'" in r.json()["detail"]


async def test_uploads_over_20_mb_are_413(world):
    big = b"%PDF" + b"0" * MAX_PDF_BYTES
    raw = await world.client.post(
        "/documents/verify", content=big, headers={"content-type": "application/pdf"}
    )
    assert raw.status_code == 413 and "20 MB" in raw.json()["detail"]
    form = await world.client.post(
        "/documents/verify", files={"file": ("big.pdf", big, "application/pdf")}
    )
    assert form.status_code == 413
    just_fits = await world.client.post(
        "/documents/verify",
        content=big[:MAX_PDF_BYTES],
        headers={"content-type": "application/pdf"},
    )
    assert just_fits.status_code == 200 and just_fits.json()["valid"] is False


# -- downloads -------------------------------------------------------------------------------


async def test_download_by_owner_agency_staff_and_auditor(world):
    for who in (
        await world.token(SITI, "citizen"),
        await world.token("auditor@bpk.go.id", "auditor"),
        await world.token("budi@banyuwangikab.go.id", "officer", "BWI"),
    ):
        r = await world.client.get(f"/documents/{NUMBER}", headers=who)
        assert r.status_code == 200, r.text
        assert r.headers["content-type"] == "application/pdf"
        assert r.content == world.pdf
        assert "BWI_SKD_2026_000001.pdf" in r.headers["content-disposition"]


async def test_download_by_anyone_else_is_404(world):
    for who in (
        await world.token(DEWI, "citizen"),
        await world.token("rina@surabaya.go.id", "officer", "SBY"),
    ):
        r = await world.client.get(f"/documents/{NUMBER}", headers=who)
        assert r.status_code == 404, r.text
        assert r.json()["detail"] == f"there is no document {NUMBER} you may see"
    assert (await world.client.get(f"/documents/{NUMBER}")).status_code == 401
    unknown = await world.client.get(
        "/documents/BWI/SKD/2026/000404", headers=await world.token(SITI, "citizen")
    )
    assert unknown.status_code == 404


async def test_download_refuses_a_stored_file_that_was_altered(world):
    path = document_path(world.settings, NUMBER)
    path.write_bytes(edit_text(world.pdf, "Camat Banyuwangi", "Bupati Banyuwangi"))
    r = await world.client.get(f"/documents/{NUMBER}", headers=await world.token(SITI, "citizen"))
    assert r.status_code == 503 and "does not match" in r.json()["detail"]
    path.unlink()
    r = await world.client.get(f"/documents/{NUMBER}", headers=await world.token(SITI, "citizen"))
    assert r.status_code == 503


async def test_documents_of_an_application(world):
    r = await world.client.get(
        "/applications/BWI-2026-000001/documents", headers=await world.token(SITI, "citizen")
    )
    assert r.status_code == 200, r.text
    [doc] = r.json()
    assert doc["number"] == NUMBER
    assert doc["sha256"] == world.doc.sha256
    assert doc["verify_url"] == world.doc.verify_url
    assert doc["download_url"].endswith(f"/documents/{NUMBER}")
    none = await world.client.get(
        "/applications/BWI-2026-000002/documents", headers=await world.token(DEWI, "citizen")
    )
    assert none.status_code == 200 and none.json() == []
    other = await world.client.get(
        "/applications/BWI-2026-000001/documents", headers=await world.token(DEWI, "citizen")
    )
    assert other.status_code == 404


async def test_public_key_is_the_one_documents_are_signed_with(world):
    r = await world.client.get("/documents/public-key")
    assert r.status_code == 200
    key = load_pem_public_key(r.content)
    assert isinstance(key, Ed25519PublicKey)
    assert public_key_id(key) == world.doc.public_key_id == r.headers["x-key-id"]


async def test_projection_rebuild_gives_the_same_registry(world):
    before = world.models.dump()["documents"]
    assert len(before) == 1
    Projector(world.store, world.models).rebuild()
    assert world.models.dump()["documents"] == before
    row = world.models.document(NUMBER)
    assert row is not None
    assert (row["citizen"], row["agency_code"], row["service_id"], row["step"]) == (
        SITI,
        "BWI",
        "surat-keterangan-domisili",
        "issue_certificate",
    )
    assert world.models.documents_of("BWI-2026-000001") == [row]
    assert world.models.documents_of("BWI-2026-000002") == []


def test_mask_holder():
    assert mask_holder("Siti Aminah") == "S*** A***"
    assert mask_holder("siti@example.id") == "s***@e***.i***"
    assert mask_holder("3510154808900003") == "3***"
