"""The ``issue_document`` activity: numbering, deterministic rendering, signing, the PDF's
text and QR code. Runs in temporalio's ActivityEnvironment on a real SQLite store."""

from __future__ import annotations

import base64
import hashlib
import io
import stat
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime

import pypdf
import pytest
import segno
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.documents import DocumentActivities
from config.settings import Settings
from documents.numbering import DOCUMENT_NUMBER_RESERVED, document_path
from documents.pdf import to_latin1
from documents.signing import load_signing_key, public_key_id, signature_valid, signed_payload
from domain import events as ev
from domain.standard import tanggal


def pdf_of(settings, doc) -> bytes:
    return document_path(settings, doc.number).read_bytes()


def text_of(pdf: bytes) -> str:
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    return "\n".join(page.extract_text() for page in reader.pages)


# -- numbers ------------------------------------------------------------------------------


def test_first_number_of_the_agency_code_and_year(issue):
    doc = issue()
    assert doc.number == "BWI/SKD/2026/000001"
    assert doc.title == "Surat Keterangan Domisili"
    assert doc.issued_at == "2026-11-28T03:15:00+00:00"


def test_same_request_twice_gives_the_same_number_and_one_stream_event(issue, store):
    first = issue()
    again = issue()
    assert again == first  # number, sha256, signature: a retry changes nothing
    events = store.read_stream(ev.document_number_stream("BWI", "SKD", 2026))
    assert len(events) == 1
    assert events[0].type == DOCUMENT_NUMBER_RESERVED
    assert events[0].data == {
        "application_id": "BWI-2026-000001",
        "service_id": "surat-keterangan-domisili",
        "step": "issue_certificate",
        "visit": 1,
    }


def test_other_visits_steps_and_applications_get_the_next_numbers(issue, store):
    a = issue()
    b = issue(visit=2)
    c = issue(step_id="issue_permit")
    d = issue(application_id="BWI-2026-000002")
    assert [x.number[-6:] for x in (a, b, c, d)] == ["000001", "000002", "000003", "000004"]
    assert issue(visit=2).number == b.number
    assert len(store.read_stream(ev.document_number_stream("BWI", "SKD", 2026))) == 4


def test_each_template_code_and_local_year_has_its_own_sequence(issue, make_req):
    assert issue().number == "BWI/SKD/2026/000001"
    other = make_req(
        application_id="BWI-2026-000002", template={**make_req().template, "code": "SIP"}
    )
    assert issue(other).number == "BWI/SIP/2026/000001"
    # 31 Dec 18:00 UTC is already 1 January in Banyuwangi (WIB, UTC+7).
    new_year = issue(application_id="BWI-2026-000009", issued_at="2026-12-31T18:00:00+00:00")
    assert new_year.number == "BWI/SKD/2027/000001"
    # ... but not yet in a UTC+0 reading of the same request.
    assert issue(
        application_id="BWI-2026-000010", issued_at="2026-12-31T16:00:00+00:00"
    ).number == ("BWI/SKD/2026/000002")


def test_one_request_id_never_takes_numbers_in_two_streams(issue, make_req, store):
    issue()
    moved = make_req(template={**make_req().template, "code": "SIP"})
    with pytest.raises(ApplicationError) as info:
        issue(moved)
    assert info.value.non_retryable and info.value.type == "DuplicateEventIds"
    assert store.stream_version(ev.document_number_stream("BWI", "SIP", 2026)) == -1


def test_concurrent_requests_and_racing_retries_get_unique_dense_numbers(acts, store, make_req):
    reqs = [make_req(application_id=f"BWI-2026-{i:06d}") for i in range(1, 21)]

    def run(req):
        return ActivityEnvironment().run(acts.issue_document, req)

    with ThreadPoolExecutor(8) as pool:
        docs = list(pool.map(run, reqs + reqs))  # every request twice, racing itself
    by_app: dict[str, set[str]] = {}
    for req, doc in zip(reqs + reqs, docs, strict=True):
        by_app.setdefault(req.application_id, set()).add(doc.number)
    assert all(len(numbers) == 1 for numbers in by_app.values())
    numbers = sorted(n for (n,) in by_app.values())
    assert numbers == [f"BWI/SKD/2026/{i:06d}" for i in range(1, 21)]
    assert len(store.read_stream(ev.document_number_stream("BWI", "SKD", 2026))) == 20


