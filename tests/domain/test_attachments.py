"""domain/attachments.py and the definition rules of upload requirements: which wallet
documents satisfy which file field, and every problem at its path."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from domain.attachments import attach
from domain.validation import parse_definition
from domain.wallet import Wallet, WalletDocument

DEFINITION: dict[str, Any] = {
    "id": "izin-uji",
    "name": "Izin Uji",
    "agency": {"code": "BWI", "name": "DPMPTSP"},
    "fields": [
        {"id": "full_name", "label": "Nama", "type": "text"},
        {"id": "ktp", "label": "KTP-el", "type": "file", "kinds": ["ktp"]},
        {
            "id": "foto",
            "label": "Pas foto",
            "type": "file",
            "kinds": ["pas_foto"],
            "required": False,
        },
        {"id": "lama", "label": "Berkas lama", "type": "file", "required": False},
    ],
    "steps": [{"kind": "end", "id": "end", "name": "Selesai", "result": "approved"}],
}


def definition(**changes: Any):
    d, problems = parse_definition({**DEFINITION, **changes})
    assert d is not None, problems
    return d, problems


def wallet(*docs: tuple[str, str]) -> Wallet:
    return Wallet(
        documents={
            doc_id: WalletDocument(
                document_id=doc_id, kind=kind, kind_name=kind, filename=f"{doc_id}.pdf",
                content_type="application/pdf", size=3, sha256="ab" * 32,
                uploaded_at=datetime(2026, 11, 1, tzinfo=UTC),
            )
            for doc_id, kind in docs
        }
    )  # fmt: skip


def test_kinds_belong_to_file_fields_and_are_known():
    fields = [
        {"id": "nama", "label": "Nama", "type": "text", "kinds": ["ktp"]},
        {"id": "scan", "label": "Scan", "type": "file", "kinds": ["ktp", "paspor"]},
    ]
    _, problems = definition(fields=fields)
    assert [(p.path, p.message) for p in problems if "kinds" in p.path] == [
        ("fields[0].kinds", "only file fields take document kinds (type is 'text')"),
        (
            "fields[1].kinds[1]",
            "unknown document kind 'paspor'; one of ktp, kk, akta, pas_foto, npwp, ijazah, "
            "str, surat_pengantar, other",
        ),
    ]


def test_attached_documents_become_refs_and_form_data():
    d, _ = definition()
    out = attach(d, {"full_name": "Siti"}, {"ktp": "doc-1"}, wallet(("doc-1", "ktp")))
    assert out.problems == []
    assert out.data == {"full_name": "Siti", "ktp": "doc-1"}
    [ref] = out.refs
    assert (ref.requirement, ref.document_id, ref.sha256) == ("ktp", "doc-1", "ab" * 32)


def test_every_problem_at_its_path():
    d, _ = definition()
    out = attach(
        d,
        {"lama": 7},
        {"foto": "doc-1", "akta": "doc-1", "nope": "doc-9"},
        wallet(("doc-1", "ktp")),
    )
    found = {p.path: p.message for p in out.problems}
    assert found["attachments.foto"] == (
        "document doc-1 is a KTP-el (ktp); 'Pas foto' takes a Pas foto (pas_foto)"
    )
    assert found["attachments.akta"].startswith("there is no upload requirement 'akta'")
    assert found["attachments.nope"].startswith("there is no upload requirement 'nope'")
    assert found["attachments.ktp"].startswith("'KTP-el' is required: upload it")
    assert found["data.full_name"] == "required field is missing"
    assert found["data.lama"].startswith("must be a file reference")  # as before uploads
    assert "data.ktp" not in found and "data.foto" not in found  # said once, as attachments


def test_a_legacy_file_field_still_takes_a_reference_but_a_kinds_field_does_not():
    d, _ = definition()
    out = attach(d, {"full_name": "Siti", "lama": "upload:x.pdf", "ktp": "scan.pdf"}, {}, wallet())
    assert {p.path for p in out.problems} == {"data.ktp"}
    out = attach(
        d, {"full_name": "Siti", "ktp": "doc-1"}, {"ktp": "doc-1"}, wallet(("doc-1", "ktp"))
    )
    assert [p.path for p in out.problems] == ["data.ktp"]  # attached and typed: say which
