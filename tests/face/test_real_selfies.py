"""Selfies as citizens send them: a blurred stranger far behind (accepted), two people
side by side (refused, with the reason); the enrolment photo sent again, as it is or
resized and recompressed (refused as a replay); the optional head turn between two
selfies; and who made the enrolment (online, or at the counter by an officer)."""

from __future__ import annotations

import io

import pytest
from PIL import Image, ImageFilter

from activities.face import COUNTER_HELD, COUNTER_REQUIRED, NO_TURN, REPLAY, FaceActivities
from face import imaging, selection
from face.contract import FaceCheck
from face.imaging import UnusableImage
from face.store import COUNTER, ENROLMENT, SELF_SERVICE, SELFIE, FaceStore
from tests.face.conftest import FACES, encode, needs_face_extra, needs_faces, photo
from workflows.face_intake import ENROL_FACE, MATCH_FACE, IntakeRequest

pytestmark = [needs_face_extra, needs_faces]
SITI = "siti@example.id"
OFFICER = "officer-17"


def upright(name: str) -> Image.Image:
    return imaging.decode(photo(name))


def main_face(pipeline, img: Image.Image):
    return max(pipeline.detector.detect([img])[0], key=selection.area)


def with_second_face(pipeline, side_ratio: float, blur: float) -> tuple[bytes, Image.Image]:
    """Obama's selfie with Biden's face pasted in the far corner, ``side_ratio`` times
    as wide as Obama's, blurred with that Gaussian radius."""
    base, other = upright("obama/obama1.jpg"), upright("biden/biden2.jpg")
    mine, theirs = main_face(pipeline, base), main_face(pipeline, other)
    x1, y1, x2, y2 = theirs.box
    margin = 0.35 * (x2 - x1)
    crop = other.crop((int(x1 - margin), int(y1 - margin), int(x2 + margin), int(y2 + margin)))
    scale = mine.size * side_ratio / theirs.size
    crop = crop.resize((round(crop.width * scale), round(crop.height * scale)))
    if blur:
        crop = crop.filter(ImageFilter.GaussianBlur(blur))
    corner = (0, 0) if mine.box[0] > base.width / 2 else (base.width - crop.width, 0)
    composed = base.copy()
    composed.paste(crop, corner)
    return encode(composed, quality=92), composed


def confident_faces(pipeline, img: Image.Image) -> int:
    """How many faces pass the gates' size and probability: the composed photos must
    really show two, or the tests below would prove nothing."""
    gates = pipeline.gates
    faces = pipeline.detector.detect([img])[0]
    return sum(
        f.probability >= gates.min_probability and f.size >= gates.min_face_px for f in faces
    )


def test_a_blurred_face_behind_the_citizen_is_set_aside(dlib_pipeline):
    data, img = with_second_face(dlib_pipeline, side_ratio=0.6, blur=2.5)
    assert confident_faces(dlib_pipeline, img) == 2
    selfie = dlib_pipeline.embed(data)
    assert selfie.face.size == main_face(dlib_pipeline, img).size  # Obama's, the larger
    assert dlib_pipeline.verify(photo("obama/obama2.jpg"), data).match


def test_a_small_face_far_behind_is_set_aside_even_in_focus(dlib_pipeline):
    data, img = with_second_face(dlib_pipeline, side_ratio=0.4, blur=0)
    assert confident_faces(dlib_pipeline, img) == 2
    assert dlib_pipeline.verify(photo("obama/obama2.jpg"), data).match


def test_a_sharp_face_close_behind_is_refused(dlib_pipeline):
    data, img = with_second_face(dlib_pipeline, side_ratio=0.6, blur=0)
    assert confident_faces(dlib_pipeline, img) == 2
    with pytest.raises(UnusableImage) as e:
        dlib_pipeline.embed(data)
    assert e.value.code == imaging.SEVERAL_FACES and "in focus and close behind" in e.value.reason


def test_two_equal_faces_side_by_side_are_refused(dlib_pipeline):
    one, two = upright("obama/obama1.jpg"), upright("biden/biden2.jpg")
    scale = main_face(dlib_pipeline, one).size / main_face(dlib_pipeline, two).size
    two = two.resize((round(two.width * scale), round(two.height * scale)))  # faces alike
    pair = Image.new("RGB", (one.width + two.width, max(one.height, two.height)))
    pair.paste(one, (0, 0))
    pair.paste(two, (one.width, 0))
    with pytest.raises(UnusableImage) as e:
        dlib_pipeline.embed(encode(pair, quality=92))
    assert e.value.code == imaging.SEVERAL_FACES
    assert "2 faces of similar size" in e.value.reason


