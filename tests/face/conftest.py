"""Face tests: photos come from shared/data/faces beside the repository (never copied
in); tests that need them, or the face extra, are skipped with the reason."""

from __future__ import annotations

import importlib.util
import io
from pathlib import Path

import pytest
from PIL import Image

from config.settings import Settings

FACES = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "faces"

HAVE_FACE_EXTRA = all(importlib.util.find_spec(m) for m in ("torch", "facenet_pytorch", "dlib"))
needs_face_extra = pytest.mark.skipif(
    not HAVE_FACE_EXTRA, reason="the face extra is not installed (make install)"
)
needs_faces = pytest.mark.skipif(
    not FACES.is_dir(), reason=f"the face photos are not at {FACES} (shared/ beside the repo)"
)


def photo(name: str) -> bytes:
    return (FACES / name).read_bytes()


def encode(img: Image.Image, fmt: str = "JPEG", **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def shrunk(name: str, width: int) -> bytes:
    """A photo reduced to ``width`` pixels across (its face then gets small)."""
    src = Image.open(FACES / name)
    return encode(src.resize((width, round(src.height * width / src.width))), quality=95)


@pytest.fixture(scope="session")
def dlib_pipeline(tmp_path_factory):
    if not HAVE_FACE_EXTRA:
        pytest.skip("the face extra is not installed (make install)")
    from face.pipeline import get_pipeline

    settings = Settings(var_dir=tmp_path_factory.mktemp("face-var"), face_backend="dlib")
    return get_pipeline(settings, "dlib")


@pytest.fixture
def face_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"face_key": "test-face-key", "face_backend": "dlib"})
