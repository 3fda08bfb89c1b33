"""Shared kit of the step-kind workflow tests (test_steps_*.py, test_incidents.py).

Each test gets a ``Kit`` (fixture ``kit`` in this folder's conftest): a real SQLite
event store in tmp_path, settings whose var/ is in tmp_path, and a worker of its own on
a uuid task queue of the session's time-skipping test server. Definitions are written
as raw JSON, as a designer saves them, and parsed with the validator so a test never
runs a definition the API would refuse.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import (
    Client,
    WorkflowExecutionStatus,
    WorkflowHandle,
    WorkflowUpdateFailedError,
)
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import UnsandboxedWorkflowRunner, Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

from activities.catalogue import CatalogueActivities
from activities.documents import DocumentActivities
from activities.events import EventActivities
from commands import catalogue
from config.settings import Settings
from domain import events as ev
from domain.calendar import WorkingCalendar
from domain.definition import ServiceDefinition
from domain.validation import parse_definition
from eventstore.port import RecordedEvent
from eventstore.sqlite import SqliteEventStore
from lincah.worker import WORKFLOWS, build_worker
from workflows.application import ApplicationWorkflow
from workflows.messages import (
    Actor,
    ApplicationInput,
    CommandResult,
    CompleteTask,
    LiveState,
)

AGENCY = {"code": "BWI", "name": "Kabupaten Banyuwangi"}
CITIZEN = Actor(subject="siti", role="citizen")
OTHER_CITIZEN = Actor(subject="andi", role="citizen")
OFFICER = Actor(subject="budi", role="officer", agency="BWI")
SUPERVISOR = Actor(subject="kadis", role="supervisor", agency="BWI")
ADMIN = Actor(subject="admin", role="agency_admin", agency="BWI")
OTHER_ADMIN = Actor(subject="admin-jmb", role="agency_admin", agency="JMB")
PROVIDER = Actor(subject="bank-jatim", role="payment_provider")
INTEGRATION = Actor(subject="simbg", role="integration", agency="BWI")

NIK = "3510154808900003"
BAD_NIK = "3510154808900"  # 13 digits
FIELDS: list[dict[str, Any]] = [
    {"id": "nik", "label": "NIK", "type": "nik"},
    {"id": "full_name", "label": "Nama lengkap", "type": "text"},
]
DATA: dict[str, Any] = {"nik": NIK, "full_name": "Siti Aminah"}

APPROVED = {"kind": "end", "id": "approved", "name": "Disetujui", "result": "approved"}
REJECTED = {"kind": "end", "id": "rejected", "name": "Ditolak", "result": "rejected"}
CANCELLED = {"kind": "end", "id": "cancelled_end", "name": "Dibatalkan", "result": "cancelled"}


def review(
    step_id: str, outcomes: Mapping[str, str], role: str = "officer", **extra: Any
) -> dict[str, Any]:
    return {
        "kind": "review",
        "id": step_id,
        "name": step_id.replace("_", " ").title(),
        "role": role,
        "outcomes": dict(outcomes),
        **extra,
    }


def service(
    service_id: str,
    steps: Sequence[Mapping[str, Any]],
    *,
    fields: Sequence[Mapping[str, Any]] = FIELDS,
    **extra: Any,
) -> dict[str, Any]:
    """A raw definition of agency BWI, as the designer saves it."""
    return {
        "id": service_id,
        "name": service_id.replace("-", " ").title(),
        "agency": AGENCY,
        "fields": [dict(f) for f in fields],
        "steps": [dict(s) for s in steps],
        **extra,
    }


# A service run as a sub-service (child), and one that runs it (parent).
CHILD = service(
    "izin-lingkungan",
    [review("env_review", {"approve": "approved", "reject": "rejected"}), APPROVED, REJECTED],
    fields=[*FIELDS, {"id": "business", "label": "Usaha", "type": "text"}],
)
PARENT = service(
    "izin-usaha-terpadu",
    [
        {
            "kind": "subservice",
            "id": "env",
            "name": "Izin lingkungan",
            "service": "izin-lingkungan",
            "inputs": {"nik": "nik", "full_name": "full_name", "business": "business_name"},
            "next": "decide",
        },
        {
            "kind": "decision",
            "id": "decide",
            "name": "Izin lingkungan terbit?",
            "branches": [{"when": "env == 'approved'", "goto": "head"}],
            "default": "rejected",
        },
        review("head", {"approve": "approved", "reject": "rejected"}, role="supervisor"),
        APPROVED,
        REJECTED,
    ],
    fields=[*FIELDS, {"id": "business_name", "label": "Nama usaha", "type": "text"}],
)
PARENT_DATA = {**DATA, "business_name": "Warung Kopi Osing"}


def parse(raw: Mapping[str, Any]) -> ServiceDefinition:
    definition, problems = parse_definition(raw)
    assert problems == [] and definition is not None, problems
    return definition


PUBLISHABLE_STANDARD: dict[str, Any] = {
    "delivery": {
        "requirements": ["KTP"],
        "time_limit": "Sesuai alur layanan",
        "product": "Surat keterangan",
    },
    "complaint_channel": "Loket pengaduan MPP",
}
"""What publication needs of the Standar Pelayanan beyond the flow (domain/standard.py),
for flows that test steps and say nothing of their standard."""


def publish(store: SqliteEventStore, raw: Mapping[str, Any]) -> ServiceDefinition:
    """Publish a service the way the API does (ServiceDraftSaved, ServiceVersionPublished
    on ``service-<id>``)."""
    raw = {"standard": PUBLISHABLE_STANDARD, **raw}
    agency = raw["agency"]["code"]
    draft = catalogue.save_draft(store, raw, "admin", agency)
    catalogue.publish(store, draft.service_id, draft.version, "admin", agency)
    return catalogue.published_definition(store, draft.service_id)


def new_app_id() -> str:
    return f"BWI-2026-{uuid.uuid4().int % 10**6:06d}"


async def complete(
    handle: WorkflowHandle,
    step: str,
    outcome: str,
    actor: Actor = OFFICER,
    *,
    visit: int = 1,
    comment: str = "",
    fields: Sequence[str] = (),
) -> CommandResult:
    return await handle.execute_update(
        ApplicationWorkflow.complete_task,
        CompleteTask(
            task_id=f"{handle.id}.{step}.{visit}",
            outcome=outcome,
            actor=actor,
            comment=comment,
            fields=list(fields),
        ),
    )


async def refused(command: Awaitable[Any]) -> ApplicationError:
    """The ApplicationError an update was refused with."""
    with pytest.raises(WorkflowUpdateFailedError) as info:
        await command
    cause = info.value.cause
    assert isinstance(cause, ApplicationError), cause
    return cause


async def state(handle: WorkflowHandle) -> LiveState:
    return await handle.query(ApplicationWorkflow.state)


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 15.0) -> None:
    """Poll (in real time) until ``check`` holds: for what happens after a command has
    answered, e.g. a parent application reacting to its child's end."""
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.05)


