"""What an uploaded requirement document really is: PDF, JPEG or PNG, found by its
content (magic bytes and a light structural check), never trusted from its declared
content type or file name alone.

``check`` refuses, with a reason written for the citizen:

- a declared type other than the three, content that is none of them (saying what it
  looks like: a Word file, a HEIC photo, ...), and content that is not what was
  declared (``Unacceptable.wrong_type``: the API answers 415);
- a truncated or malformed file (a PDF without ``%%EOF``, a PNG without ``IEND`` or
  with a bad chunk checksum, a JPEG without its end marker or frame header), a PDF that
  carries JavaScript, launch actions, rich media or embedded files, or is encrypted,
  and an image with more pixels than allowed, counted from its header before anything
  is decoded (decompression bombs) (the API answers 422).

PDF names are read with their ``#xx`` escapes decoded, outside stream data (whose bytes
are compressed content and would match by chance) and inside object streams (where a
PDF 1.5+ may keep its dictionaries compressed), which are inflated on a budget.
"""

from __future__ import annotations

import io
import re
import struct
import warnings
import zlib
from dataclasses import dataclass
from typing import Final

from PIL import Image

PDF: Final = "application/pdf"
JPEG: Final = "image/jpeg"
PNG: Final = "image/png"
ACCEPTED: Final = (PDF, JPEG, PNG)
NAMES: Final = {PDF: "a PDF document", JPEG: "a JPEG image", PNG: "a PNG image"}
EXTENSIONS: Final = {PDF: "pdf", JPEG: "jpg", PNG: "png"}
_ALIASES: Final = {"image/jpg": JPEG, "image/pjpeg": JPEG, "application/x-pdf": PDF}

PNG_SIGNATURE: Final = b"\x89PNG\r\n\x1a\n"
_PNG_IEND: Final = b"\x00\x00\x00\x00IEND\xaeB`\x82"
_JPEG_SOF: Final = frozenset({*range(0xC0, 0xC4), *range(0xC5, 0xC8), *range(0xC9, 0xCC),
                              *range(0xCD, 0xD0)})  # fmt: skip
"""Start-of-frame markers (they carry the image's size); C4, C8 and CC are not."""
_JPEG_STANDALONE: Final = frozenset({0x01, *range(0xD0, 0xD8)})

ACTIVE_CONTENT: Final = {
    b"JavaScript": "JavaScript",
    b"JS": "JavaScript",
    b"Launch": "an action that starts a program",
    b"EmbeddedFile": "an embedded file",
    b"EmbeddedFiles": "embedded files",
    b"RichMedia": "rich media (Flash or video)",
}
"""PDF names that make a document do things when opened; none belongs in a scan."""
OBJECT_STREAM_BUDGET: Final = 64 * 1024 * 1024
"""Most bytes a PDF's object streams may inflate to, all together."""
_NAME: Final = re.compile(rb"/([^\x00\t\n\x0c\r ()<>\[\]{}/%]*)")
_HEX_ESCAPE: Final = re.compile(rb"#([0-9A-Fa-f]{2})")
_STREAM: Final = re.compile(rb"stream(?:\r\n|\n|\r)(.*?)endstream", re.DOTALL)
_PDF_HEADER: Final = re.compile(rb"%PDF-[12]\.\d")


