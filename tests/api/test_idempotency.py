"""Idempotency-Key and Temporal failures, end to end on the real Temporal dev server:
a retry with the same key answers the first result and records nothing new, and a
failing worker or server is a 503 with Retry-After that says truthfully what may have
been recorded, never a 500 and never a duplicate application."""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from datetime import datetime

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from api.idempotency import Key
from api.main import create_app
from api.routers.applications import KEY_MEMO, NewApplication
from commands import catalogue, numbering
from config.settings import Settings, TaskQueues, TemporalSettings
from config.temporal import data_converter
from domain import events as ev
from eventstore.factory import open_event_store
from eventstore.port import EventStore
from lincah import devserver
from lincah.worker import build_worker
from projections.projector import Projector
from projections.readmodels import ReadModels
from tests.api.test_e2e import SITI, publish
from tests.conftest import free_port
from tests.support import Stack, end_applications, run_stack
from workflows.application import ApplicationWorkflow
from workflows.messages import ApplicationInput

pytestmark = pytest.mark.e2e

SERVICE = "surat-keterangan-domisili"
WAIT_S = 2.0
"""``command_wait_s`` in these tests: how long a command waits for an absent worker."""


def on(address: str, settings: Settings) -> Settings:
    """Settings for Temporal at ``address``, on a task queue of their own (so no other
    test's worker polls it), with short waits."""
    return settings.model_copy(
        update={
            "command_wait_s": WAIT_S,
            "temporal": TemporalSettings(
                address=address,
                task_queues=TaskQueues(
                    applications=f"tq-{uuid.uuid4()}", face=f"face-{uuid.uuid4()}"
                ),
            ),
        }
    )


@asynccontextmanager
async def api_without_worker(settings: Settings) -> AsyncIterator[Stack]:
    """The API (in process) and the projector, and no worker: ``worker_for`` starts one."""
    store = open_event_store(settings.eventstore, settings.eventstore_location)
    models = ReadModels(settings.readmodel_location)
    stop = threading.Event()
    projector = threading.Thread(target=Projector(store, models).run_forever, args=(stop,))
    projector.start()
    app = create_app(settings)
    s = Stack("http://api", store, models, settings)
    s.http = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://api", timeout=30
    )
    try:
        yield s
    finally:
        await s.http.aclose()
        stop.set()
        projector.join(10)
        app.state.runtime.close()
        models.close()
        store.close()


@pytest.fixture
async def s(dev_env: WorkflowEnvironment, settings: Settings) -> AsyncIterator[Stack]:
    """The API and the projector on the session's Temporal server, no worker."""
    address = dev_env.client.service_client.config.target_host
    async with api_without_worker(on(address, settings)) as stack:
        try:
            yield stack
        finally:
            await end_applications(dev_env.client, stack.store)


@asynccontextmanager
async def worker_for(env: WorkflowEnvironment, s: Stack) -> AsyncIterator[None]:
    with ThreadPoolExecutor(4) as executor:
        queue = s.settings.temporal.task_queues.applications
        async with build_worker(env.client, s.store, queue, executor, s.settings):
            yield


def of_type(store: EventStore, type_: str) -> list[str]:
    """Streams of the stored events of one type."""
    return [e.stream for e in store.read_all(limit=100_000) if e.type == type_]


def keyed(headers: dict[str, str], key: str) -> dict[str, str]:
    return {**headers, "Idempotency-Key": key}


# (a) ------------------------------------------------------------------------------------


