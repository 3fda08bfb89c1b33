"""Incidents: an activity that keeps failing past ACTIVITY_RETRY's 8 attempts puts the
application into an incident instead of failing it; the agency's administrator retries
once the cause is fixed, and nothing is lost."""

from __future__ import annotations

import asyncio
import threading
from datetime import timedelta

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.documents import DocumentActivities
from documents.contract import IssuedDocument, IssueRequest
from domain import events as ev
from domain.definition import ServiceDefinition
from tests.workflows.stepkit import (
    ADMIN,
    APPROVED,
    CHILD,
    CITIZEN,
    OFFICER,
    OTHER_ADMIN,
    PARENT,
    PARENT_DATA,
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
from workflows.flow import ACTIVITY_RETRY
from workflows.messages import RetryIncident

DOCUMENT_STEP = {
    "kind": "document",
    "id": "issue",
    "name": "Penerbitan surat",
    "template": {"code": "SKD", "title": "Surat Keterangan", "body": "Untuk {full_name}."},
    "next": "approved",
}
DOCUMENT = parse(
    service("surat-keterangan", [review("verify", {"approve": "issue"}), DOCUMENT_STEP, APPROVED])
)


class FlakyIssuer:
    """``issue_document`` failing (retryably) until ``fixed``; then the real activity."""

    def __init__(self, kit: Kit) -> None:
        self.real = DocumentActivities(kit.store, kit.settings)
        self.fixed = False
        self.attempts = 0

        @activity.defn(name="issue_document")
        def issue_document(req: IssueRequest) -> IssuedDocument:
            self.attempts += 1
            if not self.fixed:
                raise RuntimeError("signing key store unavailable")
            return self.real.issue_document(req)

        self.activity = issue_document

    async def first_attempt(self, after: int = 0) -> None:
        """Until the activity has been tried: sleeping before the command reached the
        workflow would skip time while nothing is pending."""

        async def tried() -> bool:
            return self.attempts > after

        await eventually(tried)


async def retry(handle, actor=ADMIN):
    return await handle.execute_update(
        ApplicationWorkflow.retry_incident, RetryIncident(actor=actor)
    )


async def has(kit: Kit, app_id: str, event_type: str) -> bool:
    return event_type in kit.types(app_id)


async def test_a_failing_activity_raises_an_incident_an_admin_retries(bare_kit: Kit):
    kit = bare_kit
    issuer = FlakyIssuer(kit)
    async with running(kit.worker([issuer.activity])):
        handle, _ = await kit.submit(DOCUMENT)
        e = await refused(retry(handle))
        assert e.type == "NotWaiting"  # no incident yet

        # The officer's approval leads to the failing document step; its answer
        # comes at the next rest: the incident.
        approving = asyncio.create_task(complete(handle, "verify", "approve"))
        await issuer.first_attempt()
        await kit.env.sleep(timedelta(minutes=3))  # the retries' backoff: 91 s
        await eventually(lambda: has(kit, handle.id, ev.INCIDENT_RAISED))
        assert issuer.attempts == ACTIVITY_RETRY.maximum_attempts == 8
        assert kit.types(handle.id) == [
            ev.APPLICATION_SUBMITTED,
            ev.TASK_ASSIGNED,
            ev.TASK_COMPLETED,
            ev.INCIDENT_RAISED,
        ]
        raised = kit.one(handle.id, ev.INCIDENT_RAISED)
        assert raised["step"] == "issue"
        assert "signing key store unavailable" in raised["error"]
        live = await state(handle)
        assert live.status == "incident"
        assert live.incident is not None and "signing key store unavailable" in live.incident
        assert live.current_step == "issue"

        # Waiting for the administrator: time passing changes nothing.
        await kit.env.sleep(timedelta(days=3))
        assert issuer.attempts == 8 and kit.types(handle.id)[-1] == ev.INCIDENT_RAISED

        for actor in (OFFICER, SUPERVISOR, CITIZEN):
            e = await refused(retry(handle, actor))
            assert e.type == "NotAllowed", actor
        e = await refused(retry(handle, OTHER_ADMIN))
        assert e.type == "NotFound"  # another agency's: as for an unknown application
        assert kit.types(handle.id)[-1] == ev.INCIDENT_RAISED

        issuer.fixed = True
        r = await retry(handle)
        resolved = next(e for e in kit.events(handle.id) if e.type == ev.INCIDENT_RESOLVED)
        assert r.position == resolved.position
        assert resolved.data == {"step": "issue"}
        assert (await approving).status == "incident"  # answered at the incident
        assert await handle.result() == "approved"
        assert (await state(handle)).incident is None
    assert issuer.attempts == 9
    assert kit.types(handle.id) == [
        ev.APPLICATION_SUBMITTED,
        ev.TASK_ASSIGNED,
        ev.TASK_COMPLETED,
        ev.INCIDENT_RAISED,
        ev.INCIDENT_RESOLVED,
        ev.DOCUMENT_ISSUED,
        ev.APPLICATION_COMPLETED,
    ]


async def test_a_retry_that_fails_again_raises_a_new_incident(bare_kit: Kit):
    kit = bare_kit
    issuer = FlakyIssuer(kit)
    async with running(kit.worker([issuer.activity])):
        handle, _ = await kit.submit(DOCUMENT)
        approving = asyncio.create_task(complete(handle, "verify", "approve"))
        await issuer.first_attempt()
        await kit.env.sleep(timedelta(minutes=3))
        await eventually(lambda: has(kit, handle.id, ev.INCIDENT_RAISED))
        await retry(handle)  # not fixed yet
        await issuer.first_attempt(after=8)
        await kit.env.sleep(timedelta(minutes=3))

        async def second_incident() -> bool:
            return len(kit.data(handle.id, ev.INCIDENT_RAISED)) == 2

        await eventually(second_incident)
        assert issuer.attempts == 16
        assert (await state(handle)).status == "incident"
        issuer.fixed = True
        await retry(handle)
        assert (await approving).status == "incident"
        assert await handle.result() == "approved"
    assert kit.types(handle.id)[3:] == [
        ev.INCIDENT_RAISED,
        ev.INCIDENT_RESOLVED,
        ev.INCIDENT_RAISED,
        ev.INCIDENT_RESOLVED,
        ev.DOCUMENT_ISSUED,
        ev.APPLICATION_COMPLETED,
    ]


@activity.defn(name="published_definition")
def catalogue_down(service_id: str) -> ServiceDefinition:
    raise RuntimeError("catalogue database is locked")


async def test_fixed_by_deploying_a_working_worker(bare_kit: Kit):
    """The first worker's catalogue lookup always fails; the administrator retries once
    a working worker (lincah.worker.build_worker) has replaced it."""
    kit = bare_kit
    publish(kit.store, CHILD)
    parent = publish(kit.store, PARENT)
    async with running(kit.worker([catalogue_down], sticky=False)):
        handle = await kit.start(parent, PARENT_DATA)
        await eventually(lambda: has(kit, handle.id, ev.APPLICATION_SUBMITTED))
        await kit.env.sleep(timedelta(minutes=3))
        await eventually(lambda: has(kit, handle.id, ev.INCIDENT_RAISED))
        assert kit.types(handle.id) == [ev.APPLICATION_SUBMITTED, ev.INCIDENT_RAISED]
        assert kit.one(handle.id, ev.INCIDENT_RAISED)["step"] == "env"
        live = await state(handle)
        assert live.status == "incident" and "catalogue database is locked" in str(live.incident)

    async with running(kit.worker()):  # the real activities; the history replays
        await retry(handle)
        child = kit.child(handle, "env")
        await eventually(lambda: has(kit, child.id, ev.APPLICATION_SUBMITTED))
        assert (await child.execute_update(ApplicationWorkflow.submission)).status == "in_review"
        await complete(child, "env_review", "approve")
        await eventually(lambda: has(kit, handle.id, ev.TASK_ASSIGNED))
        r = await complete(handle, "head", "approve", SUPERVISOR)
        assert r.status == "approved"
        assert await handle.result() == "approved"
    assert kit.types(handle.id) == [
        ev.APPLICATION_SUBMITTED,
        ev.INCIDENT_RAISED,
        ev.INCIDENT_RESOLVED,
        ev.SUBSERVICE_STARTED,
        ev.SUBSERVICE_COMPLETED,
        ev.DECISION_TAKEN,
        ev.TASK_ASSIGNED,
        ev.TASK_COMPLETED,
        ev.APPLICATION_COMPLETED,
    ]


async def test_a_command_running_into_an_incident_answers_with_status_incident(bare_kit: Kit):
    kit = bare_kit
    issuer = FlakyIssuer(kit)
    async with running(kit.worker([issuer.activity])):
        handle, _ = await kit.submit(DOCUMENT)
        approving = asyncio.create_task(complete(handle, "verify", "approve"))
        try:
            await issuer.first_attempt()
            await kit.env.sleep(timedelta(minutes=3))
            await eventually(lambda: has(kit, handle.id, ev.INCIDENT_RAISED))
            r = await asyncio.wait_for(asyncio.shield(approving), timeout=1)
            assert r.status == "incident"
        finally:
            issuer.fixed = True
            await retry(handle)
            await approving


def _document(step_id: str) -> dict:
    return {**DOCUMENT_STEP, "id": step_id, "next": "joined"}


TWO_DOCUMENTS = parse(
    service(
        "dua-surat",
        [
            {
                "kind": "parallel",
                "id": "split",
                "name": "Dua surat",
                "branches": ["issue_a", "issue_b"],
                "join": "joined",
            },
            _document("issue_a"),
            _document("issue_b"),
            {"kind": "join", "id": "joined", "name": "Gabung", "mode": "all", "next": "approved"},
            APPROVED,
        ],
    )
)


async def test_two_branches_failing_at_once_both_recover(bare_kit: Kit):
    kit = bare_kit
    real = DocumentActivities(kit.store, kit.settings)
    together = threading.Barrier(2, timeout=10)
    calls: list[str] = []

    @activity.defn(name="issue_document")
    def issue_document(req: IssueRequest) -> IssuedDocument:
        calls.append(req.step_id)
        if len(calls) <= 2:  # both branches' first attempts fail at the same moment
            together.wait()
            raise ApplicationError("signing key store unavailable", non_retryable=True)
        return real.issue_document(req)

    async with running(kit.worker([issue_document])):
        handle = await kit.start(TWO_DOCUMENTS)
        await eventually(lambda: has(kit, handle.id, ev.INCIDENT_RAISED))
        await asyncio.sleep(0.5)  # the other branch's failure has arrived by now
        assert len(calls) == 2
        await retry(handle)  # one retry resumes every failed step
        assert await handle.result() == "approved"  # the workflow fails with the bug
    assert sorted(d["step"] for d in kit.data(handle.id, ev.DOCUMENT_ISSUED)) == [
        "issue_a",
        "issue_b",
    ]
