"""Decoding uploads and the encrypted store: no model needed."""

from __future__ import annotations

import sqlite3

import numpy as np
import pytest
from PIL import Image

from face import imaging
from face.imaging import UnusableImage, decode
from face.store import ENROLMENT, SELFIE, FaceStore
from tests.face.conftest import FACES, encode, needs_faces


def refused(data: bytes, **kw) -> str:
    with pytest.raises(UnusableImage) as e:
        decode(data, **kw)
    assert e.value.reason  # always a reason a person can act on
    return e.value.code


def test_not_an_image_truncated_and_unsupported_formats_are_refused():
    assert refused(b"%PDF-1.7 this is a document") == imaging.NOT_AN_IMAGE
    assert refused(b"") == imaging.NOT_AN_IMAGE
    jpeg = encode(Image.effect_noise((640, 480), 60).convert("RGB"), quality=90)
    assert refused(jpeg[: len(jpeg) // 2]) == imaging.DAMAGED
    png = encode(Image.effect_noise((300, 300), 60), "PNG")
    assert refused(png[: len(png) // 2]) == imaging.DAMAGED
    assert refused(encode(Image.new("RGB", (64, 64)), "GIF")) == imaging.UNSUPPORTED_FORMAT
    assert refused(encode(Image.new("RGB", (64, 64)), "BMP")) == imaging.UNSUPPORTED_FORMAT


def test_a_40_megapixel_image_is_refused_before_decoding():
    big = encode(Image.new("L", (8000, 5000)), quality=50)
    with pytest.raises(UnusableImage) as e:
        decode(big)
    assert e.value.code == imaging.TOO_MANY_PIXELS
    assert "40.0 megapixels" in e.value.reason and "24" in e.value.reason


def test_rgba_is_flattened_onto_white_and_large_photos_are_reduced():
    rgba = Image.new("RGBA", (2000, 1000), (255, 0, 0, 0))
    rgba.paste((0, 0, 255, 255), (0, 0, 1000, 1000))
    img = decode(encode(rgba, "PNG"))
    assert img.mode == "RGB" and img.size == (imaging.WORK_SIDE, imaging.WORK_SIDE // 2)
    assert img.getpixel((10, 10)) == (0, 0, 255)
    assert img.getpixel((imaging.WORK_SIDE - 10, 10)) == (255, 255, 255)  # transparent → white
    grey16 = Image.new("I;16", (50, 40), 65535)
    assert decode(encode(grey16, "PNG")).getpixel((0, 0)) == (255, 255, 255)
    palette = Image.new("P", (20, 20), 3)
    assert decode(encode(palette, "PNG")).mode == "RGB"


def test_exif_orientation_is_applied():
    img = Image.new("RGB", (400, 200), (0, 0, 0))
    img.paste((255, 255, 255), (0, 0, 200, 200))  # left half white
    exif = Image.Exif()
    exif[0x0112] = 6  # the camera was turned: display rotated 90° clockwise
    out = decode(encode(img, exif=exif.tobytes(), quality=95))
    assert out.size == (200, 400)
    top, bottom = out.getpixel((100, 50)), out.getpixel((100, 350))
    assert isinstance(top, tuple) and isinstance(bottom, tuple)
    assert top[0] > 200 and bottom[0] < 50  # the white half is now on top


@needs_faces
def test_the_rgba_sample_decodes():
    img = decode((FACES / "edge_cases" / "rgba_32bit.png").read_bytes())
    assert img.mode == "RGB" and max(img.size) <= imaging.WORK_SIDE


# The store -----------------------------------------------------------------------------
def test_embeddings_and_photos_are_encrypted_at_rest(tmp_path):
    store = FaceStore(tmp_path / "faces.db", "key-one")
    vec = np.linspace(-1, 1, 128, dtype=np.float32)
    assert store.enrol("siti@example.id", "dlib", vec) is False
    assert store.enrol("siti@example.id", "dlib", vec) is True  # replaced
    photo = bytes(range(256)) * 40
    ref, _ = store.put_photo("siti@example.id", SELFIE, photo, ttl_s=60)
    raw = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("faces.db"))
    assert vec.tobytes()[:64] not in raw and photo[:64] not in raw
    np.testing.assert_array_equal(store.embedding("siti@example.id", "dlib"), vec)
    assert store.photo(ref, "siti@example.id", SELFIE) == photo
    # Another key opens nothing; a sealed blob moved to another row does not open.
    other = FaceStore(tmp_path / "faces.db", "key-two")
    assert other.embedding("siti@example.id", "dlib") is None
    assert other.photo(ref, "siti@example.id", SELFIE) is None
    with sqlite3.connect(tmp_path / "faces.db") as db:
        db.execute(
            "INSERT INTO enrolments (citizen, backend, sealed, enrolled_at) "
            "SELECT 'agus@example.id', backend, sealed, enrolled_at FROM enrolments"
        )
    assert store.embedding("agus@example.id", "dlib") is None


def test_photos_belong_to_their_citizen_and_purpose_and_expire(tmp_path):
    store = FaceStore(tmp_path / "faces.db", "k")
    ref, _ = store.put_photo("siti@example.id", SELFIE, b"photo", ttl_s=60)
    assert store.photo(ref, "agus@example.id", SELFIE) is None
    assert store.photo(ref, "siti@example.id", ENROLMENT) is None
    assert store.has_photo(ref, "siti@example.id") and not store.has_photo(ref, "agus@example.id")
    store.delete_photo(ref, "agus@example.id")  # not Agus's to delete
    assert store.count_photos() == 1
    store.delete_photo(ref, "siti@example.id")
    assert store.count_photos() == 0
    old, _ = store.put_photo("siti@example.id", SELFIE, b"photo", ttl_s=-1)
    assert store.photo(old, "siti@example.id", SELFIE) is None
    assert store.count_photos() == 0  # expired rows are deleted on the next access
    store.put_photo("siti@example.id", SELFIE, b"photo", ttl_s=-1)
    assert store.purge_expired() == 1


def test_forget_removes_every_backend(tmp_path):
    store = FaceStore(tmp_path / "faces.db", "k")
    store.enrol("siti@example.id", "dlib", np.ones(128, np.float32))
    store.enrol("siti@example.id", "facenet", np.ones(512, np.float32))
    store.enrol("agus@example.id", "dlib", np.ones(128, np.float32))
    assert {e.backend for e in store.enrolments("siti@example.id")} == {"dlib", "facenet"}
    assert store.forget("siti@example.id") == 2
    assert store.enrolments("siti@example.id") == []
    assert len(store.enrolments("agus@example.id")) == 1


def test_an_older_face_store_gains_the_provenance_columns(tmp_path):
    """A faces.db written before enrolments recorded their provenance and fingerprint:
    its enrolments open as self-service, without a fingerprint (distance check only)."""
    old = FaceStore(tmp_path / "faces.db", "test-key")
    vec = np.linspace(-1, 1, 128, dtype=np.float32)
    old.enrol("siti@example.id", "dlib", vec)
    with sqlite3.connect(tmp_path / "faces.db") as db:
        for column in ("fingerprint", "provenance", "officer"):
            db.execute(f"ALTER TABLE enrolments DROP COLUMN {column}")
    reopened = FaceStore(tmp_path / "faces.db", "test-key")
    face = reopened.enrolled("siti@example.id", "dlib")
    assert face is not None and face.fingerprint is None and face.provenance == "self-service"
    np.testing.assert_array_equal(face.embedding, vec)
    FaceStore(tmp_path / "faces.db", "test-key")  # a second process opening it: no error
