"""Filing on a citizen's behalf: an officer at the MPP counter, or of the mobile service
(layanan keliling), files an application for a citizen who came in person. The citizen
is found by NIK (or account id); one without an account is recorded as a walk-in and
claims that account later by registering with the same NIK. The application records
the channel and the officer (``filed_by``), and the citizen is notified."""

from __future__ import annotations

from typing import Annotated, Any, Self

from fastapi import APIRouter, Depends, Response, status
from pydantic import BaseModel, Field, model_validator
from starlette.concurrency import run_in_threadpool

from api import errors
from api.deps import RuntimeDep, require_role
from api.idempotency import IdempotencyKey, Key
from api.routers.applications import Submitted, file_application
from api.runtime import Runtime
from api.security import Principal
from commands import catalogue, profile
from domain import accounts as acc
from domain.channels import StaffChannel
from domain.definition import ServiceDefinition
from domain.refusals import Forbidden, Invalid, NotFound
from domain.validation import validate_application_data

router = APIRouter(prefix="/counter", tags=["counter"])

FrontDesk = Annotated[Principal, Depends(require_role("officer", "supervisor"))]
"""Who files at the counter or on the mobile service: an agency's officers and their
supervisors."""


class CounterApplication(BaseModel):
    nik: str | None = Field(
        default=None,
        pattern=r"^[0-9]{16}$",
        description="The citizen's NIK, from the KTP the officer has in hand",
        examples=["3510154808900003"],
    )
    account_id: str | None = Field(
        default=None, max_length=64, description="Or the citizen's account id"
    )
    full_name: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="The name on the KTP, to record a citizen without an account "
        "(default: the form's full_name)",
    )
    service_id: str = Field(min_length=1, max_length=64, examples=["surat-keterangan-domisili"])
    data: dict[str, Any] = Field(default_factory=dict)
    channel: StaffChannel = "counter"
    location: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="Where it is filed: the counter, or the mobile service's stop or route",
        examples=["Kecamatan Glenmore, mobil layanan 2"],
    )

    @model_validator(mode="after")
    def _one_citizen(self) -> Self:
        if (self.nik is None) == (self.account_id is None):
            raise ValueError("name the citizen by nik or by account_id (one of them)")
        return self


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
            403,
            404,
            409,
            503,
            _403="The service belongs to another agency, or is not one of yours",
            _404="There is no such service, or no citizen with that account id",
            _409="The service is not published or archived",
        ),
    },
)
async def file_at_counter(
    body: CounterApplication,
    user: FrontDesk,
    rt: RuntimeDep,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> Submitted:
    """File an application for a citizen who came to the counter (``channel``
    counter) or to the mobile service (mobile), with you as its actor. A citizen
    without an account is recorded from the NIK and name (a walk-in); they claim the
    account by registering with the same NIK. Send an Idempotency-Key."""
    definition = await run_in_threadpool(catalogue.published_definition, rt.store, body.service_id)
    _may_file(user, definition)
    problems = validate_application_data(definition, body.data)
    if problems:  # before a walk-in is recorded for an application that cannot be made
        raise Invalid("the application data has problems", problems)
    citizen = await run_in_threadpool(_citizen, rt, body, user.subject)
    return await file_application(
        rt,
        response,
        citizen=citizen,
        service_id=body.service_id,
        data=body.data,
        selfie_ref=None,  # the officer checks the KTP in person
        key=Key.of(idempotency_key, user.subject, "file-at-counter", body),
        channel=body.channel,
        filed_by=user.subject,
        location=body.location,
    )


def _may_file(user: Principal, definition: ServiceDefinition) -> None:
    """Services are public facts, so another agency's is refused (403), not hidden."""
    if definition.agency.code != user.agency:
        raise Forbidden(
            f"the service {definition.id} belongs to agency {definition.agency.code}; you "
            f"file for agency {user.agency}"
        )
    if user.services and definition.id not in user.services:
        raise Forbidden(f"you serve {', '.join(user.services)}, not {definition.id}")


def _citizen(rt: Runtime, body: CounterApplication, by: str) -> str:
    """The account id of the citizen the officer files for."""
    if body.account_id is not None:
        account = rt.accounts.account(body.account_id)
        if account is None or account.kind != "citizen":
            raise NotFound(f"there is no citizen account {body.account_id}")
        return account.account_id
    assert body.nik is not None
    found = rt.accounts.account(acc.citizen_account_id(rt.accounts.lookup("nik", body.nik)))
    if found is not None:
        return found.account_id
    name = body.full_name or body.data.get("full_name")
    if not isinstance(name, str) or not name.strip():
        raise Invalid(
            "this NIK has no account yet: give the citizen's full_name, as on the KTP, to "
            "record them"
        )
    return _walk_in(rt, body.nik, name.strip(), by)


def _walk_in(rt: Runtime, nik: str, full_name: str, by: str) -> str:
    """Record a citizen without an account whom the officer serves in person: the one
    place a walk-in account is made. The officer has the KTP in hand, so the identity
    goes into the citizen's profile as verified at the counter, by that officer."""
    account, created = rt.accounts.walk_in_citizen(nik, full_name, by)
    if created:
        identity = {"nik": nik, "full_name": full_name}
        profile.declare(rt.store, rt.settings, account.account_id, identity, by=by)
        profile.verify(rt.store, rt.settings, account.account_id, list(identity), "counter", by=by)
    return account.account_id
