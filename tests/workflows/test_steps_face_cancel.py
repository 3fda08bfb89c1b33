"""The face check (a fake ``verify_face`` on the application's face task queue) and
cancellation: by the citizen, with a refund, past ``cancellable_until``, of a parent
whose child application runs."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from temporalio import activity
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.events import AppendOutcome, AppendRequest, EventActivities
from config.settings import Settings
from config.temporal import data_converter
from domain import events as ev
from face.contract import FaceCheck, FaceOutcome
from lincah import devserver
from tests.workflows.stepkit import (
    ADMIN,
    APPROVED,
    CHILD,
    CITIZEN,
    DATA,
    FIELDS,
    OFFICER,
    OTHER_ADMIN,
    OTHER_CITIZEN,
    PARENT,
    PARENT_DATA,
    REJECTED,
    SUPERVISOR,
    Kit,
    complete,
    eventually,
    parse,
    publish,
    refused,
    review,
    running,
    service,
    state,
)
from workflows.application import ApplicationWorkflow
from workflows.messages import Actor, CancelApplication, RecordPayment
from workflows.steps import face_verify
from workflows.steps.face_verify import FACE_TIMEOUT

FACE_STEP = {
    "kind": "face_verify",
    "id": "face",
    "name": "Verifikasi wajah",
    "on_match": "matched",
    "on_mismatch": "counter_check",
}
FACE = parse(
    service(
        "ktp-hilang",
        [
            FACE_STEP,
            {
                "kind": "notify",
                "id": "matched",
                "name": "Cocok",
                "message": "Wajah cocok; surat diterbitkan.",
                "next": "approved",
            },
            review("counter_check", {"approve": "approved", "reject": "rejected"}),
            APPROVED,
            REJECTED,
        ],
    )
)


def fake_face(outcome: FaceOutcome | Exception, seen: list[FaceCheck]) -> Callable[..., Any]:
    @activity.defn(name="verify_face")
    async def verify_face(check: FaceCheck) -> FaceOutcome:
        seen.append(check)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    return verify_face


async def _face_scheduled(handle: WorkflowHandle) -> Any:
    """The ActivityTaskScheduled attributes of the workflow's face check, if any yet."""
    async for event in handle.fetch_history_events():
        attrs = event.activity_task_scheduled_event_attributes
        if event.HasField("activity_task_scheduled_event_attributes") and (
            attrs.activity_type.name == "verify_face"
        ):
            return attrs
    return None


MATCH = FaceOutcome(match=True, distance=0.31, threshold=0.6, backend="fake-dlib", reason="ok")
MISMATCH = FaceOutcome(
    match=False, distance=0.82, threshold=0.6, backend="fake-dlib", reason="different person"
)
UNUSABLE = FaceOutcome(
    match=None, distance=None, threshold=0.6, backend="fake-dlib", reason="no face in the selfie"
)


async def test_face_match_takes_on_match(kit: Kit):
    seen: list[FaceCheck] = []
    async with running(kit.face_worker(fake_face(MATCH, seen))):
        handle, first = await kit.submit(FACE, selfie_ref="selfie-123")
    assert first.status == "approved"
    assert await handle.result() == "approved"
    assert seen == [FaceCheck(application_id=handle.id, citizen="siti", selfie_ref="selfie-123")]
    assert kit.types(handle.id) == [
        ev.APPLICATION_SUBMITTED,
        ev.FACE_VERIFIED,
        ev.CITIZEN_NOTIFIED,
        ev.APPLICATION_COMPLETED,
    ]
    # The outcome, backend and distance only: no reason text, nothing biometric.
    assert kit.one(handle.id, ev.FACE_VERIFIED) == {
        "step": "face",
        "outcome": "match",
        "backend": "fake-dlib",
        "distance": 0.31,
    }
    assert kit.one(handle.id, ev.CITIZEN_NOTIFIED)["step"] == "matched"
    assert (await state(handle)).outcomes == {"face": "match"}


