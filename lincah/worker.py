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
from config.settings import Settings
from config.temporal import connect
from eventstore.factory import open_store
from eventstore.port import EventStore
from workflows.application import ApplicationWorkflow
from workflows.complaint import ComplaintWorkflow

log = logging.getLogger(__name__)

WORKFLOWS = [ApplicationWorkflow, ComplaintWorkflow]

SHUTDOWN_GRACE: Final = timedelta(seconds=3)
"""On SIGTERM, activities in flight get this long to finish (an append takes
milliseconds) before they are cancelled and left to Temporal's retry; `lincah up` waits
longer than this before it kills."""
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
    acts = EventActivities(store)
    catalogue = CatalogueActivities(store)
    documents = DocumentActivities(store, settings or Settings())
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
        graceful_shutdown_timeout=SHUTDOWN_GRACE,
        sticky_queue_schedule_to_start_timeout=STICKY_TIMEOUT,
    )


async def run_worker(settings: Settings, stop: asyncio.Event) -> None:
    store = open_store(settings)
    client = await connect(settings)
    with ThreadPoolExecutor(max_workers=16) as executor:
        worker = build_worker(
            client, store, settings.temporal.task_queues.applications, executor, settings
        )
        log.info("worker polling %s", settings.temporal.task_queues.applications)
        async with worker:
            await stop.wait()
    store.close()
