"""The pipeline on real photos (shared/data/faces) with the dlib backend, which runs
offline; facenet where its weights exist."""

from __future__ import annotations

import csv
import io
import math

import numpy as np
import pytest
from PIL import Image, ImageDraw

from config.settings import Settings
from face import backends, imaging
from face.backends import Face, align_facenet
from face.imaging import UnusableImage
from face.pipeline import FacePipeline
from tests.face.conftest import FACES, encode, needs_face_extra, needs_faces, photo, shrunk

pytestmark = [needs_face_extra, needs_faces]


def code_of(pipeline, data: bytes) -> str:
    with pytest.raises(UnusableImage) as e:
        pipeline.embed(data)
    return e.value.code


def test_every_pair_in_pairs_csv_no_false_accepts(dlib_pipeline):
    """The whole table, with the configured threshold: no false accept, ≥ 99 % right."""
    with (FACES / "pairs.csv").open() as f:
        pairs = list(csv.DictReader(f))
    names = {p["image_a"] for p in pairs} | {p["image_b"] for p in pairs}
    embedded = {n: dlib_pipeline.embed(photo(n)).embedding for n in sorted(names)}
    decisions = [
        (dlib_pipeline.compare(embedded[p["image_a"]], embedded[p["image_b"]]).match, p["label"])
        for p in pairs
    ]
    false_accepts = [d for d in decisions if d == (True, "different")]
    right = sum(match == (label == "same") for match, label in decisions)
    assert false_accepts == []
    assert right / len(pairs) >= 0.99


def test_quality_gates(dlib_pipeline):
    for name in ("two_people.jpg", "obama_and_biden.jpg", "kit_with_rose.jpg"):
        assert code_of(dlib_pipeline, photo(f"multiple_faces/{name}")) == imaging.SEVERAL_FACES
    assert code_of(dlib_pipeline, shrunk("obama/obama1.jpg", 120)) == imaging.FACE_TOO_SMALL
    noise = encode(Image.effect_noise((640, 480), 40).convert("RGB"))
    assert code_of(dlib_pipeline, noise) == imaging.NO_FACE
    assert code_of(dlib_pipeline, b"not an image") == imaging.NOT_AN_IMAGE
    # Faces cut by the frame: detected or refused with a reason, never a crash.
    for name in ("obama_partial1.jpg", "obama_partial2.jpg"):
        try:
            assert dlib_pipeline.embed(photo(f"partial_faces/{name}")).embedding is not None
        except UnusableImage as e:
            assert e.reason


def test_low_resolution_and_rgba_photos_match(dlib_pipeline):
    v = dlib_pipeline.verify(photo("obama/obama1.jpg"), photo("obama/obama_240p.jpg"))
    assert v.match and v.backend == "dlib" and v.distance <= v.threshold
    v = dlib_pipeline.verify(photo("lin_manuel_miranda/lin1.png"), photo("obama/obama1.jpg"))
    assert not v.match


def test_exif_rotated_photo_matches_the_upright_one(dlib_pipeline):
    upright = Image.open(FACES / "obama" / "obama4.jpg")
    exif = Image.Exif()
    exif[0x0112] = 8  # stored turned; EXIF says rotate 90° counter-clockwise to display
    stored = upright.transpose(Image.Transpose.ROTATE_270)
    rotated = encode(stored, exif=exif.tobytes(), quality=95)
    assert dlib_pipeline.verify(photo("obama/obama4.jpg"), rotated).match
    unrotated = encode(stored, quality=95)  # without the tag the face lies on its side
    with pytest.raises(UnusableImage):
        dlib_pipeline.verify(photo("obama/obama4.jpg"), unrotated)


def test_images_that_arrive_together_are_batched(dlib_pipeline):
    names = ["obama/obama1.jpg", "biden/biden2.jpg", "kit_harington/kit2.jpg", "not-an-image"]
    data = [photo(n) if n != "not-an-image" else b"junk" for n in names]
    alone = [dlib_pipeline.embed(d).embedding for d in data[:3]]
    batched = FacePipeline(
        dlib_pipeline.backend, dlib_pipeline.detector, max_batch=4, window_s=30.0
    )
    try:
        futures = [batched.submit(d) for d in data]
        together = [f.result(timeout=60).embedding for f in futures[:3]]
        with pytest.raises(UnusableImage):
            futures[3].result()
    finally:
        batched.close()
    assert batched.batch_sizes == [4]
    for a, b in zip(alone, together, strict=True):
        assert a is not None and b is not None
        assert backends.cosine_distance(a, b) < 0.01