async def test_a_submission_retried_with_its_key_once_the_worker_is_back_is_one_application(
    s, dev_env, domisili
):
    await publish(s, domisili)
    siti = keyed(await s.token("siti@example.id", "citizen"), "submit-1")
    body = {"service_id": SERVICE, "data": SITI}

    # No worker polls the queue: Temporal holds the application, nobody records it.
    r = await s.http.post("/applications", json=body, headers=siti)
    assert r.status_code == 202, r.text
    number = r.json()["application_id"]
    assert r.json()["position"] is None
    assert f"GET /applications/{number}" in r.json()["detail"], r.text
    # The client retries while the worker is still away: the same application.
    r = await s.http.post("/applications", json=body, headers=siti)
    assert r.status_code == 202 and r.json()["application_id"] == number, r.text
    # An officer who completes its task meanwhile is told it may have been recorded.
    officer = keyed(await s.token("budi@banyuwangikab.go.id", "officer", "BWI"), "done-1")
    complete = f"/tasks/{number}.verify_residence.1/complete"
    approve = {"outcome": "approve", "comment": "Alamat sesuai KK"}
    r = await s.http.post(complete, json=approve, headers=officer)
    assert r.status_code == 503 and r.headers["Retry-After"].isdigit(), r.text
    assert "may have been recorded" in r.json()["detail"], r.text

    async with worker_for(dev_env, s):
        r = await s.http.post("/applications", json=body, headers=siti)
        assert r.status_code == 201, r.text
        done = r.json()
        assert done["application_id"] == number and done["status"] == "in_review"
        # Answered from the recorded answer from now on.
        r = await s.http.post("/applications", json=body, headers=siti)
        assert r.status_code == 201 and r.json() == done
        # The officer's retry with the same key completes the task, once (and the
        # application ends: later tests on this server number theirs from 1 again).
        r = await s.http.post(complete, json=approve, headers=officer)
        assert r.status_code == 200 and r.json()["status"] == "approved", r.text
        assert of_type(s.store, ev.TASK_COMPLETED) == [f"application-{number}"]

        # Two submissions with one key at once: one application, one answer.
        race = keyed(await s.token("siti@example.id", "citizen"), "submit-race")
        both = await asyncio.gather(
            *(s.http.post("/applications", json=body, headers=race) for _ in range(2))
        )
        assert [r.status_code for r in both] == [201, 201], [r.text for r in both]
        raced = both[0].json()["application_id"]
        assert both[1].json()["application_id"] == raced != number
        await dev_env.client.get_workflow_handle(raced).terminate("the test is over")

    # The same key with other data is refused, and creates nothing.
    other = {"service_id": SERVICE, "data": {**SITI, "purpose": "Lain"}}
    r = await s.http.post("/applications", json=other, headers=siti)
    assert r.status_code == 422 and "Idempotency-Key 'submit-1'" in r.text, r.text

    submitted = of_type(s.store, ev.APPLICATION_SUBMITTED)
    assert submitted == [f"application-{number}", f"application-{raced}"]
    apps = await s.http.get(
        f"/applications?min_position={s.store.head_position()}",
        headers=await s.token("siti@example.id", "citizen"),
    )
    assert sorted(a["application_id"] for a in apps.json()) == [number, raced], apps.text


async def test_a_workflow_under_a_new_number_is_joined_only_when_its_key_started_it(
    s, dev_env, domisili
):
    """Two requests with one key race and the one that lost the key's claim starts the
    workflow first (simulated here by starting it directly): the claimer joins it. A
    workflow nobody with this key started is never joined: 409, not a 500."""
    await publish(s, domisili)
    siti = await s.token("siti@example.id", "citizen")
    body = {"service_id": SERVICE, "data": SITI}
    queue = s.settings.temporal.task_queues.applications
    key = Key.of("race-1", "siti@example.id", "submit", NewApplication(**body))
    assert key is not None

    async def start_before_the_api(sequence: int, memo: dict[str, str]) -> str:
        number = ev.application_number("BWI", datetime.now(numbering.WIB).year, sequence)
        definition = catalogue.published_definition(s.store, SERVICE)
        inp = ApplicationInput(
            application_id=number, definition=definition, data=SITI, citizen="siti@example.id"
        )
        await dev_env.client.start_workflow(
            ApplicationWorkflow.run, inp, id=number, task_queue=queue, memo=memo
        )
        return number

    async with worker_for(dev_env, s):
        ours = await start_before_the_api(1, {KEY_MEMO: key.digest})
        r = await s.http.post("/applications", json=body, headers=keyed(siti, "race-1"))
        assert r.status_code == 201 and r.json()["application_id"] == ours, r.text

        foreign = await start_before_the_api(2, {})
        r = await s.http.post("/applications", json=body, headers=keyed(siti, "race-2"))
        assert r.status_code == 409 and "Temporal and the event store disagree" in r.text
        r = await s.http.post("/applications", json=body, headers=siti)
        assert r.status_code == 201, r.text  # the next number is free
        for number in (ours, foreign, r.json()["application_id"]):
            await dev_env.client.get_workflow_handle(number).terminate("the test is over")


