"""Self-service kiosks. An agency administrator registers each kiosk device and gets its
device key once; the kiosk sends the key (``X-Kiosk-Key``) with the citizen's NIK and a
photo taken there to POST /auth/kiosk. When the photo matches the face the citizen
enrolled, the answer is a short citizen session (``kiosk_token_ttl_s``, 10 minutes; no
refresh token) marked ``channel=kiosk``: its applications are recorded as filed at the
kiosk. The photo is checked on the face worker and deleted right after.

One request carries NIK and photo, so no selfie waits in the store for a session that
may never open. Limits: a kiosk key is needed (unknown or revoked: 401), each address
is rate limited (``rate_limit_kiosk``), and failures for one NIK slow down as logins
do; every refusal of the face answers the same 401, so the kiosk does not learn whether
the NIK has an account or an enrolment."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Header, HTTPException, Request, UploadFile, status
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from accounts.kiosks import Kiosks
from api import errors, limits, security
from api.deps import AgencyAdmin, RuntimeDep, StoreDep
from api.routers.auth import TokenOut, client_address, refuse_if_limited
from api.routers.face import REFUSALS, FaceStoreDep, UploadLimitedRoute, on_face_worker
from api.routers.face import _read_photo as read_photo
from domain import accounts as acc
from domain.kiosks import Kiosk
from domain.refusals import Forbidden
from face.store import SELFIE
from workflows.face_intake import MATCH_FACE, IntakeRequest

router = APIRouter(prefix="/agencies", tags=["kiosks"])
sign_in = APIRouter(prefix="/auth", tags=["auth"], route_class=UploadLimitedRoute)

KIOSK_PHOTO_TTL_S = 120
"""A kiosk photo is deleted by its check; this bounds it if the face worker never
takes it."""
NO_MATCH = (
    "we could not confirm that you hold this NIK: the photo does not match the face "
    "enrolled for it (or none is enrolled). Look straight at the camera and try again, "
    "or ask an officer at the counter"
)


class KioskIn(BaseModel):
    label: str = Field(min_length=1, max_length=200, examples=["MPP Banyuwangi, kiosk 1"])


class KioskOut(BaseModel):
    kiosk_id: str
    agency: str
    label: str
    revoked: bool
    device_key: str | None = None
    """Only in the registration's answer: enter it on the kiosk (X-Kiosk-Key)."""


def _own_agency(user: security.Principal, agency_code: str) -> None:
    if user.agency != agency_code:
        raise Forbidden(f"you administer agency {user.agency}, not {agency_code}")


@router.post(
    "/{agency_code}/kiosks",
    status_code=status.HTTP_201_CREATED,
    response_model=KioskOut,
    response_model_exclude_none=True,
    responses=errors.answers(403),
)
async def register_kiosk(
    agency_code: str, body: KioskIn, user: AgencyAdmin, store: StoreDep
) -> KioskOut:
    """Register a self-service kiosk of your agency. The answer's ``device_key`` is
    shown only now: enter it on the kiosk, which sends it as ``X-Kiosk-Key``."""
    _own_agency(user, agency_code)
    kiosk, key = await run_in_threadpool(
        Kiosks(store).register, agency_code, body.label, user.subject
    )
    return KioskOut(**kiosk.public(), device_key=key)


@router.post(
    "/{agency_code}/kiosks/{kiosk_id}/revoke",
    response_model=KioskOut,
    response_model_exclude_none=True,
    responses=errors.answers(403, 404, 409),
)
async def revoke_kiosk(
    agency_code: str, kiosk_id: str, user: AgencyAdmin, store: StoreDep
) -> KioskOut:
    """Revoke a kiosk (lost, stolen, retired): its key stops working at once; sessions
    it opened end within ``kiosk_token_ttl_s``."""
    _own_agency(user, agency_code)
    kiosk = await run_in_threadpool(Kiosks(store).revoke, agency_code, kiosk_id, user.subject)
    return KioskOut(**kiosk.public())


@errors.may_answer(401)
async def kiosk_device(
    rt: RuntimeDep,
    x_kiosk_key: Annotated[
        str | None, Header(max_length=200, description="The kiosk's device key")
    ] = None,
) -> Kiosk:
    """The registered kiosk the request comes from, checked before anything else of
    the request is read."""
    return await run_in_threadpool(Kiosks(rt.store).authenticate, x_kiosk_key)


KioskDevice = Annotated[Kiosk, Depends(kiosk_device)]


@sign_in.post(
    "/kiosk",
    response_model=TokenOut,
    response_model_exclude_none=True,
    dependencies=[limits.Kiosk],
    responses={
        **REFUSALS,
        **errors.answers(
            401,
            429,
            _401="Not a registered kiosk, or the face does not match the NIK's enrolment",
        ),
    },
)
async def kiosk_sign_in(
    request: Request,
    rt: RuntimeDep,
    faces: FaceStoreDep,
    nik: Annotated[str, Form(pattern=r"^[0-9]{16}$", examples=["3510154808900003"])],
    photo: UploadFile,
    kiosk: KioskDevice,
) -> TokenOut:
    """A citizen's session at a self-service kiosk, opened by a face match: the kiosk
    sends its device key (``X-Kiosk-Key``), the NIK and a photo taken now
    (multipart/form-data). Applications made with the token are recorded as filed at
    the kiosk. No refresh token: the session ends after ``expires_in`` seconds."""
    name = f"kiosk:{nik}"
    refuse_if_limited(rt, name, request)
    data = await read_photo(photo, rt.settings.face_max_upload_bytes)
    # The account id follows from the NIK whether or not the account exists, so the
    # check runs the same way for a NIK without one and answers the same.
    account_id = acc.citizen_account_id(rt.accounts.lookup("nik", nik))
    ref, _ = await run_in_threadpool(faces.put_photo, account_id, SELFIE, data, KIOSK_PHOTO_TTL_S)
    try:
        out = await on_face_worker(rt, IntakeRequest(MATCH_FACE, ref, account_id))
    finally:
        await run_in_threadpool(faces.delete_photo, ref, account_id)
    account = await run_in_threadpool(rt.accounts.account, account_id)
    if not out.ok or account is None or not account.can_sign_in:
        rt.sign_in_limits.failed(name, client_address(request))
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, NO_MATCH)
    rt.sign_in_limits.succeeded(name)
    principal = security.Principal(
        subject=account.account_id,
        role=account.role,
        epoch=account.epoch,
        channel="kiosk",
    )
    ttl = rt.settings.kiosk_token_ttl_s
    return TokenOut(access_token=security.issue(principal, rt.signing_key, ttl), expires_in=ttl)