class Kit:
    def __init__(self, env: WorkflowEnvironment, tmp_path: Path) -> None:
        self.env = env
        self.client: Client = env.client
        self.store = SqliteEventStore(tmp_path / "events.db")
        self.settings = Settings(var_dir=tmp_path / "var", jwt_secret="x" * 40)
        self.task_queue = f"tq-{uuid.uuid4()}"
        self.face_queue = f"face-{uuid.uuid4()}"
        self.executor = ThreadPoolExecutor(4)
        self.handles: list[WorkflowHandle] = []

    # Workers -------------------------------------------------------------------
    def worker(
        self,
        overrides: Sequence[Callable[..., Any]] = (),
        *,
        unsandboxed: bool = False,
        sticky: bool = True,
    ) -> Worker:
        """The application worker; ``overrides`` replace the real activities of the
        same names (``@activity.defn(name=...)`` fakes). ``unsandboxed``: the workflow
        sees monkeypatched module constants (the sandbox re-imports its modules).
        ``sticky=False``: no workflow cache, hence no sticky queue, for a worker that
        another replaces (the test server would wait for the gone worker's queue)."""
        if not overrides and not unsandboxed and sticky:
            return build_worker(
                self.client, self.store, self.task_queue, self.executor, self.settings
            )
        acts = EventActivities(self.store)
        catalogue = CatalogueActivities(self.store)
        documents = DocumentActivities(self.store, self.settings)
        by_name: dict[str, Callable[..., Any]] = {
            "append_events": acts.append_events,
            "notify_citizen": acts.notify_citizen,
            "published_definition": catalogue.published_definition,
            "issue_document": documents.issue_document,
        }
        for fake in overrides:
            name = getattr(fake, "__temporal_activity_definition").name
            assert name in by_name, name
            by_name[name] = fake
        return Worker(
            self.client,
            task_queue=self.task_queue,
            workflows=WORKFLOWS,
            activities=list(by_name.values()),
            activity_executor=self.executor,
            workflow_runner=UnsandboxedWorkflowRunner()
            if unsandboxed
            else SandboxedWorkflowRunner(),
            max_cached_workflows=1000 if sticky else 0,
        )

    def face_worker(self, verify_face: Callable[..., Any]) -> Worker:
        return Worker(self.client, task_queue=self.face_queue, activities=[verify_face])

    # Applications -------------------------------------------------------------------
    async def start(
        self,
        definition: ServiceDefinition,
        data: Mapping[str, Any] | None = None,
        *,
        calendar: WorkingCalendar | None = None,
        selfie_ref: str | None = None,
    ) -> WorkflowHandle:
        app_id = new_app_id()
        handle = await self.client.start_workflow(
            ApplicationWorkflow.run,
            ApplicationInput(
                application_id=app_id,
                definition=definition,
                data=dict(DATA if data is None else data),
                citizen=CITIZEN.subject,
                calendar=calendar or WorkingCalendar(),
                selfie_ref=selfie_ref,
                face_task_queue=self.face_queue,
            ),
            id=app_id,
            task_queue=self.task_queue,
        )
        self.handles.append(handle)
        return handle

    async def submit(
        self, definition: ServiceDefinition, data: Mapping[str, Any] | None = None, **kw: Any
    ) -> tuple[WorkflowHandle, CommandResult]:
        """Start an application and wait for its first rest, as the API does."""
        handle = await self.start(definition, data, **kw)
        return handle, await handle.execute_update(ApplicationWorkflow.submission)

    def child(self, parent: WorkflowHandle, step: str) -> WorkflowHandle:
        """The handle of a sub-service's child application. The test server does not
        apply the parent-close policy, so the kit terminates children itself."""
        handle = self.client.get_workflow_handle(f"{parent.id}-{step}")
        self.handles.insert(0, handle)
        return handle

    # The stream ------------------------------------------------------------------
    def events(self, app_id: str) -> list[RecordedEvent]:
        return self.store.read_stream(ev.application_stream(app_id))

    def types(self, app_id: str) -> list[str]:
        return [e.type for e in self.events(app_id)]

    def data(self, app_id: str, event_type: str) -> list[dict[str, Any]]:
        return [e.data for e in self.events(app_id) if e.type == event_type]

    def one(self, app_id: str, event_type: str) -> dict[str, Any]:
        found = self.data(app_id, event_type)
        assert len(found) == 1, (event_type, found)
        return found[0]

    def last_position(self, app_id: str) -> int:
        return self.events(app_id)[-1].position

    async def close_running(self) -> None:
        """Terminate what a test left running, so no timer of it fires while later
        tests skip time, and no pending activity locks the test server's clock."""
        running = []
        for handle in self.handles:
            try:
                if (await handle.describe()).status == WorkflowExecutionStatus.RUNNING:
                    running.append(handle)
            except Exception:  # best effort clean-up (e.g. a child never started)
                pass
        if running:
            # The Java test server keeps its clock locked for an activity that was in
            # flight when its workflow was terminated: let in-flight appends finish.
            await asyncio.sleep(0.3)
        for handle in running:
            with contextlib.suppress(Exception):  # it may have ended meanwhile
                await handle.terminate("test over")

    async def close(self) -> None:
        await self.close_running()
        self.store.close()
        self.executor.shutdown(wait=False, cancel_futures=True)


@asynccontextmanager
async def running(*workers: Worker) -> AsyncIterator[None]:
    async with AsyncExitStack() as stack:
        for w in workers:
            await stack.enter_async_context(w)
        yield
