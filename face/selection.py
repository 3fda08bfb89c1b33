"""Which detected face a photo is about: the one usable face, or the clearly dominant
one when others are in the picture (a busy service hall behind the citizen), and the
reason when no face can be chosen.

A face is *clearly dominant* over another when it has at least :data:`DOMINANT_AREA`
times its area and the other is either small (at most half as wide) or out of focus
(its sharpness at most :data:`BLURRED_SHARPNESS` of the chosen face's). Two faces of
comparable size, or a second face that is sharp and nearly as close, are refused:
whose face is checked would then be a guess.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
from PIL import Image

from face import imaging
from face.backends import Face
from face.imaging import UnusableImage

DOMINANT_AREA: Final = 2.0
SMALL_SIDE: Final = 0.5
"""A face at most this share of the chosen face's width is small (a quarter of its area)."""
BLURRED_SHARPNESS: Final = 0.5
SHARPNESS_SIDE: Final = 64
"""Faces are compared for sharpness at one size, so a large face and a small one are
measured alike."""


@dataclass(frozen=True)
class Gates:
    """What makes a photo usable: one face at least ``min_face_px`` across (in the
    photo as analysed, at most 1280 px on its longest side) that MTCNN is at least
    ``min_probability`` sure of, and clearly dominant over any other such face. Weaker
    detections neither count as a face nor as a second face."""

    min_face_px: int = 40
    min_probability: float = 0.95


def area(face: Face) -> float:
    x1, y1, x2, y2 = face.box
    return max(0.0, x2 - x1) * max(0.0, y2 - y1)


def sharpness(img: Image.Image, face: Face) -> float:
    """Variance of the Laplacian over the face, reduced (or enlarged) to
    :data:`SHARPNESS_SIDE` pixels: high for a face in focus, low for a blurred one."""
    x1, y1, x2, y2 = (round(v) for v in face.box)
    crop = img.crop((x1, y1, x2, y2)).convert("L")
    grey = np.asarray(
        crop.resize((SHARPNESS_SIDE, SHARPNESS_SIDE), Image.Resampling.BOX), dtype=np.float32
    )
    lap = (
        grey[:-2, 1:-1] + grey[2:, 1:-1] + grey[1:-1, :-2] + grey[1:-1, 2:]
        - 4 * grey[1:-1, 1:-1]
    )  # fmt: skip
    return float(lap.var())


def select_face(faces: Sequence[Face], gates: Gates, img: Image.Image | None = None) -> Face:
    """The face to check, or :class:`UnusableImage` saying what to change. Without the
    image (sharpness unknown) only a small second face is set aside."""
    if not faces:
        raise UnusableImage(
            imaging.NO_FACE,
            "no face was found; take the photo facing the camera, with your whole face "
            "in the frame and in good light",
        )
    clear = [f for f in faces if f.probability >= gates.min_probability]
    if not clear:
        raise UnusableImage(
            imaging.FACE_UNCLEAR,
            "the face is not clear enough (blurred, covered or turned away); take the "
            "photo again facing the camera, in good light",
        )
    counted = sorted((f for f in clear if f.size >= gates.min_face_px), key=area, reverse=True)
    if not counted:
        largest = max(f.size for f in clear)
        raise UnusableImage(
            imaging.FACE_TOO_SMALL,
            f"the face is too small ({largest} px across, at least {gates.min_face_px} px "
            "needed); come closer to the camera",
        )
    chosen, others = counted[0], counted[1:]
    comparable = [f for f in others if area(f) * DOMINANT_AREA > area(chosen)]
    if comparable:
        raise UnusableImage(
            imaging.SEVERAL_FACES,
            f"{len(comparable) + 1} faces of similar size were found; the photo must show "
            "your face only (people far behind you or out of focus are fine)",
        )
    near = [f for f in others if f.size > chosen.size * SMALL_SIDE]
    if near:
        mine = sharpness(img, chosen) if img is not None else 0.0
        if img is None or any(sharpness(img, f) > mine * BLURRED_SHARPNESS for f in near):
            raise UnusableImage(
                imaging.SEVERAL_FACES,
                "another face, in focus and close behind you, was found; the photo must "
                "show your face only: take it again with nobody right behind you",
            )
    return chosen
