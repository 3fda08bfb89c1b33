"""The API's bounds, end to end on the real stack: JSON bodies Lincah could not store
are refused with 422 (never a 500), bodies past the limit with 413, integer query
parameters stay within what SQLite holds, reads of a position that does not exist yet
answer at once and waiting reads hold no thread, the public endpoints are rate limited,
and every error answer has the one ``Error`` body."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest

from api.limits import json_problem
from api.main import create_app
from api.routers.payments import SIGNATURE_HEADER, sign
from config.settings import TemporalSettings
from eventstore.port import NewEvent
from lincah.demo import DOMISILI
from tests.api.test_e2e import NAKES, SITI, publish
from tests.support import Stack, run_stack

pytestmark = pytest.mark.e2e

VERIFY = "/documents/BWI/SKD/2026/000001/verify"
INT64_MAX = 2**63 - 1


@pytest.fixture
async def stack(dev_env, settings, domisili, izin_praktik):
    bounded = settings.model_copy(update={"max_json_body_bytes": 64 * 1024})
    async with run_stack(dev_env, bounded) as s:
        await publish(s, domisili)
        await publish(s, izin_praktik)
        yield s


def assert_error_shape(r: httpx.Response) -> dict:
    body = r.json()
    assert isinstance(body["detail"], str) and body["detail"]
    assert set(body) <= {"detail", "problems"}
    for p in body.get("problems", []):
        assert set(p) == {"path", "message"} and p["path"] and p["message"]
    return body


def raw_json(text: str) -> dict:
    return {"content": text.encode(), "headers": {"content-type": "application/json"}}


async def test_json_that_lincah_cannot_store_answers_422_naming_the_problem(stack: Stack):
    s = stack
    siti = await s.token("siti@example.id", "citizen")
    head = s.store.head_position()
    bodies = {
        # a lone surrogate in the application data, in an id, in a login
        "surrogate in data": (
            "/applications",
            '{"service_id": "surat-keterangan-domisili", "data": '
            '{"nik": "3510154808900003", "full_name": "Siti \\ud800", "address": "Jl. A", '
            '"kelurahan": "Penganjuran", "purpose": "Bank"}}',
            "surrogate",
        ),
        "surrogate in a login": (
            "/auth/dev-token",
            '{"subject": "\\udc00siti", "role": "citizen"}',
            "surrogate",
        ),
        "400-digit number": (
            "/applications",
            '{"service_id": "izin-praktik-tenaga-kesehatan", "data": '
            + _json_data(NAKES, years_experience="1" + "0" * 400)
            + "}",
            "too large",
        ),
        "integer past 64 bits": (
            "/applications",
            '{"service_id": "izin-praktik-tenaga-kesehatan", "data": '
            + _json_data(NAKES, years_experience="-99999999999999999999")
            + "}",
            "too large",
        ),
        "malformed": ("/applications", '{"service_id": "x", "data": {', "not valid JSON"),
    }
    for name, (path, text, reason) in bodies.items():
        r = await s.http.post(
            path, headers={**siti, "content-type": "application/json"}, content=text.encode()
        )
        assert r.status_code == 422, (name, r.status_code, r.text)
        assert reason in assert_error_shape(r)["detail"], name
    assert s.store.head_position() == head  # nothing was written

    # The payment webhook reads its raw body, sent with or without a media type.
    callback = (
        b'{"provider_reference": "PAY-1", "application_id": "BWI-2026-000001", '
        b'"amount": 1' + b"0" * 30 + b', "status": "paid"}'
    )
    signed = {SIGNATURE_HEADER: sign(callback, s.settings.webhook_secret())}
    r = await s.http.post("/payments/webhook", headers=signed, content=callback)
    assert r.status_code == 422 and "too large" in assert_error_shape(r)["detail"], r.text

    r = await s.http.post(
        "/applications",
        headers={**siti, "content-type": "text/plain"},
        content=b'{"service_id": "x"}',
    )
    assert r.status_code == 415 and "application/json" in assert_error_shape(r)["detail"]


def _json_data(values: dict, **raw: str) -> str:
    import json

    fields = [f"{json.dumps(k)}: {json.dumps(v)}" for k, v in values.items() if k not in raw]
    fields += [f"{json.dumps(k)}: {v}" for k, v in raw.items()]
    return "{" + ", ".join(fields) + "}"


async def test_a_json_body_past_the_limit_answers_413(stack: Stack):
    s = stack
    admin = await s.token("admin@banyuwangikab.go.id", "agency_admin", "BWI")
    big = b'{"id": "' + b"x" * (65 * 1024) + b'"}'
    r = await s.http.post(
        "/services/validate", headers={**admin, "content-type": "application/json"}, content=big
    )
    assert r.status_code == 413 and "65,536 bytes" in assert_error_shape(r)["detail"]

    async def chunks():  # no Content-Length: refused while it streams
        for _ in range(100):
            yield b" " * 1024

    r = await s.http.post(
        "/services/validate",
        headers={**admin, "content-type": "application/json"},
        content=chunks(),
    )
    assert r.status_code == 413, r.text
    assert_error_shape(r)

    # Another media type on a JSON route is bounded too, and refused as not JSON.
    r = await s.http.post("/services/validate", headers=admin, files={"f": ("a.bin", big)})
    assert r.status_code == 413, r.text
    r = await s.http.post("/services/validate", headers=admin, files={"f": ("a.bin", b"{}")})
    assert r.status_code == 415 and "application/json" in assert_error_shape(r)["detail"]

    # A photo upload keeps its own, larger limit: refused for what it is, not its size.
    siti = await s.token("siti@example.id", "citizen")
    photo = {"photo": ("selfie.png", b"\x89PNG" + b"0" * (100 * 1024), "image/png")}
    r = await s.http.post("/me/selfies", headers=siti, files=photo)
    assert r.status_code == 422 and "larger" not in assert_error_shape(r)["detail"], r.text


async def test_integer_query_parameters_are_bounded(stack: Stack):
    s = stack
    siti = await s.token("siti@example.id", "citizen")
    for query, where in [
        (f"offset={INT64_MAX + 1}", "query.offset"),
        (f"min_position={INT64_MAX + 1}", "query.min_position"),
        ("limit=0", "query.limit"),
        ("limit=100000", "query.limit"),
        ("offset=-1", "query.offset"),
    ]:
        r = await s.http.get(f"/applications?{query}", headers=siti)
        assert r.status_code == 422, (query, r.text)
        body = assert_error_shape(r)
        assert [p["path"] for p in body["problems"]] == [where]
        assert where in body["detail"]
    r = await s.http.get(f"/applications?offset={INT64_MAX}", headers=siti)
    assert r.status_code == 200 and r.json() == []


async def test_validation_errors_name_each_field_in_the_error_shape(stack: Stack):
    r = await stack.http.post("/auth/dev-token", json={"role": "wizard", "agency": "bwi"})
    assert r.status_code == 422
    body = assert_error_shape(r)
    assert {p["path"] for p in body["problems"]} == {"body.subject", "body.role", "body.agency"}
    assert "body.subject: this is required" in body["detail"]


async def test_a_position_past_the_head_answers_409_at_once(stack: Stack):
    s = stack
    siti = await s.token("siti@example.id", "citizen")
    head = s.store.head_position()
    for path in ("/applications", "/services", VERIFY):
        r = await s.http.get(f"{path}?min_position={head + 1000}", headers=siti)
        assert r.status_code == 409, (path, r.status_code, r.text)
        detail = assert_error_shape(r)["detail"]
        assert f"last position is {head}" in detail and "does not exist yet" in detail


async def test_waiting_reads_hold_no_thread(dev_env, settings):
    """60 public reads waiting for a position the projector has not applied (it is
    down) leave /health free to answer while every one of them still waits."""
    waiting = settings.model_copy(
        update={"read_wait_timeout_s": 5.0, "rate_limit_documents": "1000/minute"}
    )
    async with run_stack(dev_env, waiting, projector=False) as s:
        result = s.store.append("test-lag", [NewEvent(uuid.uuid4(), "Nothing", {})])
        position = result.last_position
        reads = [
            asyncio.create_task(s.http.get(f"{VERIFY}?min_position={position}")) for _ in range(60)
        ]
        await asyncio.sleep(1.0)  # every read has reached the API and waits
        health = await s.http.get("/health")
        assert health.status_code == 200
        assert not any(t.done() for t in reads), "a waiting read ended before /health answered"
        answers = await asyncio.gather(*reads)
        assert {r.status_code for r in answers} == {504}
        assert f"did not reach {position}" in assert_error_shape(answers[0])["detail"]


async def test_public_endpoints_are_rate_limited_per_address(dev_env, settings):
    limited = settings.model_copy(
        update={"rate_limit_documents": "5/minute", "rate_limit_dev_login": "3/minute"}
    )
    async with run_stack(dev_env, limited) as s:
        answers = [await s.http.get(VERIFY) for _ in range(6)]
        assert [r.status_code for r in answers] == [404] * 5 + [429]
        last = answers[-1]
        assert 1 <= int(last.headers["Retry-After"]) <= 60
        assert "too many requests" in assert_error_shape(last)["detail"]
        assert (await s.http.get("/health")).status_code == 200  # exempt
        assert (await s.http.get("/documents/public-key")).status_code == 429  # same scope

        login = {"subject": "siti@example.id", "role": "citizen"}
        codes = [(await s.http.post("/auth/dev-token", json=login)).status_code for _ in range(4)]
        assert codes == [200, 200, 200, 429]


async def test_unavailable_answers_carry_retry_after(settings):
    """Temporal down: the command answers 503 with Retry-After, in the error shape."""
    nowhere = settings.model_copy(update={"temporal": TemporalSettings(address="127.0.0.1:9")})
    app = create_app(nowhere)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://lincah"
    ) as http:

        async def token(**who: str | None) -> dict[str, str]:
            r = await http.post("/auth/dev-token", json=who)
            return {"Authorization": f"Bearer {r.json()['access_token']}"}

        # The catalogue is written straight to the store, so it works without Temporal.
        admin = await token(subject="admin@bwi.go.id", role="agency_admin", agency="BWI")
        assert (await http.post("/services", json=DOMISILI, headers=admin)).status_code == 201
        r = await http.post(f"/services/{DOMISILI['id']}/versions/1/publish", headers=admin)
        assert r.status_code == 200, r.text
        citizen = await token(subject="s@x.id", role="citizen")
        body = {"service_id": DOMISILI["id"], "data": SITI}
        r = await http.post("/applications", headers=citizen, json=body)
    assert r.status_code == 503
    assert int(r.headers["Retry-After"]) >= 1
    assert "Temporal" in assert_error_shape(r)["detail"]


def test_the_openapi_document_declares_the_error_body_for_every_error(settings):
    schema = create_app(settings).openapi()
    assert "HTTPValidationError" not in schema["components"]["schemas"]
    assert set(schema["components"]["schemas"]["Error"]["required"]) == {"detail"}
    for path, operations in schema["paths"].items():
        for method, op in operations.items():
            for code, response in op["responses"].items():
                if int(code) < 400 or (path.endswith("/verify") and code == "404"):
                    continue
                ref = response["content"]["application/json"]["schema"]["$ref"]
                assert ref.endswith("/Error"), (method, path, code)
                if code in ("429", "503"):
                    assert "Retry-After" in response["headers"], (method, path, code)
    responses = schema["paths"]["/applications"]["get"]["responses"]
    assert {"401", "409", "422", "504"} <= set(responses)
    assert "429" in schema["paths"]["/documents/{number}/verify"]["get"]["responses"]


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b"[9223372036854775807, -9223372036854775808]", None),
        (b"9223372036854775808", "too large"),
        (b"-9223372036854775809", "too large"),
        (b'["123456789012345678901234567890"]', None),  # digits in a string are text
        (b"1" + b"0" * 300, "too large"),
        (b"1e400", "too large"),
        (b'"\\ud83d\\ude00"', None),  # a surrogate pair is one character
        (b'"\\ude00"', "lone surrogate"),
        (b'"\xed\xa0\x80"', "not valid UTF-8"),
        (b"[NaN]", "not valid JSON"),
        (b"[" * 2000 + b"]" * 2000, "not valid JSON"),
    ],
)
def test_json_problem_boundaries(body, problem):
    found = json_problem(body)
    if problem is None:
        assert found is None
    else:
        assert found is not None and problem in found
