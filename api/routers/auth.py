"""Sign-in: citizens register and confirm their e-mail; everyone logs in with a password
and gets a short-lived access token plus a rotating refresh token. In development,
POST /auth/dev-token hands out tokens for any subject (``dev_router``: mounted only
there, so production has no such route, not even in its OpenAPI)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, HTTPException, Request, Response, status
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from accounts import passwords
from api import errors, limits, security
from api.deps import CurrentUser, RuntimeDep
from api.runtime import Runtime
from commands import profile
from config.settings import Settings
from domain import accounts as acc
from domain.refusals import Refusal

router = APIRouter(prefix="/auth", tags=["auth"])
dev_router = APIRouter(prefix="/auth", tags=["auth"])


def routers(settings: Settings) -> list[APIRouter]:
    """The auth routes this environment serves."""
    return [router, dev_router] if settings.environment == "development" else [router]


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth2 token type, no secret
    expires_in: int
    refresh_token: str | None = None


def access_token(rt: Runtime, account: acc.Account) -> str:
    principal = security.Principal(
        subject=account.account_id,
        role=account.role,
        agency=account.agency,
        region=account.region,
        services=list(account.services),
        epoch=account.epoch,
    )
    return security.issue(principal, rt.signing_key, rt.settings.access_token_ttl_s)


# -- development --------------------------------------------------------------------


class DevLogin(BaseModel):
    subject: str = Field(min_length=1, max_length=100, examples=["siti@example.id"])
    role: Literal[
        "citizen",
        "officer",
        "supervisor",
        "cashier",
        "agency_admin",
        "complaint_officer",
        "region_admin",
        "auditor",
    ]
    agency: str | None = Field(default=None, pattern=r"^[A-Z]{2,6}$", examples=["BWI"])
    region: str | None = Field(default=None, pattern=r"^\d{2}\.\d{2}$", examples=["35.10"])
    services: list[str] = Field(default_factory=list, max_length=100)


@dev_router.post(
    "/dev-token",
    response_model=TokenOut,
    response_model_exclude_none=True,
    dependencies=[limits.DevLogin],
)
def dev_token(body: DevLogin, rt: RuntimeDep) -> TokenOut:
    """Development login: any subject, any role. Agency staff need their agency code, a
    region administrator their region code. Exists only with ``environment:
    development``."""
    if body.role in security.STAFF and body.agency is None:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            f'role {body.role!r} needs an agency code, e.g. "BWI"',
        )
    if body.role == acc.REGION_ADMIN and body.region is None:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, 'role region_admin needs a region, e.g. "35.10"'
        )
    ttl = rt.settings.token_ttl_s
    principal = security.Principal(**body.model_dump(), dev=True)
    return TokenOut(access_token=security.issue(principal, rt.signing_key, ttl), expires_in=ttl)


# -- citizens' registration ---------------------------------------------------------


class RegisterIn(BaseModel):
    nik: str = Field(min_length=16, max_length=16, examples=["3510154808900003"])
    full_name: str = Field(min_length=1, max_length=200, examples=["Siti Aminah"])
    email: str = Field(max_length=254, examples=["siti@example.id"])
    phone: str | None = Field(
        default=None, pattern=r"^\+?[0-9]{8,15}$", examples=["+6281234567890"]
    )
    password: str = Field(max_length=passwords.MAX_LENGTH)


class RegisterOut(BaseModel):
    account_id: str
    nik: str = Field(description="Masked: only the last four digits")
    email: str
    next: str


@router.post(
    "/register",
    response_model=RegisterOut,
    status_code=status.HTTP_202_ACCEPTED,
    responses=errors.answers(409, 429),
)
async def register(body: RegisterIn, rt: RuntimeDep) -> RegisterOut:
    """Register a citizen: a six-digit code goes to the e-mail address; confirm it with
    POST /auth/confirm. One account per NIK; the answer is the same whether or not the NIK
    already has one (its holder is told by e-mail)."""
    r = await run_in_threadpool(
        rt.accounts.register, body.nik, body.full_name, body.email, body.phone, body.password
    )
    # The NIK is the profile's first value, so the citizen never types it again and the
    # birth date and sex they declare are checked against it. The account id is derived
    # from the NIK, so this can only ever be that account's own NIK (and declaring it
    # again records nothing).
    await run_in_threadpool(
        profile.declare, rt.store, rt.settings, r.account_id, {"nik": body.nik}, r.account_id
    )
    return RegisterOut(
        account_id=r.account_id,
        nik=r.nik,
        email=r.email,
        next="we sent a confirmation code to this address; POST it to /auth/confirm",
    )


class ConfirmIn(BaseModel):
    account_id: str = Field(max_length=64)
    code: str = Field(max_length=12)


@router.post("/confirm", responses=errors.answers(400, 429))
async def confirm(body: ConfirmIn, request: Request, rt: RuntimeDep) -> dict[str, str]:
    """Confirm the e-mail address with the code we sent; then log in."""
    refuse_if_limited(rt, f"confirm:{body.account_id}", request)
    try:
        account = await run_in_threadpool(rt.accounts.confirm, body.account_id, body.code)
    except Refusal:
        rt.sign_in_limits.failed(f"confirm:{body.account_id}", client_address(request))
        raise
    rt.sign_in_limits.succeeded(f"confirm:{body.account_id}")
    return {"account_id": account.account_id, "status": account.status}


# -- sessions -----------------------------------------------------------------------

_WRONG = "the login or the password is not right"


class LoginIn(BaseModel):
    login: str = Field(
        min_length=1, max_length=254, description="E-mail address, or a citizen's NIK"
    )
    password: str = Field(max_length=passwords.MAX_LENGTH)


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def refuse_if_limited(rt: Runtime, name: str, request: Request) -> None:
    wait = rt.sign_in_limits.retry_after(name, client_address(request))
    if wait > 0:
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            f"too many failed attempts; try again in {int(wait) + 1} s",
            headers={"Retry-After": str(int(wait) + 1)},
        )


@router.post("/login", response_model=TokenOut, responses=errors.answers(401, 403, 429))
async def login(body: LoginIn, request: Request, rt: RuntimeDep) -> TokenOut:
    """Log in with an e-mail address (or a citizen's NIK) and password. Wrong login and
    wrong password get the same answer, after the same work; repeated failures for one
    login or from one address are slowed down (429 with Retry-After)."""
    name = body.login.strip().lower()
    refuse_if_limited(rt, name, request)

    def check() -> acc.Account | None:
        account = rt.accounts.for_login(name)
        ok = passwords.verify(account.password_hash if account else None, body.password)
        return account if ok else None

    account = await run_in_threadpool(check)
    if account is None:
        rt.sign_in_limits.failed(name, client_address(request))
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, _WRONG)
    if not account.can_sign_in:
        # Only someone who knows the password learns this.
        why = {
            "unconfirmed": "confirm your e-mail address first (POST /auth/confirm)",
            "suspended": "this account is suspended; ask your administrator",
        }.get(account.status, "this account cannot sign in yet")
        raise HTTPException(status.HTTP_403_FORBIDDEN, why)
    rt.sign_in_limits.succeeded(name)
    return await signed_in(rt, account)


async def signed_in(rt: Runtime, account: acc.Account) -> TokenOut:
    """The answer to a login (here, or through an identity provider): an access token
    and the refresh token of a new session."""
    issued = await run_in_threadpool(rt.sessions.start, account)
    return TokenOut(
        access_token=access_token(rt, account),
        expires_in=rt.settings.access_token_ttl_s,
        refresh_token=issued.refresh_token,
    )


class RefreshIn(BaseModel):
    refresh_token: str = Field(max_length=200)


@router.post("/refresh", response_model=TokenOut, responses=errors.answers(401))
async def refresh(body: RefreshIn, rt: RuntimeDep) -> TokenOut:
    """A new access token and a new refresh token for the current refresh token (which
    stops working). Presenting an old one again revokes the whole sign-in."""
    issued = await run_in_threadpool(rt.sessions.rotate, body.refresh_token)
    return TokenOut(
        access_token=access_token(rt, issued.account),
        expires_in=rt.settings.access_token_ttl_s,
        refresh_token=issued.refresh_token,
    )


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
async def logout(body: RefreshIn, rt: RuntimeDep) -> Response:
    """End the sign-in the refresh token belongs to (the access token lapses within
    ``access_token_ttl_s``)."""
    await run_in_threadpool(rt.sessions.revoke, body.refresh_token)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


class PasswordIn(BaseModel):
    current_password: str = Field(max_length=passwords.MAX_LENGTH)
    new_password: str = Field(max_length=passwords.MAX_LENGTH)


@router.post(
    "/password", status_code=status.HTTP_204_NO_CONTENT, responses=errors.answers(401, 403, 409)
)
async def change_password(body: PasswordIn, user: CurrentUser, rt: RuntimeDep) -> Response:
    """Change your password: every sign-in of the account ends (log in again)."""
    if user.dev:
        raise HTTPException(status.HTTP_409_CONFLICT, "development tokens have no password")
    await run_in_threadpool(
        rt.accounts.change_password, user.subject, body.current_password, body.new_password
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/me")
def me(user: CurrentUser, rt: RuntimeDep) -> dict[str, object]:
    """Who the token belongs to (the NIK masked)."""
    account = None if user.dev else rt.accounts.account(user.subject)
    if account is None:
        return user.model_dump(exclude={"epoch"})
    return account.public()
