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
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx
import pytest
import uvicorn
from joserfc import jwt
from joserfc.jwk import RSAKey

from accounts import federation
from accounts.mail import Mailer
from accounts.oidc import PendingLogin, Providers, seal, unseal
from accounts.registry import Registry
from api import security
from api.main import create_app
from config.settings import OidcProvider, Settings
from domain import accounts as acc
from domain.refusals import Refusal, Unauthenticated
from eventstore.factory import open_store
from tests.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = Path(__file__).with_name("oidc_provider.mjs")
SECRET = "test-secret-of-at-least-32-bytes-long"
PASSWORDS = {"siti": "siti-secret", "budi": "budi-secret", "joko": "joko-secret"}
# Provider names configured against the one test provider: citizens, and staff.
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
        OidcProvider(name=OFFICERS, accounts="staff", **common),
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
async def browsers() -> AsyncIterator[list[Browser]]:
    made: list[Browser] = []
    yield made
    for b in made:
        await b.aclose()


def browser(api: str, made: list[Browser]) -> Browser:
    made.append(Browser(api))
    return made[-1]


def principal(token_body: dict, key: str = SECRET) -> security.Principal:
    return security.verify(token_body["access_token"], key)


class Captured(Mailer):
    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self.sent: list[str] = []

    def send(self, to: str, subject: str, body: str) -> None:
        self.sent.append(body)


@contextmanager
def registry(settings: Settings, mailer: Mailer | None = None) -> Iterator[Registry]:
    """The registry on the API's own event store, as ``lincah admin`` reaches it."""
    store = open_store(settings)
    try:
        yield Registry(store, settings, mailer)
    finally:
        store.close()


