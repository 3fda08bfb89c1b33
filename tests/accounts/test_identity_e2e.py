"""Identity end to end, in production mode: real Temporal dev server, the whole stack
(tests/support.py), a real SMTP server (aiosmtpd) whose captured mail carries the codes.

A citizen registers, confirms, logs in and applies; an agency administrator bootstrapped
through `lincah admin` invites an officer who accepts, logs in and decides; the citizen
sees "approved". Then: nothing answers without credentials, dev tokens are gone, refresh
tokens rotate and revoke, logins are rate-limited, the NIK never comes back in full."""

from __future__ import annotations

import asyncio
import io

import jwt
import pytest

from api import security
from api.main import create_app
from domain import accounts as acc
from lincah import admin, cli
from lincah.demo import DOMISILI
from tests.support import Stack, run_stack

pytestmark = pytest.mark.e2e

NIK = "3510154808900003"
PASSWORD = "kopi-luwak-2026"
SITI = {
    "nik": NIK,
    "full_name": "Siti Aminah",
    "address": "Jl. Ahmad Yani No. 12, RT 02/RW 05",
    "kelurahan": "Penganjuran",
    "purpose": "Pembukaan rekening bank",
}
INVITE_CODE = r"invitation code: (\S+)"
CONFIRM_CODE = r"confirmation code: (\d{6})"

# Routes anyone may call without signing in, as before this change (and the sign-in
# routes themselves).
PUBLIC = {
    ("GET", "/health"),
    ("GET", "/metrics"),
    ("GET", "/ready"),
    ("GET", "/documents/{number}/verify"),
    ("GET", "/documents/public-key"),  # what anyone checks a document's signature with
    ("POST", "/documents/verify"),  # anyone may check a PDF they were handed
    ("POST", "/payments/webhook"),  # signed with the provider's HMAC instead
    ("POST", "/auth/register"),
    ("POST", "/auth/confirm"),
    ("POST", "/auth/login"),
    ("POST", "/auth/refresh"),
    ("POST", "/auth/logout"),
    ("POST", "/staff/accept"),
    # UU 25/2009: the catalogue, the Standar Pelayanan and the maklumat are public.
    ("GET", "/public/services"),
    ("GET", "/public/services/{service_id}/standard"),
    ("GET", "/public/agencies/{agency_code}/maklumat"),
    ("GET", "/services/{service_id}/form"),  # a citizen's token prefills it
    # Signing in through a region's identity provider starts without credentials.
    ("GET", "/auth/oidc/{provider}/login"),
    ("GET", "/auth/oidc/{provider}/callback"),
    # SP4N-LAPOR: anyone may complain anonymously.
    ("POST", "/complaints"),
    # Tanpa antre: where the agency serves, its free slots, the hall's display and a
    # number's slip are public; a kiosk proves itself with its device key instead.
    ("GET", "/public/locations"),
    ("GET", "/public/locations/{location_id}"),
    ("GET", "/public/locations/{location_id}/slots"),
    ("GET", "/public/locations/{location_id}/display"),
    ("GET", "/public/locations/{location_id}/tickets/{ticket}/slip"),
}


@pytest.fixture
async def stack(dev_env, prod_settings):
    async with run_stack(dev_env, prod_settings) as s:
        yield s  # run_stack ends the applications the test left running


def bootstrap(s: Stack, *argv: str) -> str:
    """Run a `lincah admin` command as the CLI parses it, on the stack's settings."""
    out = io.StringIO()
    args = cli.build_parser().parse_args(["admin", *argv])
    assert admin.main(args, s.settings, out) == 0, out.getvalue()
    return out.getvalue()


async def login(s: Stack, login_name: str, password: str) -> dict:
    r = await s.http.post("/auth/login", json={"login": login_name, "password": password})
    assert r.status_code == 200, r.text
    return r.json()


async def refresh_status(s: Stack, tokens: dict) -> int:
    r = await s.http.post("/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    return r.status_code


def bearer(tokens: dict) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['access_token']}"}


async def join_as_staff(s: Stack, inbox, email: str, password: str) -> dict:
    code = await inbox.code(email, INVITE_CODE)
    r = await s.http.post(
        "/staff/accept", json={"email": email, "code": code, "password": password}
    )
    assert r.status_code == 200, r.text
    return await login(s, email, password)


