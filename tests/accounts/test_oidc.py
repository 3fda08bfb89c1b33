"""Logging in through a real OpenID Connect provider (oidc-provider under Node, started
from tests/accounts/oidc_provider.mjs) into the real API under uvicorn: the browser's
part is played by httpx, posting the provider's login and consent forms."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import subprocess
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx
import pytest
import uvicorn
from joserfc import jwt
from joserfc.jwk import RSAKey

from accounts import federation
from accounts.oidc import PendingLogin, Providers, seal, unseal
from api import security
from api.main import create_app
from config.settings import OidcProvider, Settings
from domain.refusals import Refusal, Unauthenticated
from eventstore.sqlite import SqliteEventStore
from tests.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = Path(__file__).with_name("oidc_provider.mjs")
SECRET = "test-secret-of-at-least-32-bytes-long"
PASSWORDS = {"siti": "siti-secret", "budi": "budi-secret", "joko": "joko-secret"}
# Provider names configured against the one test provider: citizens, and BWI officers.
CITIZENS, OFFICERS = "region", "bwi-staff"


@dataclass
class IdP:
    issuer: str
    key: RSAKey
    """The provider's own ID-token signing key (the test hands it over)."""


@pytest.fixture(scope="module")
def api_port() -> int:
    return free_port()


@pytest.fixture(scope="module")
def idp(api_port: int) -> Iterator[IdP]:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed: the OIDC tests need Node.js >= 18 for oidc-provider")
    if not (ROOT / "node_modules" / "oidc-provider").is_dir():
        pytest.skip("node_modules/oidc-provider is missing: run `make install` (npm ci)")
    port = free_port()
    key = RSAKey.generate_key(
        2048, parameters={"kid": "idp-key", "use": "sig", "alg": "RS256"}, private=True
    )
    redirects = [
        f"http://127.0.0.1:{api_port}/auth/oidc/{n}/callback" for n in (CITIZENS, OFFICERS)
    ]
    proc = subprocess.Popen(
        [node, str(SCRIPT), str(port), *redirects],
        cwd=ROOT,
        env={**os.environ, "OIDC_TEST_SIGNING_JWK": json.dumps(key.as_dict(private=True))},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    issuer = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{issuer}/.well-known/openid-configuration").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail(f"the OIDC provider did not start:\n{proc.stdout.read()}")  # type: ignore[union-attr]
            time.sleep(0.1)
        yield IdP(issuer, key)
    finally:
        proc.terminate()
        proc.wait(10)


def providers_for(idp: IdP) -> list[OidcProvider]:
    common = {"issuer": idp.issuer, "client_id": "lincah", "client_secret": "lincah-test-secret"}
    return [
        OidcProvider(name=CITIZENS, **common),
        OidcProvider(
            name=OFFICERS,
            role="officer",
            agency="BWI",
            scopes=["openid", "email", "nik"],
            **common,
        ),
    ]


@pytest.fixture
def api_settings(tmp_path: Path, api_port: int, idp: IdP) -> Settings:
    return Settings(
        var_dir=tmp_path / "var",
        jwt_secret=SECRET,
        api_port=api_port,
        read_wait_timeout_s=2.0,
        oidc_providers=providers_for(idp),
    )


@asynccontextmanager
async def serve(settings: Settings) -> AsyncIterator[str]:
    """The API alone under uvicorn: logging in needs neither Temporal nor the worker."""
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings), host="127.0.0.1", port=settings.api_port, log_level="warning"
        )
    )
    thread = threading.Thread(target=server.run)
    thread.start()
    try:
        while not server.started:
            assert thread.is_alive(), "the API did not start"
            await asyncio.sleep(0.02)
        yield f"http://127.0.0.1:{settings.api_port}"
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.fixture
async def api(api_settings: Settings) -> AsyncIterator[str]:
    async with serve(api_settings) as base:
        yield base


