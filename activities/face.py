"""The face worker's activities: verify a selfie against the enrolment (the workflow's
``face_verify`` step, and a kiosk sign-in), enrol a face, and check that a selfie is
usable.

A photo is read from the store by reference and deleted as soon as it has been looked
at, whatever the outcome. An unusable image or a missing enrolment is an outcome
(``match=None``) and never an error, so the flow always moves on. Logs and outcomes
carry no image, embedding or personal data.
"""

from __future__ import annotations

import logging

from temporalio import activity

from activities.heartbeat import heartbeating
from face.contract import VERIFY_FACE, FaceCheck, FaceOutcome
from face.imaging import UnusableImage
from face.pipeline import FacePipeline
from face.store import ENROLMENT, SELFIE, FaceStore
from workflows.face_intake import (
    ENROL_FACE,
    INSPECT_FACE,
    MATCH_FACE,
    IntakeOutcome,
    IntakeRequest,
)

log = logging.getLogger(__name__)

MISSING = "missing"
MISMATCH = "mismatch"
UNDECIDED = "undecided"


class FaceActivities:
    def __init__(self, pipeline: FacePipeline, store: FaceStore) -> None:
        self.pipeline = pipeline
        self.store = store

    @activity.defn(name=VERIFY_FACE)
    def verify_face(self, check: FaceCheck) -> FaceOutcome:
        with heartbeating():
            outcome = self._verify(check)
        state = "match" if outcome.match else "unusable" if outcome.match is None else "mismatch"
        log.info(
            "face check of %s: %s (backend %s, distance %s)",
            check.application_id,
            state,
            outcome.backend,
            outcome.distance,
        )
        return outcome

    def _verify(self, check: FaceCheck) -> FaceOutcome:
        backend = self.pipeline.name

        def undecided(reason: str) -> FaceOutcome:
            return FaceOutcome(
                match=None,
                distance=None,
                threshold=self.pipeline.threshold,
                backend=backend,
                reason=reason,
            )

        if not check.selfie_ref:
            return undecided("no selfie was attached to the application")
        try:
            selfie = self.store.photo(check.selfie_ref, check.citizen, SELFIE)
            if selfie is None:
                return undecided(
                    "the selfie is not available (expired, already used, or not the applicant's)"
                )
            enrolled = self.store.embedding(check.citizen, backend)
            if enrolled is None:
                others = [e.backend for e in self.store.enrolments(check.citizen)]
                if others:
                    return undecided(
                        f"the face was enrolled with the {others[0]} backend and this "
                        f"service checks with {backend}; the citizen must enrol again"
                    )
                return undecided("the citizen has not enrolled a face")
            try:
                probe = self.pipeline.embed(selfie)
            except UnusableImage as e:
                return undecided(f"the selfie is unusable: {e.reason}")
            assert probe.embedding is not None
            verdict = self.pipeline.compare(enrolled, probe.embedding)
        finally:
            self.store.delete_photo(check.selfie_ref, check.citizen)
        return FaceOutcome(
            match=verdict.match,
            distance=verdict.distance,
            threshold=verdict.threshold,
            backend=backend,
            reason="the selfie matches the enrolled face"
            if verdict.match
            else "the selfie does not match the enrolled face",
        )

    @activity.defn(name=ENROL_FACE)
    def enrol_face(self, req: IntakeRequest) -> IntakeOutcome:
        backend = self.pipeline.name
        try:
            photo = self.store.photo(req.photo_ref, req.citizen, ENROLMENT)
            if photo is None:
                return IntakeOutcome(
                    ok=False,
                    backend=backend,
                    code=MISSING,
                    reason="the photo expired; upload it again",
                )
            try:
                analysis = self.pipeline.embed(photo)
            except UnusableImage as e:
                return IntakeOutcome(ok=False, backend=backend, code=e.code, reason=e.reason)
            assert analysis.embedding is not None
            replaced = self.store.enrol(req.citizen, backend, analysis.embedding)
        finally:
            self.store.delete_photo(req.photo_ref, req.citizen)
        log.info("face enrolled (backend %s, replaced %s)", backend, replaced)
        return IntakeOutcome(ok=True, backend=backend, replaced=replaced)

    @activity.defn(name=INSPECT_FACE)
    def inspect_face(self, req: IntakeRequest) -> IntakeOutcome:
        backend = self.pipeline.name
        photo = self.store.photo(req.photo_ref, req.citizen, SELFIE)
        if photo is None:
            return IntakeOutcome(
                ok=False,
                backend=backend,
                code=MISSING,
                reason="the selfie expired; upload it again",
            )
        try:
            self.pipeline.inspect(photo)
        except UnusableImage as e:
            self.store.delete_photo(req.photo_ref, req.citizen)  # never keep what is unusable
            return IntakeOutcome(ok=False, backend=backend, code=e.code, reason=e.reason)
        return IntakeOutcome(ok=True, backend=backend)

    @activity.defn(name=MATCH_FACE)
    def match_face(self, req: IntakeRequest) -> IntakeOutcome:
        """The application's face check (``verify_face``) outside an application: a
        kiosk sign-in or a profile verification. ``ok`` only when the selfie matches the
        enrolment; the selfie is deleted, whatever the outcome."""
        with heartbeating():
            outcome = self._verify(FaceCheck("face match", req.citizen, req.photo_ref))
        log.info("face match: %s (backend %s)", outcome.match, outcome.backend)
        code = "" if outcome.match else MISMATCH if outcome.match is False else UNDECIDED
        return IntakeOutcome(
            ok=outcome.match is True, backend=outcome.backend, code=code, reason=outcome.reason
        )
