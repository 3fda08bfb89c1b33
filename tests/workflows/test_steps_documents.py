"""Produk pelayanan: a document step issues a numbered, signed PDF through the real
``issue_document`` activity (activities/documents.py)."""

from __future__ import annotations

import hashlib
import io
import re
from datetime import datetime, timedelta, timezone

import pypdf
from temporalio import activity

from documents.contract import IssuedDocument, IssueRequest
from documents.numbering import document_path
from documents.signing import load_signing_key, public_key_id, signature_valid, signed_payload
from domain import events as ev
from domain.calendar import WorkingCalendar
from tests.workflows.stepkit import (
    APPROVED,
    CITIZEN,
    DATA,
    FIELDS,
    REJECTED,
    Kit,
    complete,
    parse,
    review,
    running,
    service,
)

ADDRESS = {"id": "address", "label": "Alamat", "type": "text"}
DOCUMENT = parse(
    service(
        "surat-keterangan-domisili",
        [
            review("verify", {"approve": "issue", "reject": "rejected"}),
            {
                "kind": "document",
                "id": "issue",
                "name": "Penerbitan surat",
                "template": {
                    "code": "SKD",
                    "title": "Surat Keterangan Domisili",
                    "body": "Menerangkan bahwa {full_name} (NIK {nik}) berdomisili di {address}.\n"
                    "Nomor {document_number}, permohonan {application_id}.",
                    "signatory": "Camat Banyuwangi",
                },
                "next": "done",
            },
            {
                "kind": "notify",
                "id": "done",
                "name": "Surat terbit",
                "message": "Surat Keterangan Domisili untuk {full_name} telah terbit.",
                "next": "approved",
            },
            APPROVED,
            REJECTED,
        ],
        fields=[*FIELDS, ADDRESS],
    )
)
APP_DATA = {**DATA, "address": "Jl. Ahmad Yani 1, Banyuwangi"}
WIB = timezone(timedelta(hours=7))


def pdf_text(content: bytes) -> str:
    reader = pypdf.PdfReader(io.BytesIO(content))
    return " ".join(" ".join(page.extract_text().split()) for page in reader.pages)


async def test_a_document_step_issues_a_signed_numbered_document(kit: Kit):
    t0 = await kit.env.get_current_time()
    handle, _ = await kit.submit(DOCUMENT, APP_DATA)
    r = await complete(handle, "verify", "approve")
    assert r.status == "approved"
    assert r.position == kit.last_position(handle.id)
    assert await handle.result() == "approved"
    assert kit.types(handle.id) == [
        ev.APPLICATION_SUBMITTED,
        ev.TASK_ASSIGNED,
        ev.TASK_COMPLETED,
        ev.DOCUMENT_ISSUED,
        ev.CITIZEN_NOTIFIED,
        ev.APPLICATION_COMPLETED,
    ]
    doc = kit.one(handle.id, ev.DOCUMENT_ISSUED)
    assert set(doc) == {
        "step",
        "number",
        "sha256",
        "signature",
        "public_key_id",
        "issued_at",
        "title",
        "verify_url",
    }
    issued_at = datetime.fromisoformat(doc["issued_at"])
    assert t0 <= issued_at <= await kit.env.get_current_time()  # workflow time
    year = issued_at.astimezone(WIB).year
    assert doc["number"] == f"BWI/SKD/{year}/000001"
    assert (doc["step"], doc["title"]) == ("issue", "Surat Keterangan Domisili")
    assert doc["verify_url"] == f"{kit.settings.public_url}/documents/{doc['number']}/verify"

    # The PDF on disk is the one hashed, and the signature is the agency key's.
    content = document_path(kit.settings, doc["number"]).read_bytes()
    assert re.fullmatch(r"[0-9a-f]{64}", doc["sha256"])
    assert hashlib.sha256(content).hexdigest() == doc["sha256"]
    key = load_signing_key(kit.settings.document_key_location).public_key()
    assert doc["public_key_id"] == public_key_id(key)
    payload = signed_payload(
        number=doc["number"],
        application_id=handle.id,
        service_id="surat-keterangan-domisili",
        sha256=doc["sha256"],
        issued_at=doc["issued_at"],
        holder=CITIZEN.subject,
    )
    assert signature_valid(key, payload, doc["signature"])
    text = pdf_text(content)
    assert "Siti Aminah" in text and "Jl. Ahmad Yani 1, Banyuwangi" in text
    assert doc["number"] in text and handle.id in text


async def test_numbers_follow_each_other_and_a_rejection_issues_nothing(kit: Kit):
    first, _ = await kit.submit(DOCUMENT, APP_DATA)
    second, _ = await kit.submit(DOCUMENT, APP_DATA)
    third, _ = await kit.submit(DOCUMENT, APP_DATA)
    await complete(second, "verify", "approve")
    await complete(third, "verify", "reject")
    await complete(first, "verify", "approve")
    assert [await h.result() for h in (first, second, third)] == ["approved"] * 2 + ["rejected"]
    numbers = [kit.one(h.id, ev.DOCUMENT_ISSUED)["number"] for h in (second, first)]
    assert [n.rsplit("/", 1)[1] for n in numbers] == ["000001", "000002"]
    assert ev.DOCUMENT_ISSUED not in kit.types(third.id)


async def test_the_document_is_dated_in_the_agencys_time_zone(bare_kit: Kit):
    kit = bare_kit
    seen: list[IssueRequest] = []

    @activity.defn(name="issue_document")
    def issue_document(req: IssueRequest) -> IssuedDocument:
        seen.append(req)
        return IssuedDocument(
            number="BWI/SKD/2026/000001",
            sha256="0" * 64,
            signature="",
            public_key_id="",
            issued_at=req.issued_at,
            verify_url="",
            title="",
        )

    async with running(kit.worker([issue_document])):
        wit = WorkingCalendar(utc_offset_hours=9)  # e.g. an agency in Papua
        handle, _ = await kit.submit(DOCUMENT, APP_DATA, calendar=wit)
        await complete(handle, "verify", "approve")
        assert await handle.result() == "approved"
    assert [r.utc_offset_hours for r in seen] == [9]