async def test_citizen_and_officer_walk_an_application_to_approved(stack, smtp):
    s, inbox = stack, smtp[0]
    # The bootstrap: region, agency, its first administrator (code printed and mailed).
    bootstrap(s, "create-region", "35.10", "Kabupaten Banyuwangi")
    bootstrap(s, "create-agency", "BWI", "DPMPTSP Kabupaten Banyuwangi", "--region", "35.10")
    printed = bootstrap(
        s, "invite", "admin@banyuwangikab.go.id", "--name", "Ratna", "--agency", "BWI"
    )
    assert "One-time code:" in printed
    admin_tokens = await join_as_staff(s, inbox, "admin@banyuwangikab.go.id", "admin-pass-2026")
    admin_h = bearer(admin_tokens)

    r = await s.http.post("/services", json=DOMISILI, headers=admin_h)
    assert r.status_code == 201, r.text
    r = await s.http.post(f"/services/{DOMISILI['id']}/versions/1/publish", headers=admin_h)
    assert r.status_code == 200, r.text

    # The administrator invites an officer limited to the Domisili service.
    r = await s.http.post(
        "/staff/invitations",
        headers=admin_h,
        json={"email": "budi@banyuwangikab.go.id", "full_name": "Budi Santoso",
              "role": "officer", "services": [DOMISILI["id"]]},
    )  # fmt: skip
    assert r.status_code == 201, r.text
    officer_h = bearer(await join_as_staff(s, inbox, "budi@banyuwangikab.go.id", "budi-pass-2026"))

    # A citizen registers, confirms the e-mail with the mailed code, logs in.
    r = await s.http.post(
        "/auth/register",
        json={"nik": NIK, "full_name": "Siti Aminah", "email": "siti@example.id",
              "phone": "+6281234567890", "password": PASSWORD},
    )  # fmt: skip
    assert r.status_code == 202, r.text
    assert r.json()["nik"] == "************0003"
    account_id = r.json()["account_id"]
    r = await s.http.post("/auth/login", json={"login": "siti@example.id", "password": PASSWORD})
    assert r.status_code == 401  # the e-mail is not confirmed, so no login by it yet
    code = await inbox.code("siti@example.id", CONFIRM_CODE)
    wrong = "000000" if code != "000000" else "111111"
    r = await s.http.post("/auth/confirm", json={"account_id": account_id, "code": wrong})
    assert r.status_code == 400
    r = await s.http.post("/auth/confirm", json={"account_id": account_id, "code": code})
    assert r.status_code == 200, r.text
    citizen_h = bearer(await login(s, "siti@example.id", PASSWORD))

    r = await s.http.post(
        "/applications", json={"service_id": DOMISILI["id"], "data": SITI}, headers=citizen_h
    )
    assert r.status_code == 201, r.text
    app, pos = r.json()["application_id"], r.json()["position"]

    tasks = (await s.http.get(f"/tasks?min_position={pos}", headers=officer_h)).json()
    assert [t["application_id"] for t in tasks] == [app]
    r = await s.http.post(
        f"/tasks/{tasks[0]['task_id']}/complete",
        headers=officer_h,
        json={"outcome": "approve", "comment": "Alamat sesuai KK"},
    )
    assert r.status_code == 200, r.text
    done = r.json()["position"]
    view = (await s.http.get(f"/applications/{app}?min_position={done}", headers=citizen_h)).json()
    assert view["status"] == "approved"
    assert view["citizen"] == account_id  # the account, not a name from a token claim

    # Staff list and the event trail: every change names its actor.
    staff = (await s.http.get("/staff", headers=admin_h)).json()
    assert {m["email"]: m["status"] for m in staff} == {
        "admin@banyuwangikab.go.id": "active",
        "budi@banyuwangikab.go.id": "active",
    }
    budi = next(m for m in staff if m["role"] == "officer")
    events = s.store.read_stream(acc.account_stream(budi["account_id"]))
    assert [(e.type, e.data["by"]) for e in events] == [
        (acc.STAFF_INVITED, next(m for m in staff if m["role"] == "agency_admin")["account_id"]),
        (acc.INVITATION_ACCEPTED, budi["account_id"]),
    ]


