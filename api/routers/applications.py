from __future__ import annotations

import asyncio
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, Response, status
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from temporalio.client import Client, WithStartWorkflowOperation, WorkflowUpdateFailedError
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from api import errors, idempotency, temporal_errors
from api.access import AccessLogged
from api.deps import (
    MAX_POSITION,
    AgencyScope,
    Citizen,
    Consistent,
    CurrentUser,
    ModelsDep,
    RuntimeDep,
    agency_scope,
    may_see,
)
from api.idempotency import IdempotencyKey, Key
from api.runtime import Runtime
from commands import catalogue, numbering, wallet
from commands.agencies import calendar_of
from commands.profile import submission_provenance
from domain.attachments import attach
from domain.channels import Channel
from domain.refusals import Conflict, Invalid
from domain.state import ApplicationState
from domain.validation import Problem, application_warnings, validate_application_data
from face.store import FaceStore
from projections.form_data import read_form_data
from workflows.application import ApplicationWorkflow
from workflows.messages import ApplicationInput, CommandResult

router = APIRouter(tags=["applications"])

KEY_MEMO = "idempotency_key"
"""Memo of an application's workflow: the digest of the Idempotency-Key it was
submitted with, so a request with that key can tell its workflow from another's."""


class NewApplication(BaseModel):
    service_id: str = Field(min_length=1, max_length=64, examples=["surat-keterangan-domisili"])
    data: dict[str, Any] = Field(default_factory=dict)
    selfie_ref: str | None = Field(
        default=None,
        max_length=200,
        description="From POST /me/selfies, for services with a face check",
    )
    second_selfie_ref: str | None = Field(
        default=None,
        max_length=200,
        description="The optional head-turn check: a second selfie (POST /me/selfies) taken "
        "after turning the head to the side given in turn",
    )
    turn: Literal["left", "right"] | None = Field(
        default=None, description="The head turn asked for, as seen in the photo"
    )
    attachments: dict[
        Annotated[str, Field(max_length=63)], Annotated[str, Field(max_length=64)]
    ] = Field(
        default_factory=dict,
        max_length=50,
        description="Requirement documents from your wallet (POST /me/documents): the "
        "upload requirement's id (a file field of the form) -> the document_id",
        examples=[{"ktp": "doc-0c1f9e2a4b7d4e3f8a6b5c4d3e2f1a0b"}],
    )


class Submitted(BaseModel):
    application_id: str
    status: str
    position: int | None
    """Pass as ``min_position`` to a read to see this submission; null when the worker
    has not confirmed yet (answered 202)."""
    detail: str | None = None
    """With 202: what happened and where to look."""