def test_sharpness_tells_a_blurred_face_from_a_sharp_one(dlib_pipeline):
    img = upright("obama/obama1.jpg")
    face = main_face(dlib_pipeline, img)
    sharp = selection.sharpness(img, face)
    blurred = selection.sharpness(img.filter(ImageFilter.GaussianBlur(4)), face)
    assert blurred < selection.BLURRED_SHARPNESS * sharp
    recompressed = selection.sharpness(imaging.decode(encode(img, quality=50)), face)
    assert recompressed > selection.BLURRED_SHARPNESS * sharp  # not blur


# Replays, head turns, provenance: the activity, with a real store -------------------
@pytest.fixture
def acts(dlib_pipeline, tmp_path):
    return FaceActivities(dlib_pipeline, FaceStore(tmp_path / "faces.db", "test-key"), 0.002)


def enrol(acts: FaceActivities, data: bytes, officer: str | None = None):
    ref, _ = acts.store.put_photo(SITI, ENROLMENT, data, ttl_s=60)
    return acts.enrol_face(IntakeRequest(ENROL_FACE, ref, SITI, officer=officer))


def selfie(acts: FaceActivities, data: bytes) -> str:
    return acts.store.put_photo(SITI, SELFIE, data, ttl_s=60)[0]


def check(acts: FaceActivities, data: bytes, **kw):
    return acts.verify_face(FaceCheck("BWI-2026-000001", SITI, selfie(acts, data), **kw))


def resized_and_recompressed(name: str) -> bytes:
    img = Image.open(FACES / name).convert("RGB")
    img = img.resize((img.width * 2 // 3, img.height * 2 // 3))
    buf = io.BytesIO()
    img.save(buf, "WEBP", quality=60)
    return buf.getvalue()


def test_the_enrolment_photo_sent_again_is_a_replay(acts):
    assert enrol(acts, photo("obama/obama1.jpg")).ok
    for copy in (photo("obama/obama1.jpg"), resized_and_recompressed("obama/obama1.jpg")):
        out = check(acts, copy)
        assert out.match is False and out.code == REPLAY and "replay" in out.reason
    genuine = check(acts, photo("obama/obama2.jpg"))  # another photo of the same man
    assert genuine.match is True and genuine.code == ""
    assert acts.store.count_photos() == 0


def test_a_requested_head_turn_must_be_seen_and_both_selfies_match(acts):
    """obama2 faces a little to the image's left, obama3 to its right: from the one to
    the other the head turned right (as seen in the image), not left."""
    assert enrol(acts, photo("obama/obama1.jpg")).ok

    def turn(first: str, second: str, direction: str):
        return check(
            acts,
            photo(first),
            second_selfie_ref=selfie(acts, photo(second)),
            turn=direction,
        )

    right = turn("obama/obama2.jpg", "obama/obama3.jpg", "right")
    assert right.match is True
    left = turn("obama/obama2.jpg", "obama/obama3.jpg", "left")
    assert left.match is False and left.code == NO_TURN and "left" in left.reason
    other_man = turn("obama/obama2.jpg", "biden/biden1.jpg", "right")
    assert other_man.match is False and other_man.code == ""
    only_one = check(acts, photo("obama/obama2.jpg"), turn="right")
    assert only_one.match is None and only_one.code == NO_TURN
    assert acts.store.count_photos() == 0  # both selfies deleted every time

    ref, second = selfie(acts, photo("obama/obama2.jpg")), selfie(acts, photo("obama/obama3.jpg"))
    out = acts.match_face(IntakeRequest(MATCH_FACE, ref, SITI, second_ref=second, turn="left"))
    assert not out.ok and out.code == NO_TURN


def test_a_counter_enrolment_is_kept_from_a_self_service_replacement(acts):
    assert enrol(acts, photo("obama/obama1.jpg")).ok
    assert acts.store.enrolments(SITI)[0].provenance == SELF_SERVICE
    needs_counter = check(acts, photo("obama/obama2.jpg"), require_counter_enrolment=True)
    assert needs_counter.match is None and needs_counter.code == COUNTER_REQUIRED

    at_counter = enrol(acts, photo("obama/obama2.jpg"), officer=OFFICER)
    assert at_counter.ok and at_counter.replaced
    (held,) = acts.store.enrolments(SITI)
    assert (held.provenance, held.officer) == (COUNTER, OFFICER)
    assert check(acts, photo("obama/obama3.jpg"), require_counter_enrolment=True).match is True

    alone = enrol(acts, photo("obama/obama4.jpg"))  # the citizen, online
    assert not alone.ok and alone.code == COUNTER_HELD and "officer" in alone.reason
    assert acts.store.enrolments(SITI)[0].provenance == COUNTER
    assert enrol(acts, photo("obama/obama4.jpg"), officer="officer-9").ok
