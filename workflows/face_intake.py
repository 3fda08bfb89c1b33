"""How the API reaches the face worker: a short workflow on the face task queue that runs
one activity on a photo waiting in the store (an enrolment photo: store its embedding;
a selfie: check that it is usable, or compare it with the enrolment for the profile).
The photo travels by reference only, so no image ever enters Temporal's history.

This module is imported by the workflow sandbox: it must not import torch, numpy or the
store.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Final

from temporalio import workflow
from temporalio.common import RetryPolicy

ENROL_FACE: Final = "enrol_face"
INSPECT_FACE: Final = "inspect_face"
MATCH_FACE: Final = "match_face"
"""A selfie against the citizen's enrolment, outside an application: a kiosk sign-in or a
profile verification (``ok``: it matches)."""
INTAKE_WORKFLOW: Final = "FaceIntake"
INTAKE_TIMEOUT: Final = timedelta(seconds=30)
"""How long the API waits for the face worker before it answers 503."""


@dataclass
class IntakeRequest:
    activity: str
    """ENROL_FACE, INSPECT_FACE or MATCH_FACE."""
    photo_ref: str
    citizen: str
    officer: str | None = None
    """ENROL_FACE at the counter: the officer who checked the citizen's KTP."""
    second_ref: str | None = None
    """MATCH_FACE with the active check: the selfie taken after the head ``turn``."""
    turn: str | None = None


@dataclass
class IntakeOutcome:
    ok: bool
    backend: str
    code: str = ""
    """Why the photo was refused (``face.imaging`` codes); empty when ok."""
    reason: str = ""
    replaced: bool = False
    """Enrolment only: an earlier enrolment with this backend was replaced."""


@workflow.defn(name=INTAKE_WORKFLOW)
class FaceIntakeWorkflow:
    @workflow.run
    async def run(self, req: IntakeRequest) -> IntakeOutcome:
        outcome: IntakeOutcome = await workflow.execute_activity(
            req.activity,
            req,
            result_type=IntakeOutcome,
            start_to_close_timeout=INTAKE_TIMEOUT,
            retry_policy=RetryPolicy(maximum_attempts=2),
        )
        return outcome
