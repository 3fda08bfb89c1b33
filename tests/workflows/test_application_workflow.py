"""The interpreter workflow on the time-skipping test server, with the real SQLite store."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError

from domain import events as ev
from domain.validation import parse_definition
from eventstore.sqlite import SqliteEventStore
from lincah.worker import build_worker
from workflows.application import ApplicationWorkflow
from workflows.messages import Actor, ApplicationInput, CompleteTask

OFFICER = Actor(subject="budi", role="officer", agency="BWI")
HEAD = Actor(subject="kadis", role="supervisor", agency="BWI")
NAKES_DATA = {
    "nik": "3510154808900003",
    "full_name": "dr. Siti Aminah",
    "profession": "dokter",
    "str_number": "STR-123",
    "str_document": "file:str.pdf",
    "practice_address": "Jl. Ahmad Yani 1",
    "years_experience": 5,
}


@pytest.fixture
def store(tmp_path):
    s = SqliteEventStore(tmp_path / "events.db")
    yield s
    s.close()


@pytest.fixture
async def start(skipping_env, store, izin_praktik):
    """Start one application on a fresh worker with its own task queue."""
    task_queue = f"tq-{uuid.uuid4()}"
    executor = ThreadPoolExecutor(4)
    worker = build_worker(skipping_env.client, store, task_queue, executor)
    definition, problems = parse_definition(izin_praktik)
    assert problems == [] and definition is not None

    async def start_application(data: dict) -> WorkflowHandle:
        app_id = f"BWI-2026-{uuid.uuid4().int % 10**6:06d}"
        handle = await skipping_env.client.start_workflow(
            ApplicationWorkflow.run,
            ApplicationInput(
                application_id=app_id, definition=definition, data=data, citizen="siti"
            ),
            id=app_id,
            task_queue=task_queue,
        )
        first = await handle.execute_update(ApplicationWorkflow.submission)
        assert first.status == "in_review"  # rests at the first review
        return handle

    async with worker:
        yield start_application
    executor.shutdown()


async def complete(
    handle: WorkflowHandle, step: str, outcome: str, actor: Actor = OFFICER, visit: int = 1
):
    return await handle.execute_update(
        ApplicationWorkflow.complete_task,
        CompleteTask(task_id=f"{handle.id}.{step}.{visit}", outcome=outcome, actor=actor),
    )


def types(store, app_id):
    return [e.type for e in store.read_stream(ev.application_stream(app_id))]


async def test_experienced_doctor_goes_straight_to_head_approval(start, store):
    handle = await start(NAKES_DATA)
    assert (await handle.query(ApplicationWorkflow.state)).current_step == "document_review"
    r = await complete(handle, "document_review", "approve")
    assert r.status == "in_review"
    state = await handle.query(ApplicationWorkflow.state)
    assert state.current_step == "head_approval"  # years_experience >= 2: no site visit
    await complete(handle, "head_approval", "approve", HEAD)
    assert await handle.result() == "approved"
    assert types(store, handle.id) == [
        ev.APPLICATION_SUBMITTED,
        ev.TASK_ASSIGNED,
        ev.TASK_COMPLETED,
        ev.DECISION_TAKEN,
        ev.TASK_ASSIGNED,
        ev.TASK_COMPLETED,
        ev.CITIZEN_NOTIFIED,
        ev.APPLICATION_COMPLETED,
    ]
    decision = store.read_stream(ev.application_stream(handle.id))[3]
    assert decision.data["target"] == "head_approval" and decision.data["branch"] is None


async def test_new_practitioner_gets_a_site_verification(start, store):
    handle = await start({**NAKES_DATA, "years_experience": 1})
    await complete(handle, "document_review", "approve")
    r = await complete(handle, "site_verification", "reject")
    assert r.status == "rejected"
    assert await handle.result() == "rejected"
    stream = store.read_stream(ev.application_stream(handle.id))
    assert stream[3].data["condition"] == "years_experience < 2"
    assert stream[-2].data["message"].startswith("Your application for a Surat Izin Praktik")


async def test_update_validators_refuse_clearly(start):
    handle = await start(NAKES_DATA)

    async def refused(step, outcome, actor, visit=1) -> ApplicationError:
        with pytest.raises(WorkflowUpdateFailedError) as info:
            await complete(handle, step, outcome, actor, visit)
        assert isinstance(info.value.cause, ApplicationError)
        return info.value.cause

    e = await refused("document_review", "approve", HEAD)
    assert e.type == "RoleMismatch" and "role 'officer'" in e.message
    e = await refused(
        "document_review", "approve", Actor(subject="x", role="officer", agency="JMB")
    )
    # Another agency's staff are refused as for an unknown application.
    assert e.type == "NotFound" and "there is no application" in e.message
    e = await refused("document_review", "maybe", OFFICER)
    assert e.type == "OutcomeNotAllowed" and "approve, reject" in e.message
    e = await refused("head_approval", "approve", HEAD)
    assert e.type == "TaskNotFound"
    await complete(handle, "document_review", "approve")
    e = await refused("document_review", "reject", OFFICER)
    assert e.type == "TaskNotOpen" and "'approve'" in e.message


async def test_retried_append_writes_nothing_twice(store):
    """The activity derives nothing itself: the same request appends once."""
    from temporalio.testing import ActivityEnvironment

    from activities.events import AppendRequest, EventActivities, EventSpec

    stream = ev.application_stream("BWI-2026-999999")
    req = AppendRequest(
        stream=stream,
        expected_version=-1,
        events=[EventSpec(id=str(ev.event_id(stream, 0)), type="X", data={"a": 1})],
    )
    acts = EventActivities(store)
    env = ActivityEnvironment()
    first = env.run(acts.append_events, req)
    again = env.run(acts.append_events, req)
    assert first.positions == again.positions
    assert len(store.read_stream(stream)) == 1
