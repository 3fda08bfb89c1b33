"""``face_verify``: the application's selfie against the citizen's enrolled face, on the
face worker's queue; a mismatch, an unusable image or an unavailable face service takes
``on_mismatch``."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from domain import events as ev
    from domain.definition import FaceVerifyStep
    from face.contract import VERIFY_FACE, FaceCheck, FaceOutcome
    from workflows.flow import Flow
    from workflows.steps.contract import Next, StepKind
    from workflows.waiting import Scope

# A face worker that is down must not stall the flow: after this, the check counts as
# unusable and the definition's mismatch branch is taken.
FACE_TIMEOUT = timedelta(minutes=5)
FACE_HEARTBEAT_TIMEOUT = timedelta(seconds=5)
COUNTER_ENROLMENT_PATCH = "face-counter-enrolment"
HEAD_TURN_PATCH = "face-head-turn"


def _head_turn(flow: Flow) -> dict[str, str | None]:
    """The second selfie and the turn asked for, where the application has them (only
    applications filed since, so recorded histories replay without the marker)."""
    if flow.inp.second_selfie_ref is None or not workflow.patched(HEAD_TURN_PATCH):
        return {}
    return {"second_selfie_ref": flow.inp.second_selfie_ref, "turn": flow.inp.turn}


async def run(flow: Flow, step: FaceVerifyStep, visit: int, scope: Scope) -> Next:
    try:
        out: FaceOutcome = await workflow.execute_activity(
            VERIFY_FACE,
            FaceCheck(
                application_id=flow.inp.application_id,
                citizen=flow.inp.citizen,
                selfie_ref=flow.inp.selfie_ref,
                # Only definitions that ask for it change the activity's input; recorded
                # histories never did, so they replay with the marker absent.
                require_counter_enrolment=step.require_counter_enrolment
                and workflow.patched(COUNTER_ENROLMENT_PATCH),
                **_head_turn(flow),
            ),
            result_type=FaceOutcome,
            task_queue=flow.inp.face_task_queue,
            schedule_to_close_timeout=FACE_TIMEOUT,
            heartbeat_timeout=FACE_HEARTBEAT_TIMEOUT,
            retry_policy=RetryPolicy(maximum_attempts=3),
        )
    except ActivityError:
        out = FaceOutcome(
            match=None,
            distance=None,
            threshold=None,
            backend="none",
            reason="the face check was not available",
        )
    outcome = "match" if out.match else "unusable" if out.match is None else "mismatch"
    flow.outcomes[step.id] = outcome
    await flow.append(
        ev.FaceVerified(
            step=step.id,
            outcome=outcome,
            backend=out.backend,
            distance=out.distance,  # the outcome, backend and distance only
        )
    )
    return step.on_match if out.match else step.on_mismatch


KIND = StepKind(FaceVerifyStep, run)
