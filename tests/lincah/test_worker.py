"""A worker killed in the middle of an activity costs its applications seconds, not the
activity's whole timeout: a real `lincah worker` process against the real Temporal dev
server is killed with SIGKILL while an activity is running (an append, held up by the
event store's write lock; a document's issue, which heartbeats, held up reading its
signing key from a named pipe), a new one starts, and the application reaches its end
shortly after."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from temporalio import activity
from temporalio.api.enums.v1 import PendingActivityState
from temporalio.testing import ActivityEnvironment

from activities.heartbeat import heartbeating
from domain.validation import parse_definition
from workflows.application import ApplicationWorkflow
from workflows.messages import Actor, ApplicationInput, CompleteTask

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
BOUND_S = 15.0
"""The issue's requirement: a killed worker delays its applications by a few seconds
(Temporal's defaults made it 30 s and more); generous for a loaded CI machine."""


def start_worker(env: dict[str, str], log: Path) -> subprocess.Popen:
    with open(log, "ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "lincah.cli", "worker"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)


async def started_activity(handle, timeout: float = 30.0) -> str:
    """The type of the application's activity once a worker has started it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        desc = await handle.describe()
        for act in desc.raw_description.pending_activities:
            if act.state == PendingActivityState.PENDING_ACTIVITY_STATE_STARTED:
                return act.activity_type.name
        await asyncio.sleep(0.05)
    raise AssertionError("no activity was started")


def with_document(domisili: dict) -> dict:
    """The domisili service issuing its certificate after the officer's approval."""
    steps = [dict(step) for step in domisili["steps"]]
    review = next(step for step in steps if step["id"] == "verify_residence")
    review["outcomes"] = {**review["outcomes"], "approve": "issue"}
    steps.insert(
        steps.index(review) + 1,
        {
            "kind": "document",
            "id": "issue",
            "name": "Penerbitan surat",
            "template": {
                "code": "SKD",
                "title": "Surat Keterangan Domisili",
                "body": "Menerangkan bahwa {full_name} berdomisili di {address}.",
                "signatory": "Camat Banyuwangi",
            },
            "next": "notify_issued",
        },
    )
    return {**domisili, "steps": steps}


@pytest.mark.parametrize("activity", ["append_events", "issue_document"])
async def test_a_killed_worker_delays_its_application_by_seconds(
    dev_env, tmp_path, domisili, activity
):
    events = tmp_path / "events.db"
    key = tmp_path / "signing-key.pem"
    task_queue = f"tq-{uuid.uuid4()}"
    # The payload keys stay: the worker opens what this test's client encrypted.
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("LINCAH_") or k == "LINCAH_PAYLOAD_KEYS"
    }
    env.update(
        {
            "LINCAH_VAR_DIR": str(tmp_path / "var"),
            "LINCAH_EVENTSTORE": "sqlite",
            "LINCAH_EVENTSTORE_URL": str(events),
            "LINCAH_TEMPORAL__ADDRESS": dev_env.client.service_client.config.target_host,
            "LINCAH_TEMPORAL__TASK_QUEUES__APPLICATIONS": task_queue,
            "LINCAH_DOCUMENT_KEY_PATH": str(key),
            "PYTHONUNBUFFERED": "1",
        }
    )
    log = tmp_path / "worker.log"
    service = domisili if activity == "append_events" else with_document(domisili)
    definition, problems = parse_definition(service)
    assert problems == [] and definition is not None
    app_id = f"BWI-2026-{uuid.uuid4().int % 10**6:06d}"
    client = dev_env.client
    first = start_worker(env, log)
    second = None
    try:
        handle = await client.start_workflow(
            ApplicationWorkflow.run,
            ApplicationInput(
                application_id=app_id,
                definition=definition,
                data={"full_name": "Siti"},
                citizen="siti",
            ),
            id=app_id,
            task_queue=task_queue,
        )
        await handle.execute_update(ApplicationWorkflow.submission)

        if activity == "append_events":
            # Hold the event store's write lock, so the next append stays in flight.
            holder = sqlite3.connect(events, isolation_level=None)
            holder.execute("BEGIN IMMEDIATE")
        else:
            os.mkfifo(key)  # reading the key waits for a writer that never comes
        officer = Actor(subject="budi", role="officer", agency="BWI")
        completing = asyncio.create_task(
            handle.execute_update(
                ApplicationWorkflow.complete_task,
                CompleteTask(
                    task_id=f"{app_id}.verify_residence.1", outcome="approve", actor=officer
                ),
            )
        )
        assert await started_activity(handle) == activity
        os.kill(first.pid, signal.SIGKILL)
        first.wait(10)
        if activity == "append_events":
            holder.execute("ROLLBACK")
            holder.close()
        else:
            key.unlink()  # the next worker generates a key

        began = time.monotonic()
        second = start_worker(env, log)
        result = await asyncio.wait_for(handle.result(), timeout=60)
        took = time.monotonic() - began
        print(f"the application ended {took:.1f} s after the new worker started")
        assert result == "approved"
        assert (await completing).status == "approved"
        assert took < BOUND_S, f"the application ended {took:.1f} s after the new worker started"
    finally:
        stop(first)
        if second is not None:
            stop(second)


def test_heartbeating_beats_from_a_thread_while_the_body_runs():
    env = ActivityEnvironment()
    beats: list[float] = []
    env.on_heartbeat = lambda *_: beats.append(time.monotonic())

    @activity.defn
    def slow() -> str:
        with heartbeating(every=0.05):
            time.sleep(0.6)  # one long step, no heartbeat of its own
        return "done"

    assert env.run(slow) == "done"
    assert len(beats) >= 5, beats
    count = len(beats)
    time.sleep(0.2)
    assert len(beats) == count  # none after the body ended
    with heartbeating():  # outside an activity: nothing to do, no error
        pass
