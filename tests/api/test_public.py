"""The public face of a service, without a token: the catalogue by agency, each
version's Standar Pelayanan (JSON and a printable page), the maklumat pelayanan; the
publish refusal for an incomplete standard; and the officer's NIK warning."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from domain.nik import UNKNOWN_PROVINCE_WARNING
from lincah.demo import DOMISILI, IZIN_PRAKTIK
from tests.support import Stack, run_stack

pytestmark = pytest.mark.e2e

ADMIN = ("admin@banyuwangikab.go.id", "agency_admin", "BWI")


@pytest.fixture
async def stack(dev_env, settings):
    async with run_stack(dev_env, settings) as s:
        yield s


async def publish(s: Stack, admin: dict[str, str], definition: dict[str, Any]) -> dict[str, Any]:
    r = await s.http.post("/services", json=definition, headers=admin)
    assert r.status_code == 201, r.text
    version = r.json()["version"]
    r = await s.http.post(f"/services/{definition['id']}/versions/{version}/publish", headers=admin)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def component(standard: dict[str, Any], key: str) -> dict[str, Any]:
    (c,) = [c for c in standard["delivery"] + standard["management"] if c["key"] == key]
    return c


async def test_catalogue_and_standard_are_public_and_old_versions_stay(stack: Stack) -> None:
    s = stack
    admin = await s.token(*ADMIN)
    sid = DOMISILI["id"]
    await publish(s, admin, DOMISILI)
    await publish(s, admin, IZIN_PRAKTIK)
    # Version 2 gets an enforced time limit: the published standard follows it.
    v2 = copy.deepcopy(DOMISILI)
    v2["time_limit"] = {"amount": 3, "unit": "working_days"}
    v2["standard"]["delivery"]["time_limit"] = "Paling lama 3 hari kerja sejak berkas lengkap"
    w = await publish(s, admin, v2)
    assert w["version"] == 2
    # A draft-only service is not public.
    draft = {**copy.deepcopy(DOMISILI), "id": "surat-draf", "name": "Surat draf"}
    r = await s.http.post("/services", json=draft, headers=admin)
    assert r.status_code == 201

    r = await s.http.get("/public/services", params={"min_position": r.json()["position"]})
    assert r.status_code == 200, r.text
    (agency,) = r.json()
    assert (agency["agency_code"], agency["agency_name"]) == ("BWI", "Kabupaten Banyuwangi")
    listed = {x["service_id"]: x for x in agency["services"]}
    assert set(listed) == {sid, IZIN_PRAKTIK["id"]}
    assert listed[sid]["version"] == 2
    assert listed[sid]["standard_url"] == f"/public/services/{sid}/standard"

    latest = (await s.http.get(f"/public/services/{sid}/standard")).json()
    assert (latest["version"], latest["versions"]) == (2, [1, 2])
    assert latest["agency"] == {"code": "BWI", "name": "Kabupaten Banyuwangi"}
    assert latest["published_at"] and latest["skm"] is None
    limit = component(latest, "time_limit")
    assert limit["generated"] == ["3 hari kerja sejak permohonan diterima"]
    assert component(latest, "fee")["generated"] == ["Tidak dipungut biaya (gratis)"]
    assert latest["missing"] == []
    assert latest["review"]["interval_months"] == 12 and latest["review"]["due"]
    # The version an application was made under stays retrievable.
    first = (await s.http.get(f"/public/services/{sid}/standard", params={"version": 1})).json()
    assert first["version"] == 1
    assert component(first, "time_limit")["generated"] == []
    assert component(first, "time_limit")["explanation"] == [
        "Paling lama 3 hari kerja sejak berkas lengkap"
    ]

    page = await s.http.get(f"/public/services/{sid}/standard", params={"format": "html"})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "Kabupaten Banyuwangi" in page.text and "versi 2 · diterbitkan" in page.text
    assert "<script" not in page.text
    by_accept = await s.http.get(
        f"/public/services/{sid}/standard?version=1", headers={"Accept": "text/html"}
    )
    assert "versi 1 · diterbitkan" in by_accept.text

    for path, reason in [
        (f"/public/services/{sid}/standard?version=3", "has no published version 3"),
        ("/public/services/surat-draf/standard", "no published service 'surat-draf'"),
        ("/public/services/tidak-ada/standard", "no published service 'tidak-ada'"),
    ]:
        r = await s.http.get(path)
        assert r.status_code == 404 and reason in r.json()["detail"], (path, r.text)

    # Archived: out of the catalogue, but its standard stays readable.
    r = await s.http.post(f"/services/{IZIN_PRAKTIK['id']}/archive", headers=admin)
    assert r.status_code == 200, r.text
    r = await s.http.get("/public/services", params={"min_position": r.json()["position"]})
    assert [x["service_id"] for x in r.json()[0]["services"]] == [sid]
    r = await s.http.get(f"/public/services/{IZIN_PRAKTIK['id']}/standard")
    assert r.status_code == 200 and r.json()["archived"] is True

    # The review interval gives the dashboard a due date.
    reviews = (await s.http.get("/stats/standard-reviews", headers=admin)).json()
    assert [(x["service_id"], x["version"], x["overdue"]) for x in reviews] == [(sid, 2, False)]
    assert (await s.http.get("/stats/standard-reviews")).status_code == 401


async def test_publish_refuses_a_standard_without_its_delivery_components(stack: Stack) -> None:
    s = stack
    admin = await s.token(*ADMIN)
    bare = {**copy.deepcopy(DOMISILI), "id": "surat-tanpa-standar"}
    del bare["standard"]
    assert (await s.http.post("/services", json=bare, headers=admin)).status_code == 201
    r = await s.http.post(f"/services/{bare['id']}/versions/1/publish", headers=admin)
    assert r.status_code == 422, r.text
    problems = {p["path"]: p["message"] for p in r.json()["problems"]}
    assert set(problems) == {
        "standard.delivery.time_limit",
        "standard.delivery.product",
        "standard.delivery.complaints",
    }
    assert problems["standard.delivery.complaints"].startswith(
        "Penanganan pengaduan, saran dan masukan is missing: set standard.complaint_channel"
    )
    # An explanation that contradicts the enforced time limit is refused too.
    wrong = copy.deepcopy(DOMISILI)
    wrong["id"] = "surat-salah"
    wrong["time_limit"] = {"amount": 14, "unit": "working_days"}
    wrong["standard"]["delivery"]["time_limit"] = "Selesai dalam 5 hari kerja"
    assert (await s.http.post("/services", json=wrong, headers=admin)).status_code == 201
    r = await s.http.post("/services/surat-salah/versions/1/publish", headers=admin)
    assert r.status_code == 422
    assert [p["path"] for p in r.json()["problems"]] == ["standard.delivery.time_limit"]


async def test_maklumat_is_set_by_the_agency_admin_and_public(stack: Stack) -> None:
    s = stack
    admin = await s.token(*ADMIN)
    other = await s.token("admin@surabaya.go.id", "agency_admin", "SBY")
    officer = await s.token("budi@banyuwangikab.go.id", "officer", "BWI")
    maklumat = {
        "text": "Dengan ini kami menyatakan sanggup menyelenggarakan pelayanan sesuai "
        "standar pelayanan yang telah ditetapkan.",
        "signed_by": "Ir. Bambang Setiawan",
        "place": "Banyuwangi",
    }
    r = await s.http.get("/public/agencies/BWI/maklumat")
    assert r.status_code == 404 and "has not published a maklumat" in r.json()["detail"]
    assert (await s.http.put("/agencies/BWI/maklumat", json=maklumat)).status_code == 401
    r = await s.http.put("/agencies/BWI/maklumat", json=maklumat, headers=officer)
    assert r.status_code == 403
    r = await s.http.put("/agencies/BWI/maklumat", json=maklumat, headers=other)
    assert r.status_code == 403 and "not BWI" in r.json()["detail"]
    r = await s.http.put("/agencies/BWI/maklumat", json={**maklumat, "text": ""}, headers=admin)
    assert r.status_code == 422
    # The calendar shares the agency's stream: setting one keeps the other.
    calendar = {"weekend": [6], "holidays": ["2026-12-25"], "utc_offset_hours": 7}
    r = await s.http.put("/agencies/BWI/calendar", json=calendar, headers=admin)
    assert r.status_code == 200
    r = await s.http.put("/agencies/BWI/maklumat", json=maklumat, headers=admin)
    assert r.status_code == 200, r.text

    got = (await s.http.get("/public/agencies/BWI/maklumat")).json()
    assert {k: got[k] for k in maklumat} == maklumat
    assert got["position_title"] == "Kepala Dinas" and got["set_at"]
    r = await s.http.get("/agencies/BWI/calendar", headers=officer)
    assert r.json()["weekend"] == [6]
    # The printable standard carries the maklumat.
    await publish(s, admin, DOMISILI)
    page = await s.http.get(f"/public/services/{DOMISILI['id']}/standard?format=html")
    assert "sanggup menyelenggarakan pelayanan" in page.text
    assert "Kepala Dinas, Ir. Bambang Setiawan" in page.text


async def test_an_unknown_province_code_is_accepted_and_the_officer_is_warned(
    stack: Stack,
) -> None:
    s = stack
    admin = await s.token(*ADMIN)
    citizen = await s.token("siti@example.id", "citizen")
    officer = await s.token("budi@banyuwangikab.go.id", "officer", "BWI")
    await publish(s, admin, DOMISILI)
    data = {
        "nik": "5410154808900003",  # 54: Timor Timur, a province that no longer exists
        "full_name": "Maria da Costa",
        "address": "Jl. Ahmad Yani No. 12, RT 02/RW 05",
        "kelurahan": "Penganjuran",
        "purpose": "Pembukaan rekening bank",
    }
    r = await s.http.post(
        "/applications", json={"service_id": DOMISILI["id"], "data": data}, headers=citizen
    )
    assert r.status_code == 201, r.text
    app, pos = r.json()["application_id"], r.json()["position"]
    seen = (await s.http.get(f"/applications/{app}?min_position={pos}", headers=officer)).json()
    assert seen["warnings"] == [{"path": "data.nik", "message": UNKNOWN_PROVINCE_WARNING}]
    own = (await s.http.get(f"/applications/{app}", headers=citizen)).json()
    assert own["warnings"] == []
    # The standard the application was made under, public.
    assert own["standard_url"] == f"/public/services/{DOMISILI['id']}/standard?version=1"
    r = await s.http.get(own["standard_url"])
    assert r.status_code == 200 and r.json()["version"] == 1
    # Finish it: the Temporal server outlives this test, and a later module's first
    # application (the same number in a fresh event store) must not find it running.
    r = await s.http.post(
        f"/tasks/{app}.verify_residence.1/complete",
        json={"outcome": "approve", "comment": "KTP diperiksa"},
        headers=officer,
    )
    assert r.status_code == 200 and r.json()["status"] == "approved", r.text
