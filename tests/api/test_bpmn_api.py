"""BPMN through the API, as the designer uses it: import a file into a definition with
its report (nothing saved), save it as a draft, export the version and a draft being
edited; files that cannot be read answer 422 saying why."""

from __future__ import annotations

from pathlib import Path

import pytest

from domain.bpmn import from_bpmn
from domain.definition import ServiceDefinition
from tests.support import Stack, run_stack

pytestmark = pytest.mark.e2e

MIWG = Path(__file__).resolve().parents[3] / "shared" / "data" / "bpmn-miwg"
XML = {"Content-Type": "application/xml"}


@pytest.fixture
async def stack(dev_env, settings):
    async with run_stack(dev_env, settings) as s:
        yield s


async def test_import_save_and_export_through_the_api(stack: Stack):
    s = stack
    path = MIWG / "A.3.0.bpmn"
    if not path.exists():
        pytest.skip(f"BPMN MIWG reference models not found at {MIWG} (shared/data is absent)")
    admin = await s.token("admin@banyuwangikab.go.id", "agency_admin", "BWI")
    officer = await s.token("budi@banyuwangikab.go.id", "officer", "BWI")
    url = "/services/import/bpmn?service_id=izin-miwg"
    head = s.store.head_position()

    r = await s.http.post(url, content=path.read_bytes(), headers={**admin, **XML})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["problems"] == [] and body["ignored"] == []
    definition = body["definition"]
    assert definition["id"] == "izin-miwg" and definition["agency"]["code"] == "BWI"
    assert any("Collapsed Sub-Process" in n for n in body["notes"])
    assert s.store.head_position() == head  # an import saves nothing

    refused = await s.http.post(url, content=path.read_bytes(), headers={**officer, **XML})
    assert refused.status_code == 403

    assert (await s.http.post("/services", json=definition, headers=admin)).status_code == 201
    r = await s.http.get("/services/izin-miwg/versions/1/bpmn", headers=admin)
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/xml")
    assert 'filename="izin-miwg-v1.bpmn"' in r.headers["content-disposition"]
    exported = ServiceDefinition.model_validate(from_bpmn(r.content).definition)
    assert exported.steps == ServiceDefinition.model_validate(definition).steps
    # A draft is not shown to another agency's staff, nor a version that does not exist.
    other = await s.token("admin@jemberkab.go.id", "agency_admin", "JBR")
    assert (
        await s.http.get("/services/izin-miwg/versions/1/bpmn", headers=other)
    ).status_code == 404
    assert (
        await s.http.get("/services/izin-miwg/versions/9/bpmn", headers=admin)
    ).status_code == 404

    r = await s.http.post("/services/export/bpmn", json=definition, headers=officer)
    assert r.status_code == 200 and b"<bpmn:process" in r.content


async def test_files_that_cannot_be_read_are_refused_with_the_reason(stack: Stack):
    s = stack
    admin = await s.token("admin@banyuwangikab.go.id", "agency_admin", "BWI")
    url = "/services/import/bpmn"
    for content, reason in [
        (b"", "has no BPMN file"),
        (b"this is not xml", "not well-formed"),
        (b'<definitions xmlns="urn:other"/>', "not a BPMN 2.0 file"),
        (b'<!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>', "cannot be imported"),
    ]:
        r = await s.http.post(url, content=content, headers={**admin, **XML})
        assert r.status_code == 422, (content, r.text)
        assert reason in r.json()["detail"]
    big = await s.http.post(url, content=b" " * 6_000_000, headers={**admin, **XML})
    assert big.status_code == 413 and "larger than 5 MB" in big.json()["detail"]
    broken = {"id": "rusak", "name": "Rusak", "agency": {"code": "BWI", "name": "B"}}
    r = await s.http.post("/services/export/bpmn", json=broken, headers=admin)
    assert r.status_code == 422
    assert any(p["path"] == "steps" for p in r.json()["problems"])
