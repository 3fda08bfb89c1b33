"""The designer's work in progress, kept by the API as the administrator edits: problems
allowed, listed for the agency, refused to publish until saved as a draft or discarded,
and invisible to other agencies."""

from __future__ import annotations

import copy

import pytest

from lincah.demo import DOMISILI
from tests.support import Stack, run_stack

pytestmark = pytest.mark.e2e


@pytest.fixture
async def stack(dev_env, settings):
    async with run_stack(dev_env, settings) as s:
        yield s


async def test_work_in_progress_is_kept_listed_and_blocks_publishing(stack: Stack):
    s = stack
    admin = await s.token("admin@banyuwangikab.go.id", "agency_admin", "BWI")
    other = await s.token("admin@jemberkab.go.id", "agency_admin", "JBR")
    sid = DOMISILI["id"]
    assert (await s.http.post("/services", json=DOMISILI, headers=admin)).status_code == 201

    half_done = copy.deepcopy(DOMISILI)
    half_done["steps"].insert(1, {"kind": "decision", "id": "cek", "name": "Cek",
                                  "branches": [{"when": "", "goto": ""}]})  # fmt: skip
    r = await s.http.put(f"/services/{sid}/work", json=half_done, headers=admin)
    assert r.status_code == 200, r.text
    position = r.json()["position"]
    again = await s.http.put(f"/services/{sid}/work", json=half_done, headers=admin)
    assert again.json()["position"] == position  # unchanged: nothing stored twice

    work = (await s.http.get(f"/services/{sid}/work", headers=admin)).json()
    assert work["definition"] == half_done and work["saved_by"] == "admin@banyuwangikab.go.id"
    assert {p["path"] for p in work["problems"]} == {
        "steps[1].branches[0].when", "steps[1].branches[0].goto"}  # fmt: skip
    listed = await s.http.get(f"/services/work?min_position={position}", headers=admin)
    assert [(w["service_id"], w["problems"]) for w in listed.json()] == [(sid, 2)]

    # Another agency sees nothing of it, and cannot write under this agency's service.
    assert (await s.http.get(f"/services/{sid}/work", headers=other)).status_code == 404
    listed = await s.http.get(f"/services/work?min_position={position}", headers=other)
    assert listed.json() == []
    r = await s.http.put(f"/services/{sid}/work", json=half_done, headers=other)
    assert r.status_code == 409
    wrong = {**half_done, "id": "lain"}
    r = await s.http.put(f"/services/{sid}/work", json=wrong, headers=admin)
    assert r.status_code == 422 and "'lain'" in r.json()["detail"]

    # Publishing the saved draft is refused while changes are not saved, saying so.
    r = await s.http.post(f"/services/{sid}/versions/1/publish", headers=admin)
    assert r.status_code == 409 and "not saved as a draft yet" in r.json()["detail"]
    r = await s.http.delete(f"/services/{sid}/work?why=discarded", headers=admin)
    assert r.status_code == 200 and r.json()["status"] == "discarded"
    assert (await s.http.get(f"/services/{sid}/work", headers=admin)).status_code == 404
    r = await s.http.post(f"/services/{sid}/versions/1/publish", headers=admin)
    assert r.status_code == 200, r.text
    listed = await s.http.get(
        f"/services/work?min_position={r.json()['position']}", headers=admin)
    assert listed.json() == []

    # A brand-new service (an imported file, say) can be kept before it is valid.
    new = {"id": "izin-baru", "name": "Izin baru", "steps": []}
    r = await s.http.put("/services/izin-baru/work", json=new, headers=admin)
    assert r.status_code == 200
    listed = await s.http.get(f"/services/work?min_position={r.json()['position']}",
                              headers=admin)  # fmt: skip
    assert [w["name"] for w in listed.json()] == ["Izin baru"]
