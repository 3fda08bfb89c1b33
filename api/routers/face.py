"""Face enrolment and selfies.

A citizen enrols their face once (``POST /me/face``): the face worker stores an
encrypted embedding, never the photo. An application to a service with a face check
carries a selfie (``POST /me/selfies`` gives its ``selfie_ref``), kept encrypted until
the check and then deleted. Uploads are checked here (size before anything is read,
content type, decoding, pixel count) and on the face worker (exactly one usable face);
a refused photo leaves nothing behind.
"""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, Form, HTTPException, Request, Response, UploadFile, status
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool
from starlette.types import Message, Receive
from temporalio import exceptions as temporal_errors
from temporalio.client import WorkflowFailureError
from temporalio.service import RPCError

from api import errors, idempotency
from api.deps import Citizen, RuntimeDep, require_role
from api.idempotency import IdempotencyKey, Key
from api.security import Principal
from api.temporal_errors import TemporalUnavailable
from commands import face as face_events
from domain import accounts as acc
from domain.face_events import Provenance
from face import imaging
from face.store import COUNTER, ENROLMENT, ENROLMENT_PHOTO_TTL_S, SELF_SERVICE, SELFIE, FaceStore
from workflows.face_intake import (
    ENROL_FACE,
    INSPECT_FACE,
    INTAKE_TIMEOUT,
    FaceIntakeWorkflow,
    IntakeOutcome,
    IntakeRequest,
)

MULTIPART_SLACK: Final = 64 * 1024
"""Bytes a multipart body may carry beyond the photo itself (boundaries, headers)."""


def _too_large(limit: int) -> str:
    return (
        f"the upload is larger than {limit / 1024 / 1024:g} MB; send a smaller photo "
        "(a phone photo of 12 megapixels or less is enough)"
    )


class UploadLimitedRoute(APIRoute):
    """Refuses an oversized upload with 413 before its body is read (by Content-Length),
    or as soon as a body without one passes the limit; and a body that is not
    multipart/form-data with 415."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def limited(request: Request) -> Response:
            if request.method != "POST":
                return await handler(request)
            max_bytes: int = request.app.state.runtime.settings.face_max_upload_bytes
            limit = max_bytes + MULTIPART_SLACK
            if not request.headers.get("content-type", "").startswith("multipart/form-data"):
                return JSONResponse(
                    {
                        "detail": "upload the photo as multipart/form-data, in a field "
                        "named 'photo' (e.g. curl -F photo=@selfie.jpg)"
                    },
                    status_code=status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
                )
            length = request.headers.get("content-length", "")
            if length.isdigit() and int(length) > limit:
                return JSONResponse(
                    {"detail": _too_large(max_bytes)},
                    status_code=status.HTTP_413_CONTENT_TOO_LARGE,
                )
            return await handler(
                Request(request.scope, _counted(request.receive, limit, max_bytes))
            )

        return limited


def _counted(receive: Receive, limit: int, max_bytes: int) -> Receive:
    seen = 0

    async def counting() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, _too_large(max_bytes))
        return message

    return counting


router = APIRouter(tags=["face"], route_class=UploadLimitedRoute)


def face_store(request: Request, rt: RuntimeDep) -> FaceStore:
    store: FaceStore | None = getattr(request.app.state, "face_store", None)
    if store is None:
        store = FaceStore.from_settings(rt.settings)
        request.app.state.face_store = store
    return store


FaceStoreDep = Annotated[FaceStore, Depends(face_store)]

REFUSALS: Final = errors.answers(
    409,
    413,
    415,
    422,
    503,
    _409="your face was enrolled at the counter; only an officer there can replace it",
    _413="the upload is larger than the limit (nothing was read or kept)",
    _415="not multipart/form-data, or not a JPEG, PNG, WEBP or HEIC photo (by its content)",
    _422="the photo is unusable; the reason says what to change",
    _503="the face service is not available; try again shortly",
)


async def _read_photo(photo: UploadFile, max_bytes: int) -> bytes:
    """The upload's bytes once they pass size, type and decoding checks."""
    declared = (photo.content_type or "").split(";")[0].strip().lower()
    if not imaging.declared_ok(declared):
        # What it is comes from its content below; a declared PDF or text is not a photo.
        raise HTTPException(
            status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
            f"the photo must be sent as an image ({imaging.ACCEPTED}); this upload is "
            f"declared as {declared}",
        )
    data = await photo.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, _too_large(max_bytes))
    if not data:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "the photo is empty")
    try:
        await run_in_threadpool(imaging.decode, data)
    except imaging.UnusableImage as e:
        code = (
            status.HTTP_415_UNSUPPORTED_MEDIA_TYPE
            if e.code == imaging.UNSUPPORTED_FORMAT
            else status.HTTP_422_UNPROCESSABLE_CONTENT
        )
        raise HTTPException(code, e.reason) from e
    return data


