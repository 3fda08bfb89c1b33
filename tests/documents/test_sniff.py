"""documents/sniff.py: each accepted type passes; spoofed, truncated, damaged, active
and oversized ones are refused with a reason naming what was found; random bytes never
make the check fail any other way."""

from __future__ import annotations

import zlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from documents import sniff
from documents.sniff import JPEG, PDF, PNG, Unacceptable
from tests.documents import samples

MAX_PIXELS = 40_000_000


def refused(data: bytes, declared: str, max_pixels: int = MAX_PIXELS) -> Unacceptable:
    with pytest.raises(Unacceptable) as e:
        sniff.check(data, declared, max_pixels)
    return e.value


@pytest.mark.parametrize(
    ("make", "declared", "expected"),
    [
        (samples.pdf, "application/pdf", PDF),
        (samples.png, "image/png", PNG),
        (samples.jpeg, "image/jpeg", JPEG),
        (samples.jpeg, "image/jpg", JPEG),  # what some phones declare
        (samples.pdf, "application/pdf; name=ktp.pdf", PDF),
    ],
)
def test_each_accepted_type_passes(make, declared, expected):
    found = sniff.check(make(), declared, MAX_PIXELS)
    assert found.content_type == expected
    if expected != PDF:
        assert found.size == (40, 30)


@pytest.mark.parametrize(
    ("data", "declared", "said"),
    [
        (samples.png(), "image/jpeg", "declared as image/jpeg but its content is a PNG image"),
        (samples.pdf(), "image/png", "declared as image/png but its content is a PDF document"),
        (samples.jpeg(), "application/pdf", "its content is a JPEG image"),
        (b"PK\x03\x04" + b"\x00" * 100, "application/pdf", "a ZIP archive"),
        (b"\x00\x00\x00\x18ftypheic" + b"\x00" * 100, "image/jpeg", "a HEIC image"),
        (b"GIF89a" + b"\x00" * 50, "image/png", "a GIF image"),
        (b"MZ\x90\x00" + b"\x00" * 50, "application/pdf", "a Windows program"),
        (b"<html><script>alert(1)</script></html>", "application/pdf", "HTML, SVG or XML"),
        (b"hello, this is text", "image/png", "plain text"),
        (b"", "application/pdf", "nothing (the file is empty)"),
    ],
)
def test_spoofed_types_are_refused_saying_what_was_found(data, declared, said):
    e = refused(data, declared)
    assert e.wrong_type
    assert said in e.reason


@pytest.mark.parametrize("declared", ["application/msword", "image/gif", "", "text/html"])
def test_other_declared_types_are_refused(declared):
    e = refused(samples.pdf(), declared)
    assert e.wrong_type and "send a PDF, JPEG or PNG" in e.reason
    assert (declared or "nothing") in e.reason


@pytest.mark.parametrize(
    ("make", "declared"),
    [(samples.pdf, "application/pdf"), (samples.png, "image/png"), (samples.jpeg, "image/jpeg")],
)
@pytest.mark.parametrize("keep", [0.3, 0.6, 0.95])
def test_truncated_files_are_refused(make, declared, keep):
    data = make()
    e = refused(data[: int(len(data) * keep)], declared)
    assert not e.wrong_type
    assert "incomplete" in e.reason or "damaged" in e.reason, e.reason


def test_a_png_with_a_bad_checksum_is_refused():
    data = bytearray(samples.png())
    at = data.index(b"IDAT") + 6
    data[at] ^= 0xFF
    e = refused(bytes(data), "image/png")
    assert "'IDAT' chunk fails its checksum" in e.reason


def test_a_pdf_header_must_be_a_pdf_version():
    e = refused(b"%PDF-x.y\n" + samples.pdf()[9:], "application/pdf")
    assert "header is damaged" in e.reason


def test_decompression_bombs_are_refused_from_the_header():
    e = refused(samples.png_bomb(), "image/png")
    assert not e.wrong_type
    assert "100000 x 100000 pixels (10000 megapixels); at most 40 megapixels" in e.reason
    e = refused(samples.jpeg_bomb(), "image/jpeg")
    assert "65535 x 65535 pixels" in e.reason


