"""Embedding backends behind one interface: each aligns a detected face its own way and
turns it into an L2-normalised vector; two faces are the same person when the cosine
distance of their vectors is at most the backend's threshold.

- ``facenet``: facenet-pytorch's InceptionResnetV1 with the vggface2 weights (512-D).
  The weights are read from ``LINCAH_FACE_WEIGHTS`` or facenet-pytorch's download cache;
  nothing is downloaded at run time.
- ``dlib``: dlib's ResNet face descriptor (128-D), model files from the
  ``face-recognition-models`` package, read by path (that package's own import needs
  ``pkg_resources``, gone from current setuptools). Works offline; the default wherever
  the facenet weights are absent.

Thresholds and how they were derived: README, "Face verification".
"""

from __future__ import annotations

import importlib.util
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Protocol

import numpy as np
from PIL import Image

from config.settings import Settings

FACENET: Final = "facenet"
DLIB: Final = "dlib"
BACKENDS: Final = (FACENET, DLIB)
FACENET_WEIGHTS_FILE: Final = "20180402-114759-vggface2.pt"


class BackendUnavailable(Exception):
    pass


@dataclass(frozen=True)
class Face:
    """A detected face in the working image: box (x1, y1, x2, y2), MTCNN's probability,
    and its five landmarks (eyes, nose, mouth corners; image left first)."""

    box: tuple[float, float, float, float]
    probability: float
    landmarks: tuple[tuple[float, float], ...]

    @property
    def size(self) -> int:
        """Pixels across the face (the box's shorter side)."""
        x1, y1, x2, y2 = self.box
        return int(min(x2 - x1, y2 - y1))


class EmbeddingBackend(Protocol):
    name: str
    threshold: float

    def embed(self, faces: list[tuple[Image.Image, Face]]) -> np.ndarray:
        """One L2-normalised row per face, computed as one batch."""
        ...


def normalise(rows: np.ndarray) -> np.ndarray:
    rows = np.asarray(rows, dtype=np.float32)
    norms = np.linalg.norm(rows, axis=-1, keepdims=True)
    unit: np.ndarray = rows / np.maximum(norms, 1e-12)
    return unit


def cosine_distance(a: np.ndarray, b: np.ndarray) -> float:
    a_n, b_n = normalise(a), normalise(b)
    return float(max(0.0, 1.0 - float(np.dot(a_n, b_n))))


# Locating the model files -------------------------------------------------------
def dlib_models_dir() -> Path | None:
    """face-recognition-models' model folder, found without importing the package."""
    try:
        spec = importlib.util.find_spec("face_recognition_models")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    models = Path(next(iter(spec.submodule_search_locations))) / "models"
    return models if (models / "dlib_face_recognition_resnet_model_v1.dat").is_file() else None


def facenet_weights(settings: Settings) -> Path:
    """Where the vggface2 weights are looked for: the setting, else facenet-pytorch's cache
    (``$TORCH_HOME/checkpoints``, as facenet-pytorch's own ``load_weights``)."""
    if settings.face_weights is not None:
        return settings.face_weights
    torch_home = os.path.expanduser(
        os.getenv("TORCH_HOME", os.path.join(os.getenv("XDG_CACHE_HOME", "~/.cache"), "torch"))
    )
    return Path(torch_home) / "checkpoints" / FACENET_WEIGHTS_FILE


def unavailable(settings: Settings) -> dict[str, str]:
    """Each backend that cannot run here, with the reason."""
    why: dict[str, str] = {}
    if importlib.util.find_spec("facenet_pytorch") is None:
        why[FACENET] = "facenet-pytorch is not installed (make install)"
    elif not facenet_weights(settings).is_file():
        why[FACENET] = (
            f"the vggface2 weights are not at {facenet_weights(settings)} "
            "(set LINCAH_FACE_WEIGHTS; they cannot be downloaded here)"
        )
    if importlib.util.find_spec("dlib") is None:
        why[DLIB] = "dlib is not installed (pip install -e '.[face]')"
    elif dlib_models_dir() is None:
        why[DLIB] = "the face-recognition-models package is not installed"
    return why


def choose(settings: Settings) -> str:
    """The backend this process uses: the setting, or for ``auto`` facenet where its
    weights are found, else dlib."""
    why = unavailable(settings)
    wanted = settings.face_backend
    if wanted == "auto":
        if settings.face_weights is not None and FACENET in why:
            # An explicit weights path that does not work is a mistake, not a fallback.
            raise BackendUnavailable(f"facenet: {why[FACENET]}")
        wanted = FACENET if FACENET not in why else DLIB
    if wanted not in BACKENDS:
        raise BackendUnavailable(
            f"unknown face backend {wanted!r}; choose one of auto, {', '.join(BACKENDS)}"
        )
    if wanted in why:
        raise BackendUnavailable(f"{wanted}: {why[wanted]}")
    return wanted