async def on_face_worker(rt: RuntimeDep, req: IntakeRequest) -> IntakeOutcome:
    """Run one face activity on a waiting photo, on the face worker; 503 when it cannot."""
    client = await rt.temporal()
    late = "the face service did not answer in time; try again in a few minutes"
    if req.activity == ENROL_FACE:
        late += " (it may still enrol you: GET /me/face tells)"
    try:
        return await asyncio.wait_for(
            client.execute_workflow(
                FaceIntakeWorkflow.run,
                req,
                id=f"face-intake-{uuid.uuid4()}",
                task_queue=rt.settings.temporal.task_queues.face,
                execution_timeout=INTAKE_TIMEOUT,
            ),
            timeout=INTAKE_TIMEOUT.total_seconds() + 5,
        )
    except WorkflowFailureError as e:
        if isinstance(e.cause, temporal_errors.TimeoutError):
            raise TemporalUnavailable(late) from e
        raise TemporalUnavailable(
            "the face service could not check the photo; try again in a few minutes"
        ) from e
    except (RPCError, TimeoutError) as e:
        raise TemporalUnavailable(late) from e


COUNTER_ENROLMENT_HELD: Final = "counter_enrolment_held"
"""The face worker's code for a self-service enrolment over a counter one."""


def _refused(out: IntakeOutcome) -> HTTPException:
    if out.code == COUNTER_ENROLMENT_HELD:
        return HTTPException(status.HTTP_409_CONFLICT, out.reason)
    return HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, out.reason)


def _not_at_a_kiosk(user: Principal) -> None:
    """A kiosk session was opened by the enrolled face: it may not replace or delete
    the face that vouches for it."""
    if user.channel == "kiosk":
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            "a kiosk session cannot change your face enrolment; do it signed in with your "
            "password (online)",
        )


class Enrolled(BaseModel):
    enrolled: bool
    backend: str
    replaced: bool
    """An earlier enrolment was replaced by this one."""


class FaceEnrolment(BaseModel):
    enrolled: bool
    backends: list[str]
    enrolled_at: datetime | None
    provenance: Provenance | None = None
    """How the latest enrolment was made: ``self-service`` (online) or ``counter`` (by
    an officer who checked the KTP)."""


class Selfie(BaseModel):
    selfie_ref: str
    """Pass with POST /applications for a service with a face check."""
    expires_at: datetime
    """Deleted at this time if no face check used it (and right after the check)."""


@router.post(
    "/me/face", status_code=status.HTTP_201_CREATED, response_model=Enrolled, responses=REFUSALS
)
async def enrol_face(
    photo: UploadFile,
    user: Citizen,
    rt: RuntimeDep,
    store: FaceStoreDep,
    idempotency_key: IdempotencyKey = None,
) -> Enrolled:
    """Enrol your face from a photo showing it alone, facing the camera. Only an
    encrypted face embedding is kept, never the photo; enrolling again replaces it."""
    _not_at_a_kiosk(user)
    data = await _read_photo(photo, rt.settings.face_max_upload_bytes)
    return await _enrol(rt, store, user.subject, data, None, idempotency_key)


async def _enrol(
    rt: RuntimeDep,
    store: FaceStore,
    citizen: str,
    data: bytes,
    officer: str | None,
    idempotency_key: str | None,
) -> Enrolled:
    """Enrol on the face worker and record who did it (``FaceEnrolled``)."""
    photo_sha = hashlib.sha256(data).hexdigest()
    key = Key.of(
        idempotency_key,
        officer or citizen,
        "enrol-face",
        {"photo_sha256": photo_sha, "citizen": citizen},
    )
    provenance: Provenance = COUNTER if officer else SELF_SERVICE

    async def run() -> Enrolled:
        ref, _ = await run_in_threadpool(
            store.put_photo, citizen, ENROLMENT, data, ENROLMENT_PHOTO_TTL_S
        )
        try:
            out = await on_face_worker(rt, IntakeRequest(ENROL_FACE, ref, citizen, officer=officer))
        finally:
            await run_in_threadpool(store.delete_photo, ref, citizen)
        if not out.ok:
            raise _refused(out)
        await run_in_threadpool(
            face_events.enrolled,
            rt.store,
            citizen,
            out.backend,
            provenance,
            officer or citizen,
            out.replaced,
        )
        return Enrolled(enrolled=True, backend=out.backend, replaced=out.replaced)

    return await idempotency.once(rt.store, key, run, Enrolled.model_validate)