@pytest.mark.parametrize(("outcome", "expected"), [(MISMATCH, "mismatch"), (UNUSABLE, "unusable")])
async def test_mismatch_or_unusable_takes_on_mismatch(kit: Kit, outcome, expected):
    seen: list[FaceCheck] = []
    async with running(kit.face_worker(fake_face(outcome, seen))):
        handle, first = await kit.submit(FACE, selfie_ref="selfie-9")
    assert first.status == "in_review"
    assert len(seen) == 1
    assert kit.types(handle.id) == [ev.APPLICATION_SUBMITTED, ev.FACE_VERIFIED, ev.TASK_ASSIGNED]
    verified = kit.one(handle.id, ev.FACE_VERIFIED)
    assert (verified["outcome"], verified["backend"], verified["distance"]) == (
        expected,
        "fake-dlib",
        outcome.distance,
    )
    assert kit.one(handle.id, ev.TASK_ASSIGNED)["step"] == "counter_check"
    live = await state(handle)
    assert (live.current_step, live.outcomes) == ("counter_check", {"face": expected})
    await complete(handle, "counter_check", "approve")
    assert await handle.result() == "approved"


async def test_a_failing_face_check_counts_as_unusable(kit: Kit):
    seen: list[FaceCheck] = []
    boom = ApplicationError("model file missing", type="FaceBackendError", non_retryable=True)
    async with running(kit.face_worker(fake_face(boom, seen))):
        handle, first = await kit.submit(FACE)
    assert first.status == "in_review"
    verified = kit.one(handle.id, ev.FACE_VERIFIED)
    assert (verified["outcome"], verified["backend"], verified["distance"]) == (
        "unusable",
        "none",
        None,
    )
    assert len(seen) == 1


async def test_without_a_face_worker_the_check_is_scheduled_with_the_5_minute_limit(kit: Kit):
    """Nobody polls the face queue: the check waits at most FACE_TIMEOUT, no retry
    beyond 3 attempts. (The Java test server does not skip time while an activity task
    is pending, so the 5 minutes themselves cannot be skipped: the next test runs the
    same path with a short limit.)"""
    handle = await kit.start(FACE, selfie_ref="selfie-1")
    await eventually(lambda: _face_scheduled(handle))
    face = await _face_scheduled(handle)
    assert face is not None
    assert face.task_queue.name == kit.face_queue
    assert face.schedule_to_close_timeout.ToTimedelta() == FACE_TIMEOUT == timedelta(minutes=5)
    assert face.retry_policy.maximum_attempts == 3
    assert kit.types(handle.id) == [ev.APPLICATION_SUBMITTED]  # nothing decided meanwhile
    # A face worker that comes up later takes the check (and no pending activity is
    # left to lock the test server's clock for later tests).
    seen: list[FaceCheck] = []
    async with running(kit.face_worker(fake_face(MATCH, seen))):
        assert await handle.result() == "approved"
    assert [c.selfie_ref for c in seen] == ["selfie-1"]


async def test_without_a_face_worker_the_flow_takes_on_mismatch_after_the_limit(
    bare_kit: Kit, monkeypatch: pytest.MonkeyPatch
):
    kit = bare_kit
    monkeypatch.setattr(face_verify, "FACE_TIMEOUT", timedelta(seconds=1))
    async with running(kit.worker(unsandboxed=True)):  # sees the patched limit
        handle, first = await kit.submit(FACE, selfie_ref="selfie-1")
        assert first.status == "in_review"
        assert kit.types(handle.id) == [
            ev.APPLICATION_SUBMITTED,
            ev.FACE_VERIFIED,
            ev.TASK_ASSIGNED,
        ]
        verified = kit.one(handle.id, ev.FACE_VERIFIED)
        assert verified == {
            "step": "face",
            "outcome": "unusable",
            "backend": "none",
            "distance": None,
        }
        live = await state(handle)
        assert (live.current_step, live.outcomes) == ("counter_check", {"face": "unusable"})
        await complete(handle, "counter_check", "reject")
        assert await handle.result() == "rejected"