def threshold_of(settings: Settings, name: str) -> float:
    return settings.face_threshold_facenet if name == FACENET else settings.face_threshold_dlib


def load(settings: Settings, name: str) -> EmbeddingBackend:
    threshold = threshold_of(settings, name)
    if name == FACENET:
        return FacenetBackend(facenet_weights(settings), threshold)
    models = dlib_models_dir()
    if models is None:
        raise BackendUnavailable("dlib: the face-recognition-models package is not installed")
    return DlibBackend(models, threshold)


# dlib -------------------------------------------------------------------------------
class DlibBackend:
    """dlib's 5-point shape predictor places the face; ``get_face_chip`` aligns it to
    150x150 as the ResNet was trained; the 128-D descriptors are computed as one batch."""

    name = DLIB

    def __init__(self, models: Path, threshold: float) -> None:
        import dlib

        self._dlib: Any = dlib
        self._shape = dlib.shape_predictor(str(models / "shape_predictor_5_face_landmarks.dat"))
        self._net = dlib.face_recognition_model_v1(
            str(models / "dlib_face_recognition_resnet_model_v1.dat")
        )
        self.threshold = threshold

    def embed(self, faces: list[tuple[Image.Image, Face]]) -> np.ndarray:
        dlib = self._dlib
        chips = []
        for img, face in faces:
            pixels = np.asarray(img)
            x1, y1, x2, y2 = (round(v) for v in face.box)
            shape = self._shape(pixels, dlib.rectangle(x1, y1, x2, y2))
            chips.append(dlib.get_face_chip(pixels, shape, size=150, padding=0.25))
        if not chips:
            return np.zeros((0, 128), dtype=np.float32)
        return normalise(np.array(self._net.compute_face_descriptor(chips)))


# facenet ----------------------------------------------------------------------------
FACENET_SIZE: Final = 160
FACENET_MARGIN: Final = 0.25
"""Context around the box: 32 px on a 160 px crop, as the model's LFW alignment."""


def align_facenet(img: Image.Image, face: Face, size: int = FACENET_SIZE) -> np.ndarray:
    """A size x size crop around the face, rotated so the eyes are level (a similarity
    transform from the MTCNN landmarks); reduced with a box filter first when the face
    is much larger than the crop, so that it does not alias."""
    (lx, ly), (rx, ry) = face.landmarks[0], face.landmarks[1]
    angle = math.atan2(ry - ly, rx - lx)
    x1, y1, x2, y2 = face.box
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    side = max(x2 - x1, y2 - y1) * (1 + FACENET_MARGIN)
    scale = side / size  # source pixels per crop pixel
    k = max(1, int(scale))
    # Region that holds the rotated square, reduced by k.
    half = side * 0.75
    ox, oy = int(cx - half), int(cy - half)
    region = img.crop((ox, oy, int(cx + half) + 1, int(cy + half) + 1))
    if k > 1:
        region = region.reduce(k)
    cos, sin = math.cos(angle) * scale, math.sin(angle) * scale
    a, b, d, e = cos, -sin, sin, cos
    c = cx - (a + b) * size / 2
    f = cy - (d + e) * size / 2
    coeffs = (a / k, b / k, (c - ox) / k, d / k, e / k, (f - oy) / k)
    crop = region.transform(
        (size, size), Image.Transform.AFFINE, coeffs, resample=Image.Resampling.BILINEAR
    )
    return np.asarray(crop, dtype=np.uint8)


class FacenetBackend:
    """InceptionResnetV1 (vggface2), 512-D, on eye-levelled 160x160 crops with facenet's
    fixed standardisation ((x - 127.5) / 128)."""

    name = FACENET

    def __init__(self, weights: Path, threshold: float) -> None:
        import torch
        from facenet_pytorch import InceptionResnetV1

        if not weights.is_file():
            raise BackendUnavailable(f"facenet: no weights at {weights}")
        self._torch: Any = torch
        model = InceptionResnetV1(pretrained=None, classify=False)
        state = torch.load(weights, map_location="cpu", weights_only=True)
        # The classifier over vggface2's 8631 identities is not part of the embedding.
        state = {k: v for k, v in state.items() if not k.startswith("logits.")}
        model.load_state_dict(state)
        self._model = model.eval()
        self.threshold = threshold

    def embed(self, faces: list[tuple[Image.Image, Face]]) -> np.ndarray:
        if not faces:
            return np.zeros((0, 512), dtype=np.float32)
        torch = self._torch
        crops = np.stack([align_facenet(img, face) for img, face in faces])
        x = torch.from_numpy(crops).permute(0, 3, 1, 2).float()
        x = (x - 127.5) / 128.0
        with torch.inference_mode():
            out = self._model(x)
        return normalise(out.numpy())
