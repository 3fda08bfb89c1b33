"""Definition versions through the API: drafts are editable, published versions never
change, new applications take the latest published version and running ones finish on
theirs; the diff between versions lists what changed."""

from __future__ import annotations

import pytest

from lincah.demo import DOMISILI
from tests.support import Stack, run_stack

pytestmark = pytest.mark.e2e

SITI = {
    "nik": "3510154808900003",
    "full_name": "Siti Aminah",
    "address": "Jl. Ahmad Yani No. 12",
    "kelurahan": "Penganjuran",
    "purpose": "Pembukaan rekening bank",
}


@pytest.fixture
async def stack(dev_env, settings):
    async with run_stack(dev_env, settings) as s:
        yield s


async def test_running_applications_keep_their_version(stack: Stack):
    s = stack
    admin = await s.token("admin@banyuwangikab.go.id", "agency_admin", "BWI")
    siti = await s.token("siti@example.id", "citizen")
    officer = await s.token("budi@banyuwangikab.go.id", "officer", "BWI")
    head = await s.token("kadis@banyuwangikab.go.id", "supervisor", "BWI")
    sid = DOMISILI["id"]

    assert (await s.http.post("/services", json=DOMISILI, headers=admin)).status_code == 201
    # A draft is edited in place: saving again keeps version 1.
    renamed = {**DOMISILI, "name": "Surat Keterangan Domisili (SKD)"}
    r = await s.http.post("/services", json=renamed, headers=admin)
    assert r.json()["version"] == 1
    assert (
        await s.http.post(f"/services/{sid}/versions/1/publish", headers=admin)
    ).status_code == 200
    old = (
        await s.http.post("/applications", headers=siti, json={"service_id": sid, "data": SITI})
    ).json()

    # Version 2 adds the head of office's approval after the officer's verification.
    steps = [dict(st) for st in DOMISILI["steps"]]
    steps[1] = {**steps[1], "outcomes": {"approve": "head_approval", "reject": "notify_refused"}}
    steps.insert(
        2,
        {
            "kind": "review",
            "id": "head_approval",
            "name": "Persetujuan lurah",
            "role": "supervisor",
            "outcomes": {"approve": "notify_issued", "reject": "notify_refused"},
        },
    )
    r = await s.http.post("/services", json={**renamed, "steps": steps}, headers=admin)
    assert r.status_code == 201 and r.json()["version"] == 2
    r = await s.http.post(f"/services/{sid}/versions/1/publish", headers=admin)
    assert r.status_code == 409  # published versions never change
    assert (
        await s.http.post(f"/services/{sid}/versions/2/publish", headers=admin)
    ).status_code == 200
    new = (
        await s.http.post("/applications", headers=siti, json={"service_id": sid, "data": SITI})
    ).json()

    # The old application finishes on version 1 (no head approval), the new one on 2.
    r = await s.http.post(
        f"/tasks/{old['application_id']}.verify_residence.1/complete",
        headers=officer,
        json={"outcome": "approve"},
    )
    assert r.json()["status"] == "approved"
    r = await s.http.post(
        f"/tasks/{new['application_id']}.verify_residence.1/complete",
        headers=officer,
        json={"outcome": "approve"},
    )
    assert r.json()["status"] == "in_review"
    r = await s.http.post(
        f"/tasks/{new['application_id']}.head_approval.1/complete",
        headers=head,
        json={"outcome": "approve"},
    )
    assert r.json()["status"] == "approved"
    view = (await s.http.get(f"/applications/{old['application_id']}", headers=siti)).json()
    assert view["service_version"] == 1

    diff = (await s.http.get(f"/services/{sid}/versions/1/diff/2", headers=admin)).json()
    changes = {(c["path"], c["kind"]) for c in diff["changes"]}
    assert ("steps.head_approval", "added") in changes
    assert ("steps.verify_residence.outcomes.approve", "changed") in changes
    assert (
        await s.http.get(f"/services/{sid}/versions/1/diff/9", headers=admin)
    ).status_code == 404

    # Archived: no new applications; the catalogue says so.
    assert (await s.http.post(f"/services/{sid}/archive", headers=admin)).status_code == 200
    r = await s.http.post("/applications", headers=siti, json={"service_id": sid, "data": SITI})
    assert r.status_code == 409 and "archived" in r.json()["detail"]
