"""Rendering an issued document (produk pelayanan) as PDF, with its QR code, and writing
it under ``var/documents/``. Rendering is deterministic (creation date = ``issued_at``,
which the workflow takes from ``workflow.now()``): a retry writes identical bytes, hence
the same sha256. A PDF whose bytes were altered has another sha256, which no issued
document has."""

from __future__ import annotations

import io
import os
import secrets
import unicodedata
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

import segno
from fpdf import FPDF
from fpdf.enums import Align, XPos, YPos

from documents.contract import IssueRequest
from domain.definition import DocumentTemplate
from domain.interpreter import render_message
from domain.standard import tanggal

MAX_PDF_BYTES: Final = 20 * 1024 * 1024
"""Largest file ``POST /documents/verify`` accepts."""


def parse_issued_at(value: str) -> datetime:
    """An aware datetime; a naive ISO string is taken as UTC."""
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


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
        "issued_date": tanggal(local),
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
        f"Diterbitkan pada {tanggal(local)}",
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


def write_pdf(path: Path, content: bytes) -> None:
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
