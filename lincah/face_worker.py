"""The face worker (``lincah face-worker``): the face activities and the intake workflow on
the ``face`` task queue, in a process of their own so that the application worker never
imports torch. Models load once, before the worker polls."""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from temporalio.client import Client
from temporalio.worker import Worker

from activities.face import FaceActivities
from config import telemetry
from config.metrics import ActivityFailures
from config.settings import Settings
from config.temporal import connect
from face.pipeline import FacePipeline, get_pipeline
from face.store import FaceStore
from lincah import health
from workflows.face_intake import FaceIntakeWorkflow

log = logging.getLogger(__name__)

CONCURRENT_CHECKS = 8
"""Activities in flight at once; their images meet in the pipeline's batches."""
PURGE_EVERY_S = 600.0


def build_face_worker(
    client: Client,
    settings: Settings,
    executor: ThreadPoolExecutor,
    pipeline: FacePipeline | None = None,
    store: FaceStore | None = None,
    task_queue: str | None = None,
) -> Worker:
    acts = FaceActivities(
        pipeline or get_pipeline(settings),
        store or FaceStore.from_settings(settings),
        settings.face_replay_distance,
    )
    return Worker(
        client,
        task_queue=task_queue or settings.temporal.task_queues.face,
        workflows=[FaceIntakeWorkflow],
        activities=[acts.verify_face, acts.enrol_face, acts.inspect_face, acts.match_face],
        activity_executor=executor,
        max_concurrent_activities=CONCURRENT_CHECKS,
        graceful_shutdown_timeout=timedelta(seconds=settings.worker_shutdown_grace_s),
        interceptors=[ActivityFailures()],
    )


async def run_face_worker(settings: Settings, stop: asyncio.Event) -> None:
    telemetry.install_tracing(settings, "face-worker")
    pipeline = await asyncio.to_thread(get_pipeline, settings)
    store = FaceStore.from_settings(settings)
    store.purge_expired()
    client = await connect(settings)
    queue = settings.temporal.task_queues.face
    port = health.serve(
        settings, "face worker", health.temporal_check(client, asyncio.get_running_loop())
    )
    with ThreadPoolExecutor(max_workers=CONCURRENT_CHECKS) as executor:
        worker = build_face_worker(client, settings, executor, pipeline, store)
        log.info(
            "face worker polling %s (backend %s, threshold %s)",
            queue,
            pipeline.name,
            pipeline.threshold,
        )
        async with worker:
            while not stop.is_set():
                try:
                    await asyncio.wait_for(stop.wait(), PURGE_EVERY_S)
                except TimeoutError:
                    n = await asyncio.to_thread(store.purge_expired)
                    if n:
                        log.info("deleted %d expired photos", n)
            if port is not None:
                port.stopping = True
    telemetry.stop_tracing()
    if port is not None:
        port.close()
