"""Decoding uploaded photos: Pillow only (the API uses it too, without torch).

Every refusal is an :class:`UnusableImage` with a stable ``code`` and a reason a citizen
can act on. Nothing here logs or keeps the image.
"""

from __future__ import annotations

import io
import warnings
from typing import Final

import pillow_heif
from PIL import Image, ImageOps, UnidentifiedImageError

# HEIC/HEIF (iPhones) through Pillow's own open(), so the format is found by content like
# the others; registered once here, where every decode goes through.
pillow_heif.register_heif_opener()

FORMATS: Final = frozenset({"JPEG", "PNG", "WEBP", "HEIF"})
"""What Pillow calls the accepted formats; found from the content, never the name."""
ACCEPTED: Final = "a JPEG, PNG, WEBP or HEIC photo"
DECLARED_TYPES: Final = frozenset({"application/octet-stream", ""})
"""Declared types an upload may carry besides image/*: some phones and browsers send a
HEIC or WEBP photo as octet-stream or untyped. The content decides what it is."""
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
ANIMATED: Final = "animated"
UNSUPPORTED_COLOURS: Final = "unsupported_colours"
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


def declared_ok(content_type: str) -> bool:
    """Whether an upload's declared type may be a photo at all (its content decides)."""
    return content_type.startswith("image/") or content_type in DECLARED_TYPES


def decode(data: bytes, max_megapixels: float = MAX_MEGAPIXELS) -> Image.Image:
    """Decode a JPEG, PNG, WEBP or HEIC/HEIF photo, recognised by its content, into an
    upright RGB image whose longest side is at most :data:`WORK_SIDE`: EXIF orientation
    applied, transparency flattened onto white. The pixel count is read from the header
    before anything is decoded."""
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
        raise UnusableImage(NOT_AN_IMAGE, f"the file is not an image; send {ACCEPTED}") from e
    if img.format not in FORMATS:
        raise UnusableImage(
            UNSUPPORTED_FORMAT,
            f"{img.format or 'this'} images are not accepted; send {ACCEPTED}",
        )
    if getattr(img, "n_frames", 1) > 1 and img.format != "HEIF":
        # An animated WEBP or PNG: which frame is the selfie? (A HEIC's extra images
        # are a burst or depth map; Pillow opens its primary image.)
        raise UnusableImage(
            ANIMATED,
            "animated images are not accepted; send a single photo (a still JPEG, PNG, "
            "WEBP or HEIC)",
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
    except (OSError, ValueError, SyntaxError, EOFError, Image.DecompressionBombError) as e:
        raise UnusableImage(
            DAMAGED, "the image is truncated or damaged; take or upload the photo again"
        ) from e
    try:
        rgb = _flatten(ImageOps.exif_transpose(img) or img)
    except (OSError, ValueError) as e:
        raise UnusableImage(
            UNSUPPORTED_COLOURS,
            f"the photo's colours ({img.mode}) cannot be converted for a face check; save "
            "it as an ordinary colour photo (RGB) and send it again",
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
    if img.mode not in CONVERTIBLE:
        raise ValueError(f"no conversion from {img.mode} to RGB")
    return img.convert("RGB")


CONVERTIBLE: Final = frozenset({"1", "L", "P", "RGB", "RGBX", "CMYK", "YCbCr", "LAB", "HSV"})
"""Modes with a faithful conversion to RGB (CMYK through Pillow's own, as a print shop's
JPEG); anything else (32-bit float, multi-channel scientific images) is refused."""
