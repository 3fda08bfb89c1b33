"""Decoding uploaded photos: Pillow only (the API uses it too, without torch).

Every refusal is an :class:`UnusableImage` with a stable ``code`` and a reason a citizen
can act on. Nothing here logs or keeps the image.
"""

from __future__ import annotations

import io
import warnings
from typing import Final

from PIL import Image, ImageOps, UnidentifiedImageError

FORMATS: Final = frozenset({"JPEG", "PNG"})
CONTENT_TYPES: Final = frozenset({"image/jpeg", "image/jpg", "image/pjpeg", "image/png"})
MAX_MEGAPIXELS: Final = 24.0
"""Phones take 12 MP photos by default; anything past this is refused before decoding."""
WORK_SIDE: Final = 1280
"""Decoded photos are reduced to this longest side: faces keep far more pixels than the
embedding needs, and decoding and alignment stay fast."""

# Codes of unusable images: the API maps them to HTTP statuses, the workflow records them.
NOT_AN_IMAGE: Final = "not_an_image"
UNSUPPORTED_FORMAT: Final = "unsupported_format"
DAMAGED: Final = "damaged"
TOO_MANY_PIXELS: Final = "too_many_pixels"
NO_FACE: Final = "no_face"
SEVERAL_FACES: Final = "several_faces"
FACE_TOO_SMALL: Final = "face_too_small"
FACE_UNCLEAR: Final = "face_unclear"


class UnusableImage(Exception):
    """A photo that cannot be used for a face check, and why."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


def decode(data: bytes, max_megapixels: float = MAX_MEGAPIXELS) -> Image.Image:
    """Decode a JPEG or PNG into an upright RGB image whose longest side is at most
    :data:`WORK_SIDE`: EXIF orientation applied, transparency flattened onto white."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError as e:
        raise UnusableImage(
            TOO_MANY_PIXELS,
            f"the image is far too large; send a photo of at most {max_megapixels:g} megapixels",
        ) from e
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as e:
        raise UnusableImage(
            NOT_AN_IMAGE, "the file is not an image; send a JPEG or PNG photo"
        ) from e
    if img.format not in FORMATS:
        raise UnusableImage(
            UNSUPPORTED_FORMAT,
            f"{img.format or 'this'} images are not accepted; send a JPEG or PNG photo",
        )
    megapixels = img.width * img.height / 1e6
    if megapixels > max_megapixels:
        raise UnusableImage(
            TOO_MANY_PIXELS,
            f"the image has {megapixels:.1f} megapixels; send a photo of at most "
            f"{max_megapixels:g} megapixels",
        )
    try:
        if img.format == "JPEG":
            img.draft("RGB", (WORK_SIDE, WORK_SIDE))  # decode at 1/2, 1/4 or 1/8 scale
        img.load()
        rgb = _flatten(ImageOps.exif_transpose(img) or img)
    except (OSError, ValueError, SyntaxError, EOFError, Image.DecompressionBombError) as e:
        raise UnusableImage(
            DAMAGED, "the image is truncated or damaged; take or upload the photo again"
        ) from e
    if max(rgb.size) > WORK_SIDE:
        rgb.thumbnail((WORK_SIDE, WORK_SIDE), Image.Resampling.BILINEAR)
    return rgb


def _flatten(img: Image.Image) -> Image.Image:
    if img.mode == "RGB":
        return img
    if img.mode == "P" and "transparency" in img.info:
        img = img.convert("RGBA")
    if img.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = img.convert("RGBA")
        flat = Image.new("RGB", rgba.size, (255, 255, 255))
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat
    if img.mode in ("I;16", "I;16B", "I;16L", "I"):
        img = img.convert("I").point(lambda v: v / 256).convert("L")  # 16-bit grey to 8
    return img.convert("RGB")