# -- rendering --------------------------------------------------------------------------


def test_rendering_is_deterministic(issue, settings):
    first = issue()
    pdf = pdf_of(settings, first)
    assert hashlib.sha256(pdf).hexdigest() == first.sha256
    document_path(settings, first.number).unlink()
    again = issue()  # a retry after the file was lost renders it again, byte for byte
    assert pdf_of(settings, again) == pdf
    assert again.sha256 == first.sha256
    # Nothing in it depends on the clock of the machine that renders it.
    metadata = pypdf.PdfReader(io.BytesIO(pdf)).metadata
    assert metadata is not None
    created = metadata.creation_date
    assert created == datetime(2026, 11, 28, 3, 15, tzinfo=UTC)


def test_another_issue_time_renders_other_bytes(issue, settings):
    first = issue()
    pdf = pdf_of(settings, first)
    later = issue(visit=2, issued_at="2026-11-29T03:15:00+00:00")
    assert later.sha256 != first.sha256
    assert pdf_of(settings, later) != pdf


def test_pdf_text_has_the_filled_placeholders(issue, settings):
    doc = issue()
    text = " ".join(text_of(pdf_of(settings, doc)).split())
    for expected in (
        "KABUPATEN BANYUWANGI",
        "SURAT KETERANGAN DOMISILI",
        "Nomor: BWI/SKD/2026/000001",
        "Siti Aminah",
        "Jl. Ahmad Yani No. 12, RT 02/RW 05",
        "Kelurahan Penganjuran",
        "keperluan Pembukaan rekening bank pada 28 November 2026",
        "Permohonan BWI-2026-000001 (Surat Keterangan Domisili), dokumen BWI/SKD/2026/000001",
        "Camat Banyuwangi",
        doc.public_key_id,
        doc.verify_url,
    ):
        assert expected in text, expected
    assert "{" not in text


def test_a_form_field_cannot_forge_the_document_number(issue, settings, make_req):
    req = make_req(values={**make_req().values, "document_number": "BWI/SKD/2026/999999"})
    text = text_of(pdf_of(settings, issue(req)))
    assert "999999" not in text
    assert "BWI/SKD/2026/000001" in text


def test_characters_outside_latin1_are_replaced_visibly(issue, settings, make_req):
    req = make_req(
        values={**make_req().values, "full_name": "Siti \u201cĀminah\u201d \u6f22\u5b57"}
    )
    text = text_of(pdf_of(settings, issue(req)))
    assert 'Siti "Aminah" ??' in text


def test_to_latin1():
    assert to_latin1("a\u2014b \u2018c\u2019 Ā é\t漢\x07\r\nx") == "a-b 'c' A é ?\nx"


def test_qr_code_encodes_the_verify_url(issue, settings):
    doc = issue()
    assert doc.verify_url == f"{settings.api_base_url}/documents/BWI/SKD/2026/000001/verify"
    images = pypdf.PdfReader(io.BytesIO(pdf_of(settings, doc))).pages[0].images
    assert len(images) == 1
    matrix = qr_modules(images[0].image)
    assert matrix == qr_reference(doc.verify_url)
    assert matrix != qr_reference(doc.verify_url.replace("000001", "000002"))


def test_public_base_url_is_what_the_qr_code_opens(store, settings, make_req):
    public = settings.model_copy(update={"public_base_url": "https://mpp.banyuwangikab.go.id/"})
    doc = ActivityEnvironment().run(DocumentActivities(store, public).issue_document, make_req())
    expected = "https://mpp.banyuwangikab.go.id/documents/BWI/SKD/2026/000001/verify"
    assert doc.verify_url == expected
    images = pypdf.PdfReader(io.BytesIO(pdf_of(public, doc))).pages[0].images
    assert qr_modules(images[0].image) == qr_reference(expected)


