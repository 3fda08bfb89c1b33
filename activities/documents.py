"""Document issuance (produk pelayanan): a numbered, signed PDF with a QR code.

A ``document`` step of a service definition calls ``issue_document``. The activity

1. allocates the number (``BWI/SKD/2026/000001``: agency, template code, year, sequence)
   by appending one event to ``domain.events.document_number_stream``. The event id is
   derived from (application, step, visit), so a retried activity re-appends the same id,
   the store answers with the stored version, and the number is the same; concurrent
   appends are serialised by the store, so no two requests share a version;
2. renders the PDF deterministically (creation date = ``issued_at``, which the workflow
   takes from ``workflow.now()``): a retry writes identical bytes, hence the same sha256
   and, Ed25519 being deterministic, the same signature;
3. stores it under ``var/documents/`` and signs a canonical JSON of the registry record
   (number, application, service, sha256, issue time, holder) with the agency's Ed25519
   key (``var/document-signing-key.pem``, generated on first use, mode 0600).

Anyone can then check a number (``GET /documents/{number}/verify``, what the QR code
opens) or a file (``POST /documents/verify``): a PDF whose bytes were altered has another
sha256, which no issued document has.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import logging
import os
import re
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Final

import orjson
import segno
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from fpdf import FPDF
from fpdf.enums import Align, XPos, YPos
from pydantic import ValidationError
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.heartbeat import heartbeating
from config.settings import Settings
from domain import events as ev
from domain.definition import DocumentTemplate
from domain.interpreter import render_message
from eventstore.port import ANY, DuplicateEventIds, EventStore, InvalidEvent, NewEvent

log = logging.getLogger(__name__)

DOCUMENT_NUMBER_RESERVED: Final = "DocumentNumberReserved"
"""Event of a ``docno-<AGENCY>-<CODE>-<YEAR>`` stream; its version + 1 is the sequence."""

NUMBER_PATTERN: Final = re.compile(r"^[A-Z]{2,6}/[A-Z]{2,10}/[0-9]{4}/[0-9]{6,9}$")
_AGENCY_CODE: Final = re.compile(r"^[A-Z]{2,6}$")

MAX_PDF_BYTES: Final = 20 * 1024 * 1024
"""Largest file ``POST /documents/verify`` accepts."""

_MONTHS: Final = (
    "Januari",
    "Februari",
    "Maret",
    "April",
    "Mei",
    "Juni",
    "Juli",
    "Agustus",
    "September",
    "Oktober",
    "November",
    "Desember",
)


@dataclass
class IssueRequest:
    application_id: str
    step_id: str
    visit: int
    citizen: str
    agency_code: str
    agency_name: str
    service_id: str
    service_name: str
    template: dict[str, Any]
    """``DocumentTemplate`` as JSON: code, title, body, signatory."""
    values: dict[str, str]
    """Form and external field values, already stringified."""
    issued_at: str
    """ISO 8601 in UTC, from ``workflow.now()``: a retry renders identical bytes."""
    utc_offset_hours: int = 7
    """The agency's time zone (7 WIB, 8 WITA, 9 WIT): the year of the number and the
    date printed on the document are local."""


@dataclass
class IssuedDocument:
    number: str
    sha256: str
    signature: str
    """Base64 of the Ed25519 signature over ``signed_payload(...)``."""
    public_key_id: str
    issued_at: str
    verify_url: str
    title: str


# -- numbers, names, dates ------------------------------------------------------------


def document_number(agency_code: str, code: str, year: int, sequence: int) -> str:
    return f"{agency_code}/{code}/{year}/{sequence:06d}"


def document_filename(number: str) -> str:
    """``BWI/SKD/2026/000001`` -> ``BWI_SKD_2026_000001.pdf``."""
    return number.replace("/", "_") + ".pdf"


def document_path(settings: Settings, number: str) -> Path:
    return settings.documents_dir / document_filename(number)


def verify_url(settings: Settings, number: str) -> str:
    return f"{settings.public_url}/documents/{number}/verify"


def indonesian_date(moment: date) -> str:
    """``28 November 2026``."""
    return f"{moment.day} {_MONTHS[moment.month - 1]} {moment.year}"


def parse_issued_at(value: str) -> datetime:
    """An aware datetime; a naive ISO string is taken as UTC."""
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


# -- signing ----------------------------------------------------------------------------


def signed_payload(
    *,
    number: str,
    application_id: str,
    service_id: str,
    sha256: str,
    issued_at: str,
    holder: str,
) -> bytes:
    """The canonical bytes a document's signature covers."""
    record = {
        "number": number,
        "application_id": application_id,
        "service_id": service_id,
        "sha256": sha256,
        "issued_at": issued_at,
        "holder": holder,
    }
    return orjson.dumps(record, option=orjson.OPT_SORT_KEYS)