class Unacceptable(Exception):
    """Why an upload is refused, for the citizen."""

    def __init__(self, reason: str, *, wrong_type: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.wrong_type = wrong_type
        """Not a PDF, JPEG or PNG, or not what it was declared as (else: malformed,
        unsafe or too large an image)."""


@dataclass(frozen=True)
class Sniffed:
    content_type: str
    size: tuple[int, int] | None = None
    """An image's width and height in pixels."""


def declared_type(content_type: str | None) -> str:
    """The media type of a Content-Type header, lower case, without parameters."""
    media = (content_type or "").split(";")[0].strip().lower()
    return _ALIASES.get(media, media)


def content_type_of(data: bytes) -> str | None:
    """PDF, JPEG or PNG by their magic bytes, else None."""
    if data.startswith(b"%PDF-"):
        return PDF
    if data.startswith(b"\xff\xd8\xff"):
        return JPEG
    if data.startswith(PNG_SIGNATURE):
        return PNG
    return None


def identify(data: bytes) -> str:
    """What the bytes look like, for a refusal's message."""
    found = content_type_of(data)
    if found:
        return NAMES[found]
    head = data[:16]
    known = (
        (b"GIF87a", "a GIF image"),
        (b"GIF89a", "a GIF image"),
        (b"PK\x03\x04", "a ZIP archive (Word .docx and Excel .xlsx files are ZIP archives)"),
        (b"\xd0\xcf\x11\xe0", "an old Microsoft Office document (.doc, .xls)"),
        (b"{\\rtf", "an RTF document"),
        (b"BM", "a BMP image"),
        (b"II*\x00", "a TIFF image"),
        (b"MM\x00*", "a TIFF image"),
        (b"MZ", "a Windows program"),
        (b"\x7fELF", "a Linux program"),
    )
    for magic, what in known:
        if head.startswith(magic):
            return what
    if head.startswith(b"RIFF") and data[8:12] == b"WEBP":
        return "a WebP image"
    if data[4:8] == b"ftyp":
        if data[8:12] in (b"heic", b"heix", b"mif1", b"msf1", b"hevc"):
            return "a HEIC image (as phones save photos; export it as JPEG)"
        return "an MP4 or QuickTime video"
    if not data:
        return "nothing (the file is empty)"
    text = data[:1024].lstrip().lower()
    if text.startswith((b"<!doctype html", b"<html", b"<svg", b"<?xml")):
        return "HTML, SVG or XML text"
    try:
        sample = data[:1024].decode("utf-8")
    except UnicodeDecodeError:
        sample = ""
    if sample and all(c.isprintable() or c in "\r\n\t" for c in sample):
        return "plain text"
    return "unrecognised binary data"


def check(data: bytes, declared: str | None, max_pixels: int) -> Sniffed:
    """The upload's type once its declared type, its content and its structure agree
    and it is safe to keep; raises ``Unacceptable`` otherwise."""
    media = declared_type(declared)
    if media not in ACCEPTED:
        raise Unacceptable(
            f"send a PDF, JPEG or PNG file; this upload is declared as {media or 'nothing'}",
            wrong_type=True,
        )
    found = content_type_of(data)
    if found is None:
        raise Unacceptable(
            f"the file is not a PDF, JPEG or PNG: its content is {identify(data)}. Scan or "
            "export the document as PDF, JPEG or PNG",
            wrong_type=True,
        )
    if found != media:
        raise Unacceptable(
            f"the file is declared as {media} but its content is {NAMES[found]}; send it "
            f"as {found}",
            wrong_type=True,
        )
    if found == PDF:
        _check_pdf(data)
        return Sniffed(PDF)
    size = _png_size(data) if found == PNG else _jpeg_size(data)
    _check_pixels(size, max_pixels)
    _check_with_pillow(data, found, size)
    return Sniffed(found, size)


# -- PDF --------------------------------------------------------------------------------


def _malformed(reason: str) -> Unacceptable:
    return Unacceptable(reason, wrong_type=False)


def _check_pdf(data: bytes) -> None:
    if not _PDF_HEADER.match(data):
        raise _malformed("the PDF's header is damaged (it should begin with %PDF-1.x)")
    if b"%%EOF" not in data[-1024:]:
        raise _malformed(
            "the PDF is incomplete: it has no end-of-file marker (%%EOF), so it was cut off "
            "while saving or sending; save or export it again"
        )
    outside, object_streams = _split_streams(data)
    names = _names(outside)
    if b"Encrypt" in names:
        raise _malformed(
            "the PDF is encrypted (protected with a password), so officers could not open "
            "it; save it again without protection"
        )
    budget = OBJECT_STREAM_BUDGET
    for compressed in object_streams:
        inflated = _inflate(compressed, budget)
        budget -= len(inflated)
        if budget <= 0:
            raise _malformed(
                f"the PDF's object streams inflate to more than "
                f"{OBJECT_STREAM_BUDGET // (1024 * 1024)} MB; export it again (e.g. print "
                "it to PDF)"
            )
        names |= _names(inflated)
    active = sorted({what for name, what in ACTIVE_CONTENT.items() if name in names})
    if active:
        raise _malformed(
            f"the PDF contains {' and '.join(active)}, which a scanned document never needs "
            "and which can harm the officers' computers; print it to PDF or scan it again"
        )


def _split_streams(data: bytes) -> tuple[bytes, list[bytes]]:
    """The PDF without its stream data, and the data of its Flate-compressed object
    streams."""
    outside: list[bytes] = []
    object_streams: list[bytes] = []
    last = 0
    for m in _STREAM.finditer(data):
        before = data[last : m.start()]
        outside.append(before)
        header = _names(before[before.rfind(b"obj") :] if b"obj" in before else before[-1024:])
        if b"ObjStm" in header and b"FlateDecode" in header:
            object_streams.append(m.group(1))
        last = m.end()
    outside.append(data[last:])
    return b"".join(outside), object_streams


def _names(pdf_text: bytes) -> set[bytes]:
    return {
        _HEX_ESCAPE.sub(lambda h: bytes([int(h.group(1), 16)]), m.group(1))
        for m in _NAME.finditer(pdf_text)
    }


def _inflate(compressed: bytes, budget: int) -> bytes:
    """At most ``budget + 1`` bytes of a zlib stream; what it holds up to an error."""
    inflater = zlib.decompressobj()
    try:
        return inflater.decompress(compressed, max(budget, 0) + 1)
    except zlib.error:
        return b""


# -- images -----------------------------------------------------------------------------


def _png_size(data: bytes) -> tuple[int, int]:
    """Width and height from IHDR, once every chunk's length and checksum hold, IDAT
    is there and IEND ends the file."""
    if len(data) < 8 + 25 or data[12:16] != b"IHDR" or data[8:12] != b"\x00\x00\x00\x0d":
        raise _malformed("the PNG is damaged: it does not begin with its header chunk (IHDR)")
    width, height = struct.unpack(">II", data[16:24])
    pos, seen_data = 8, False
    while pos < len(data):
        if pos + 12 > len(data):
            raise _truncated_png()
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        end = pos + 12 + length
        if end > len(data):
            raise _truncated_png()
        (crc,) = struct.unpack(">I", data[end - 4 : end])
        if zlib.crc32(data[pos + 4 : end - 4]) != crc:
            raise _malformed(
                f"the PNG is damaged: its {kind.decode('latin-1')!r} chunk fails its checksum"
            )
        seen_data = seen_data or kind == b"IDAT"
        if kind == b"IEND":
            if end != len(data):
                raise _malformed("the PNG has data after its end (IEND); save it again")
            break
        pos = end
    if not data.endswith(_PNG_IEND):
        raise _truncated_png()
    if not seen_data:
        raise _malformed("the PNG holds no image data (IDAT); save it again")
    return width, height


def _truncated_png() -> Unacceptable:
    return _malformed(
        "the PNG is incomplete: it ends before its end chunk (IEND), so it was cut off "
        "while saving or sending; save it again"
    )


def _jpeg_size(data: bytes) -> tuple[int, int]:
    """Width and height from the frame header, walking the segments up to the scan;
    the file must end with its end marker (EOI)."""
    if not data.rstrip(b"\x00\r\n ").endswith(b"\xff\xd9"):
        raise _malformed(
            "the JPEG is incomplete: it has no end marker, so it was cut off while saving "
            "or sending; save or take the photo again"
        )
    pos, size = 2, None
    while True:
        start = pos
        while pos < len(data) and data[pos] == 0xFF:
            pos += 1  # a marker, after any fill bytes
        if pos == start or pos >= len(data):
            raise _malformed("the JPEG is damaged: its header segments are broken")
        marker = data[pos]
        pos += 1
        if marker in _JPEG_STANDALONE:
            continue
        if marker == 0xD9 or pos + 2 > len(data):
            raise _malformed("the JPEG is damaged: it ends before its image data")
        (length,) = struct.unpack(">H", data[pos : pos + 2])
        if length < 2 or pos + length > len(data):
            raise _malformed("the JPEG is damaged: a header segment runs past the file's end")
        if marker in _JPEG_SOF:
            if length < 7:
                raise _malformed("the JPEG is damaged: its frame header is too short")
            height, width = struct.unpack(">HH", data[pos + 3 : pos + 7])
            size = (width, height)
        if marker == 0xDA:  # start of scan: the image data follows
            if size is None:
                raise _malformed("the JPEG is damaged: it has no frame header (SOF)")
            return size
        pos += length


def _check_pixels(size: tuple[int, int], max_pixels: int) -> None:
    width, height = size
    if width == 0 or height == 0:
        raise _malformed(f"the image is {width} x {height} pixels: it shows nothing")
    if width * height > max_pixels:
        raise _malformed(
            f"the image is {width} x {height} pixels ({width * height / 1e6:.0f} megapixels); "
            f"at most {max_pixels / 1e6:g} megapixels are accepted. Scan or photograph the "
            "document at a lower resolution (300 dpi is enough)"
        )


def _check_with_pillow(data: bytes, content_type: str, size: tuple[int, int]) -> None:
    """Pillow reads the same format and size from the header; a JPEG is also decoded at
    1/8 scale (cheap), which finds damaged image data."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                fmt, seen = image.format, image.size
                if content_type == JPEG and fmt == "JPEG":
                    image.draft("L", (max(1, size[0] // 8), max(1, size[1] // 8)))
                    image.load()
                else:
                    image.verify()
    except (OSError, ValueError, SyntaxError, struct.error, Image.DecompressionBombError,
            Image.DecompressionBombWarning) as e:  # fmt: skip
        raise _malformed(
            f"the image cannot be read ({type(e).__name__}); save or take it again"
        ) from e
    if fmt != {JPEG: "JPEG", PNG: "PNG"}[content_type] or seen != size:
        raise _malformed("the image's header contradicts itself; save or take it again")
