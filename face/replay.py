"""Presentation attacks, the minimum: a selfie that is the enrolment photo again, and an
optional active check (a head turn between two selfies).

*Replay*: the enrolment keeps a fingerprint of its photo (sealed with the embedding):
the SHA-256 of its bytes and a 64-bit perceptual hash (DCT of the upright image at
32x32, as pHash), which survives resizing and recompression. A selfie is refused as a
replay when its bytes are identical, its perceptual hash is within
:data:`PHASH_BITS` bits, or its embedding is nearer to the enrolment than two real
photos ever are (``face_replay_distance``). See the README for what this does not stop.

*Head turn*: the yaw of a face is estimated from its five landmarks: how far the nose
sits from the middle of the eyes, in eye distances (0 facing the camera, negative when
the nose points to the image's left). Two selfies show a turn to the requested side
when the yaw moved at least :data:`MIN_TURN` that way.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass
from functools import cache
from typing import Final

import numpy as np
from PIL import Image

from face.backends import Face

PHASH_BITS: Final = 10
"""Perceptual hashes at most this many bits apart (of 64) are the same picture."""
MIN_TURN: Final = 0.15
"""Yaw change, in eye distances, that counts as a head turn (about 15°)."""
LEFT: Final = "left"
RIGHT: Final = "right"
TURNS: Final = (LEFT, RIGHT)


@dataclass(frozen=True)
class Fingerprint:
    sha256: bytes
    phash: int

    def to_bytes(self) -> bytes:
        return self.sha256 + struct.pack("<Q", self.phash)

    @classmethod
    def from_bytes(cls, data: bytes) -> Fingerprint:
        return cls(data[:32], struct.unpack("<Q", data[32:40])[0])


@cache
def _dct_matrix(n: int = 32) -> np.ndarray:
    k = np.arange(n)
    m = np.cos(np.pi * (2 * k[None, :] + 1) * k[:, None] / (2 * n))
    m[0] /= np.sqrt(2)
    return m.astype(np.float64)


def perceptual_hash(img: Image.Image) -> int:
    """64 bits: the 8x8 lowest DCT frequencies of the 32x32 grey image (DC left out),
    each above or below their median."""
    grey = np.asarray(img.convert("L").resize((32, 32), Image.Resampling.BOX), np.float64)
    d = _dct_matrix()
    low = (d @ grey @ d.T)[:8, :8].flatten()[1:]
    bits = low > np.median(low)
    return int(sum(1 << i for i, b in enumerate(bits) if b))


def fingerprint(data: bytes, img: Image.Image) -> Fingerprint:
    return Fingerprint(hashlib.sha256(data).digest(), perceptual_hash(img))


def replay_reason(
    enrolled: Fingerprint | None,
    probe: Fingerprint,
    embedding_distance: float,
    max_distance: float,
) -> str | None:
    """Why the selfie is the enrolment photo again, or None."""
    if enrolled is not None and enrolled.sha256 == probe.sha256:
        return "the selfie is the enrolment photo itself"
    if enrolled is not None and bin(enrolled.phash ^ probe.phash).count("1") <= PHASH_BITS:
        return "the selfie is the enrolment photo, resized or saved again"
    if embedding_distance <= max_distance:
        return "the selfie is a copy of the enrolment photo (the faces are identical)"
    return None


def yaw(face: Face) -> float:
    """Nose offset from the eyes' midpoint along the eye line, in eye distances."""
    (lx, ly), (rx, ry), (nx, ny) = face.landmarks[0], face.landmarks[1], face.landmarks[2]
    ex, ey = rx - lx, ry - ly
    eyes = float(np.hypot(ex, ey)) or 1.0
    mx, my = (lx + rx) / 2, (ly + ry) / 2
    return float(((nx - mx) * ex + (ny - my) * ey) / eyes / eyes)


def turned(first: Face, second: Face, direction: str) -> bool:
    """Whether the head turned to ``direction`` (as seen in the image) from the first
    selfie to the second."""
    change = yaw(second) - yaw(first)
    return change <= -MIN_TURN if direction == LEFT else change >= MIN_TURN
