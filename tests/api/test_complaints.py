"""Complaints through the API on the real stack (Temporal dev server, worker, projector):
filing named, confidential and anonymous; the inbox, the history and one complaint with
the complainant hidden where the rules say; the commands; another party's complaint as
an unknown one; an Idempotency-Key retry."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment

from accounts.registry import Registry
from config.settings import Settings
from tests.support import Stack, run_stack

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

COMPLAINT = {
    "agency": "BWI",
    "subject": {"kind": "service", "ref": "surat-keterangan-domisili"},
    "text": "Petugas loket meminta biaya tambahan.",
}


@pytest.fixture
async def stack(dev_env: WorkflowEnvironment, settings: Settings) -> AsyncIterator[Stack]:
    async with run_stack(dev_env, settings) as s:
        registry = Registry(s.store, s.settings)
        registry.create_region("35.10", "Kabupaten Banyuwangi", "test")
        registry.create_agency("BWI", "DPMPTSP Banyuwangi", "35.10", "test")
        registry.create_agency("DKS", "Dinas Kesehatan Banyuwangi", "35.10", "test")
        yield s


async def tokens(s: Stack) -> dict[str, dict[str, str]]:
    return {
        "siti": await s.token("siti@example.id", "citizen"),
        "andi": await s.token("andi@example.id", "citizen"),
        "desk": await s.token("rina@bwi.go.id", "complaint_officer", "BWI"),
        "head": await s.token("kadis@bwi.go.id", "supervisor", "BWI"),
        "officer": await s.token("budi@bwi.go.id", "officer", "BWI"),
        "dks": await s.token("joko@dks.go.id", "complaint_officer", "DKS"),
    }


async def get(s: Stack, path: str, who: dict[str, str], position: int) -> Any:
    r = await s.http.get(path, params={"min_position": position}, headers=who)
    assert r.status_code == 200, r.text
    return r.json()


async def test_a_complaint_from_filing_to_rating(stack: Stack) -> None:
    s, t = stack, await tokens(stack)
    r = await s.http.post(
        "/complaints",
        json={**COMPLAINT, "anonymity": "confidential"},
        headers={**t["siti"], "Idempotency-Key": "k-1"},
    )
    assert r.status_code == 201, r.text
    filed = r.json()
    cid, pos = filed["complaint_id"], filed["position"]
    assert filed["status"] == "received" and pos > 0
    again = await s.http.post(
        "/complaints",
        json={**COMPLAINT, "anonymity": "confidential"},
        headers={**t["siti"], "Idempotency-Key": "k-1"},
    )
    assert again.json() == filed  # one complaint, one answer

    # The complaint desk sees who complained; the supervisor does not (confidential).
    inbox = await get(s, "/complaints", t["desk"], pos)
    assert [(x["complaint_id"], x["complainant"]) for x in inbox] == [(cid, "siti@example.id")]
    head = await get(s, f"/complaints/{cid}", t["head"], pos)
    assert head["complainant"] is None and head["status"] == "received"
    mine = await get(s, "/me/complaints", t["siti"], pos)
    assert [x["complaint_id"] for x in mine] == [cid]
    # Another party: exactly as an unknown complaint.
    for who in ("andi", "dks"):
        r = await s.http.get(f"/complaints/{cid}", headers=t[who])
        assert (r.status_code, r.json()["detail"]) == (
            404,
            f"there is no complaint {cid} you may see",
        )
        r = await s.http.post(
            f"/complaints/{cid}/verify", json={"decision": "accept"}, headers=t[who]
        )
        assert r.status_code == (403 if who == "andi" else 404), r.text  # a citizen: no desk
    assert await get(s, "/complaints", t["dks"], pos) == []
    r = await s.http.post(
        f"/complaints/{cid}/verify", json={"decision": "accept"}, headers=t["officer"]
    )
    assert r.status_code == 403, r.text

    r = await s.http.post(
        f"/complaints/{cid}/verify", json={"decision": "reject"}, headers=t["desk"]
    )
    assert r.status_code == 422, r.text  # a rejection needs a reason
    r = await s.http.post(
        f"/complaints/{cid}/verify", json={"decision": "accept"}, headers=t["desk"]
    )
    assert (r.status_code, r.json()["status"]) == (200, "verified"), r.text
    r = await s.http.post(
        f"/complaints/{cid}/respond", json={"decision": "accept"}, headers=t["siti"]
    )
    assert r.status_code == 409, r.text  # nothing to respond to yet
    r = await s.http.post(
        f"/complaints/{cid}/follow-up",
        json={"unit": "Bidang Pelayanan", "text": "Petugas telah dibina."},
        headers=t["officer"],
    )
    assert (r.status_code, r.json()["status"]) == (200, "followed_up"), r.text
    r = await s.http.post(
        f"/complaints/{cid}/respond", json={"decision": "accept"}, headers=t["siti"]
    )
    assert (r.status_code, r.json()["status"]) == (200, "closed"), r.text
    r = await s.http.post(f"/complaints/{cid}/rate", json={"score": 5}, headers=t["siti"])
    assert r.status_code == 200, r.text
    view = await get(s, f"/complaints/{cid}", t["siti"], r.json()["position"])
    assert (view["status"], view["closed_reason"], view["rating"], view["unit"]) == (
        "closed",
        "accepted",
        5,
        "Bidang Pelayanan",
    )

    stats = await get(s, "/stats/complaints", t["desk"], r.json()["position"])
    assert (stats["volume"], stats["by_status"], stats["breaches_by_unit"]) == (
        1,
        {"closed": 1},
        {},
    )
    assert stats["median_hours_to_follow_up"] is not None
    assert (await get(s, "/stats/complaints", t["dks"], 0))["volume"] == 0


async def test_anonymous_and_forwarded(stack: Stack) -> None:
    s, t = stack, await tokens(stack)
    r = await s.http.post("/complaints", json=COMPLAINT)
    assert r.status_code == 422, r.text  # without a token only anonymously
    r = await s.http.post("/complaints", json={**COMPLAINT, "anonymity": "anonymous"})
    assert r.status_code == 201, r.text
    cid = r.json()["complaint_id"]
    r = await s.http.post("/complaints", json=COMPLAINT, headers=t["officer"])
    assert r.status_code == 403, r.text
    r = await s.http.post(
        "/complaints", json={**COMPLAINT, "agency": "XYZ", "anonymity": "anonymous"}
    )
    assert r.status_code == 422, r.text

    r = await s.http.post(
        f"/complaints/{cid}/verify",
        json={"decision": "forward", "to_agency": "DKS", "reason": "Kewenangan dinas kesehatan"},
        headers=t["desk"],
    )
    assert (r.status_code, r.json()["status"]) == (200, "received"), r.text
    pos = r.json()["position"]
    inbox = await get(s, "/complaints", t["dks"], pos)
    assert [(x["complaint_id"], x["complainant"], x["forwarded_from"]) for x in inbox] == [
        (cid, None, ["BWI"])
    ]
    assert await get(s, "/complaints", t["desk"], pos) == []
    r = await s.http.get(f"/complaints/{cid}", headers=t["desk"])
    assert r.status_code == 404