def test_auto_is_dlib_without_the_facenet_weights(tmp_path):
    absent = Settings(var_dir=tmp_path, face_backend="auto")
    if backends.FACENET not in backends.unavailable(absent):
        pytest.skip("the facenet weights are present on this machine")
    assert backends.choose(absent) == "dlib"
    wrong = absent.model_copy(update={"face_weights": tmp_path / "missing.pt"})
    with pytest.raises(backends.BackendUnavailable, match="missing.pt"):
        backends.choose(wrong)
    with pytest.raises(backends.BackendUnavailable, match="unknown face backend"):
        backends.choose(absent.model_copy(update={"face_backend": "arcface"}))


def test_facenet_alignment_levels_the_eyes():
    """A face rolled by 20° (eyes 20 px above the face's centre, along its tilted
    axis): the crop puts both eyes on one row, centred across."""
    img = Image.new("RGB", (400, 400), (128, 128, 128))
    draw = ImageDraw.Draw(img)
    angle = math.radians(20)
    cx, cy, r = 200 + 20 * math.sin(angle), 200 - 20 * math.cos(angle), 40
    eyes = [(cx - r * math.cos(angle), cy - r * math.sin(angle))]
    eyes.append((cx + r * math.cos(angle), cy + r * math.sin(angle)))
    for x, y in eyes:
        draw.ellipse((x - 6, y - 6, x + 6, y + 6), fill=(0, 0, 0))
    face = Face(box=(140, 140, 260, 260), probability=1.0, landmarks=(eyes[0], eyes[1]))
    crop = align_facenet(img, face).mean(axis=2)
    dark = np.argwhere(crop < 60)
    left, right = dark[dark[:, 1] < 80], dark[dark[:, 1] >= 80]
    assert len(left) and len(right)
    assert abs(left[:, 0].mean() - right[:, 0].mean()) < 2.0  # same row
    assert abs((left[:, 1].mean() + right[:, 1].mean()) / 2 - 80) < 4.0  # centred


def test_facenet_backend_with_its_weights(tmp_path):
    settings = Settings(var_dir=tmp_path, face_backend="facenet")
    why = backends.unavailable(settings)
    if backends.FACENET in why:
        pytest.skip(f"facenet: {why[backends.FACENET]}")
    from face.pipeline import get_pipeline

    pipeline = get_pipeline(settings, "facenet")
    assert pipeline.verify(photo("obama/obama1.jpg"), photo("obama/obama2.jpg")).match
    assert not pipeline.verify(photo("obama/obama1.jpg"), photo("biden/biden1.jpg")).match


def test_nothing_is_logged_about_the_image(dlib_pipeline, caplog):
    caplog.set_level("DEBUG")
    dlib_pipeline.verify(photo("obama/obama1.jpg"), photo("obama/obama2.jpg"))
    with pytest.raises(UnusableImage):
        dlib_pipeline.embed(photo("multiple_faces/two_people.jpg"))
    assert all("obama" not in r.getMessage() for r in caplog.records)
    assert not any(len(r.getMessage()) > 300 for r in caplog.records)


def test_decoding_keeps_enough_of_a_large_photo(dlib_pipeline):
    """A 20-megapixel photo (under the limit) is reduced before detection and still
    matches."""
    src = Image.open(FACES / "obama" / "obama1.jpg")
    big = src.resize((src.width * 4, src.height * 4))
    buf = io.BytesIO()
    big.save(buf, "JPEG", quality=85)
    assert dlib_pipeline.verify(photo("obama/obama1.jpg"), buf.getvalue()).match


def test_facenet_weights_load_from_the_setting(tmp_path, dlib_pipeline):
    """The loading path only (LINCAH_FACE_WEIGHTS, the classifier dropped, 512-D unit
    vectors, auto picks facenet): the file holds the architecture's untrained weights,
    so nothing here says anything about accuracy. That needs the real weights (above)."""
    import torch
    from facenet_pytorch import InceptionResnetV1

    torch.manual_seed(0)
    state = InceptionResnetV1(pretrained=None).eval().state_dict()
    state["logits.weight"] = torch.zeros(8631, 512)  # as in the vggface2 file
    state["logits.bias"] = torch.zeros(8631)
    weights = tmp_path / "vggface2.pt"
    torch.save(state, weights)
    settings = Settings(var_dir=tmp_path, face_backend="auto", face_weights=weights)
    assert backends.choose(settings) == "facenet"
    backend = backends.load(settings, "facenet")
    assert backend.threshold == settings.face_threshold_facenet
    pipeline = FacePipeline(backend, dlib_pipeline.detector)
    try:
        a = pipeline.embed(photo("obama/obama1.jpg")).embedding
        assert a is not None and a.shape == (512,) and abs(float(np.linalg.norm(a)) - 1) < 1e-4
        same = pipeline.verify(photo("obama/obama1.jpg"), photo("obama/obama1.jpg"))
        assert same.backend == "facenet" and same.distance < 1e-3
    finally:
        pipeline.close()
