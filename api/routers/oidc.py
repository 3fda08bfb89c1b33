"""Logging in through a region's OpenID Connect provider (``accounts/oidc.py``); the
answer is the same as POST /auth/login's, for the registry account the provider's
subject is linked to (``accounts/federation.py``)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from accounts.federation import sign_in
from accounts.oidc import LOGIN_TTL_S, Providers, seal, unseal
from api import errors
from api.deps import RuntimeDep
from api.routers.auth import TokenOut, signed_in
from api.runtime import Runtime

router = APIRouter(prefix="/auth/oidc", tags=["auth"])

COOKIE = "lincah_oidc_login"


def _providers(request: Request, rt: Runtime) -> Providers:
    # One per app: the discovery and key caches live as long as the API process.
    providers: Providers | None = getattr(request.app.state, "oidc_providers", None)
    if providers is None:
        providers = Providers(rt.settings.oidc_providers)
        request.app.state.oidc_providers = providers
    return providers


def _redirect_uri(rt: Runtime, provider: str) -> str:
    return f"{rt.settings.public_url}/auth/oidc/{provider}/callback"


def _cookie_path(provider: str) -> str:
    return f"/auth/oidc/{provider}"


@router.get(
    "/{provider}/login",
    response_class=RedirectResponse,
    status_code=302,
    responses=errors.answers(404, 503),
)
async def login(provider: str, request: Request, rt: RuntimeDep) -> Response:
    """Send the browser to the provider's login page; it comes back to the callback."""
    providers = _providers(request, rt)
    config = providers.get(provider)
    url, pending = await providers.start(config, _redirect_uri(rt, provider))
    response = RedirectResponse(url, status_code=302)
    response.set_cookie(
        COOKIE,
        seal(pending, rt.signing_key),
        max_age=LOGIN_TTL_S,
        path=_cookie_path(provider),
        httponly=True,
        secure=rt.settings.public_url.startswith("https://"),
        # Lax: the provider's redirect back is a top-level GET, which carries it.
        samesite="lax",
    )
    return response


@router.get(
    "/{provider}/callback",
    response_model=TokenOut,
    responses=errors.answers(400, 401, 403, 404, 409, 503),
)
async def callback(provider: str, request: Request, rt: RuntimeDep) -> Response:
    """Where the provider sends the browser back: checks state, exchanges the code,
    verifies the ID token and answers as POST /auth/login does (access and refresh
    token) for the linked account."""
    providers = _providers(request, rt)
    config = providers.get(provider)
    pending = unseal(request.cookies.get(COOKIE), provider, rt.signing_key)
    verified = await providers.finish(
        config, _redirect_uri(rt, provider), pending, dict(request.query_params)
    )
    account = await run_in_threadpool(
        sign_in, rt.accounts, config, verified.subject, verified.claims
    )
    body = await signed_in(rt, account)
    response = Response(body.model_dump_json(), media_type="application/json")
    # The login is used up; the provider refuses its code a second time anyway.
    response.delete_cookie(COOKIE, path=_cookie_path(provider))
    return response