class Browser:
    """Cookies and redirects as a browser has them, for one person."""

    def __init__(self, api: str) -> None:
        self.api = api
        self.http = httpx.AsyncClient(timeout=30)

    async def to_callback(self, provider: str, login: str) -> str:
        """From Lincah's login to the provider and through its forms; the callback URL
        the provider sends the browser back to (not yet visited)."""
        r = await self.http.get(f"{self.api}/auth/oidc/{provider}/login")
        assert r.status_code == 302, r.text
        assert "lincah_oidc_login" in r.cookies
        url = r.headers["location"]
        for _ in range(20):
            if url.startswith(self.api):
                return url
            r = await self.http.get(url)
            if r.is_redirect:
                url = str(r.url.join(r.headers["location"]))
                continue
            assert r.status_code == 200, r.text
            action = re.search(r'action="([^"]+)"', r.text)
            assert action, r.text
            form = {"login": login, "password": PASSWORDS[login]} if "/login" in action[1] else {}
            r = await self.http.post(str(r.url.join(action[1])), data=form)
            assert r.is_redirect, r.text
            url = str(r.url.join(r.headers["location"]))
        raise AssertionError(f"the provider never sent the browser back; last URL {url}")

    async def login(self, provider: str, login: str) -> httpx.Response:
        return await self.http.get(await self.to_callback(provider, login))

    async def aclose(self) -> None:
        await self.http.aclose()


@pytest.fixture
async def browsers(api: str) -> AsyncIterator[list[Browser]]:
    made: list[Browser] = []
    yield made
    for b in made:
        await b.aclose()


def browser(api: str, made: list[Browser]) -> Browser:
    made.append(Browser(api))
    return made[-1]


def principal(token_body: dict) -> security.Principal:
    return security.verify(token_body["access_token"], SECRET)


def with_query(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    query.update(changes)
    return urlunsplit(parts._replace(query=urlencode(query)))


async def test_a_citizen_logs_in_through_the_provider(api, api_settings, browsers):
    r = await browser(api, browsers).login(CITIZENS, "siti")
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"access_token", "token_type", "expires_in"}
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == api_settings.token_ttl_s
    siti = principal(body)
    assert siti.role == "citizen" and siti.agency is None
    assert "siti" not in siti.subject  # the Lincah account id, not the provider's subject

    async with httpx.AsyncClient() as http:
        mine = await http.get(
            f"{api}/applications", headers={"Authorization": f"Bearer {body['access_token']}"}
        )
    assert mine.status_code == 200, mine.text
    assert mine.json() == []

    # Another login of the same person (a new browser: the provider asks again) lands on
    # the same Lincah account; another person gets another.
    again = await browser(api, browsers).login(CITIZENS, "siti")
    assert again.status_code == 200, again.text
    assert principal(again.json()).subject == siti.subject
    budi = await browser(api, browsers).login(CITIZENS, "budi")
    assert principal(budi.json()).subject != siti.subject

    store = SqliteEventStore(str(api_settings.eventstore_location))
    try:
        link = store.read_stream(federation.link_stream(CITIZENS, "siti"))
        assert [e.type for e in link] == [federation.LINKED]
        assert link[0].data["account_id"] == siti.subject
        account = store.read_stream(federation.account_stream(siti.subject))
        assert [e.type for e in account] == [federation.ACCOUNT_CREATED]
        assert account[0].data["email"] == "siti@example.id"
        assert account[0].data["role"] == "citizen"
    finally:
        store.close()


async def test_a_tampered_state_is_refused(api, browsers):
    b = browser(api, browsers)
    callback = await b.to_callback(CITIZENS, "siti")
    r = await b.http.get(with_query(callback, state="forged-" + "x" * 30))
    assert r.status_code == 400, r.text
    assert "state parameter does not match" in r.json()["detail"]
    # The genuine callback still works: the refusal was the state's alone.
    r = await b.http.get(callback)
    assert r.status_code == 200, r.text


async def test_a_callback_without_the_login_cookie_is_refused(api, browsers):
    callback = await browser(api, browsers).to_callback(CITIZENS, "siti")
    async with httpx.AsyncClient() as another_browser:  # without the login cookie
        r = await another_browser.get(callback)
    assert r.status_code == 400, r.text
    assert "no login in progress" in r.json()["detail"]


