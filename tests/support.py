"""Test support shared by several test packages: the whole stack as `lincah up` runs it
(API under uvicorn, projector, application worker), against a given Temporal server."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import threading
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from temporalio.client import Client
from temporalio.exceptions import TemporalError
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from api.main import create_app
from config.settings import Settings, TaskQueues, TemporalSettings
from documents.signing import load_signing_key
from domain import events as ev
from eventstore.factory import open_store
from eventstore.port import EventStore
from lincah.worker import build_worker
from notifications import service as notifier_service
from projections.projector import Projector
from projections.readmodels import ReadModels


class Stack:
    def __init__(self, base: str, store: EventStore, models: ReadModels, settings: Settings):
        self.base = base
        self.store = store
        self.models = models
        self.settings = settings
        self.http = httpx.AsyncClient(base_url=base, timeout=30)
        self.restarts: dict[str, Callable[[], Awaitable[None]]] = {}
        """``worker`` and ``notifier``: stop that part as `lincah up` does and start a
        fresh one (what was running is shut down first, as on a restart)."""

    async def restart(self, part: str) -> None:
        await self.restarts[part]()

    async def token(self, subject: str, role: str, agency: str | None = None) -> dict[str, str]:
        r = await self.http.post(
            "/auth/dev-token", json={"subject": subject, "role": role, "agency": agency}
        )
        assert r.status_code == 200, r.text
        return {"Authorization": f"Bearer {r.json()['access_token']}"}

    async def until(
        self, path: str, headers: dict[str, str], check: Any, timeout_s: float = 30.0
    ) -> Any:
        """Poll a read endpoint until ``check(body)`` holds (for what happens on a timer,
        such as an escalation); fails with the last body after ``timeout_s``."""
        body: Any = None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while loop.time() < deadline:
            body = (await self.http.get(path, headers=headers)).json()
            if check(body):
                return body
            await asyncio.sleep(0.1)
        raise AssertionError(f"{path} never satisfied the check; last body: {body}")


@asynccontextmanager
async def run_stack(
    env: WorkflowEnvironment,
    settings: Settings,
    store: EventStore | None = None,
    *,
    projector: bool = True,
    notifier: bool = True,
    task_queues: TaskQueues | None = None,
    client: Client | None = None,
) -> AsyncIterator[Stack]:
    """``projector=False`` leaves the read models where they are, as when the projector
    process is down or far behind; ``notifier=False`` leaves the notification outbox so
    (``notifications.service``: its subscriber and dispatcher). ``task_queues``: the
    queues to serve (default: fresh ones), the same again for a stack that continues
    the workflows of an earlier one (a restored Temporal database). ``client``: the
    worker's Temporal client instead of the environment's (one with interceptors)."""
    settings = settings.model_copy(
        update={
            "temporal": TemporalSettings(
                address=env.client.service_client.config.target_host,
                task_queues=task_queues
                or TaskQueues(applications=f"tq-{uuid.uuid4()}", face=f"face-{uuid.uuid4()}"),
            )
        }
    )
    own_store = store is None
    store = store or open_store(settings)
    models = ReadModels(settings.readmodel_location)
    stop = threading.Event()
    projecting = threading.Thread(target=Projector(store, models).run_forever, args=(stop,))
    if projector:
        projecting.start()
    notifier_stop = [threading.Event()]
    notifying = [threading.Thread(target=notifier_service.run, args=(store, settings, stop))]

    def start_notifier() -> None:
        notifier_stop[0] = threading.Event()
        notifying[0] = threading.Thread(
            target=notifier_service.run, args=(store, settings, notifier_stop[0])
        )
        notifying[0].start()

    def stop_notifier() -> None:
        notifier_stop[0].set()
        notifying[0].join(10)

    if notifier:
        start_notifier()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings), host="127.0.0.1", port=settings.api_port, log_level="warning"
        )
    )
    api = threading.Thread(target=server.run)
    api.start()
    while not server.started:
        await asyncio.sleep(0.02)
    executor = ThreadPoolExecutor(8)
    workers: list[tuple[Worker, asyncio.Task[None]]] = []

    def start_worker() -> None:
        worker = build_worker(
            client or env.client,
            store,
            settings.temporal.task_queues.applications,
            executor,
            settings,
        )
        workers.append((worker, asyncio.create_task(worker.run())))

    async def stop_worker() -> None:
        worker, running = workers.pop()
        await worker.shutdown()
        await running

    async def restart_worker() -> None:
        await stop_worker()
        start_worker()

    async def restart_notifier() -> None:
        await asyncio.to_thread(stop_notifier)
        start_notifier()

    s = Stack(f"http://127.0.0.1:{settings.api_port}", store, models, settings)
    s.restarts = {"worker": restart_worker, "notifier": restart_notifier}
    start_worker()
    try:
        yield s
    finally:
        await stop_worker()
        await end_applications(env.client, store)
        await s.http.aclose()
        server.should_exit = True
        api.join(10)
        stop.set()
        if projector:
            projecting.join(10)
        if notifier:
            stop_notifier()
        executor.shutdown()
        if own_store:
            store.close()


async def end_applications(client: Client, store: EventStore) -> None:
    """Terminate every application this store numbered that is still running. The dev
    server outlives each test, and the next test's fresh store hands out the same
    numbers (BWI-2026-000001) again. The numbers come from the store's reservations, so
    an application that no worker has recorded yet (or whose start is still invisible
    to Temporal's list API) is ended too; its sub-services end with it."""
    for e in store.read_all(limit=1_000_000):
        if e.type != ev.APPLICATION_NUMBER_RESERVED:
            continue
        handle = client.get_workflow_handle(e.data["application_id"])
        with contextlib.suppress(RPCError, TemporalError):
            await handle.terminate("test over")


HISTORIES = Path(__file__).resolve().parent / "histories"


async def record_histories(client: Client, named: dict[str, str]) -> None:
    """With LINCAH_RECORD_HISTORIES=1, keep the histories of these workflows (name ->
    workflow id) under tests/histories/ for the Replayer test. Old files stay: running
    applications need them to keep replaying."""
    if not os.environ.get("LINCAH_RECORD_HISTORIES"):
        return
    HISTORIES.mkdir(exist_ok=True)
    for name, workflow_id in named.items():
        history = await client.get_workflow_handle(workflow_id).fetch_history()
        (HISTORIES / f"{name}.json").write_text(json.dumps(json.loads(history.to_json()), indent=1))


def production_settings(tmp: Path, **more: Any) -> Settings:
    """Settings production accepts: every secret strong and set, the document-signing key
    made beforehand (production never generates one), mail through an SMTP server;
    ``more`` adds or replaces settings."""
    key = tmp / "keys" / "document-signing-key.pem"
    load_signing_key(key)

    def strong() -> str:
        return secrets.token_urlsafe(48)

    fields: dict[str, Any] = {
        "environment": "production",
        "var_dir": tmp / "var",
        "jwt_secret": strong(),
        "payment_webhook_secret": strong(),
        "face_key": strong(),
        "lookup_key": strong(),
        "profile_key": strong(),
        "upload_key": strong(),
        "ticket_key": strong(),
        "data_master_key": strong(),
        "document_key_path": key,
        "smtp_host": "127.0.0.1",
    }
    return Settings(**(fields | more))
