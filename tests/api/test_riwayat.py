"""Riwayat on the real stack (API, worker, projector, Temporal dev server): a citizen's
applications narrowed by status, service and period, one application in full with its
timeline in words, payment and document, another citizen's application answering as
one that does not exist, and the export of all of a citizen's data holding theirs and
nothing of another citizen's."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from accounts.registry import Registry
from domain.ikm import WIB
from tests.api.test_e2e import SITI, apply, publish
from tests.support import Stack, run_stack

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

DEWI = {**SITI, "nik": "3510156512880004", "full_name": "Dewi Sartika"}
OFFICER = "budi@banyuwangikab.go.id"
CASHIER = "kasir@banyuwangikab.go.id"
SURVEY = {f"u{i}": 4 for i in range(1, 10)}
REKLAME = {k: SITI[k] for k in ("nik", "full_name", "address")}

PAID: dict[str, Any] = {
    "id": "izin-reklame",
    "name": "Izin Reklame",
    "agency": {"code": "BWI", "name": "DPMPTSP Banyuwangi"},
    "standard": {
        "delivery": {"time_limit": "Sesuai alur", "product": "Surat Izin Reklame"},
        "complaint_channel": "Loket pengaduan MPP",
    },
    "fields": [
        {"id": "nik", "label": "NIK", "type": "nik"},
        {"id": "full_name", "label": "Nama", "type": "text"},
        {"id": "address", "label": "Alamat", "type": "text"},
    ],
    "steps": [
        {"kind": "form", "id": "submission", "name": "Pengajuan", "next": "pay"},
        {
            "kind": "payment",
            "id": "pay",
            "name": "Retribusi reklame",
            "fee": {"amount": 10000},
            "next": "check",
        },
        {
            "kind": "review",
            "id": "check",
            "name": "Pemeriksaan lokasi",
            "role": "officer",
            "outcomes": {"approve": "issue", "reject": "refused"},
        },
        {
            "kind": "document",
            "id": "issue",
            "name": "Penerbitan izin",
            "template": {
                "code": "RKL",
                "title": "Surat Izin Reklame",
                "body": "Diberikan kepada {full_name}.",
            },
            "next": "issued",
        },
        {"kind": "end", "id": "issued", "name": "Selesai", "result": "approved"},
        {"kind": "end", "id": "refused", "name": "Ditolak", "result": "rejected"},
    ],
}


async def _ok(r: Any, code: int = 200) -> dict[str, Any]:
    assert r.status_code == code, r.text
    body: dict[str, Any] = r.json()
    return body


async def _review(s: Stack, officer: dict[str, str], task: str, outcome: str) -> int:
    r = await s.http.post(f"/tasks/{task}/complete", json={"outcome": outcome}, headers=officer)
    return int((await _ok(r))["position"])


async def test_riwayat_filters_timeline_and_export(dev_env, settings, domisili):
    async with run_stack(dev_env, settings) as s:
        registry = Registry(s.store, s.settings)
        registry.create_region("35.10", "Kabupaten Banyuwangi", "test")
        registry.create_agency("BWI", "DPMPTSP Banyuwangi", "35.10", "test")
        await publish(s, domisili)
        await publish(s, PAID)
        siti = await s.token("siti@example.id", "citizen")
        dewi = await s.token("dewi@example.id", "citizen")
        officer = await s.token(OFFICER, "officer", "BWI")
        cashier = await s.token(CASHIER, "cashier", "BWI")

        # Siti: a Domisili approved, an Izin Reklame paid and issued, a Domisili open.
        approved = (await apply(s, siti, domisili["id"], SITI))["application_id"]
        await _review(s, officer, f"{approved}.verify_residence.1", "approve")
        paid = (await apply(s, siti, PAID["id"], REKLAME))["application_id"]
        r = await s.http.post(
            f"/applications/{paid}/payments",
            json={"amount": 10000, "receipt": "KWT-0042"},
            headers=cashier,
        )
        await _ok(r)
        await _review(s, officer, f"{paid}.check.1", "approve")
        open_ = (await apply(s, siti, domisili["id"], SITI))["application_id"]
        # Dewi: a Domisili rejected, with her survey answer and a complaint.
        theirs = (await apply(s, dewi, domisili["id"], DEWI))["application_id"]
        await _review(s, officer, f"{theirs}.verify_residence.1", "reject")
        r = await s.http.post(
            f"/applications/{theirs}/survey",
            json={**SURVEY, "suggestion": "Saran rahasia milik Dewi"},
            headers=dewi,
        )
        await _ok(r, 201)
        dewi_complaint = await _complain(s, dewi, theirs, "Keluhan milik Dewi tentang loket.")
        # Siti's survey answer and complaint.
        r = await s.http.post(
            f"/applications/{approved}/survey",
            json={**SURVEY, "suggestion": "Antrean loket sudah cepat"},
            headers=siti,
        )
        await _ok(r, 201)
        complaint = await _complain(s, siti, approved, "Petugas parkir meminta uang tambahan.")
        position = complaint["position"]

        # -- the list and its filters -------------------------------------------------
        async def mine(**params: Any) -> dict[str, Any]:
            r = await s.http.get(
                "/me/applications", params={"min_position": position, **params}, headers=siti
            )
            return await _ok(r)

        def ids(page: dict[str, Any]) -> list[str]:
            return [a["application_id"] for a in page["items"]]

        everything = await mine()
        assert ids(everything) == [open_, paid, approved]  # newest first
        assert everything["total"] == 3
        first = everything["items"][2]
        assert (first["service_name"], first["status"], first["status_text"]) == (
            domisili["name"],
            "approved",
            "Disetujui",
        )
        assert first["url"] == f"/me/applications/{approved}"
        assert ids(await mine(status="in_review")) == [open_]
        assert ids(await mine(status="approved")) == [paid, approved]
        assert ids(await mine(service=PAID["id"])) == [paid]
        assert ids(await mine(service=domisili["id"], status="approved")) == [approved]
        today = datetime.now(WIB).date()
        assert ids(await mine(**{"from": str(today), "to": str(today)})) == [open_, paid, approved]
        assert ids(await mine(**{"from": str(today + timedelta(days=1))})) == []
        assert ids(await mine(to=str(today - timedelta(days=1)))) == []
        page = await mine(limit=1, offset=1)
        assert (ids(page), page["total"]) == ([paid], 3)
        r = await s.http.get("/me/applications", params={"limit": 101}, headers=siti)
        assert r.status_code == 422, r.text
        r = await s.http.get(
            "/me/applications", params={"from": "2026-02-01", "to": "2026-01-31"}, headers=siti
        )
        assert r.status_code == 422 and r.json()["problems"][0]["path"] == "query.to", r.text

        # -- another citizen's application answers as one that does not exist -----------
        unknown = await s.http.get("/me/applications/BWI-2026-999999", headers=siti)
        foreign = await s.http.get(f"/me/applications/{theirs}", headers=siti)
        assert (foreign.status_code, unknown.status_code) == (404, 404)
        assert foreign.json()["detail"].replace(theirs, "<id>") == unknown.json()["detail"].replace(
            "BWI-2026-999999", "<id>"
        )
        r = await s.http.get(f"/me/applications/{paid}", headers=dewi)
        assert r.status_code == 404, r.text

        # -- one application in full: the timeline in words ---------------------------
        r = await s.http.get(
            f"/me/applications/{paid}", params={"min_position": position}, headers=siti
        )
        detail = await _ok(r)
        assert OFFICER not in r.text and CASHIER not in r.text  # roles, never staff ids
        said = [(e["actor"], e["text"]) for e in detail["timeline"]]
        assert said[0][0] == "Anda" and said[0][1].startswith("Permohonan Izin Reklame diajukan")
        assert ("Kasir", "Pembayaran Rp 10.000 diterima di loket") in said
        assert ("Petugas", "Pemeriksaan lokasi: disetujui") in said
        assert ("Sistem", "Permohonan selesai: disetujui") in said
        issued = [t for a, t in said if t.startswith("Dokumen terbit: Surat Izin Reklame")]
        assert issued, said
        assert not {e["type"] for e in detail["timeline"]} & {"DecisionTaken", "TaskCancelled"}
        assert detail["data"] == REKLAME
        [payment] = detail["payments"]
        assert (payment["amount_text"], payment["status"], payment["reference"]) == (
            "Rp 10.000",
            "paid",
            "KWT-0042",
        )
        assert payment["step_name"] == "Retribusi reklame"
        [document] = detail["documents"]
        assert document["title"] == "Surat Izin Reklame"
        assert document["verify_url"].endswith(f"/documents/{document['number']}/verify")
        pdf = await s.http.get(
            document["download_url"].removeprefix(s.settings.public_url), headers=siti
        )
        assert (pdf.status_code, pdf.headers["content-type"]) == (200, "application/pdf")

        # -- the export: all of Siti's data, nothing of Dewi's ------------------------
        r = await s.http.get("/me/export", params={"min_position": position}, headers=siti)
        export = await _ok(r)
        assert r.headers["content-disposition"].startswith("attachment; filename=")
        assert export["generated_at"] and export["citizen"] == "siti@example.id"
        sections = {x["name"]: x for x in export["sections"]}
        assert set(sections) >= {
            "account",
            "applications",
            "complaints",
            "survey_answers",
            "notifications",
            "documents",
            "face",
        }
        assert not any(x["truncated"] for x in export["sections"])
        exported = {a["application_id"]: a for a in export["applications"]}
        assert set(exported) == {approved, paid, open_}
        assert exported[paid]["timeline"] == detail["timeline"]
        assert exported[approved]["data"] == SITI
        assert [c["complaint_id"] for c in export["complaints"]] == [complaint["complaint_id"]]
        assert [a["suggestion"] for a in export["survey_answers"]] == ["Antrean loket sudah cepat"]
        assert [d["number"] for d in export["documents"]] == [document["number"]]
        told = {n["reference"] for n in export["notifications"]}
        assert told == {approved, paid, open_, complaint["complaint_id"]}, told
        assert export["face"]["enrolled"] is False
        dewis = ["dewi@example.id", theirs, dewi_complaint["complaint_id"], "Saran rahasia",
                 "Keluhan milik Dewi", DEWI["nik"], DEWI["full_name"]]  # fmt: skip
        assert not [x for x in [*dewis, OFFICER, CASHIER] if x in r.text]


async def _complain(s: Stack, citizen: dict[str, str], app_id: str, text: str) -> dict[str, Any]:
    r = await s.http.post(
        "/complaints",
        json={"agency": "BWI", "subject": {"kind": "application", "ref": app_id}, "text": text},
        headers=citizen,
    )
    return await _ok(r, 201)


async def test_exports_are_limited_per_account_not_per_address(dev_env, settings):
    limited = settings.model_copy(update={"rate_limit_export": "2/hour"})
    async with run_stack(dev_env, limited) as s:
        siti = await s.token("siti@example.id", "citizen")
        dewi = await s.token("dewi@example.id", "citizen")
        officer = await s.token(OFFICER, "officer", "BWI")
        for _ in range(2):
            assert (await s.http.get("/me/export", headers=siti)).status_code == 200
        r = await s.http.get("/me/export", headers=siti)
        assert r.status_code == 429 and int(r.headers["retry-after"]) > 0, r.text
        assert "GET /me/export" in r.json()["detail"]
        # Dewi, from the same address, still may; a refused role is not counted.
        assert (await s.http.get("/me/export", headers=dewi)).status_code == 200
        for _ in range(3):
            assert (await s.http.get("/me/export", headers=officer)).status_code == 403