def qr_reference(url: str) -> list[list[bool]]:
    return [[bool(v) for v in row] for row in segno.make(url, error="m", micro=False).matrix]


def qr_modules(image) -> list[list[bool]]:
    """Read the module grid back from the embedded image: find the symbol's dark bounding
    box, take the module size from the 7-module finder pattern, sample module centres."""
    gray = image.convert("L")
    w, h = gray.size
    px = gray.load()
    dark = [(x, y) for y in range(h) for x in range(w) if px[x, y] < 128]
    assert dark, "the QR image is blank"
    left, top = min(x for x, _ in dark), min(y for _, y in dark)
    right = max(x for x, _ in dark)
    finder = 0
    while px[left + finder, top] < 128:
        finder += 1
    module = finder / 7
    n = round((right - left + 1) / module)
    return [
        [px[int(left + (c + 0.5) * module), int(top + (r + 0.5) * module)] < 128 for c in range(n)]
        for r in range(n)
    ]


# -- signing ------------------------------------------------------------------------------


def test_signature_verifies_with_the_public_key(issue, settings):
    doc = issue()
    key = load_signing_key(settings.document_key_location).public_key()
    assert isinstance(key, Ed25519PublicKey)
    assert doc.public_key_id == public_key_id(key) and len(doc.public_key_id) == 16
    fields = {
        "number": doc.number,
        "application_id": "BWI-2026-000001",
        "service_id": "surat-keterangan-domisili",
        "sha256": doc.sha256,
        "issued_at": doc.issued_at,
        "holder": "siti@example.id",
    }
    assert signature_valid(key, signed_payload(**fields), doc.signature)
    for name, other in (
        ("holder", "dewi@example.id"),
        ("sha256", "0" * 64),
        ("number", "BWI/SKD/2026/000002"),
    ):
        assert not signature_valid(key, signed_payload(**{**fields, name: other}), doc.signature)
    raw = bytearray(base64.b64decode(doc.signature))
    raw[0] ^= 1
    assert not signature_valid(key, signed_payload(**fields), base64.b64encode(raw).decode())
    assert not signature_valid(key, signed_payload(**fields), "not base64!")


def test_signing_key_is_created_once_with_mode_0600(issue, settings):
    path = settings.document_key_location
    assert not path.exists()
    first = issue()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.parent == settings.var_dir
    second = issue(visit=2)
    assert second.public_key_id == first.public_key_id


def test_explicit_key_path(store, settings, make_req, tmp_path):
    custom = settings.model_copy(update={"document_key_path": tmp_path / "keys" / "doc.pem"})
    doc = ActivityEnvironment().run(DocumentActivities(store, custom).issue_document, make_req())
    key = load_signing_key(tmp_path / "keys" / "doc.pem").public_key()
    assert doc.public_key_id == public_key_id(key)
    assert not settings.document_key_location.exists()


# -- bad requests -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "changes",
    [
        {"template": {"code": "skd", "title": "x", "body": "y"}},
        {"template": {"code": "SKD", "title": "x"}},
        {"issued_at": "yesterday"},
        {"agency_code": "bwi/../x"},
        {"visit": 0},
    ],
)
def test_bad_requests_fail_without_retry_and_allocate_nothing(issue, store, changes):
    with pytest.raises(ApplicationError) as info:
        issue(**changes)
    assert info.value.non_retryable
    assert store.head_position() == 0


def test_document_dates_are_indonesian():
    assert tanggal(date(2026, 11, 28)) == "28 November 2026"
    assert tanggal(date(2027, 1, 1)) == "1 Januari 2027"
    assert tanggal(date(2026, 8, 17)) == "17 Agustus 2026"


def test_settings_default_paths(settings: Settings):
    assert settings.document_key_location == settings.var_dir / "document-signing-key.pem"
    assert settings.documents_dir == settings.var_dir / "documents"
    assert settings.public_url == settings.api_base_url
