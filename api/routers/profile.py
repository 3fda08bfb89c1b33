"""The citizen's profile over HTTP (``commands/profile.py``, ``domain/profile.py``): the
citizen reads and changes it and verifies their identity by face; an agency's counter
staff find a citizen by NIK, read the profile and verify fields against the KTP/KK;
anyone reads a service's form, which a citizen gets prefilled from their profile.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, status
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from api import errors, idempotency, security
from api.access import AccessLogged
from api.deps import Citizen, CurrentUser, OptionalUser, RuntimeDep, StoreDep
from api.idempotency import IdempotencyKey, Key
from api.routers.face import FaceStoreDep, on_face_worker
from api.runtime import Runtime
from commands import catalogue, wallet
from commands import profile as commands
from domain import accounts as acc
from domain import profile as pf
from domain.checks import Problem
from domain.nik import NikError, validate_nik
from domain.refusals import Conflict, Invalid, NotFound
from domain.wallet import WalletDocument
from workflows.face_intake import MATCH_FACE, IntakeRequest

router = APIRouter(tags=["profile"])

COUNTER_ROLES = ("officer", "supervisor")
"""Who serves citizens at an agency's counter and may verify their profiles."""

Text = Annotated[str | None, Field(default=None, max_length=200)]


class AddressChanges(BaseModel):
    model_config = ConfigDict(extra="forbid")
    street: Text = None
    rt: Text = None
    rw: Text = None
    kelurahan_desa: Text = None
    kecamatan: Text = None
    kabupaten_kota: Text = None
    province: Text = None


class ProfileChanges(BaseModel):
    """The values to declare; fields left out keep theirs."""

    model_config = ConfigDict(extra="forbid")
    nik: Text = None
    kk_number: Text = None
    full_name: Text = None
    birth_place: Text = None
    birth_date: Text = Field(default=None, max_length=200, examples=["1990-08-08"])
    sex: Text = Field(default=None, max_length=200, description="L or P")
    address: AddressChanges | None = None
    religion: Text = None
    marital_status: Text = None
    occupation: Text = None
    phone: Text = None
    email: Text = None

    def flat(self) -> dict[str, str]:
        """``{field: value}`` with the address's parts as ``address.<part>``."""
        values = self.model_dump(exclude_none=True)
        address = values.pop("address", {})
        return {**values, **{f"address.{k}": v for k, v in address.items()}}


class FieldView(BaseModel):
    value: str
    provenance: str
    """self-declared, verified-counter or verified-face."""
    verified_by: str | None
    """The officer's account (counter), or the citizen (face)."""
    verified_at: datetime | None
    changed_at: datetime | None


class ChangeView(BaseModel):
    at: datetime
    kind: Literal["declared", "verified"]
    by: str
    fields: list[str]
    values: dict[str, str]
    method: Literal["counter", "face"] | None
    unverified: list[str]
    """Verified fields this declaration changed: they are self-declared again."""


class ProfileView(BaseModel):
    account_id: str
    fields: dict[str, FieldView]
    """By field name; the address's parts as ``address.<part>``."""
    history: list[ChangeView]
    version: int
    """-1 while nothing was declared."""
    position: int | None = None
    """Where a command recorded its change; null when it changed nothing."""


def _view(profile: pf.Profile, position: int | None = None) -> ProfileView:
    return ProfileView(
        account_id=profile.account_id,
        fields={
            name: FieldView(
                value=f.value,
                provenance=f.provenance,
                verified_by=f.verified_by,
                verified_at=f.verified_at,
                changed_at=f.changed_at,
            )
            for name, f in sorted(profile.fields.items(), key=lambda i: pf.FIELDS.index(i[0]))
        },
        history=[
            ChangeView(
                at=c.at,
                kind=c.kind,
                by=c.by,
                fields=c.fields,
                values=c.values,
                method=c.method,
                unverified=c.unverified,
            )
            for c in profile.history
        ],
        version=profile.version,
        position=position,
    )


def _written(w: commands.Written) -> ProfileView:
    return _view(w.profile, w.position)


# -- the citizen ------------------------------------------------------------------------


@router.get("/me/profile", response_model=ProfileView)
async def my_profile(user: Citizen, rt: RuntimeDep) -> ProfileView:
    """Your profile: each field's value, its provenance (self-declared, verified at the
    counter and by whom, verified by face match) and the history of every change."""
    profile = await run_in_threadpool(commands.profile_of, rt.store, rt.settings, user.subject)
    return _view(profile)