async def test_a_child_application_checks_faces_on_the_parents_face_queue(kit: Kit):
    publish(
        kit.store,
        service(
            "verifikasi-wajah",
            [{**FACE_STEP, "on_match": "approved", "on_mismatch": "rejected"}, APPROVED, REJECTED],
        ),
    )
    parent = publish(
        kit.store,
        service(
            "paspor-ulang",
            [
                {
                    "kind": "subservice",
                    "id": "identity",
                    "name": "Identitas",
                    "service": "verifikasi-wajah",
                    "inputs": {"nik": "nik", "full_name": "full_name"},
                    "next": "done",
                },
                {
                    "kind": "notify",
                    "id": "done",
                    "name": "Selesai",
                    "message": "ok",
                    "next": "approved",
                },
                APPROVED,
            ],
        ),
    )
    handle, _ = await kit.submit(parent)
    child = kit.child(handle, "identity")
    try:
        await eventually(lambda: _face_scheduled(child))
        face = await _face_scheduled(child)
        assert face is not None
        assert face.task_queue.name == kit.face_queue  # "lincah-face" with the bug
    finally:
        # Let the check run wherever it went: a pending activity would keep the test
        # server's clock locked for later tests.
        verify = fake_face(MATCH, [])
        default_queue = Worker(kit.client, task_queue="lincah-face", activities=[verify])
        async with running(kit.face_worker(verify), default_queue):
            assert await handle.result() == "approved"


# -- cancellation ---------------------------------------------------------------------------

AREA = {"id": "land_area", "label": "Luas tanah (m2)", "type": "number"}
CANCELLABLE = parse(
    service(
        "izin-bangunan",
        [
            {
                "kind": "payment",
                "id": "pay",
                "name": "Retribusi",
                "fee": {"amount": 25_000, "rules": [{"when": "land_area < 100", "amount": 0}]},
                "next": "verify",
            },
            review("verify", {"approve": "head", "reject": "rejected"}),
            review("head", {"approve": "approved", "reject": "rejected"}, role="supervisor"),
            APPROVED,
            REJECTED,
        ],
        fields=[*FIELDS, AREA],
        cancellable_until="head",
    )
)
SMALL = {**DATA, "land_area": 50}  # no fee
LARGE = {**DATA, "land_area": 500}  # Rp 25,000


async def cancel(handle, actor: Actor = CITIZEN, reason: str = "tidak jadi"):
    return await handle.execute_update(
        ApplicationWorkflow.cancel, CancelApplication(actor=actor, reason=reason)
    )


async def test_citizen_cancels_during_review(kit: Kit):
    handle, first = await kit.submit(CANCELLABLE, SMALL)
    assert first.status == "in_review"
    r = await cancel(handle, reason="sudah pindah")
    assert r.status == "cancelled"
    assert await handle.result() == "cancelled"
    assert kit.types(handle.id) == [
        ev.APPLICATION_SUBMITTED,
        ev.PAYMENT_WAIVED,
        ev.TASK_ASSIGNED,
        ev.CANCELLATION_REQUESTED,
        ev.TASK_CANCELLED,
        ev.CITIZEN_NOTIFIED,
        ev.APPLICATION_COMPLETED,
    ]
    assert kit.one(handle.id, ev.CANCELLATION_REQUESTED) == {
        "reason": "sudah pindah",
        "by": CITIZEN.subject,
        "role": "citizen",
    }
    assert kit.one(handle.id, ev.TASK_CANCELLED) == {
        "task_id": f"{handle.id}.verify.1",
        "step": "verify",
        "reason": "application cancelled",
    }
    notified = kit.one(handle.id, ev.CITIZEN_NOTIFIED)
    assert notified["message"] == f"Application {handle.id} was cancelled as you asked."
    assert kit.one(handle.id, ev.APPLICATION_COMPLETED) == {"step": None, "result": "cancelled"}
    assert (await state(handle)).status == "cancelled"