# (b) ------------------------------------------------------------------------------------


async def test_b_temporal_never_reached_is_a_503_with_retry_after_and_nothing_recorded(
    settings, domisili
):
    async with api_without_worker(on(f"127.0.0.1:{free_port()}", settings)) as s:
        await publish(s, domisili)
        siti = await s.token("siti@example.id", "citizen")
        officer = await s.token("budi@banyuwangikab.go.id", "officer", "BWI")
        before = s.store.head_position()

        r = await s.http.post(
            "/applications", json={"service_id": SERVICE, "data": SITI}, headers=siti
        )
        assert r.status_code == 503, r.text
        assert r.headers["Retry-After"].isdigit()
        assert "not reachable, so nothing was recorded" in r.json()["detail"]

        r = await s.http.post(
            "/tasks/BWI-2026-000001.verify_residence.1/complete",
            json={"outcome": "approve"},
            headers=keyed(officer, "complete-1"),
        )
        assert r.status_code == 503 and r.headers["Retry-After"].isdigit(), r.text
        # Nothing was recorded, not even an application number.
        assert of_type(s.store, ev.APPLICATION_NUMBER_RESERVED) == []
        assert s.store.head_position() <= before + 1  # at most the key's claim


async def test_b_temporal_stopped_under_a_connected_api_is_a_503_that_says_what_may_be_recorded(
    tmp_path, settings, domisili
):
    env = await WorkflowEnvironment.start_local(
        data_converter=data_converter(Settings()),
        dev_server_existing_path=str(devserver.temporal_cli()),
        dev_server_database_filename=str(tmp_path / "temporal.db"),
    )
    stopped = False
    try:
        address = env.client.service_client.config.target_host
        async with api_without_worker(on(address, settings)) as s:
            await publish(s, domisili)
            siti = await s.token("siti@example.id", "citizen")
            officer = await s.token("budi@banyuwangikab.go.id", "officer", "BWI")
            r = await s.http.post(
                "/applications", json={"service_id": SERVICE, "data": SITI}, headers=siti
            )
            assert r.status_code == 202, r.text  # the API is connected; no worker
            number = r.json()["application_id"]

            await env.shutdown()
            stopped = True

            r = await s.http.post(
                f"/tasks/{number}.verify_residence.1/complete",
                json={"outcome": "approve"},
                headers=keyed(officer, "complete-1"),
            )
            assert r.status_code == 503 and r.headers["Retry-After"].isdigit(), r.text
            detail = r.json()["detail"]
            assert f"task {number}.verify_residence.1 may have been recorded" in detail
            assert f"GET /applications/{number}" in detail and "same Idempotency-Key" in detail

            r = await s.http.post(
                "/applications",
                json={"service_id": SERVICE, "data": SITI},
                headers=keyed(siti, "submit-2"),
            )
            assert r.status_code == 503 and r.headers["Retry-After"].isdigit(), r.text
            detail = r.json()["detail"]
            second = ev.application_number("BWI", int(number.split("-")[1]), 2)
            assert f"The application {second} may have been created" in detail, detail
            assert f"GET /applications/{second} tells" in detail
            assert "nothing was recorded" not in detail
    finally:
        if not stopped:
            await env.shutdown()


# (c) ------------------------------------------------------------------------------------


