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
from config.settings import Settings
from face import replay
from face.contract import VERIFY_FACE, FaceCheck, FaceOutcome
from face.imaging import UnusableImage
from face.pipeline import Analysis, FacePipeline
from face.store import COUNTER, ENROLMENT, SELF_SERVICE, SELFIE, CounterEnrolmentHeld, FaceStore
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
REPLAY = "replay"
NO_TURN = "no_turn"
COUNTER_REQUIRED = "counter_enrolment_required"
COUNTER_HELD = "counter_enrolment_held"


class FaceActivities:
    def __init__(
        self,
        pipeline: FacePipeline,
        store: FaceStore,
        replay_distance: float = Settings.model_fields["face_replay_distance"].default,
    ) -> None:
        self.pipeline = pipeline
        self.store = store
        self.replay_distance = replay_distance

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

        def undecided(reason: str, code: str = "") -> FaceOutcome:
            return FaceOutcome(
                match=None,
                distance=None,
                threshold=self.pipeline.threshold,
                backend=backend,
                reason=reason,
                code=code,
            )

        if not check.selfie_ref:
            return undecided("no selfie was attached to the application")
        refs = [check.selfie_ref]
        if check.second_selfie_ref:
            refs.append(check.second_selfie_ref)
        try:
            if check.second_selfie_ref and check.turn not in replay.TURNS:
                return undecided("the second selfie needs the requested turn: left or right")
            if check.turn and not check.second_selfie_ref:
                return undecided(
                    f"a head turn to the {check.turn} was requested but only one selfie was "
                    "sent; take a second selfie turning your head",
                    NO_TURN,
                )
            selfies = [self.store.photo(ref, check.citizen, SELFIE) for ref in refs]
            if any(s is None for s in selfies):
                return undecided(
                    "the selfie is not available (expired, already used, or not the applicant's)"
                )
            enrolled = self.store.enrolled(check.citizen, backend)
            if enrolled is None:
                others = [e.backend for e in self.store.enrolments(check.citizen)]
                if others:
                    return undecided(
                        f"the face was enrolled with the {others[0]} backend and this "
                        f"service checks with {backend}; the citizen must enrol again"
                    )
                return undecided("the citizen has not enrolled a face")
            if check.require_counter_enrolment and enrolled.provenance != COUNTER:
                return undecided(
                    "this service needs a face enrolled at the counter by an officer who "
                    "checked the KTP; the citizen's face was enrolled online",
                    COUNTER_REQUIRED,
                )
            pending = [self.pipeline.submit(s) for s in selfies if s is not None]  # one batch
            probes: list[Analysis] = []
            for future in pending:
                try:
                    probes.append(future.result())
                except UnusableImage as e:
                    return undecided(f"the selfie is unusable: {e.reason}")
        finally:
            for ref in refs:
                self.store.delete_photo(ref, check.citizen)
        verdicts = []
        for probe in probes:
            assert probe.embedding is not None and probe.fingerprint is not None
            verdict = self.pipeline.compare(enrolled.embedding, probe.embedding)
            copied = replay.replay_reason(
                enrolled.fingerprint, probe.fingerprint, verdict.distance, self.replay_distance
            )
            if copied:
                return FaceOutcome(
                    match=False,
                    distance=verdict.distance,
                    threshold=verdict.threshold,
                    backend=backend,
                    reason=f"refused as a replay: {copied}; take a new selfie with the camera",
                    code=REPLAY,
                )
            verdicts.append(verdict)
        worst = max(verdicts, key=lambda v: v.distance)
        if (
            worst.match
            and check.turn
            and not replay.turned(probes[0].face, probes[1].face, check.turn)
        ):
            return FaceOutcome(
                match=False,
                distance=worst.distance,
                threshold=worst.threshold,
                backend=backend,
                reason=f"the head did not turn to the {check.turn} between the two selfies",
                code=NO_TURN,
            )
        return FaceOutcome(
            match=worst.match,
            distance=worst.distance,
            threshold=worst.threshold,
            backend=backend,
            reason="the selfie matches the enrolled face"
            if worst.match
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
            provenance = COUNTER if req.officer else SELF_SERVICE
            try:
                replaced = self.store.enrol(
                    req.citizen,
                    backend,
                    analysis.embedding,
                    analysis.fingerprint,
                    provenance,
                    req.officer,
                )
            except CounterEnrolmentHeld:
                return IntakeOutcome(
                    ok=False,
                    backend=backend,
                    code=COUNTER_HELD,
                    reason="your face was enrolled at the counter by an officer who checked "
                    "your KTP; only an officer at the counter can replace it",
                )
        finally:
            self.store.delete_photo(req.photo_ref, req.citizen)
        log.info("face enrolled (backend %s, %s, replaced %s)", backend, provenance, replaced)
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
            outcome = self._verify(
                FaceCheck(
                    "face match",
                    req.citizen,
                    req.photo_ref,
                    second_selfie_ref=req.second_ref,
                    turn=req.turn,
                )
            )
        log.info("face match: %s (backend %s)", outcome.match, outcome.backend)
        code = outcome.code or (
            "" if outcome.match else MISMATCH if outcome.match is False else UNDECIDED
        )
        return IntakeOutcome(
            ok=outcome.match is True, backend=outcome.backend, code=code, reason=outcome.reason
        )