async def test_a_replayed_code_is_refused(api, browsers):
    b = browser(api, browsers)
    callback = await b.to_callback(CITIZENS, "siti")
    cookie = b.http.cookies.get("lincah_oidc_login")
    first = await b.http.get(callback)
    assert first.status_code == 200, first.text
    assert "lincah_oidc_login" not in b.http.cookies  # used up
    # An attacker who copied both the callback URL and the cookie still gets nothing.
    async with httpx.AsyncClient() as attacker:
        replay = await attacker.get(callback, headers={"Cookie": f"lincah_oidc_login={cookie}"})
    assert replay.status_code == 400, replay.text
    assert "refused the authorization code" in replay.json()["detail"]


async def test_staff_logins_need_an_invitation(api, api_settings, browsers):
    r = await browser(api, browsers).login(OFFICERS, "budi")
    assert r.status_code == 403, r.text
    assert "only when invited" in r.json()["detail"]

    store = SqliteEventStore(str(api_settings.eventstore_location))
    try:
        federation.invite(store, api_settings.oidc_providers[1], "Budi@BanyuwangiKab.go.id")
    finally:
        store.close()
    r = await browser(api, browsers).login(OFFICERS, "budi")
    assert r.status_code == 200, r.text
    budi = principal(r.json())
    assert (budi.role, budi.agency) == ("officer", "BWI")
    # An invitation for one person lets no one else in.
    r = await browser(api, browsers).login(OFFICERS, "siti")
    assert r.status_code == 403, r.text


async def test_an_unverified_email_is_refused(api, browsers):
    r = await browser(api, browsers).login(CITIZENS, "joko")
    assert r.status_code == 403, r.text
    assert "has not verified the e-mail address" in r.json()["detail"]


async def test_an_unknown_provider_is_named(api):
    async with httpx.AsyncClient() as http:
        r = await http.get(f"{api}/auth/oidc/nowhere/login")
    assert r.status_code == 404
    assert f"configured providers: {CITIZENS}, {OFFICERS}" in r.json()["detail"]


# -- the ID token's checks, with tokens signed by the provider's own key -----------------


def id_token(idp: IdP, **overrides: object) -> str:
    now = int(time.time())
    claims = {
        "iss": idp.issuer,
        "sub": "siti",
        "aud": "lincah",
        "iat": now,
        "exp": now + 300,
        "nonce": "the-nonce",
        **overrides,
    }
    return jwt.encode({"alg": "RS256", "kid": "idp-key"}, claims, idp.key)


@pytest.mark.parametrize(
    ("overrides", "why"),
    [
        ({}, None),
        ({"iss": "http://127.0.0.1:1"}, "iss"),
        ({"aud": "another-client"}, "aud"),
        ({"exp": int(time.time()) - 3600}, "exp"),
        ({"nonce": "another-nonce"}, "nonce"),
    ],
)
async def test_the_id_token_is_checked(idp, overrides, why):
    provider = providers_for(idp)[0]
    providers = Providers([provider])
    meta = await providers.metadata(provider)
    token = id_token(idp, **overrides)
    if why is None:
        claims = await providers.verify_id_token(provider, meta, token, "the-nonce", {})
        assert claims["sub"] == "siti"
        return
    with pytest.raises(Refusal) as refused:
        await providers.verify_id_token(provider, meta, token, "the-nonce", {})
    assert isinstance(refused.value, Unauthenticated)
    assert why in refused.value.message


async def test_an_id_token_signed_by_another_key_is_refused(idp):
    provider = providers_for(idp)[0]
    providers = Providers([provider])
    meta = await providers.metadata(provider)
    forger = RSAKey.generate_key(2048, parameters={"kid": "idp-key"}, private=True)
    claims = {"iss": idp.issuer, "sub": "siti", "aud": "lincah", "exp": int(time.time()) + 300}
    forged = jwt.encode({"alg": "RS256", "kid": "idp-key"}, {**claims, "iat": 0}, forger)
    with pytest.raises(Refusal) as refused:
        await providers.verify_id_token(provider, meta, forged, "the-nonce", {})
    assert "not valid" in refused.value.message


async def test_a_login_cookie_for_another_provider_is_refused():
    sealed = seal(PendingLogin("region", "s", "n", "v"), SECRET)
    assert unseal(sealed, "region", SECRET).state == "s"
    with pytest.raises(Refusal, match="not 'bwi-staff'"):
        unseal(sealed, "bwi-staff", SECRET)
    with pytest.raises(Refusal, match="expired or was altered"):
        unseal(sealed[:-4] + "AAAA", "region", SECRET)