async def test_c_a_task_completed_twice_with_one_key_answers_the_same_200(
    dev_env, settings, domisili
):
    async with run_stack(dev_env, settings) as s:
        await publish(s, domisili)
        siti = await s.token("siti@example.id", "citizen")
        officer = await s.token("budi@banyuwangikab.go.id", "officer", "BWI")

        async def task_of_new_application() -> str:
            r = await s.http.post(
                "/applications", json={"service_id": SERVICE, "data": SITI}, headers=siti
            )
            assert r.status_code == 201, r.text
            return f"{r.json()['application_id']}.verify_residence.1"

        task = await task_of_new_application()
        approve = {"outcome": "approve", "comment": "Alamat sesuai KK"}
        path = f"/tasks/{task}/complete"
        first = await s.http.post(path, json=approve, headers=keyed(officer, "c-1"))
        assert first.status_code == 200, first.text
        again = await s.http.post(path, json=approve, headers=keyed(officer, "c-1"))
        assert again.status_code == 200 and again.json() == first.json(), again.text
        other = await s.http.post(path, json=approve, headers=keyed(officer, "c-2"))
        assert other.status_code == 409, other.text
        changed = await s.http.post(path, json={"outcome": "reject"}, headers=keyed(officer, "c-1"))
        assert changed.status_code == 422 and "different request" in changed.text
        app = task.split(".")[0]
        assert of_type(s.store, ev.TASK_COMPLETED).count(f"application-{app}") == 1

        # Two requests with one key at once (a client that gave up and retried while
        # the first was still running): Temporal runs the update id once, both get 200.
        task = await task_of_new_application()
        path = f"/tasks/{task}/complete"
        both = await asyncio.gather(
            *(s.http.post(path, json=approve, headers=keyed(officer, "c-3")) for _ in range(2))
        )
        assert [r.status_code for r in both] == [200, 200], [r.text for r in both]
        assert both[0].json() == both[1].json()
        app = task.split(".")[0]
        assert of_type(s.store, ev.TASK_COMPLETED).count(f"application-{app}") == 1


# (d) ------------------------------------------------------------------------------------


async def test_d_catalogue_commands_retried_with_one_key_write_one_event(s, domisili):
    admin = await s.token("admin@banyuwangikab.go.id", "agency_admin", "BWI")
    stream = ev.service_stream(SERVICE)

    drafts = [
        await s.http.post("/services", json=domisili, headers=keyed(admin, "d-1")) for _ in range(2)
    ]
    assert [r.status_code for r in drafts] == [201, 201], drafts[1].text
    assert drafts[0].json() == drafts[1].json()
    assert of_type(s.store, ev.SERVICE_DRAFT_SAVED) == [stream]

    publish_1 = f"/services/{SERVICE}/versions/1/publish"
    published = [await s.http.post(publish_1, headers=keyed(admin, "d-2")) for _ in range(2)]
    assert [r.status_code for r in published] == [200, 200], published[1].text
    assert published[0].json() == published[1].json()
    r = await s.http.post(publish_1, headers=keyed(admin, "d-3"))
    assert r.status_code == 409, r.text  # a new key is a new command
    assert of_type(s.store, ev.SERVICE_VERSION_PUBLISHED) == [stream]

    calendar = {"holidays": ["2026-12-25"]}
    set_twice = [
        await s.http.put("/agencies/BWI/calendar", json=calendar, headers=keyed(admin, "d-4"))
        for _ in range(2)
    ]
    assert set_twice[0].json() == set_twice[1].json(), set_twice[1].text
    assert of_type(s.store, ev.AGENCY_CALENDAR_SET) == [ev.agency_stream("BWI")]

    # A key used for one command cannot run another.
    r = await s.http.post(f"/services/{SERVICE}/archive", headers=keyed(admin, "d-2"))
    assert r.status_code == 422 and "another command" in r.text, r.text


def test_d_a_catalogue_command_whose_answer_was_lost_answers_from_its_event(settings, domisili):
    """The API stopped after the write and before recording the answer: the retry runs
    the command again, which finds the event its key named."""
    store = open_event_store(settings.eventstore, settings.eventstore_location)
    try:
        ids = [uuid.uuid4() for _ in range(3)]
        draft = catalogue.save_draft(store, domisili, "admin", "BWI", ids[0])
        assert catalogue.save_draft(store, domisili, "admin", "BWI", ids[0]) == draft
        published = catalogue.publish(store, SERVICE, 1, "admin", "BWI", ids[1])
        assert catalogue.publish(store, SERVICE, 1, "admin", "BWI", ids[1]) == published
        archived = catalogue.archive(store, SERVICE, "admin", "BWI", ids[2])
        assert catalogue.archive(store, SERVICE, "admin", "BWI", ids[2]) == archived
        assert [e.id for e in store.read_stream(ev.service_stream(SERVICE))] == ids
    finally:
        store.close()