def test_the_pixel_limit_is_a_setting():
    assert sniff.check(samples.png(40, 30), "image/png", 1200).size == (40, 30)
    assert "at most 0.0012 megapixels" in refused(samples.png(40, 31), "image/png", 1200).reason


@pytest.mark.parametrize(
    ("action", "what"),
    [
        (b"<< /S /JavaScript /JS (app.alert(1)) >>", "JavaScript"),
        (b"<< /S /J#61vaScript /J#53 (app.alert(1)) >>", "JavaScript"),  # escaped names
        (b"<< /S /Launch /F (cmd.exe) >>", "an action that starts a program"),
    ],
)
def test_pdfs_with_active_content_are_refused(action, what):
    data = samples.hand_pdf(
        b"<< /Type /Catalog /Pages 2 0 R /OpenAction 3 0 R >>", samples.PAGES, action
    )
    e = refused(data, "application/pdf")
    assert not e.wrong_type
    assert f"the PDF contains {what}" in e.reason


def test_embedded_files_are_refused():
    data = samples.hand_pdf(
        b"<< /Type /Catalog /Pages 2 0 R /Names << /EmbeddedFiles 3 0 R >> >>",
        samples.PAGES,
        b"<< /Names [(x.exe) 4 0 R] >>",
    )
    assert "embedded files" in refused(data, "application/pdf").reason


def test_javascript_hidden_in_an_object_stream_is_found():
    hidden = zlib.compress(b"3 0 << /S /JavaScript /JS (app.alert(1)) >>")
    stream = (
        b"<< /Type /ObjStm /N 1 /First 4 /Filter /FlateDecode /Length %d >>\nstream\n%s\n"
        b"endstream" % (len(hidden), hidden)
    )
    data = samples.hand_pdf(samples.CATALOG, samples.PAGES, stream)
    assert "the PDF contains JavaScript" in refused(data, "application/pdf").reason


def test_names_inside_ordinary_stream_data_are_content_not_actions():
    """Compressed page or image data can hold any bytes, /JS among them."""
    content = b"\x00/JS /JavaScript /Launch\x00" * 10
    stream = b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content)
    data = samples.hand_pdf(samples.CATALOG, samples.PAGES, stream)
    assert sniff.check(data, "application/pdf", MAX_PIXELS).content_type == PDF


def test_encrypted_pdfs_are_refused():
    data = samples.hand_pdf(
        samples.CATALOG, samples.PAGES, b"<< /Filter /Standard /V 2 >>", trailer=b"/Encrypt 3 0 R "
    )
    assert "encrypted" in refused(data, "application/pdf").reason


MAGIC = st.sampled_from([b"", b"%PDF-1.4\n", b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n"])
DECLARED = st.sampled_from(["application/pdf", "image/jpeg", "image/png", "text/plain"])


@settings(max_examples=300, deadline=None)
@given(
    magic=MAGIC,
    rest=st.binary(max_size=2048),
    tail=st.sampled_from([b"", b"%%EOF", b"\xff\xd9"]),
    declared=DECLARED,
)
def test_random_bytes_never_crash_the_check(magic, rest, tail, declared):
    try:
        found = sniff.check(magic + rest + tail, declared, MAX_PIXELS)
    except Unacceptable as e:
        assert e.reason
    else:
        assert found.content_type == sniff.declared_type(declared)


@settings(max_examples=200, deadline=None)
@given(cut=st.integers(min_value=0), flip=st.integers(min_value=0), bit=st.integers(0, 7))
def test_damaged_real_files_never_crash_the_check(cut, flip, bit):
    for make, declared in ((samples.png, "image/png"), (samples.jpeg, "image/jpeg"),
                           (samples.pdf, "application/pdf")):  # fmt: skip
        data = bytearray(make())
        data[flip % len(data)] ^= 1 << bit
        data = data[: len(data) - cut % len(data)]
        try:
            sniff.check(bytes(data), declared, MAX_PIXELS)
        except Unacceptable as e:
            assert e.reason
