"""Small real files of each accepted type, made here (Pillow, fpdf2), and hand-built
ones that no library would write: active PDFs, decompression bombs."""

from __future__ import annotations

import io
import struct
import zlib

from fpdf import FPDF
from PIL import Image

SECRET_TEXT = "NIK 3510154808900003 SITI AMINAH"
"""Printed in the sample PDF uncompressed, to look for on disk."""


def pdf(text: str = SECRET_TEXT) -> bytes:
    doc = FPDF()
    doc.set_compression(False)
    doc.add_page()
    doc.set_font("helvetica", size=12)
    doc.cell(text=text)
    return bytes(doc.output())


def png(width: int = 40, height: int = 30) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(out, "PNG")
    return out.getvalue()


def jpeg(width: int = 40, height: int = 30) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (30, 30, 200)).save(out, "JPEG")
    return out.getvalue()


def chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bomb(width: int = 100_000, height: int = 100_000) -> bytes:
    """A PNG header claiming ``width`` x ``height`` pixels around a few bytes of data:
    decoded, it would need tens of gigabytes."""
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    data = zlib.compress(b"\x00" * 1024, 9)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")
    )


def jpeg_bomb() -> bytes:
    """A real JPEG whose frame header claims 65,535 x 65,535 pixels."""
    data = bytearray(jpeg())
    at = data.index(b"\xff\xc0")
    data[at + 5 : at + 9] = struct.pack(">HH", 65535, 65535)
    return bytes(data)


def hand_pdf(*objects: bytes, trailer: bytes = b"") -> bytes:
    """A minimal PDF of the given objects (no valid xref: the checks do not need it)."""
    body = b"".join(b"%d 0 obj\n%s\nendobj\n" % (i, o) for i, o in enumerate(objects, start=1))
    return b"%PDF-1.7\n" + body + b"trailer\n<< /Root 1 0 R " + trailer + b">>\n%%EOF\n"


CATALOG = b"<< /Type /Catalog /Pages 2 0 R >>"
PAGES = b"<< /Type /Pages /Kids [] /Count 0 >>"