@router.patch(
    "/me/profile",
    response_model=ProfileView,
    responses=errors.answers(
        409, 422, _409="The profile changed meanwhile; read it and send the change again"
    ),
)
async def change_my_profile(changes: ProfileChanges, user: Citizen, rt: RuntimeDep) -> ProfileView:
    """Declare values (self-declared). A value equal to the stored one changes nothing,
    so repeating a request records nothing; a changed value that was verified loses its
    verification. The date of birth and sex must agree with the NIK."""
    written = await run_in_threadpool(
        commands.declare, rt.store, rt.settings, user.subject, changes.flat(), user.subject
    )
    return _written(written)


class FaceVerification(BaseModel):
    model_config = ConfigDict(extra="forbid")
    selfie_ref: str = Field(min_length=1, max_length=200, description="From POST /me/selfies")
    second_selfie_ref: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="The active check: a second selfie (POST /me/selfies), taken after "
        "turning the head to the side asked for in turn",
    )
    turn: Literal["left", "right"] | None = Field(
        default=None, description="The head turn asked for, as seen in the photo"
    )


@router.post(
    "/me/profile/verify-face",
    response_model=ProfileView,
    responses=errors.answers(
        409,
        422,
        503,
        _409="The profile has no identity field to verify yet",
        _422="The selfie is unknown or expired, unusable, or does not match the enrolled face",
        _503="The face service is not available; try again shortly",
    ),
)
async def verify_my_face(
    body: FaceVerification,
    user: Citizen,
    rt: RuntimeDep,
    faces: FaceStoreDep,
    idempotency_key: IdempotencyKey = None,
) -> ProfileView:
    """Verify your identity fields (NIK, name, place and date of birth, sex) by a selfie
    that matches your enrolled face (POST /me/face once, then POST /me/selfies). The
    selfie is deleted after the comparison, whatever its outcome."""
    key = Key.of(idempotency_key, user.subject, "verify-profile-face", body)

    async def run() -> ProfileView:
        store, settings = rt.store, rt.settings
        profile = await run_in_threadpool(commands.profile_of, store, settings, user.subject)
        present = [f for f in pf.IDENTITY_FIELDS if f in profile.fields]
        if not present:
            raise Conflict(
                "your profile has no identity field yet; declare your NIK, name, place and "
                "date of birth and sex (PATCH /me/profile), then verify them"
            )
        for ref in filter(None, (body.selfie_ref, body.second_selfie_ref)):
            if not await run_in_threadpool(faces.has_photo, ref, user.subject):
                raise Invalid(
                    "the selfie_ref is unknown, expired or not yours; upload the selfie "
                    "again (POST /me/selfies)"
                )
        out = await on_face_worker(
            rt,
            IntakeRequest(
                MATCH_FACE,
                body.selfie_ref,
                user.subject,
                second_ref=body.second_selfie_ref,
                turn=body.turn,
            ),
        )
        if not out.ok:
            raise Invalid(f"your identity was not verified: {out.reason}")
        written = await run_in_threadpool(
            commands.verify, store, settings, user.subject, present, "face", user.subject
        )
        return _written(written)

    return await idempotency.once(rt.store, key, run, ProfileView.model_validate)


# -- the counter ------------------------------------------------------------------------


@errors.may_answer(403)
async def counter_staff(user: CurrentUser) -> security.Principal:
    """An officer or supervisor of an agency: profiles are personal data, shown only to
    those who serve citizens at a counter."""
    if user.role not in COUNTER_ROLES or not user.agency:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            "only an agency's officers and supervisors serve citizens' profiles; your token "
            f"has the role {user.role!r}" + ("" if user.agency else " without an agency"),
        )
    return user


CounterStaff = Annotated[security.Principal, Depends(counter_staff)]


class Lookup(BaseModel):
    model_config = ConfigDict(extra="forbid")
    nik: str = Field(min_length=1, max_length=32, description="The NIK on the citizen's KTP")


class Found(BaseModel):
    account_id: str
    full_name: str
    nik: str
    """Masked: only the last four digits."""


@router.post(
    "/citizens/lookup",
    response_model=Found,
    responses=errors.answers(404, 422, _404="No citizen account has this NIK"),
)
async def lookup_citizen(
    body: Lookup, user: CounterStaff, rt: RuntimeDep, access: AccessLogged
) -> Found:
    """Find a citizen's account by the NIK on their KTP (sent in the body, never in a
    URL). The NIK is looked up by its keyed hash and never echoed. Recorded in the
    citizen's access log."""
    try:
        validate_nik(body.nik)
    except NikError as e:
        raise Invalid("that is not a NIK", [Problem("nik", str(e))]) from e
    account = await run_in_threadpool(rt.accounts.for_login, body.nik)
    if account is None or account.kind != "citizen":
        raise NotFound("no citizen account has this NIK; the citizen may register first")
    await run_in_threadpool(access.read, "lookup", citizen=account.account_id)
    return Found(
        account_id=account.account_id,
        full_name=account.full_name,
        nik=account.nik_masked or acc.mask_nik(body.nik),
    )


