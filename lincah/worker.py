"""The application worker: the interpreter and complaint workflows and the event activities."""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Final

from temporalio.client import Client
from temporalio.worker import Worker

from activities.catalogue import CatalogueActivities
from activities.documents import DocumentActivities
from activities.events import EventActivities
from config import telemetry
from config.metrics import ActivityFailures
from config.settings import Settings
from config.temporal import connect
from eventstore.factory import open_store
from eventstore.port import EventStore
from lincah import health
from workflows.application import ApplicationWorkflow
from workflows.complaint import ComplaintWorkflow

log = logging.getLogger(__name__)

WORKFLOWS = [ApplicationWorkflow, ComplaintWorkflow]

STICKY_TIMEOUT: Final = timedelta(seconds=3)
"""How long a workflow task waits on this worker's own (sticky) queue before any worker
may take it. Temporal's 10 s default is what an application would stall for after this
worker was killed; a fallback only costs a replay of the history on the other worker."""


def build_worker(
    client: Client,
    store: EventStore,
    task_queue: str,
    executor: ThreadPoolExecutor,
    settings: Settings | None = None,
) -> Worker:
    settings = settings or Settings()
    acts = EventActivities(store, settings.test_activity_delay_s)
    catalogue = CatalogueActivities(store)
    documents = DocumentActivities(store, settings)
    return Worker(
        client,
        task_queue=task_queue,
        workflows=WORKFLOWS,
        activities=[
            acts.append_events,
            acts.notify_citizen,
            catalogue.published_definition,
            documents.issue_document,
        ],
        activity_executor=executor,
        # On SIGTERM the worker stops polling and its activities in flight get this long
        # to finish before they are cancelled and left to Temporal's retry.
        graceful_shutdown_timeout=timedelta(seconds=settings.worker_shutdown_grace_s),
        interceptors=[ActivityFailures()],
        sticky_queue_schedule_to_start_timeout=STICKY_TIMEOUT,
    )


async def run_worker(settings: Settings, stop: asyncio.Event) -> None:
    telemetry.install_tracing(settings, "worker")
    store = open_store(settings)
    client = await connect(settings)
    checks = health.all_of(
        health.temporal_check(client, asyncio.get_running_loop()), health.store_check(store)
    )
    port = health.serve(settings, "worker", checks)
    with ThreadPoolExecutor(max_workers=16) as executor:
        worker = build_worker(
            client, store, settings.temporal.task_queues.applications, executor, settings
        )
        log.info("worker polling %s", settings.temporal.task_queues.applications)
        async with worker:
            await stop.wait()
            if port is not None:
                port.stopping = True
            log.info(
                "stopping: no new tasks; activities in flight get %g s to finish",
                settings.worker_shutdown_grace_s,
            )
    log.info("worker stopped")
    store.close()
    telemetry.stop_tracing()
    if port is not None:
        port.close()