async def test_an_officer_limited_to_services_sees_no_other_tasks(stack, smtp):
    s, inbox = stack, smtp[0]
    bootstrap(s, "create-region", "35.10", "Kabupaten Banyuwangi")
    bootstrap(s, "create-agency", "BWI", "DPMPTSP Kabupaten Banyuwangi", "--region", "35.10")
    bootstrap(s, "invite", "admin@banyuwangikab.go.id", "--name", "Ratna", "--agency", "BWI")
    admin_h = bearer(await join_as_staff(s, inbox, "admin@banyuwangikab.go.id", "admin-pass-2026"))
    other = {**DOMISILI, "id": "surat-domisili-usaha", "name": "Surat Domisili Usaha"}
    for definition in (DOMISILI, other):
        assert (await s.http.post("/services", json=definition, headers=admin_h)).status_code == 201
        r = await s.http.post(f"/services/{definition['id']}/versions/1/publish", headers=admin_h)
        assert r.status_code == 200
    r = await s.http.post(
        "/staff/invitations",
        headers=admin_h,
        json={"email": "budi@banyuwangikab.go.id", "full_name": "Budi", "role": "officer",
              "services": [other["id"]]},
    )  # fmt: skip
    assert r.status_code == 201, r.text
    officer_h = bearer(await join_as_staff(s, inbox, "budi@banyuwangikab.go.id", "budi-pass-2026"))
    await s.http.post(
        "/auth/register",
        json={"nik": NIK, "full_name": "Siti", "email": "siti@example.id", "password": PASSWORD},
    )
    r = await s.http.get("/auth/me", headers=officer_h)
    assert r.json()["services"] == [other["id"]]
    account_id = acc.citizen_account_id(_registry(s).lookup("nik", NIK))
    code = await inbox.code("siti@example.id", CONFIRM_CODE)
    await s.http.post("/auth/confirm", json={"account_id": account_id, "code": code})
    citizen_h = bearer(await login(s, NIK, PASSWORD))  # a citizen may log in with the NIK
    r = await s.http.post(
        "/applications", json={"service_id": DOMISILI["id"], "data": SITI}, headers=citizen_h
    )
    app, pos = r.json()["application_id"], r.json()["position"]
    assert (await s.http.get(f"/tasks?min_position={pos}", headers=officer_h)).json() == []
    r = await s.http.post(
        f"/tasks/{app}.verify_residence.1/complete",
        headers=officer_h,
        json={"outcome": "approve"},
    )
    assert r.status_code == 403, r.text
    assert other["id"] in r.json()["detail"]


def _registry(s: Stack):
    from accounts.registry import Registry

    return Registry(s.store, s.settings)


async def test_production_answers_nothing_without_credentials(stack, prod_settings):
    s = stack
    forged = jwt.encode(  # a dev token, even signed with the production key
        {"sub": "x", "role": "agency_admin", "agency": "BWI", "iss": security.ISSUER,
         "aud": security.AUDIENCE, "iat": 1, "exp": 4_000_000_000, "jti": "j", "dev": True},
        prod_settings.jwt_secret, algorithm="HS256",
    )  # fmt: skip
    checked = 0
    for path, operations in create_app(prod_settings).openapi()["paths"].items():
        for method in (m.upper() for m in operations):
            if (method, path) in PUBLIC:
                continue
            url = path.replace("{", "").replace("}", "")  # {service_id} -> service_id
            url = url.replace("application_id", "BWI-2026-000001")
            # Uploads are refused by their shape (415, 413) before anyone is asked who
            # they are, which tells nothing; send them in the right shape.
            body = (
                {"files": {"photo": ("me.jpg", b"\xff\xd8\xff", "image/jpeg")}}
                if path in ("/me/face", "/me/selfies", "/auth/kiosk", "/counter/face")
                and method == "POST"
                else {"json": {}}
            )
            for headers in ({}, {"Authorization": f"Bearer {forged}"}):
                r = await s.http.request(method, url, headers=headers, **body)
                assert r.status_code in (401, 404), (method, path, r.status_code, r.text)
            checked += 1
    assert checked >= 30

    r = await s.http.post("/auth/dev-token", json={"subject": "x", "role": "citizen"})
    assert r.status_code == 404
    paths = (await s.http.get("/openapi.json")).json()["paths"]
    assert "/auth/dev-token" not in paths and "/auth/login" in paths
    assert (await s.http.get("/health")).status_code == 200