def _citizen_profile(rt: Runtime, account_id: str) -> pf.Profile:
    """The profile of a citizen account, or of a citizen who has declared one; 404 for
    anything else, without saying which."""
    profile = commands.profile_of(rt.store, rt.settings, account_id)
    account = rt.accounts.account(account_id) if profile.version < 0 else None
    if profile.version < 0 and (account is None or account.kind != "citizen"):
        raise NotFound(f"there is no citizen {account_id}")
    return profile


@router.get(
    "/citizens/{account_id}/profile", response_model=ProfileView, responses=errors.answers(404)
)
async def citizen_profile(
    account_id: str, user: CounterStaff, rt: RuntimeDep, access: AccessLogged
) -> ProfileView:
    """A citizen's profile, for the counter: values, provenance and history. Recorded in
    the citizen's access log, with the reason you give (``X-Access-Reason``)."""
    profile = await run_in_threadpool(_citizen_profile, rt, account_id)
    await run_in_threadpool(access.read, "profile", citizen=account_id)
    return _view(profile)


class CounterVerification(BaseModel):
    model_config = ConfigDict(extra="forbid")
    fields: list[Annotated[str, Field(max_length=64)]] = Field(
        min_length=1,
        max_length=len(pf.FIELDS),
        description="The fields checked against the KTP/KK, e.g. full_name, address.rt",
    )


@router.post(
    "/citizens/{account_id}/profile/verify",
    response_model=ProfileView,
    responses=errors.answers(
        404,
        409,
        422,
        _409="The profile changed meanwhile; read it again",
        _422="A field is unknown or has no value",
    ),
)
async def verify_at_counter(
    account_id: str,
    body: CounterVerification,
    user: CounterStaff,
    rt: RuntimeDep,
    access: AccessLogged,
) -> ProfileView:
    """Mark fields verified at the counter, against the citizen's KTP/KK: you are
    recorded as the verifier. Fields already verified at the counter record nothing."""

    def run() -> commands.Written:
        _citizen_profile(rt, account_id)
        written = commands.verify(rt.store, rt.settings, account_id, body.fields, "counter",
                                  user.subject)  # fmt: skip
        access.read("profile", citizen=account_id)  # the answer shows the whole profile
        return written

    return _written(await run_in_threadpool(run))


# -- the form ---------------------------------------------------------------------------


class FormFieldView(BaseModel):
    """A form field as the definition has it (any setting it carries passes through),
    with the profile's value when prefilled."""

    model_config = ConfigDict(extra="allow")
    id: str
    label: str
    type: str
    required: bool
    choices: list[str]
    help: str
    min: float | None
    max: float | None
    prefill: str | None
    value: str | None = None
    """With ``prefill=true`` for a citizen: the profile's value."""
    provenance: str | None = None
    """With the value: self-declared, verified-counter or verified-face."""
    offers: list[WalletDocument] = Field(default_factory=list)
    """With ``prefill=true`` for a citizen, on a file field naming document kinds: the
    wallet's documents of those kinds, newest first, to attach instead of uploading
    again (``attachments`` of POST /applications)."""


class Form(BaseModel):
    service_id: str
    version: int
    name: str
    fields: list[FormFieldView]


@router.get("/services/{service_id}/form", response_model=Form, responses=errors.answers(404, 409))
async def service_form(
    service_id: str,
    user: OptionalUser,
    store: StoreDep,
    rt: RuntimeDep,
    prefill: Annotated[
        bool, Query(description="With a citizen's token: fill the fields from the profile")
    ] = False,
) -> Form:
    """The form of the service's latest published version. Public; with a citizen's
    token and ``prefill=true`` each field that names a profile field (``prefill``)
    comes filled with its value and provenance."""
    definition = await run_in_threadpool(catalogue.published_definition, store, service_id)
    profile, held = None, None
    if prefill and user is not None and user.role == "citizen":
        profile = await run_in_threadpool(commands.profile_of, store, rt.settings, user.subject)
        held = await run_in_threadpool(wallet.load, store, user.subject)
    fields = []
    for f in definition.fields:
        view = FormFieldView.model_validate(f.model_dump())
        offered = pf.prefilled(profile, f.prefill) if profile and f.prefill else None
        if offered is not None:
            view.value, view.provenance = offered.value, offered.provenance
        if held is not None and f.kinds:
            view.offers = [d for kind in f.kinds for d in held.listed(kind)]
        fields.append(view)
    return Form(
        service_id=definition.id, version=definition.version, name=definition.name, fields=fields
    )
