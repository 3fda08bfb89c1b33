"""The OpenID Connect relying party: Lincah logs people in through a region's own
identity provider (authorization code flow with PKCE, ``authlib``).

The login's secrets (state, nonce, PKCE verifier) travel in a short-lived cookie,
encrypted and authenticated with a key derived from Lincah's signing key, so a login
survives an API restart between the redirect and the callback and no server-side
store is needed. The provider's discovery document and keys are cached; the keys are
fetched again when an ID token names a key id the cache does not hold (rotation).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import time
import warnings
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson
from authlib.common.security import generate_token
from authlib.integrations.base_client import OAuthError
from authlib.oidc.core import CodeIDToken
from cryptography.fernet import Fernet, InvalidToken
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet
from joserfc.jws import JWSRegistry

from config.settings import OidcProvider
from domain.refusals import (
    NotFound,
    Refusal,
    Unauthenticated,
    Unavailable,
    Unverified,
    UpstreamFailed,
)

# authlib 1.9 warns on this import that it prefers httpx2 to httpx; Lincah uses httpx and
# pins authlib below 1.10 (pyproject), so the warning would tell nobody anything new.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from authlib.integrations.httpx_client import AsyncOAuth2Client

LOGIN_TTL_S = 600
"""How long a person may take at the provider between login and callback."""
DISCOVERY_TTL_S = 3600
"""How long a discovery document is trusted before it is read again."""
CLOCK_LEEWAY_S = 60
"""Tolerated clock difference with the provider for ``exp`` and ``iat``."""
HTTP_TIMEOUT_S = 10.0
_ENDPOINTS = frozenset({"authorization_endpoint", "token_endpoint", "jwks_uri"})


@dataclass(frozen=True)
class PendingLogin:
    """What the callback must match: kept in the login cookie."""

    provider: str
    state: str
    nonce: str
    code_verifier: str


@dataclass(frozen=True)
class VerifiedLogin:
    subject: str
    claims: dict[str, Any]


def _cookie_key(signing_key: str) -> Fernet:
    # A key of its own (HMAC of the signing key with a purpose label), so a login
    # cookie can never be read as an access token or the other way round.
    raw = hmac.new(signing_key.encode(), b"lincah-oidc-login-cookie", hashlib.sha256).digest()
    return Fernet(base64.urlsafe_b64encode(raw))


def seal(pending: PendingLogin, signing_key: str) -> str:
    payload = orjson.dumps(pending.__dict__)
    return _cookie_key(signing_key).encrypt(payload).decode()


def unseal(cookie: str | None, provider: str, signing_key: str) -> PendingLogin:
    again = f"start again at /auth/oidc/{provider}/login"
    if not cookie:
        raise Unverified(
            f"this browser has no login in progress (the login cookie is missing); {again}"
        )
    try:
        payload = _cookie_key(signing_key).decrypt(cookie.encode(), ttl=LOGIN_TTL_S)
    except InvalidToken as e:
        raise Unverified(
            f"the login cookie is expired or was altered (a login lasts {LOGIN_TTL_S} s); {again}",
        ) from e
    pending = PendingLogin(**orjson.loads(payload))
    if pending.provider != provider:
        raise Unverified(
            f"the login in progress is with {pending.provider!r}, not {provider!r}; {again}"
        )
    return pending


@dataclass
class _Cached:
    fetched_at: float
    value: dict[str, Any]


@dataclass
class Providers:
    """The configured providers with their cached discovery documents and keys; one per
    API process."""

    configured: list[OidcProvider]
    _discovery: dict[str, _Cached] = field(default_factory=dict)
    _jwks: dict[str, dict[str, Any]] = field(default_factory=dict)
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def get(self, name: str) -> OidcProvider:
        for provider in self.configured:
            if provider.name == name:
                return provider
        known = ", ".join(p.name for p in self.configured) or "none"
        raise NotFound(f"there is no OIDC provider named {name!r}; configured providers: {known}")

    async def metadata(self, provider: OidcProvider) -> dict[str, Any]:
        async with self._lock:
            cached = self._discovery.get(provider.name)
            if cached and time.monotonic() - cached.fetched_at < DISCOVERY_TTL_S:
                return cached.value
            url = provider.issuer.rstrip("/") + "/.well-known/openid-configuration"
            doc = await _get_json(provider, url)
            if doc.get("issuer") != provider.issuer:
                raise UpstreamFailed(
                    f"the discovery document of {provider.name!r} names the issuer "
                    f"{doc.get('issuer')!r}, but Lincah is configured with {provider.issuer!r}; "
                    "fix the issuer in the settings",
                )
            missing = ", ".join(sorted(_ENDPOINTS - doc.keys()))
            if missing:
                raise UpstreamFailed(f"the discovery document of {provider.name!r} lacks {missing}")
            self._discovery[provider.name] = _Cached(time.monotonic(), doc)
            return doc

    async def key_set(self, provider: OidcProvider, *, refresh: bool = False) -> KeySet:
        meta = await self.metadata(provider)
        uri = meta["jwks_uri"]
        if refresh or uri not in self._jwks:
            self._jwks[uri] = await _get_json(provider, uri)
        return KeySet.import_key_set(self._jwks[uri])  # type: ignore[arg-type]

    def _client(self, provider: OidcProvider, redirect_uri: str) -> AsyncOAuth2Client:
        return AsyncOAuth2Client(
            client_id=provider.client_id,
            client_secret=provider.client_secret.get_secret_value(),
            token_endpoint_auth_method=provider.token_endpoint_auth_method,
            scope=" ".join(provider.scopes),
            redirect_uri=redirect_uri,
            code_challenge_method="S256",
            timeout=HTTP_TIMEOUT_S,
        )

    async def start(self, provider: OidcProvider, redirect_uri: str) -> tuple[str, PendingLogin]:
        """The provider's authorization URL to send the browser to, and what the
        callback must match."""
        meta = await self.metadata(provider)
        pending = PendingLogin(
            provider=provider.name,
            state=generate_token(32),
            nonce=generate_token(32),
            code_verifier=generate_token(64),
        )
        async with self._client(provider, redirect_uri) as client:
            url, _ = client.create_authorization_url(
                meta["authorization_endpoint"],
                state=pending.state,
                code_verifier=pending.code_verifier,
                nonce=pending.nonce,
            )
        return str(url), pending

    async def finish(
        self,
        provider: OidcProvider,
        redirect_uri: str,
        pending: PendingLogin,
        params: dict[str, str],
    ) -> VerifiedLogin:
        """Check the callback's parameters against the pending login, exchange the code
        and verify the ID token."""
        again = f"start again at /auth/oidc/{provider.name}/login"
        if "error" in params:
            raise Unauthenticated(
                f"{provider.name!r} did not log you in: {params['error']}"
                + (f" ({params['error_description']})" if params.get("error_description") else "")
                + f"; {again}",
            )
        state = params.get("state", "")
        if not hmac.compare_digest(state.encode(), pending.state.encode()):
            raise Unverified(
                "the state parameter does not match the login this browser started "
                f"(a forged or mixed-up callback); {again}",
            )
        # RFC 9207: a provider that names itself must be the one the login went to.
        if "iss" in params and params["iss"] != provider.issuer:
            raise Unverified(
                f"the callback comes from issuer {params['iss']!r}, not {provider.issuer!r}"
            )
        code = params.get("code")
        if not code:
            raise Unverified(f"the callback carries no authorization code; {again}")
        meta = await self.metadata(provider)
        async with self._client(provider, redirect_uri) as client:
            try:
                token = await client.fetch_token(
                    meta["token_endpoint"],
                    grant_type="authorization_code",
                    code=code,
                    code_verifier=pending.code_verifier,
                )
            except OAuthError as e:
                raise Unverified(
                    f"{provider.name!r} refused the authorization code ({e.error}: "
                    f"{e.description}); a code works once and for a short time; {again}",
                ) from e
            except httpx.HTTPError as e:
                raise _unreachable(provider, e) from e
        id_token = token.get("id_token")
        if not isinstance(id_token, str):
            raise UpstreamFailed(
                f"{provider.name!r} answered without an ID token; is 'openid' in its scopes?"
            )
        claims = await self.verify_id_token(provider, meta, id_token, pending.nonce, token)
        wanted = {"email", "email_verified", *([provider.nik_claim] if provider.nik_claim else [])}
        if not wanted <= claims.keys():
            claims = {**await self._userinfo(provider, meta, token, claims["sub"]), **claims}
        return VerifiedLogin(subject=str(claims["sub"]), claims=claims)

    async def _userinfo(
        self, provider: OidcProvider, meta: dict[str, Any], token: dict[str, Any], subject: str
    ) -> dict[str, Any]:
        """The UserInfo claims, for a provider that keeps the e-mail (or NIK) claims out
        of the ID token (as OIDC Core 5.4 has it when an access token is issued)."""
        endpoint = meta.get("userinfo_endpoint")
        access_token = token.get("access_token")
        if not endpoint or not isinstance(access_token, str):
            return {}
        info = await _get_json(provider, endpoint, bearer=access_token)
        # OIDC Core 5.3.2: UserInfo about another subject must not be used.
        if info.get("sub") != subject:
            raise Unauthenticated(
                f"the UserInfo of {provider.name!r} is about another subject; log in again"
            )
        return info

    async def verify_id_token(
        self,
        provider: OidcProvider,
        meta: dict[str, Any],
        id_token: str,
        nonce: str,
        token: dict[str, Any],
    ) -> dict[str, Any]:
        """The claims of ``id_token`` once its signature (the provider's JWKS), ``iss``,
        ``aud``, ``exp``, ``iat``, ``nonce`` and ``at_hash`` check out; ``token`` is the
        token endpoint's answer it came in."""
        registry = JWSRegistry(
            algorithms=meta.get("id_token_signing_alg_values_supported") or ["RS256"]
        )
        try:
            try:
                decoded = jwt.decode(id_token, await self.key_set(provider), registry=registry)
            except InvalidKeyIdError:  # the provider rotated its keys
                keys = await self.key_set(provider, refresh=True)
                decoded = jwt.decode(id_token, keys, registry=registry)
            claims = CodeIDToken(
                decoded.claims,
                decoded.header,
                {
                    "iss": {"essential": True, "value": provider.issuer},
                    "aud": {"essential": True, "value": provider.client_id},
                    "sub": {"essential": True},
                    "exp": {"essential": True},
                },
                {"nonce": nonce, "client_id": provider.client_id, **_at(token)},
            )
            claims.validate(leeway=CLOCK_LEEWAY_S)
        except (JoseError, ValueError) as e:
            raise Unauthenticated(
                f"the ID token from {provider.name!r} is not valid: {e}; log in again"
            ) from e
        return dict(claims)


def _at(token: dict[str, Any]) -> dict[str, Any]:
    access_token = token.get("access_token")
    return {"access_token": access_token} if isinstance(access_token, str) else {}


async def _get_json(
    provider: OidcProvider, url: str, *, bearer: str | None = None
) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
    try:
        async with httpx.AsyncClient(timeout=HTTP_TIMEOUT_S) as http:
            r = await http.get(url, headers=headers)
            r.raise_for_status()
            doc = r.json()
    except (httpx.HTTPError, ValueError) as e:
        raise _unreachable(provider, e) from e
    if not isinstance(doc, dict):
        raise UpstreamFailed(f"{url} of {provider.name!r} is not a JSON object")
    return doc


def _unreachable(provider: OidcProvider, e: Exception) -> Refusal:
    return Unavailable(
        f"the identity provider {provider.name!r} ({provider.issuer}) cannot be reached or "
        f"answered badly ({type(e).__name__}: {e}); try again shortly",
    )
