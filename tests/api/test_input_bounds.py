"""Issue 9 through the HTTP API: a hostile condition is refused by POST /services/validate
in milliseconds, and application data the engine could not carry (a number beyond
±2**53, a 400-digit number, a lone surrogate) answers 422 naming the field, before an
application number is reserved."""

from __future__ import annotations

import time

import pytest

from tests.support import Stack, run_stack

pytestmark = pytest.mark.e2e

HOSTILE = "[[[1]*10000]*10000]*100 == [[[1]*10000]*10000]*100"
NAKES = (
    '{"nik": "3510154808900003", "full_name": "dr. Siti Aminah", "profession": "dokter",'
    ' "str_number": "STR-3510-2026-0042", "str_document": "upload:str.pdf",'
    ' "practice_address": "Jl. Brawijaya 5", "years_experience": %s}'
)
BEYOND = "must be between -9,007,199,254,740,992 and 9,007,199,254,740,992"


@pytest.fixture
async def stack(dev_env, settings):
    async with run_stack(dev_env, settings) as s:
        yield s


async def test_a_hostile_condition_is_refused_by_validate_in_milliseconds(
    stack: Stack, izin_praktik: dict
):
    admin = await stack.token("admin@banyuwangikab.go.id", "agency_admin", "BWI")
    steps = [dict(s) for s in izin_praktik["steps"]]
    decision = next(s for s in steps if s["kind"] == "decision")
    decision["branches"] = [{**decision["branches"][0], "when": HOSTILE}]
    started = time.perf_counter()
    r = await stack.http.post(
        "/services/validate", json={**izin_praktik, "steps": steps}, headers=admin
    )
    elapsed = time.perf_counter() - started
    assert r.status_code == 200, r.text
    assert r.json() == {
        "valid": False,
        "problems": [
            {
                "path": f"steps[{steps.index(decision)}].branches[0].when",
                "message": "result too large (max 10000 characters or items)",
            }
        ],
    }
    assert elapsed < 1.0  # it was 15-19 s of a frozen API


async def test_data_the_engine_cannot_carry_is_422_before_a_number_is_reserved(
    stack: Stack, izin_praktik: dict
):
    admin = await stack.token("admin@banyuwangikab.go.id", "agency_admin", "BWI")
    siti = await stack.token("siti@example.id", "citizen")
    r = await stack.http.post("/services", json=izin_praktik, headers=admin)
    assert r.status_code == 201, r.text
    r = await stack.http.post(
        f"/services/{izin_praktik['id']}/versions/{r.json()['version']}/publish", headers=admin
    )
    assert r.status_code == 200, r.text

    async def apply(years: str, **fields: str) -> tuple[int, dict]:
        data = NAKES % years
        for name, raw in fields.items():
            data = data.replace(f'"{name}": "', f'"{name}": "{raw}', 1)
        body = f'{{"service_id": "{izin_praktik["id"]}", "data": {data}}}'
        # Sent as raw JSON text: a client library would refuse to encode a surrogate.
        r = await stack.http.post(
            "/applications",
            content=body.encode(),
            headers={**siti, "content-type": "application/json"},
        )
        return r.status_code, r.json()

    # The API's JSON guard refuses what no field may hold (beyond 64 bits, infinite,
    # NaN); the form's own bounds refuse the rest. Either way the field is named.
    too_large = "is too large"
    for years, message in [
        ("18446744073709551616", too_large),  # was 201, then an incident no retry cleared
        ("1" + "0" * 400, too_large),  # was 500
        ("1e200", BEYOND),
        ("1e400", too_large),  # Python's JSON reads it as infinity
        ("NaN", "not valid JSON"),
    ]:
        status, body = await apply(years)
        assert status == 422, (years, body)
        [problem] = body["problems"]
        assert problem["path"] == "data.years_experience", (years, body)
        assert message in problem["message"], (years, body)

    # A lone surrogate (was 500), in a value or in a key.
    status, body = await apply("3", full_name="\\ud800")
    assert status == 422, body
    [problem] = body["problems"]
    assert problem["path"] == "data.full_name"
    assert "lone surrogate" in problem["message"] and "valid Unicode" in problem["message"]
    status, body = await apply('3, "\\udc00": 1')
    assert status == 422, body
    [problem] = body["problems"]
    assert problem["path"] == "data.\\udc00" and "lone surrogate" in problem["message"]

    # None of the refusals reserved a number: the first accepted application is 000001.
    status, body = await apply("9007199254740992")
    assert status == 201, body
    assert body["application_id"].endswith("-000001")