def load_signing_key(path: Path) -> Ed25519PrivateKey:
    """The document-signing key at ``path``, generated (mode 0600) when missing. Two
    processes creating it at once end with one key: it is written to a private temporary
    file and hard-linked into place, which fails when another process won."""
    if not path.exists():
        _create_key(path)
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path} holds a {type(key).__name__}, not an Ed25519 private key")
    return key


def _create_key(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(6)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(pem)
            f.flush()
            os.fsync(f.fileno())
        with contextlib.suppress(FileExistsError):  # another process won: use theirs
            os.link(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def public_key_pem(key: Ed25519PublicKey) -> str:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")


def public_key_id(key: Ed25519PublicKey) -> str:
    """First 16 hex digits of the sha256 of the raw 32-byte public key."""
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def sign(key: Ed25519PrivateKey, payload: bytes) -> str:
    return base64.b64encode(key.sign(payload)).decode("ascii")


def signature_valid(key: Ed25519PublicKey, payload: bytes, signature: str) -> bool:
    try:
        raw = base64.b64decode(signature, validate=True)
        key.verify(raw, payload)
    except (InvalidSignature, ValueError):  # binascii.Error is a ValueError
        return False
    return True


# -- rendering --------------------------------------------------------------------------

_REPLACEMENTS: Final = {
    "\u2018": "'",
    "\u2019": "'",
    "\u201a": ",",
    "\u201c": '"',
    "\u201d": '"',
    "\u201e": '"',
    "\u2013": "-",
    "\u2014": "-",
    "\u2212": "-",
    "\u2026": "...",
    "\u2022": "-",
    "\u2192": "->",
    "\u20ac": "EUR",
    "\u2122": "(TM)",
}


def to_latin1(text: str) -> str:
    """What the PDF core fonts can show (latin-1): typographic punctuation becomes its
    ASCII form, accented letters lose accents latin-1 lacks (``ā`` -> ``a``), and any
    other character becomes ``?``, visibly. Control characters other than newlines
    are dropped, tabs become spaces."""
    out: list[str] = []
    for ch in text.replace("\r\n", "\n").replace("\r", "\n"):
        if ch == "\n" or (" " <= ch <= "~") or ("\u00a0" <= ch <= "\u00ff"):
            out.append(ch)
        elif ch == "\t":
            out.append(" ")
        elif unicodedata.category(ch).startswith("C"):
            continue
        elif ch in _REPLACEMENTS:
            out.append(_REPLACEMENTS[ch])
        else:
            base = "".join(
                c
                for c in unicodedata.normalize("NFKD", ch)
                if ord(c) < 256 and not unicodedata.combining(c)
            )
            out.append(base or "?")
    return "".join(out)


def qr_png(url: str) -> bytes:
    """The verify URL as a QR code (error correction M), 4 pixels a module, quiet zone of
    4 modules."""
    buf = io.BytesIO()
    segno.make(url, error="m", micro=False).save(buf, kind="png", scale=4, border=4)
    return buf.getvalue()


def body_values(req: IssueRequest, number: str, local: datetime) -> dict[str, str]:
    """Placeholders of a template body: the application's fields, then the built-ins
    (which win: a form field cannot forge the document number)."""
    return {
        **req.values,
        "application_id": req.application_id,
        "document_number": number,
        "issued_date": indonesian_date(local),
        "service_name": req.service_name,
        "citizen": req.citizen,
    }


def render_pdf(
    req: IssueRequest,
    template: DocumentTemplate,
    number: str,
    url: str,
    key_id: str,
    issued: datetime,
    local: datetime,
) -> bytes:
    """The document, byte for byte the same for the same arguments."""
    pdf = FPDF(orientation="P", unit="mm", format="A4")
    pdf.set_creation_date(issued)
    pdf.set_title(to_latin1(template.title))
    pdf.set_author(to_latin1(req.agency_name))
    pdf.set_subject(number)
    pdf.set_creator("Lincah")
    pdf.set_margins(20, 15, 20)
    pdf.set_auto_page_break(True, margin=18)
    pdf.add_page()
    width = pdf.epw

    # Kop surat
    pdf.set_font("Helvetica", "B", 15)
    pdf.multi_cell(
        width,
        7,
        to_latin1(req.agency_name.upper()),
        align=Align.C,
        new_x=XPos.LMARGIN,
        new_y=YPos.NEXT,
    )
    pdf.set_font("Helvetica", "", 10)
    pdf.multi_cell(
        width,
        5,
        to_latin1(f"Mal Pelayanan Publik Digital - {req.service_name}"),
        align=Align.C,
        new_x=XPos.LMARGIN,
        new_y=YPos.NEXT,
    )
    y = pdf.get_y() + 2
    pdf.set_line_width(0.8)
    pdf.line(pdf.l_margin, y, pdf.l_margin + width, y)
    pdf.set_line_width(0.2)
    pdf.line(pdf.l_margin, y + 1.2, pdf.l_margin + width, y + 1.2)
    pdf.set_y(y + 8)

    # Title and number
    pdf.set_font("Helvetica", "BU", 13)
    pdf.multi_cell(
        width,
        7,
        to_latin1(template.title.upper()),
        align=Align.C,
        new_x=XPos.LMARGIN,
        new_y=YPos.NEXT,
    )
    pdf.set_font("Helvetica", "", 11)
    pdf.cell(width, 6, f"Nomor: {number}", align=Align.C, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(6)

    # Body
    body = render_message(template.body, body_values(req, number, local))
    pdf.set_font("Helvetica", "", 11)
    for paragraph in to_latin1(body).split("\n"):
        if paragraph.strip():
            pdf.multi_cell(width, 6, paragraph, align=Align.J, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        else:
            pdf.ln(4)

    # Signatory and QR code, kept together on one page
    if pdf.get_y() + 62 > pdf.h - pdf.b_margin:
        pdf.add_page()
    top = pdf.get_y() + 10
    qr_size = 34.0
    pdf.image(io.BytesIO(qr_png(url)), x=pdf.l_margin, y=top, w=qr_size, h=qr_size)
    right = pdf.l_margin + width / 2 + 10
    block = width / 2 - 10
    pdf.set_xy(right, top)
    pdf.set_font("Helvetica", "", 11)
    pdf.multi_cell(
        block,
        6,
        f"Diterbitkan pada {indonesian_date(local)}",
        new_x=XPos.LEFT,
        new_y=YPos.NEXT,
    )
    pdf.set_font("Helvetica", "B", 11)
    pdf.multi_cell(block, 6, to_latin1(template.signatory), new_x=XPos.LEFT, new_y=YPos.NEXT)
    pdf.multi_cell(block, 6, to_latin1(req.agency_name), new_x=XPos.LEFT, new_y=YPos.NEXT)
    pdf.ln(8)
    pdf.set_x(right)
    pdf.set_font("Helvetica", "I", 9)
    pdf.multi_cell(block, 5, "Ditandatangani secara elektronik", new_x=XPos.LEFT, new_y=YPos.NEXT)
    pdf.set_xy(pdf.l_margin, max(pdf.get_y(), top + qr_size) + 4)
    pdf.set_font("Helvetica", "", 8)
    pdf.multi_cell(
        width,
        4,
        to_latin1(
            "Dokumen ini ditandatangani secara elektronik (Ed25519, kunci "
            f"{key_id}). Periksa keasliannya dengan memindai kode QR atau membuka {url} ."
            f" Nomor permohonan: {req.application_id}."
        ),
        new_x=XPos.LMARGIN,
        new_y=YPos.NEXT,
    )
    return bytes(pdf.output())


def _write_atomically(path: Path, content: bytes) -> None:
    if path.exists() and path.read_bytes() == content:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(6)}")
    try:
        with open(tmp, "wb") as f:
            f.write(content)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


# -- the activity -----------------------------------------------------------------------


def _refuse(message: str, kind: str) -> ApplicationError:
    return ApplicationError(message, type=kind, non_retryable=True)


class DocumentActivities:
    """Holds the store and the settings (documents folder, signing key, public URL)."""

    def __init__(self, store: EventStore, settings: Settings) -> None:
        self._store = store
        self._settings = settings

    def allocate_number(self, req: IssueRequest, code: str, year: int) -> str:
        """The same number for the same (application, step, visit), however often asked."""
        stream = ev.document_number_stream(req.agency_code, code, year)
        event = NewEvent(
            id=ev.event_id(f"docreq-{req.application_id}-{req.step_id}", req.visit),
            type=DOCUMENT_NUMBER_RESERVED,
            data={
                "application_id": req.application_id,
                "service_id": req.service_id,
                "step": req.step_id,
                "visit": req.visit,
            },
        )
        try:
            result = self._store.append(stream, [event], expected_version=ANY)
        except (DuplicateEventIds, InvalidEvent) as e:
            raise _refuse(str(e), type(e).__name__) from e
        return document_number(req.agency_code, code, year, result.stream_version + 1)

    @activity.defn(name="issue_document")
    def issue_document(self, req: IssueRequest) -> IssuedDocument:
        with heartbeating():
            return self._issue(req)

    def _issue(self, req: IssueRequest) -> IssuedDocument:
        try:
            template = DocumentTemplate.model_validate(req.template)
        except ValidationError as e:
            raise _refuse(f"the document template is not valid: {e}", "InvalidTemplate") from e
        try:
            issued = parse_issued_at(req.issued_at)
        except ValueError as e:
            raise _refuse(
                f"issued_at {req.issued_at!r} is not an ISO 8601 time", "InvalidRequest"
            ) from e
        if not _AGENCY_CODE.match(req.agency_code):
            raise _refuse(
                f"agency code {req.agency_code!r} is not 2-6 capital letters", "InvalidRequest"
            )
        if req.visit < 1:
            raise _refuse(f"visit must be >= 1, got {req.visit}", "InvalidRequest")

        local = issued.astimezone(timezone(timedelta(hours=req.utc_offset_hours)))
        number = self.allocate_number(req, template.code, local.year)
        key = load_signing_key(self._settings.document_key_location)
        key_id = public_key_id(key.public_key())
        url = verify_url(self._settings, number)
        pdf = render_pdf(req, template, number, url, key_id, issued, local)
        sha = hashlib.sha256(pdf).hexdigest()
        _write_atomically(document_path(self._settings, number), pdf)
        signature = sign(
            key,
            signed_payload(
                number=number,
                application_id=req.application_id,
                service_id=req.service_id,
                sha256=sha,
                issued_at=req.issued_at,
                holder=req.citizen,
            ),
        )
        log.info("issued document %s for application %s", number, req.application_id)
        return IssuedDocument(
            number=number,
            sha256=sha,
            signature=signature,
            public_key_id=key_id,
            issued_at=req.issued_at,
            verify_url=url,
            title=template.title,
        )
