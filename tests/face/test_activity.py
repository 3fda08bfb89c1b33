"""The face activities called directly: every outcome the workflow can get, and the
selfie is gone after each check."""

from __future__ import annotations

import logging

import pytest

from activities.face import FaceActivities
from face.contract import FaceCheck
from face.store import ENROLMENT, SELFIE, FaceStore
from tests.face.conftest import needs_face_extra, needs_faces, photo
from workflows.face_intake import ENROL_FACE, INSPECT_FACE, IntakeRequest

pytestmark = [needs_face_extra, needs_faces]
SITI = "siti@example.id"


@pytest.fixture
def acts(dlib_pipeline, tmp_path):
    return FaceActivities(dlib_pipeline, FaceStore(tmp_path / "faces.db", "test-key"))


def enrol(acts: FaceActivities, citizen: str, name: str):
    ref, _ = acts.store.put_photo(citizen, ENROLMENT, photo(name), ttl_s=60)
    return acts.enrol_face(IntakeRequest(ENROL_FACE, ref, citizen))


def check(acts: FaceActivities, citizen: str, name: str | None, owner: str | None = None):
    ref = None
    if name is not None:
        ref, _ = acts.store.put_photo(owner or citizen, SELFIE, photo(name), ttl_s=60)
    return acts.verify_face(
        FaceCheck(application_id="BWI-2026-000001", citizen=citizen, selfie_ref=ref)
    )


def test_enrol_then_match_mismatch_and_unusable(acts, caplog):
    caplog.set_level(logging.INFO)
    out = enrol(acts, SITI, "obama/obama1.jpg")
    assert out.ok and out.backend == "dlib" and not out.replaced
    assert acts.store.count_photos() == 0  # the enrolment photo is gone

    same = check(acts, SITI, "obama/obama2.jpg")
    assert same.match is True and same.distance <= same.threshold and same.backend == "dlib"
    other = check(acts, SITI, "biden/biden1.jpg")
    assert other.match is False and other.distance > other.threshold
    several = check(acts, SITI, "multiple_faces/two_people.jpg")
    assert several.match is None and "faces of similar size" in several.reason
    assert acts.store.count_photos() == 0  # every selfie deleted right after its check

    log = "\n".join(r.getMessage() for r in caplog.records)
    assert SITI not in log and "BWI-2026-000001: match" in log


def test_no_selfie_not_enrolled_and_someone_elses_selfie_are_undecided(acts):
    assert check(acts, SITI, None).match is None
    out = check(acts, SITI, "obama/obama2.jpg")
    assert out.match is None and "not enrolled" in out.reason
    enrol(acts, SITI, "obama/obama1.jpg")
    stolen = check(acts, SITI, "obama/obama2.jpg", owner="agus@example.id")
    assert stolen.match is None and "not available" in stolen.reason
    assert acts.store.count_photos() == 1  # Agus's selfie is not Siti's to delete


def test_enrolment_in_another_backend_asks_to_enrol_again(acts):
    acts.store.enrol(SITI, "facenet", [0.1] * 512)
    out = check(acts, SITI, "obama/obama2.jpg")
    assert out.match is None and "enrol again" in out.reason


def test_refused_enrolment_stores_nothing(acts):
    out = enrol(acts, SITI, "multiple_faces/kit_with_rose.jpg")
    assert not out.ok and out.code == "several_faces"
    assert acts.store.enrolments(SITI) == [] and acts.store.count_photos() == 0


def test_inspect_keeps_a_usable_selfie_and_deletes_an_unusable_one(acts):
    good, _ = acts.store.put_photo(SITI, SELFIE, photo("obama/obama2.jpg"), ttl_s=60)
    assert acts.inspect_face(IntakeRequest(INSPECT_FACE, good, SITI)).ok
    bad, _ = acts.store.put_photo(SITI, SELFIE, photo("multiple_faces/two_people.jpg"), 60)
    out = acts.inspect_face(IntakeRequest(INSPECT_FACE, bad, SITI))
    assert not out.ok and out.code == "several_faces"
    assert acts.store.has_photo(good, SITI) and not acts.store.has_photo(bad, SITI)
