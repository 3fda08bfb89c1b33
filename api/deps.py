"""Dependency aliases shared by the routers.

All of them are ``async def``: FastAPI runs a plain ``def`` dependency in its threadpool,
and a request should take a thread only for the work that needs one (so that waiting
reads, or a full threadpool, never delay /health). Each declares the statuses it may
answer with (``errors.may_answer``) for the OpenAPI document."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, HTTPException, Query, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from temporalio.client import Client

from api import errors, security
from api.reads import wait_for_position
from api.runtime import Runtime
from config.settings import Settings
from eventstore.port import EventStore
from projections.readmodels import ReadModels

_bearer = HTTPBearer(auto_error=False, description="Access token from POST /auth/login")


async def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


async def get_settings(rt: RuntimeDep) -> Settings:
    return rt.settings


async def get_store(rt: RuntimeDep) -> EventStore:
    return rt.store


async def get_models(rt: RuntimeDep) -> ReadModels:
    return rt.models


@errors.may_answer(503)
async def get_temporal(rt: RuntimeDep) -> Client:
    return await rt.temporal()


SettingsDep = Annotated[Settings, Depends(get_settings)]
StoreDep = Annotated[EventStore, Depends(get_store)]
ModelsDep = Annotated[ReadModels, Depends(get_models)]
TemporalDep = Annotated[Client, Depends(get_temporal)]


@errors.may_answer(401)
async def current_user(
    rt: RuntimeDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> security.Principal:
    """The caller, from a bearer token that is valid now: an account token's account must
    still be active under the same epoch (so suspension and a password change take effect
    at once); dev tokens count in development only."""
    if credentials is None:
        raise _unauthorized("a bearer token is required (POST /auth/login)")
    try:
        user = security.verify(credentials.credentials, rt.signing_key)
    except security.InvalidToken as e:
        raise _unauthorized(str(e)) from e
    if user.dev:
        if rt.settings.environment != "development":
            raise _unauthorized("development tokens are not accepted here; log in")
        return user
    account = rt.accounts.account(user.subject)
    if account is None or not account.can_sign_in or account.epoch != user.epoch:
        raise _unauthorized("this sign-in has ended (suspended, or the password changed); "
                            "log in again")  # fmt: skip
    return user


def _unauthorized(message: str) -> HTTPException:
    return HTTPException(
        status.HTTP_401_UNAUTHORIZED, message, headers={"WWW-Authenticate": "Bearer"}
    )


CurrentUser = Annotated[security.Principal, Depends(current_user)]


@errors.may_answer(401)
async def optional_user(
    rt: RuntimeDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> security.Principal | None:
    """The caller when a token is sent (checked as ``current_user``), else None: for
    routes anyone may call, e.g. an anonymous complaint."""
    return None if credentials is None else await current_user(rt, credentials)


OptionalUser = Annotated[security.Principal | None, Depends(optional_user)]


def require_role(*roles: str) -> Callable[[security.Principal], Awaitable[security.Principal]]:
    @errors.may_answer(403)
    async def check(user: CurrentUser) -> security.Principal:
        if user.role not in roles:
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                f"this needs the role {' or '.join(roles)}; your token has {user.role!r}",
            )
        return user

    return check


AgencyAdmin = Annotated[security.Principal, Depends(require_role("agency_admin"))]
Citizen = Annotated[security.Principal, Depends(require_role("citizen"))]
Staff = Annotated[security.Principal, Depends(require_role(*sorted(security.STAFF)))]


MAX_POSITION = 2**63 - 1
"""Positions, offsets and versions are SQLite integers: signed 64 bits."""


@errors.may_answer(409, 504)
async def read_after(
    rt: RuntimeDep,
    min_position: Annotated[
        int | None,
        Query(
            ge=0,
            le=MAX_POSITION,
            description="Wait until the read models include this event-store position "
            "(from a command's response); 409 when no event has it yet, 504 when the "
            "read models do not reach it in time",
        ),
    ] = None,
) -> None:
    await wait_for_position(rt.models, rt.store, min_position, rt.settings.read_wait_timeout_s)


Consistent = Annotated[None, Depends(read_after)]
"""Add to a read endpoint to give it read-your-writes through ``min_position``."""
Administrator = Annotated[security.Principal, Depends(require_role("agency_admin", "region_admin"))]
"""An agency's or a region's administrator (staff invitations and suspensions)."""


def agency_scope(user: security.Principal, rt: Runtime) -> frozenset[str] | None:
    """The agencies whose applications a member of staff or an auditor may read: their
    own agency, or every agency of their region (region administrators and region
    auditors). None, every agency, only for a development token with no scope."""
    if user.agency:
        return frozenset({user.agency})
    if user.region:
        region = rt.accounts.region(user.region)
        return frozenset(region.agencies if region else ())
    return None if user.dev else frozenset()


async def _agency_scope(user: CurrentUser, rt: RuntimeDep) -> frozenset[str] | None:
    # On the event loop, as current_user's account lookup: at most one point read by
    # key (region staff only), cheaper than the two thread switches of a plain def.
    return agency_scope(user, rt)


AgencyScope = Annotated[frozenset[str] | None, Depends(_agency_scope)]
"""``agency_scope`` of the caller, as a dependency."""


def may_see(
    user: security.Principal, scope: frozenset[str] | None, citizen: str, agency: str
) -> bool:
    """Whether the caller may see an application of ``citizen`` at ``agency``: a
    citizen their own, staff and auditors those of their ``agency_scope``."""
    if user.role == "citizen":
        return user.subject == citizen
    return scope is None or agency in scope