async def test_cancelling_after_paying_records_a_refund(kit: Kit):
    handle, first = await kit.submit(CANCELLABLE, LARGE)
    assert first.status == "awaiting_payment"
    await handle.execute_update(
        ApplicationWorkflow.record_payment,
        RecordPayment(actor=OFFICER, amount=25_000, method="counter", reference="KW-7"),
    )
    r = await cancel(handle)
    assert r.status == "cancelled"
    assert await handle.result() == "cancelled"
    assert kit.types(handle.id) == [
        ev.APPLICATION_SUBMITTED,
        ev.PAYMENT_REQUESTED,
        ev.PAYMENT_RECEIVED,
        ev.TASK_ASSIGNED,
        ev.CANCELLATION_REQUESTED,
        ev.TASK_CANCELLED,
        ev.REFUND_RECORDED,
        ev.CITIZEN_NOTIFIED,
        ev.APPLICATION_COMPLETED,
    ]
    assert kit.one(handle.id, ev.REFUND_RECORDED) == {
        "amount": 25_000,
        "references": ["KW-7"],
        "reason": "application cancelled",
    }


async def test_the_agency_cancels_while_the_fee_is_unpaid(kit: Kit):
    handle, _ = await kit.submit(CANCELLABLE, LARGE)
    e = await refused(cancel(handle, OTHER_ADMIN))
    assert e.type == "NotFound"  # another agency's: as for an unknown application
    e = await refused(cancel(handle, OFFICER))
    assert e.type == "NotAllowed"
    r = await cancel(handle, ADMIN, reason="berkas ganda")
    assert r.status == "cancelled"
    assert await handle.result() == "cancelled"
    assert kit.types(handle.id) == [
        ev.APPLICATION_SUBMITTED,
        ev.PAYMENT_REQUESTED,
        ev.CANCELLATION_REQUESTED,
        ev.CITIZEN_NOTIFIED,
        ev.APPLICATION_COMPLETED,
    ]
    assert kit.one(handle.id, ev.CANCELLATION_REQUESTED)["role"] == "agency_admin"
    assert kit.one(handle.id, ev.CITIZEN_NOTIFIED)["message"].endswith("by the agency.")


async def test_the_cancel_answer_covers_the_application_completed_event(kit: Kit):
    """Reading at the answer's position shows the application cancelled."""
    handle, _ = await kit.submit(CANCELLABLE, SMALL)
    r = await cancel(handle)
    assert await handle.result() == "cancelled"
    last = kit.events(handle.id)[-1]
    assert last.type == ev.APPLICATION_COMPLETED
    assert r.position == last.position


async def test_another_citizen_cannot_cancel(kit: Kit):
    handle, _ = await kit.submit(CANCELLABLE, SMALL)
    e = await refused(cancel(handle, OTHER_CITIZEN))
    assert e.type == "NotFound"  # another citizen's: as for an unknown application
    assert kit.types(handle.id)[-1] == ev.TASK_ASSIGNED
    assert (await state(handle)).status == "in_review"
    await complete(handle, "verify", "reject")
    assert await handle.result() == "rejected"


async def test_no_cancellation_once_cancellable_until_is_reached(kit: Kit):
    handle, _ = await kit.submit(CANCELLABLE, SMALL)
    r = await complete(handle, "verify", "approve")
    assert r.status == "in_review"
    assert (await state(handle)).current_step == "head"
    e = await refused(cancel(handle))
    assert e.type == "NotAllowed" and "'head'" in e.message
    e = await refused(cancel(handle, ADMIN))
    assert e.type == "NotAllowed"
    assert ev.CANCELLATION_REQUESTED not in kit.types(handle.id)
    r = await complete(handle, "head", "approve", SUPERVISOR)
    assert r.status == "approved"
    assert await handle.result() == "approved"