async def test_refresh_tokens_rotate_and_a_reused_one_revokes_the_family(stack, smtp):
    s, inbox = stack, smtp[0]
    bootstrap(s, "create-region", "35.10", "Kabupaten Banyuwangi")
    bootstrap(s, "create-agency", "BWI", "DPMPTSP Kabupaten Banyuwangi", "--region", "35.10")
    bootstrap(s, "invite", "admin@banyuwangikab.go.id", "--name", "Ratna", "--agency", "BWI")
    first = await join_as_staff(s, inbox, "admin@banyuwangikab.go.id", "admin-pass-2026")

    r = await s.http.post("/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert r.status_code == 200, r.text
    second = r.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert (await s.http.get("/staff", headers=bearer(second))).status_code == 200
    # The rotated token comes back: someone kept a copy, so the whole family ends.
    r = await s.http.post("/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert r.status_code == 401
    r = await s.http.post("/auth/refresh", json={"refresh_token": second["refresh_token"]})
    assert r.status_code == 401

    # Logout ends a sign-in; others stay.
    a = await login(s, "admin@banyuwangikab.go.id", "admin-pass-2026")
    b = await login(s, "admin@banyuwangikab.go.id", "admin-pass-2026")
    r = await s.http.post("/auth/logout", json={"refresh_token": a["refresh_token"]})
    assert r.status_code == 204
    assert await refresh_status(s, a) == 401
    r = await s.http.post("/auth/refresh", json={"refresh_token": b["refresh_token"]})
    assert r.status_code == 200
    b = r.json()

    # A password change ends every sign-in, access tokens included.
    r = await s.http.post(
        "/auth/password", headers=bearer(b),
        json={"current_password": "admin-pass-2026", "new_password": "admin-pass-2027"},
    )  # fmt: skip
    assert r.status_code == 204, r.text
    assert (await s.http.get("/staff", headers=bearer(b))).status_code == 401
    assert await refresh_status(s, b) == 401
    admin_h = bearer(await login(s, "admin@banyuwangikab.go.id", "admin-pass-2027"))

    # A suspension ends the officer's sign-ins at once and keeps them out.
    await s.http.post(
        "/staff/invitations", headers=admin_h,
        json={"email": "budi@banyuwangikab.go.id", "full_name": "Budi", "role": "officer"},
    )  # fmt: skip
    budi = await join_as_staff(s, inbox, "budi@banyuwangikab.go.id", "budi-pass-2026")
    me = (await s.http.get("/auth/me", headers=bearer(budi))).json()
    r = await s.http.post(f"/staff/{me['account_id']}/suspend", headers=admin_h,
                          json={"reason": "left the agency"})  # fmt: skip
    assert r.status_code == 200, r.text
    assert (await s.http.get("/tasks", headers=bearer(budi))).status_code == 401
    assert await refresh_status(s, budi) == 401
    r = await s.http.post(
        "/auth/login", json={"login": "budi@banyuwangikab.go.id", "password": "budi-pass-2026"}
    )
    assert r.status_code == 403
    suspended = s.store.read_stream(acc.account_stream(me["account_id"]))[-1]
    assert suspended.type == acc.ACCOUNT_SUSPENDED and suspended.data["by"] != me["account_id"]


async def test_logins_are_rate_limited_and_do_not_tell_who_exists(stack, smtp):
    s, inbox = stack, smtp[0]
    bootstrap(s, "create-region", "35.10", "Kabupaten Banyuwangi")
    bootstrap(s, "create-agency", "BWI", "DPMPTSP Kabupaten Banyuwangi", "--region", "35.10")
    bootstrap(s, "invite", "admin@banyuwangikab.go.id", "--name", "Ratna", "--agency", "BWI")
    await join_as_staff(s, inbox, "admin@banyuwangikab.go.id", "admin-pass-2026")

    known = await s.http.post(
        "/auth/login", json={"login": "admin@banyuwangikab.go.id", "password": "wrong-password"}
    )
    unknown = await s.http.post(
        "/auth/login", json={"login": "nobody@banyuwangikab.go.id", "password": "wrong-password"}
    )
    assert (known.status_code, known.json()) == (unknown.status_code, unknown.json())
    assert known.status_code == 401
    for _ in range(5):  # four more failures are free; the sixth locks
        r = await s.http.post(
            "/auth/login", json={"login": "admin@banyuwangikab.go.id", "password": "wrong-password"}
        )
        assert r.status_code == 401
    r = await s.http.post(
        "/auth/login", json={"login": "admin@banyuwangikab.go.id", "password": "admin-pass-2026"}
    )
    assert r.status_code == 429, r.text
    assert int(r.headers["Retry-After"]) >= 1


async def test_registration_never_echoes_the_nik_and_keeps_one_account_per_nik(stack, smtp):
    s, inbox = stack, smtp[0]
    bodies = []
    body = {"nik": NIK, "full_name": "Siti", "email": "siti@example.id", "password": PASSWORD}
    first = await s.http.post("/auth/register", json=body)
    bodies.append(first.text)
    code = await inbox.code("siti@example.id", CONFIRM_CODE)
    r = await s.http.post(
        "/auth/confirm", json={"account_id": first.json()["account_id"], "code": code}
    )
    bodies.append(r.text)
    # Again with the same NIK: the same answer; the holder is told by e-mail.
    again = await s.http.post("/auth/register", json={**body, "email": "other@example.id"})
    bodies.append(again.text)
    assert again.status_code == first.status_code == 202
    assert again.json()["account_id"] == first.json()["account_id"]
    to_siti = [m["Subject"] for m in inbox.messages if m["To"] == "siti@example.id"]
    assert any("tried to register" in subject for subject in to_siti)
    assert not [m for m in inbox.messages if m["To"] == "other@example.id"]
    bad = await s.http.post("/auth/register", json={**body, "nik": NIK[:-4] + "0000"})
    assert bad.status_code == 422
    bodies.append(bad.text)
    # Refused by the body's shape (a field missing, a NIK too short): no value quoted.
    for broken in ({"nik": NIK, "email": "a@b.id"}, {**body, "nik": NIK[:-1]}):
        bad = await s.http.post("/auth/register", json=broken)
        assert bad.status_code == 422 and bad.json()["problems"][0]["path"].startswith("body")
        bodies.append(bad.text)
    bad = await s.http.post("/staff/accept", json={"email": "a@b.id", "code": 1})
    assert bad.status_code == 422 and "a@b.id" not in bad.text
    h = bearer(await login(s, "siti@example.id", PASSWORD))
    me = await s.http.get("/auth/me", headers=h)
    assert me.json()["nik"] == "************0003"
    bodies.append(me.text)
    for text in bodies:
        assert NIK not in text and NIK[:-4] not in text
    for e in s.store.read_stream(acc.account_stream(first.json()["account_id"])):
        assert NIK not in str(e.data)
    # Two registrations racing for one NIK: one account, one stream of one registration.
    other_nik = "3510151203850001"
    racers = [
        s.http.post("/auth/register", json={**body, "nik": other_nik, "email": f"r{i}@example.id"})
        for i in range(4)
    ]
    answers = await asyncio.gather(*racers)
    assert {a.status_code for a in answers} <= {202, 409}
    account = _registry(s).account(acc.citizen_account_id(_registry(s).lookup("nik", other_nik)))
    assert account is not None and account.status == "unconfirmed"


def test_production_refuses_weak_secrets(prod_settings, tmp_path):
    from api.runtime import Runtime
    from config.settings import Settings, UnsafeSettings

    for name, value in [("jwt_secret", ""), ("payment_webhook_secret", "short"),
                        ("face_key", "x" * 64), ("lookup_key", "changeme"),
                        ("profile_key", ""), ("upload_key", ""), ("ticket_key", ""),
                        ("data_master_key", "")]:  # fmt: skip
        with pytest.raises(UnsafeSettings) as e:
            Settings(**{**prod_settings.model_dump(), name: value})
        assert name in str(e.value)
        with pytest.raises(UnsafeSettings, match=name):
            Runtime(prod_settings.model_copy(update={name: value}))
    missing = tmp_path / "no-such-key.pem"
    with pytest.raises(UnsafeSettings, match="document_key_path"):
        Settings(**{**prod_settings.model_dump(), "document_key_path": missing})
    assert not missing.exists()  # and nothing was generated


def test_lincah_api_exits_2_naming_the_setting(tmp_path):
    import os
    import subprocess
    import sys

    env = dict(os.environ, LINCAH_ENVIRONMENT="production", LINCAH_VAR_DIR=str(tmp_path),
               LINCAH_JWT_SECRET="too-short")  # fmt: skip
    env.pop("LINCAH_PAYMENT_WEBHOOK_SECRET", None)
    for command in ("api", "up"):
        r = subprocess.run(
            [sys.executable, "-m", "lincah.cli", command], env=env, capture_output=True,
            text=True, timeout=60,
        )  # fmt: skip
        assert r.returncode == 2, r.stderr
        assert "LINCAH_JWT_SECRET" in r.stderr and "payment_webhook_secret" in r.stderr


def test_dev_token_route_exists_in_development_only(settings, prod_settings):
    dev_paths = create_app(settings).openapi()["paths"]
    prod_paths = create_app(prod_settings).openapi()["paths"]
    assert "/auth/dev-token" in dev_paths and "/auth/dev-token" not in prod_paths


async def test_auditors_read_their_agency_or_region_only(stack, smtp):
    s, inbox = stack, smtp[0]
    bootstrap(s, "create-region", "35.10", "Kabupaten Banyuwangi")
    bootstrap(s, "create-region", "35.09", "Kabupaten Jember")
    bootstrap(s, "create-agency", "BWI", "DPMPTSP Kabupaten Banyuwangi", "--region", "35.10")
    bootstrap(s, "create-agency", "DUK", "Disdukcapil Kabupaten Banyuwangi", "--region", "35.10")
    bootstrap(s, "create-agency", "JMB", "DPMPTSP Kabupaten Jember", "--region", "35.09")
    auditors = {
        "bwi": ("--agency", "BWI"),
        "duk": ("--agency", "DUK"),
        "banyuwangi": ("--region", "35.10"),
        "jember": ("--region", "35.09"),
    }
    heads = {}
    for name, scope in auditors.items():
        email = f"audit-{name}@inspektorat.go.id"
        bootstrap(s, "invite", email, "--name", name, "--role", "auditor", *scope)
        heads[name] = bearer(await join_as_staff(s, inbox, email, "audit-pass-2026"))
    bootstrap(s, "invite", "admin@banyuwangikab.go.id", "--name", "Ratna", "--agency", "BWI")
    admin_h = bearer(await join_as_staff(s, inbox, "admin@banyuwangikab.go.id", "admin-pass-2026"))
    assert (await s.http.post("/services", json=DOMISILI, headers=admin_h)).status_code == 201
    r = await s.http.post(f"/services/{DOMISILI['id']}/versions/1/publish", headers=admin_h)
    assert r.status_code == 200
    r = await s.http.post(
        "/auth/register",
        json={"nik": NIK, "full_name": "Siti", "email": "siti@example.id", "password": PASSWORD},
    )
    code = await inbox.code("siti@example.id", CONFIRM_CODE)
    await s.http.post("/auth/confirm", json={"account_id": r.json()["account_id"], "code": code})
    citizen_h = bearer(await login(s, "siti@example.id", PASSWORD))
    r = await s.http.post(
        "/applications", json={"service_id": DOMISILI["id"], "data": SITI}, headers=citizen_h
    )
    app, pos = r.json()["application_id"], r.json()["position"]

    for name, sees in [("bwi", True), ("banyuwangi", True), ("duk", False), ("jember", False)]:
        h = heads[name]
        listed = (await s.http.get(f"/applications?min_position={pos}", headers=h)).json()
        assert [a["application_id"] for a in listed] == ([app] if sees else []), name
        r = await s.http.get(f"/applications/{app}", headers=h)
        assert r.status_code == (200 if sees else 404), name
        r = await s.http.get(f"/audit/applications/{app}/events", headers=h)
        assert r.status_code == (200 if sees else 404), name
        stats = (await s.http.get("/stats/applications", headers=h)).json()
        assert bool(stats["by_service"]) == sees, (name, stats)
