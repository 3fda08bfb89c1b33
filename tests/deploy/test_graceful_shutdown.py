"""SIGTERM to a worker lets the activity it is running finish, once, instead of having
it cancelled and retried (README "Production deployment"). A real `lincah worker`
process against the real Temporal dev server, its append slowed by the tests-only
``test_activity_delay_s``; its health port answers /ready first."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import pytest
from temporalio.api.enums.v1 import EventType, PendingActivityState

from domain.complaints import Subject
from eventstore.factory import open_event_store
from tests.conftest import free_port
from workflows.complaint import ComplaintWorkflow
from workflows.complaint_messages import ComplaintInput

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]

ROOT = Path(__file__).resolve().parents[2]
DELAY_S = 4


async def _until(what: str, check, timeout_s: float = 60.0):
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while loop.time() < deadline:
        if found := await check():
            return found
        await asyncio.sleep(0.1)
    raise AssertionError(f"{what} did not happen within {timeout_s:g} s")


async def test_sigterm_lets_the_running_activity_finish_once(dev_env, settings, tmp_path):
    queue = f"tq-{uuid.uuid4()}"
    health, sdk_metrics = free_port(), free_port()
    env = {
        **os.environ,
        "LINCAH_CONFIG": str(tmp_path / "none.yaml"),
        "LINCAH_VAR_DIR": str(settings.var_dir),
        "LINCAH_JWT_SECRET": settings.jwt_secret,
        "LINCAH_TEMPORAL_METRICS_PORT": str(sdk_metrics),
        "LINCAH_TEMPORAL__ADDRESS": dev_env.client.service_client.config.target_host,
        "LINCAH_TEMPORAL__TASK_QUEUES__APPLICATIONS": queue,
        "LINCAH_TEST_ACTIVITY_DELAY_S": str(DELAY_S),
        "LINCAH_WORKER_SHUTDOWN_GRACE_S": "60",
        "LINCAH_HEALTH_PORT": str(health),
    }
    log = open(tmp_path / "worker.log", "wb")  # noqa: SIM115
    worker = subprocess.Popen(
        [sys.executable, "-m", "lincah.cli", "worker"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    handle = None
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{health}") as probe:

            async def ready() -> bool:
                try:
                    return (await probe.get("/ready")).status_code == 200
                except httpx.TransportError:
                    return False

            await _until("the worker's /ready answering 200", ready)
            assert (await probe.get("/health")).status_code == 200
            assert "lincah_activity_failures_total" in (await probe.get("/metrics")).text

        complaint = f"lpr-{uuid.uuid4().hex}"
        handle = await dev_env.client.start_workflow(
            ComplaintWorkflow.run,
            ComplaintInput(
                complaint_id=complaint,
                agency="BWI",
                subject=Subject(kind="service", ref="domisili"),
                text="Antrean terlalu lama",
            ),
            id=f"complaint-{complaint}",
            task_queue=queue,
        )

        async def append_running() -> bool:
            pending = (await handle.describe()).raw_description.pending_activities
            return any(
                a.activity_type.name == "append_events"
                and a.state == PendingActivityState.PENDING_ACTIVITY_STATE_STARTED
                for a in pending
            )

        await _until("the first append running on the worker", append_running)
        async with httpx.AsyncClient() as http:  # the Temporal SDK's own metrics
            sdk = (await http.get(f"http://127.0.0.1:{sdk_metrics}/metrics")).text
        assert "temporal_workflow_task_schedule_to_start_latency" in sdk, sdk[:2000]
        worker.send_signal(signal.SIGTERM)
        code = await asyncio.to_thread(worker.wait, 90)
        assert code == 0, (tmp_path / "worker.log").read_text()

        history = [e async for e in handle.fetch_history_events()]
        kinds = [e.event_type for e in history]
        assert EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED in kinds
        assert EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED not in kinds
        assert EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT not in kinds
        started = [
            e.activity_task_started_event_attributes
            for e in history
            if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED
        ]
        assert [s.attempt for s in started] == [1]  # finished by its first attempt
        store = open_event_store(settings.eventstore, settings.eventstore_location)
        try:
            assert [e.type for e in store.read_stream(f"complaint-{complaint}")] == [
                "ComplaintFiled"
            ]
        finally:
            store.close()
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
        log.close()
        if handle is not None:
            await handle.terminate("test over")


@pytest.mark.parametrize(
    ("command", "metric"),
    [(["projections", "run"], "lincah_projection_lag_seconds"), (["notifier"], "# HELP")],
)
async def test_the_projector_and_the_notifier_answer_on_their_port_and_stop_on_sigterm(
    command, metric, settings, tmp_path
):
    health = free_port()
    env = {
        **os.environ,
        "LINCAH_CONFIG": str(tmp_path / "none.yaml"),
        "LINCAH_VAR_DIR": str(settings.var_dir),
        "LINCAH_HEALTH_PORT": str(health),
    }
    part = subprocess.Popen(
        [sys.executable, "-m", "lincah.cli", *command],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{health}") as probe:

            async def ready() -> bool:
                try:
                    return (await probe.get("/ready")).status_code == 200
                except httpx.TransportError:
                    return False

            await _until(f"{command}'s /ready answering 200", ready)
            assert metric in (await probe.get("/metrics")).text
        part.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(part.wait, 30) == 0
    finally:
        if part.poll() is None:
            part.kill()
            part.wait()