def with_query(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    query.update(changes)
    return urlunsplit(parts._replace(query=urlencode(query)))


async def test_a_citizen_logs_in_through_the_provider(api, api_settings, browsers):
    r = await browser(api, browsers).login(CITIZENS, "siti")
    assert r.status_code == 200, r.text
    body = r.json()
    # The answer of POST /auth/login: an access token with the account's claims, and a
    # refresh token.
    assert set(body) == {"access_token", "token_type", "expires_in", "refresh_token"}
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == api_settings.access_token_ttl_s
    siti = principal(body)
    assert (siti.role, siti.agency, siti.region, siti.epoch, siti.dev) == (
        "citizen", None, None, 0, False,
    )  # fmt: skip
    assert "siti" not in siti.subject  # the Lincah account id, not the provider's subject

    async with httpx.AsyncClient(base_url=api) as http:
        auth = {"Authorization": f"Bearer {body['access_token']}"}
        me = await http.get("/auth/me", headers=auth)
        assert me.status_code == 200, me.text
        assert (me.json()["account_id"], me.json()["email"]) == (siti.subject, "siti@example.id")
        assert (me.json()["status"], me.json()["role"]) == ("active", "citizen")
        mine = await http.get("/applications", headers=auth)
        assert mine.status_code == 200, mine.text
        assert mine.json() == []
        # The session refreshes like a password login's, and logging out ends it.
        refreshed = await http.post("/auth/refresh", json={"refresh_token": body["refresh_token"]})
        assert refreshed.status_code == 200, refreshed.text
        assert principal(refreshed.json()).subject == siti.subject
        token = refreshed.json()["refresh_token"]
        assert (await http.post("/auth/logout", json={"refresh_token": token})).status_code == 204
        ended = await http.post("/auth/refresh", json={"refresh_token": token})
        assert ended.status_code == 401, ended.text
        # A federated account has no password to log in with.
        wrong = await http.post("/auth/login", json={"login": "siti@example.id", "password": ""})
        assert wrong.status_code == 401, wrong.text

    # Another login of the same person (a new browser: the provider asks again) lands on
    # the same Lincah account; another person gets another.
    again = await browser(api, browsers).login(CITIZENS, "siti")
    assert again.status_code == 200, again.text
    assert principal(again.json()).subject == siti.subject
    budi = await browser(api, browsers).login(CITIZENS, "budi")
    assert principal(budi.json()).subject != siti.subject

    with registry(api_settings) as reg:
        link = reg.store.read_stream(federation.link_stream(CITIZENS, "siti"))
        assert [(e.type, e.data["account_id"]) for e in link] == [
            (acc.FEDERATED_LINK, siti.subject)
        ]
        account = reg.for_login("siti@example.id")
        assert account is not None and account.account_id == siti.subject
        events = reg.store.read_stream(acc.account_stream(siti.subject))
        assert [e.type for e in events] == [acc.CITIZEN_FEDERATED]


async def test_a_citizen_who_registered_with_a_password_reaches_the_same_account(
    api, api_settings, browsers
):
    async with httpx.AsyncClient(base_url=api) as http:
        mail = Captured(api_settings)
        with registry(api_settings, mail) as reg:
            r = reg.register("3510154808900003", "Siti Aminah", "siti@example.id", None,
                             "siti-pass-2026")  # fmt: skip
        code = re.search(r"code: (\d{6})", mail.sent[-1])
        assert code, mail.sent
        confirmed = await http.post(
            "/auth/confirm", json={"account_id": r.account_id, "code": code.group(1)}
        )
        assert confirmed.status_code == 200, confirmed.text
        by_password = await http.post(
            "/auth/login", json={"login": "siti@example.id", "password": "siti-pass-2026"}
        )
        assert by_password.status_code == 200, by_password.text
    federated = await browser(api, browsers).login(CITIZENS, "siti")
    assert federated.status_code == 200, federated.text
    assert principal(federated.json()).subject == principal(by_password.json()).subject


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


async def test_staff_sign_in_to_the_account_their_administrator_invited(
    api, api_settings, browsers
):
    r = await browser(api, browsers).login(OFFICERS, "budi")
    assert r.status_code == 403, r.text
    assert "ask your administrator to invite it" in r.json()["detail"]

    with registry(api_settings) as reg:  # the bootstrap, as `lincah admin` does it
        reg.create_region("35.10", "Kabupaten Banyuwangi", "cli:test")
        reg.create_agency("BWI", "DPMPTSP Banyuwangi", "35.10", "cli:test")
    async with httpx.AsyncClient(base_url=api) as http:
        admin = await http.post(
            "/auth/dev-token", json={"subject": "s-admin", "role": "agency_admin", "agency": "BWI"}
        )
        as_admin = {"Authorization": f"Bearer {admin.json()['access_token']}"}
        invited = await http.post(
            "/staff/invitations",
            headers=as_admin,
            json={"email": "Budi@BanyuwangiKab.go.id", "full_name": "Budi", "role": "cashier"},
        )
        assert invited.status_code == 201, invited.text
        budi_id = invited.json()["account_id"]

        r = await browser(api, browsers).login(OFFICERS, "budi")
        assert r.status_code == 200, r.text
        budi = principal(r.json())
        assert (budi.subject, budi.role, budi.agency) == (budi_id, "cashier", "BWI")
        # An invitation for one person lets no one else in.
        siti = await browser(api, browsers).login(OFFICERS, "siti")
        assert siti.status_code == 403, siti.text

        # Suspension ends the federated session and refuses the next login.
        suspended = await http.post(
            f"/staff/{budi_id}/suspend", headers=as_admin, json={"reason": "audit finding"}
        )
        assert suspended.status_code == 200, suspended.text
        refresh = await http.post(
            "/auth/refresh", json={"refresh_token": r.json()["refresh_token"]}
        )
        assert refresh.status_code == 401, refresh.text
    again = await browser(api, browsers).login(OFFICERS, "budi")
    assert again.status_code == 403, again.text
    assert "suspended" in again.json()["detail"]


async def test_an_unverified_email_is_refused(api, browsers):
    r = await browser(api, browsers).login(CITIZENS, "joko")
    assert r.status_code == 403, r.text
    assert "has not verified the e-mail address" in r.json()["detail"]


@pytest.fixture
def production(prod_settings: Settings, api_port: int, idp: IdP) -> Settings:
    """Production settings (strict secrets, SMTP) with the test provider: accepted."""
    return Settings(**{**dict(prod_settings), "api_port": api_port,
                       "oidc_providers": providers_for(idp)})  # fmt: skip


async def test_a_citizen_logs_in_through_the_provider_in_production(production, browsers):
    async with serve(production) as api:
        r = await browser(api, browsers).login(CITIZENS, "siti")
        assert r.status_code == 200, r.text
        siti = principal(r.json(), production.signing_key())
        assert siti.role == "citizen" and not siti.dev
        async with httpx.AsyncClient(base_url=api) as http:
            refreshed = await http.post(
                "/auth/refresh", json={"refresh_token": r.json()["refresh_token"]}
            )
            assert refreshed.status_code == 200, refreshed.text
            dev = await http.post("/auth/dev-token", json={"subject": "x", "role": "citizen"})
            assert dev.status_code in (404, 405), dev.text


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
