"""Calibrating the match threshold on a labelled set larger than ``pairs.csv``: every
single-identity photo under the changes a phone and an upload make (JPEG recompression,
downscaling, light, small rotations, mild blur).

The threshold is chosen for a false-accept target (the share of different-person pairs
that may match), never for best accuracy: a false accept lets someone act as another
citizen; a false reject only sends a citizen to the counter. Pairs of two unchanged
photos (the shared ``pairs.csv``) take no part in the choice: every pair it is chosen
on has at least one changed photo, and two versions of the same photo are never paired
(that is a replay, see ``face.replay``).
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np
from PIL import Image, ImageEnhance, ImageFilter

ORIGINAL: Final = "original"


def _jpeg(quality: int) -> Callable[[Image.Image], Image.Image]:
    def recompress(img: Image.Image) -> Image.Image:
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=quality)
        return Image.open(io.BytesIO(buf.getvalue())).convert("RGB")

    return recompress


def _downscale(img: Image.Image) -> Image.Image:
    scale = 480 / max(img.size)
    if scale >= 1:
        return img
    return img.resize((round(img.width * scale), round(img.height * scale)), Image.Resampling.BOX)


def _rotate(degrees: float) -> Callable[[Image.Image], Image.Image]:
    def turn(img: Image.Image) -> Image.Image:
        return img.rotate(degrees, resample=Image.Resampling.BILINEAR, fillcolor=(128, 128, 128))

    return turn


AUGMENTATIONS: Final[dict[str, Callable[[Image.Image], Image.Image]]] = {
    "jpeg q30": _jpeg(30),
    "jpeg q50": _jpeg(50),
    "jpeg q70": _jpeg(70),
    "480 px": _downscale,
    "brighter (x1.4)": lambda img: ImageEnhance.Brightness(img).enhance(1.4),
    "darker (x0.6)": lambda img: ImageEnhance.Brightness(img).enhance(0.6),
    "low contrast (x0.6)": lambda img: ImageEnhance.Contrast(img).enhance(0.6),
    "high contrast (x1.4)": lambda img: ImageEnhance.Contrast(img).enhance(1.4),
    "rotated +8°": _rotate(8),
    "rotated -8°": _rotate(-8),
    "blur (r 1.5)": lambda img: img.filter(ImageFilter.GaussianBlur(1.5)),
    "480 px + jpeg q50": lambda img: _jpeg(50)(_downscale(img)),
}
"""What a phone, a messenger or a poor upload does to a selfie."""


def augmented(data: bytes) -> dict[str, bytes]:
    """The photo unchanged and under each augmentation, as PNG (lossless, so the
    augmentation alone changes the pixels; the JPEG ones carry their own loss)."""
    from face.imaging import decode

    img = decode(data)
    out = {ORIGINAL: data}
    for name, change in AUGMENTATIONS.items():
        buf = io.BytesIO()
        change(img).save(buf, "PNG")
        out[name] = buf.getvalue()
    return out


@dataclass(frozen=True)
class Sample:
    identity: str
    photo: str
    augmentation: str
    embedding: np.ndarray | None
    """None: the pipeline found the image unusable."""


@dataclass(frozen=True)
class Row:
    augmentation: str
    same: int
    different: int
    false_accepts: int
    false_rejects: int
    unusable: int

    @property
    def accuracy(self) -> float:
        total = self.same + self.different
        return (total - self.false_accepts - self.false_rejects) / total if total else 0.0


@dataclass(frozen=True)
class Calibration:
    target_far: float
    threshold: float
    same: np.ndarray
    different: np.ndarray
    """Distances of every pair the threshold was chosen on."""

    @property
    def far(self) -> float:
        return float(np.mean(self.different <= self.threshold)) if self.different.size else 0.0

    @property
    def frr(self) -> float:
        return float(np.mean(self.same > self.threshold)) if self.same.size else 0.0


def distance(a: np.ndarray, b: np.ndarray) -> float:
    return float(max(0.0, 1.0 - float(np.dot(a, b))))


def pairs(samples: Sequence[Sample]) -> tuple[np.ndarray, np.ndarray]:
    """Same- and different-person distances of every pair with at least one changed
    photo and two different source photos."""
    usable = [s for s in samples if s.embedding is not None]
    same: list[float] = []
    different: list[float] = []
    for i, a in enumerate(usable):
        for b in usable[i + 1 :]:
            if a.photo == b.photo or ORIGINAL == a.augmentation == b.augmentation:
                continue
            assert a.embedding is not None and b.embedding is not None
            d = distance(a.embedding, b.embedding)
            (same if a.identity == b.identity else different).append(d)
    return np.array(same), np.array(different)


def choose_threshold(different: np.ndarray, target_far: float, step: float = 0.001) -> float:
    """The largest threshold (on a ``step`` grid) at which at most ``target_far`` of the
    different-person pairs match."""
    allowed = math.floor(target_far * different.size)
    ordered = np.sort(different)
    if allowed >= ordered.size:
        return float(ordered[-1])
    limit = float(ordered[allowed])  # the first different pair that must not match
    t = math.floor(limit / step) * step
    if t >= limit:  # the grid point lands on it
        t -= step
    return round(t, 6)


def calibrate(samples: Sequence[Sample], target_far: float) -> Calibration:
    same, different = pairs(samples)
    if not different.size or not same.size:
        raise ValueError("the set needs at least two identities and two photos of one")
    return Calibration(target_far, choose_threshold(different, target_far), same, different)


def per_augmentation(samples: Sequence[Sample], threshold: float) -> list[Row]:
    """Each augmentation as the service meets it: the enrolment an unchanged photo, the
    selfie another photo under the augmentation."""
    enrolled = [s for s in samples if s.augmentation == ORIGINAL and s.embedding is not None]
    rows = []
    for name in [ORIGINAL, *AUGMENTATIONS]:
        probes = [s for s in samples if s.augmentation == name]
        same = different = fa = fr = unusable = 0
        for probe in probes:
            for ref in enrolled:
                if ref.photo == probe.photo:
                    continue
                is_same = ref.identity == probe.identity
                same += is_same
                different += not is_same
                if probe.embedding is None:
                    unusable += 1
                    fr += is_same
                    continue
                assert ref.embedding is not None
                match = distance(ref.embedding, probe.embedding) <= threshold
                fa += match and not is_same
                fr += is_same and not match
        rows.append(Row(name, same, different, fa, fr, unusable))
    return rows


def identities(root: Path) -> dict[str, list[Path]]:
    """Every folder of one person's photos (two or more photos, or one: it still adds
    different-person pairs); the group and test folders are left out."""
    skip = {"multiple_faces", "partial_faces", "edge_cases"}
    found: dict[str, list[Path]] = {}
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and p.name not in skip):
        photos = sorted(
            p for p in folder.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png")
        )
        if photos:
            found[folder.name] = photos
    return found