@router.post(
    "/applications",
    status_code=status.HTTP_201_CREATED,
    response_model=Submitted,
    responses={
        202: {
            "model": Submitted,
            "description": "Started, but the worker has not confirmed yet (position null)",
        },
        **errors.answers(
            404,
            409,
            503,
            _404="There is no such service",
            _409="The service is not published or archived",
        ),
    },
)
async def submit(
    body: NewApplication,
    user: Citizen,
    rt: RuntimeDep,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> Submitted:
    """Apply for a service: the data is checked against the latest published version,
    which the application keeps to its end. Send an Idempotency-Key: a retry with it
    answers the same application and never creates a second one. In a kiosk session
    (POST /auth/kiosk) the application is recorded as filed at the kiosk."""
    return await file_application(
        rt,
        response,
        citizen=user.subject,
        service_id=body.service_id,
        data=body.data,
        attachments=body.attachments,
        selfie_ref=body.selfie_ref,
        second_selfie_ref=body.second_selfie_ref,
        turn=body.turn,
        key=Key.of(idempotency_key, user.subject, "submit", body),
        channel="kiosk" if user.channel == "kiosk" else "online",
    )


async def file_application(
    rt: Runtime,
    response: Response,
    *,
    citizen: str,
    service_id: str,
    data: dict[str, Any],
    selfie_ref: str | None,
    key: Key | None,
    channel: Channel,
    filed_by: str | None = None,
    location: str | None = None,
    attachments: dict[str, str] | None = None,
    second_selfie_ref: str | None = None,
    turn: str | None = None,
) -> Submitted:
    """Start an application of ``citizen`` on any channel: its citizen's own
    (``POST /applications``) or filed by staff (``POST /counter/applications``).
    Answers 201 once the worker has recorded it, 202 when Temporal holds it but the
    worker has not confirmed yet, 503 when nothing or maybe something was recorded;
    a retry with the same ``key`` answers the first result."""
    store, settings = rt.store, rt.settings
    before = await run_in_threadpool(idempotency.earlier, store, key) if key else None
    if before is not None and before.answer is not None:
        return Submitted.model_validate(before.answer)
    definition = await run_in_threadpool(catalogue.published_definition, store, service_id)
    # Requirement documents come from the citizen's wallet; each attached document's id
    # goes into the form data under its requirement, checked with the rest of the data.
    attached = attach(
        definition, data, attachments or {}, await run_in_threadpool(wallet.load, store, citizen)
    )
    if attached.problems:
        raise Invalid("the application data has problems", attached.problems)
    data = attached.data
    problems = validate_application_data(definition, data)
    if problems:
        raise Invalid("the application data has problems", problems)
    for ref in filter(None, (selfie_ref, second_selfie_ref)):
        if not await run_in_threadpool(FaceStore.from_settings(settings).has_photo, ref, citizen):
            raise Invalid(
                "the selfie_ref is unknown, expired or not yours; upload the selfie again "
                "(POST /me/selfies)",
            )
    # Which prefilled values keep the profile's verification, and which change it.
    provenance = await run_in_threadpool(
        submission_provenance, store, settings, citizen, definition, data
    )

    client = await rt.temporal()  # before the number: unreachable records nothing

    def reserve() -> str:
        return numbering.reserve_number(
            store, definition.agency.code, definition.id, key_digest=key.digest if key else None
        )

    if key is None:
        number, retry = await run_in_threadpool(reserve), False
    else:
        number, retry = await run_in_threadpool(
            idempotency.submission_number, store, key, before, reserve
        )
    # Before the application starts: from now on the files outlive their removal.
    await run_in_threadpool(wallet.record_attachments, store, citizen, number, attached.refs)
    calendar = await run_in_threadpool(calendar_of, store, definition.agency.code)
    wait_s = settings.command_wait_s

    async def attempt(retry: bool) -> CommandResult:
        start = WithStartWorkflowOperation(
            ApplicationWorkflow.run,
            ApplicationInput(
                application_id=number,
                definition=definition,
                data=data,
                citizen=citizen,
                calendar=calendar,
                selfie_ref=selfie_ref,
                second_selfie_ref=second_selfie_ref,
                turn=turn,
                face_task_queue=settings.temporal.task_queues.face,
                provenance=provenance,
                channel=channel,
                filed_by=filed_by,
                location=location,
                attachments=attached.refs,
            ),
            id=number,
            task_queue=settings.temporal.task_queues.applications,
            # A retry with the same key joins the workflow its first request started
            # (its update id makes Temporal answer the first request's result), and
            # never starts a closed one again. A new number joins nothing.
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING
            if retry
            else WorkflowIDConflictPolicy.FAIL,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE
            if retry
            else WorkflowIDReusePolicy.ALLOW_DUPLICATE,
            memo={KEY_MEMO: key.digest} if key else None,
        )
        result: CommandResult = await asyncio.wait_for(
            client.execute_update_with_start_workflow(
                ApplicationWorkflow.submission,
                start_workflow_operation=start,
                id=key.update_id if key else None,
            ),
            timeout=wait_s,
        )
        return result

    try:
        try:
            result = await attempt(retry)
        except WorkflowAlreadyStartedError:
            # A request with the same key, racing this one, started it first: join it.
            if retry or key is None or not await _started_for(client, number, key):
                raise
            retry = True
            result = await attempt(retry)
    except WorkflowAlreadyStartedError as e:
        if not retry:
            # A new number that Temporal already knows: Temporal and the event store
            # disagree (one of them was reset).
            raise Conflict(
                f"Temporal already runs a workflow {number} that this submission did not "
                "start, so none was created for it; tell the operator: Temporal and the "
                "event store disagree (was one of them reset?)",
            ) from e
        joined = await _join(client, number, key, wait_s) if key is not None else None
        if joined is None:
            # The first request's application ran to its end before this retry came.
            response.status_code = status.HTTP_202_ACCEPTED
            return Submitted(
                application_id=number,
                status="accepted",
                position=None,
                detail=f"the application {number} was created earlier; "
                f"GET /applications/{number} shows where it is",
            )
        result = joined
    except temporal_errors.FAILURES as e:
        if await _started(client, number):
            # Started and durable in Temporal; the worker records it when it is back.
            response.status_code = status.HTTP_202_ACCEPTED
            retry_hint = "; a retry with the same Idempotency-Key answers it" if key else ""
            return Submitted(
                application_id=number,
                status="accepted",
                position=None,
                detail=f"the application {number} is created; "
                f"{temporal_errors.reason(e, wait_s)}, and it shows in "
                f"GET /applications/{number} once the worker has recorded it{retry_hint}",
            )
        raise temporal_errors.may_have_been_recorded(
            f"the application {number}",
            e,
            wait_s,
            f"GET /applications/{number}",
            key is not None,
            verb="created",
        ) from e
    answer = Submitted(application_id=number, status=result.status, position=result.position)
    if key is not None:
        await run_in_threadpool(idempotency.record, store, key, answer.model_dump(mode="json"))
    return answer


async def _join(client: Client, number: str, key: Key, wait_s: float) -> CommandResult | None:
    """The answer of the running workflow a request with ``key`` started (a request
    racing this one): the update id makes Temporal answer with the first request's
    result. None when the workflow has ended or cannot answer now."""
    try:
        result: CommandResult = await asyncio.wait_for(
            client.get_workflow_handle(number).execute_update(
                ApplicationWorkflow.submission, id=key.update_id
            ),
            timeout=wait_s,
        )
    except (*temporal_errors.FAILURES, WorkflowUpdateFailedError, RuntimeError):
        return None
    return result


async def _started_for(client: Client, number: str, key: Key) -> bool:
    """Whether the workflow ``number`` was started by a request with ``key``."""
    try:
        description = await client.get_workflow_handle(number).describe()
        memo: object = await description.memo_value(KEY_MEMO, None)
    except (*temporal_errors.FAILURES, RuntimeError):
        return False
    return memo == key.digest


async def _started(client: Client, number: str) -> bool:
    """Whether Temporal holds the application's workflow (False also when it cannot
    tell)."""
    try:
        await asyncio.wait_for(client.get_workflow_handle(number).describe(), timeout=2)
    except (*temporal_errors.FAILURES, RuntimeError):
        return False
    return True


class ApplicationView(ApplicationState):
    warnings: list[Problem] = Field(default_factory=list)
    """For staff: what to check that did not refuse the data (e.g. a NIK province code
    not in today's list). Computed from the application's own service version."""
    standard_url: str = ""
    """The public Standar Pelayanan of the version the application was made under."""


@router.get(
    "/applications/{application_id}", response_model=ApplicationView, responses=errors.answers(404)
)
async def get_application(
    application_id: str, user: CurrentUser, rt: RuntimeDep, access: AccessLogged, _: Consistent
) -> Response:
    """Status, current step and timeline. Citizens see only their own applications.
    Staff's reads are recorded in the citizen's access log, with the task they hold on
    the application or the reason they give (``X-Access-Reason``)."""
    # The busiest read, kept lean (lincah bench api): the view is one point read by key,
    # done on the event loop (as current_user's account lookup) rather than paying a
    # thread switch each for the endpoint and its serialisation, and the runtime's parts
    # are taken from it rather than resolved as dependencies one by one (FastAPI's
    # dependency solving cost more than the read). The form values and the access log
    # (event-store reads and writes) and staff's catalogue read take a thread.
    app = rt.models.application(application_id)
    if app is None or not may_see(user, agency_scope(user, rt), app.citizen, app.agency_code):
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, f"there is no application {application_id} you may see"
        )
    found = app

    def personal() -> None:
        # The read models keep no form values: they come from the event store, as of
        # the row; a staff member's read of them is logged first.
        found.data = read_form_data(rt.store, application_id, found.position)
        access.read("application", citizen=found.citizen, app=found)

    await run_in_threadpool(personal)
    view = ApplicationView.model_validate(
        {
            **app.model_dump(),
            "standard_url": f"/public/services/{app.service_id}/standard"
            f"?version={app.service_version}",
        }
    )
    service = (
        await run_in_threadpool(catalogue.load_service, rt.store, app.service_id)
        if user.is_staff
        else None
    )
    version = service.versions.get(app.service_version) if service else None
    if version is not None:
        view.warnings = application_warnings(version.definition, app.data, app.provenance)
    # Serialised here, once: returned as a model, FastAPI would validate the view again
    # against response_model before serialising it (the schema is still documented).
    return Response(view.model_dump_json(), media_type="application/json")


@router.get("/applications")
def list_applications(
    user: CurrentUser,
    scope: AgencyScope,
    models: ModelsDep,
    _: Consistent,
    status_filter: Annotated[str | None, Query(alias="status")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_POSITION)] = 0,
) -> list[dict[str, Any]]:
    """A citizen's own applications; staff and auditors see their agency's, or their
    region's agencies'."""
    if user.role == "citizen":
        return models.applications(
            citizen=user.subject, status=status_filter, limit=limit, offset=offset
        )
    if scope is None:
        return models.applications(status=status_filter, limit=limit, offset=offset)
    # Each agency's newest first, merged: enough rows of each to fill the page.
    rows = [
        row
        for agency in sorted(scope)
        for row in models.applications(
            agency_code=agency, status=status_filter, limit=limit + offset
        )
    ]
    rows.sort(key=lambda r: (r["submitted_at"], r["application_id"]), reverse=True)
    return rows[offset : offset + limit]