async def test_two_cancellations_at_once_cancel_once(kit: Kit):
    """The citizen and the administrator cancel at the same moment: one wins, the
    other is refused (NotWaiting), and the stream has one cancellation."""
    raw = service("izin-x", [review("verify", {"approve": "approved"}), APPROVED])
    handle, _ = await kit.submit(parse(raw))
    answers = await asyncio.gather(
        cancel(handle, CITIZEN), cancel(handle, ADMIN), return_exceptions=True
    )
    assert await handle.result() == "cancelled"
    won = [a for a in answers if not isinstance(a, BaseException)]
    lost = [a for a in answers if isinstance(a, WorkflowUpdateFailedError)]
    assert len(won) == 1 and won[0].status == "cancelled"
    assert len(lost) == 1
    assert isinstance(lost[0].cause, ApplicationError) and lost[0].cause.type == "NotWaiting"
    assert kit.types(handle.id).count(ev.CANCELLATION_REQUESTED) == 1
    assert kit.types(handle.id).count(ev.TASK_CANCELLED) == 1


@pytest.fixture
async def own_kit(tmp_path: Path) -> AsyncIterator[Kit]:
    """A kit on a time-skipping server of its own. Here the parent ends before its child
    (see the real-server test below); when the child then ends, the Java test server
    keeps its clock locked for good, which would stall every later test's timers."""
    env = await WorkflowEnvironment.start_time_skipping(
        data_converter=data_converter(Settings()),
        test_server_existing_path=str(devserver.test_server()),
    )
    kit = Kit(env, tmp_path)
    try:
        async with kit.worker():
            yield kit
            await kit.close_running()
    finally:
        await kit.close()
        await env.shutdown()


async def test_cancelling_a_parent_cancels_its_running_child(own_kit: Kit):
    kit = own_kit
    publish(kit.store, CHILD)
    handle, _ = await kit.submit(publish(kit.store, PARENT), PARENT_DATA)
    child = kit.child(handle, "env")
    assert (await child.execute_update(ApplicationWorkflow.submission)).status == "in_review"

    r = await cancel(handle)
    assert r.status == "cancelled"
    assert await handle.result() == "cancelled"
    assert kit.types(handle.id) == [
        ev.APPLICATION_SUBMITTED,
        ev.SUBSERVICE_STARTED,
        ev.CANCELLATION_REQUESTED,
        ev.CITIZEN_NOTIFIED,
        ev.APPLICATION_COMPLETED,
    ]

    async def child_done() -> bool:
        return ev.APPLICATION_COMPLETED in kit.types(child.id)

    await eventually(child_done, timeout=10)
    assert await child.result() == "cancelled"
    assert kit.types(child.id) == [
        ev.APPLICATION_SUBMITTED,
        ev.TASK_ASSIGNED,
        ev.TASK_CANCELLED,
        ev.CITIZEN_NOTIFIED,
        ev.APPLICATION_COMPLETED,
    ]
    assert kit.one(child.id, ev.TASK_CANCELLED)["reason"] == "application cancelled"
    assert kit.one(child.id, ev.CITIZEN_NOTIFIED)["message"] == (
        f"Application {child.id} was cancelled with application {handle.id} it belongs to."
    )


@pytest.mark.e2e
async def test_on_a_real_server_the_child_finishes_its_cancellation(
    dev_env: WorkflowEnvironment, tmp_path: Path
):
    """The time-skipping server does not apply parent-close policies; the dev server
    does. A notification channel slower for the child (0.5 s) makes the race certain."""
    kit = Kit(dev_env, tmp_path)
    events = EventActivities(kit.store)

    @activity.defn(name="notify_citizen")
    def notify_citizen(req: AppendRequest) -> AppendOutcome:
        if req.stream.endswith("-env"):
            time.sleep(0.5)
        return events.notify_citizen(req)

    try:
        async with running(kit.worker([notify_citizen])):
            publish(kit.store, CHILD)
            handle, _ = await kit.submit(publish(kit.store, PARENT), PARENT_DATA)
            child = kit.child(handle, "env")
            await child.execute_update(ApplicationWorkflow.submission)
            await cancel(handle)
            assert await handle.result() == "cancelled"
            assert await child.result() == "cancelled"  # terminated with the bug
            assert kit.types(child.id)[-1] == ev.APPLICATION_COMPLETED
    finally:
        await kit.close()
