"""Phone formats, found by content: WEBP and HEIC/HEIF decode (EXIF orientation
applied, whatever the file is called or declared as); animated images, colours that
cannot be converted and photos over 24 megapixels are refused with a reason, the last
from the header alone. Pillow and pillow-heif only: no face models needed."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from PIL import Image

from face import imaging
from face.imaging import UnusableImage
from tests.face.conftest import FACES, encode, needs_faces

pytestmark = needs_faces


def upright() -> Image.Image:
    return Image.open(FACES / "obama" / "obama4.jpg").convert("RGB")  # wider than tall


def stored_turned(fmt: str) -> bytes:
    """Pixels stored on their side, with the EXIF tag that turns them upright."""
    exif = Image.Exif()
    exif[0x0112] = 8
    return encode(upright().transpose(Image.Transpose.ROTATE_270), fmt, exif=exif.tobytes())


@pytest.mark.parametrize("fmt", ["WEBP", "HEIF", "JPEG", "PNG"])
def test_phone_formats_decode_upright(fmt):
    data = stored_turned(fmt)
    if fmt == "HEIF":
        assert data[4:12] == b"ftypheic"  # a real HEIC file, made here by pillow-heif
    img = imaging.decode(data)
    assert img.mode == "RGB" and img.width > img.height  # turned back upright


def test_the_content_decides_not_the_name_or_declared_type():
    """A WEBP named selfie.jpg and sent as image/jpeg is a WEBP: decoded as one. The
    declared type only has to be some image (or octet-stream, as some phones send)."""
    webp = encode(upright(), "WEBP")
    assert imaging.decode(webp).size == imaging.decode(encode(upright(), "JPEG")).size
    assert all(map(imaging.declared_ok, ["image/jpeg", "image/heic", "application/octet-stream"]))
    assert not imaging.declared_ok("application/pdf")
    with pytest.raises(UnusableImage) as e:
        imaging.decode(encode(upright(), "GIF"))
    assert e.value.code == imaging.UNSUPPORTED_FORMAT and "WEBP or HEIC" in e.value.reason


def test_animated_images_are_refused():
    frames = [upright(), upright().rotate(5)]
    for fmt in ("WEBP", "PNG"):
        data = encode(frames[0], fmt, save_all=True, append_images=frames[1:])
        with pytest.raises(UnusableImage) as e:
            imaging.decode(data)
        assert e.value.code == imaging.ANIMATED and "single photo" in e.value.reason


def test_cmyk_converts_and_odd_modes_are_refused_with_a_reason():
    cmyk = imaging.decode(encode(upright().convert("CMYK"), "JPEG"))
    assert cmyk.mode == "RGB"
    # A 32-bit float image (no faithful RGB): only TIFF carries one, so it is handed to
    # the conversion step directly.
    with pytest.raises(ValueError, match="no conversion from F"):
        imaging._flatten(Image.new("F", (8, 8)))


def png_header(width: int, height: int) -> bytes:
    """A PNG that declares its size and holds almost nothing: only its header is read."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", b"")


def test_over_24_megapixels_is_refused_from_the_header():
    with pytest.raises(UnusableImage) as e:
        imaging.decode(png_header(6000, 4001))  # 24.006 MP, about 60 bytes
    assert e.value.code == imaging.TOO_MANY_PIXELS and "24 megapixels" in e.value.reason
    big = io.BytesIO()
    Image.new("RGB", (6000, 4001)).save(big, "WEBP", quality=1)
    with pytest.raises(UnusableImage) as e:
        imaging.decode(big.getvalue())
    assert e.value.code == imaging.TOO_MANY_PIXELS