FrontDesk = Annotated[Principal, Depends(require_role("officer", "supervisor"))]


@router.post(
    "/counter/face",
    status_code=status.HTTP_201_CREATED,
    response_model=Enrolled,
    responses={**REFUSALS, **errors.answers(404, _404="no citizen account has this NIK")},
)
async def enrol_face_at_counter(
    nik: Annotated[str, Form(pattern=r"^[0-9]{16}$", examples=["3510154808900003"])],
    photo: UploadFile,
    user: FrontDesk,
    rt: RuntimeDep,
    store: FaceStoreDep,
    idempotency_key: IdempotencyKey = None,
) -> Enrolled:
    """Enrol a citizen's face at the counter, after checking their KTP in person: the
    enrolment is recorded as ``counter`` with you as its actor. Services whose face
    step requires it accept only such an enrolment, and the citizen alone cannot
    replace it online. The citizen needs an account (a walk-in has one)."""
    data = await _read_photo(photo, rt.settings.face_max_upload_bytes)
    citizen = acc.citizen_account_id(rt.accounts.lookup("nik", nik))
    account = await run_in_threadpool(rt.accounts.account, citizen)
    if account is None or account.kind != "citizen":
        raise HTTPException(
            status.HTTP_404_NOT_FOUND,
            "no citizen account has this NIK; file their application at the counter first "
            "(POST /counter/applications records a walk-in), then enrol the face",
        )
    return await _enrol(rt, store, citizen, data, user.subject, idempotency_key)


@router.get("/me/face", response_model=FaceEnrolment)
def my_face(user: Citizen, store: FaceStoreDep) -> FaceEnrolment:
    """Whether you have enrolled a face (and with which backends)."""
    enrolments = store.enrolments(user.subject)
    return FaceEnrolment(
        enrolled=bool(enrolments),
        backends=[e.backend for e in enrolments],
        enrolled_at=datetime.fromtimestamp(enrolments[0].enrolled_at, UTC) if enrolments else None,
        provenance=enrolments[0].provenance if enrolments else None,
    )


@router.delete(
    "/me/face",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=errors.answers(404, _404="you have no face enrolment"),
)
def forget_face(user: Citizen, rt: RuntimeDep, store: FaceStoreDep) -> Response:
    """Delete your face enrolment. Applications with a face check then go to an
    identity check at the counter, until you enrol again."""
    _not_at_a_kiosk(user)
    if store.forget(user.subject) == 0:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "you have no face enrolment to delete")
    face_events.deleted(rt.store, user.subject, user.subject)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/me/selfies", status_code=status.HTTP_201_CREATED, response_model=Selfie, responses=REFUSALS
)
async def upload_selfie(
    photo: UploadFile,
    user: Citizen,
    rt: RuntimeDep,
    store: FaceStoreDep,
    idempotency_key: IdempotencyKey = None,
) -> Selfie:
    """Upload a selfie for an application with a face check. It is checked for exactly
    one clear face now, kept encrypted, and deleted right after the check (or when it
    expires). A retry with the same Idempotency-Key answers the same selfie_ref."""
    data = await _read_photo(photo, rt.settings.face_max_upload_bytes)
    photo_sha = hashlib.sha256(data).hexdigest()
    key = Key.of(idempotency_key, user.subject, "upload-selfie", {"photo_sha256": photo_sha})

    async def run() -> Selfie:
        ref, expires_at = await run_in_threadpool(
            store.put_photo, user.subject, SELFIE, data, rt.settings.face_selfie_ttl_s
        )
        try:
            out = await on_face_worker(rt, IntakeRequest(INSPECT_FACE, ref, user.subject))
        except HTTPException:
            await run_in_threadpool(store.delete_photo, ref, user.subject)
            raise
        if not out.ok:
            await run_in_threadpool(store.delete_photo, ref, user.subject)
            raise _refused(out)
        return Selfie(selfie_ref=ref, expires_at=datetime.fromtimestamp(expires_at, UTC))

    return await idempotency.once(rt.store, key, run, Selfie.model_validate)
