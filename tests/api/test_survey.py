"""The satisfaction survey end to end on the real stack (API, worker, projector,
Temporal dev server): a citizen applies, the officer decides, the citizen answers the
survey once, and the IKM appears for the agency as JSON, CSV and the public page."""

from __future__ import annotations

import csv
import io

import pytest

from tests.api.test_e2e import AGUS, SITI, apply, publish
from tests.support import run_stack

pytestmark = pytest.mark.e2e

ANSWERS = {"u1": 4, "u2": 3, "u3": 2, "u4": 4, "u5": 4, "u6": 3, "u7": 4, "u8": 3, "u9": 3}
# Means as the values; sum 30, / 9 x 25 = 83.33: B (Baik); the lowest is u3.


async def test_a_citizen_answers_and_the_agency_sees_its_ikm(dev_env, settings, domisili):
    async with run_stack(dev_env, settings) as s:
        await publish(s, domisili)
        siti = await s.token("siti@example.id", "citizen")
        agus = await s.token("agus@example.id", "citizen")
        officer = await s.token("budi@banyuwangikab.go.id", "officer", "BWI")
        auditor = await s.token("audit@bpk.go.id", "auditor")

        app_id = (await apply(s, siti, domisili["id"], SITI))["application_id"]
        survey = f"/applications/{app_id}/survey"
        body = {**ANSWERS, "respondent": {"age": 34, "sex": "P", "education": "S1"},
                "suggestion": "Ruang tunggu perlu kipas angin"}  # fmt: skip

        # Not ended yet: the survey is not open.
        r = await s.http.post(survey, json=body, headers=siti)
        assert r.status_code == 409 and "once it has ended" in r.json()["detail"]

        r = await s.http.post(
            f"/tasks/{app_id}.verify_residence.1/complete",
            json={"outcome": "approve"},
            headers=officer,
        )
        assert r.status_code == 200 and r.json()["status"] == "approved", r.text
        # Agus's application is rejected and he does not answer: 2 in the population.
        app2 = (await apply(s, agus, domisili["id"], AGUS))["application_id"]
        r = await s.http.post(
            f"/tasks/{app2}.verify_residence.1/complete",
            json={"outcome": "reject"},
            headers=officer,
        )
        assert r.status_code == 200, r.text

        offered = (await s.http.get(f"/me/surveys?min_position={r.json()['position']}",
                                    headers=siti)).json()  # fmt: skip
        assert [(o["application_id"], o["answered"]) for o in offered] == [(app_id, False)]

        # Someone else's application answers as an unknown one; values are bounded.
        r = await s.http.post(survey, json=body, headers=agus)
        assert r.status_code == 404 and r.json()["detail"].endswith("you may see")
        r = await s.http.post(survey, json={**body, "u9": 5}, headers=siti)
        assert r.status_code == 422
        r = await s.http.post(survey, json=body, headers=officer)
        assert r.status_code == 403

        r = await s.http.post(survey, json=body, headers=siti)
        assert r.status_code == 201, r.text
        position = r.json()["position"]
        r = await s.http.post(survey, json=body, headers=siti)
        assert r.status_code == 409 and "already been answered" in r.json()["detail"]

        offered = (await s.http.get(f"/me/surveys?min_position={position}", headers=siti)).json()
        assert [(o["application_id"], o["answered"]) for o in offered] == [(app_id, True)]

        r = await s.http.get(f"/stats/ikm?agency=BWI&min_position={position}", headers=officer)
        assert r.status_code == 200, r.text
        report = r.json()
        assert (report["respondents"], report["population"], report["minimum_sample"]) == (
            1,
            2,
            2,
        )
        assert report["sample_reached"] is False
        assert (report["ikm"], report["grade"], report["kinerja"]) == (83.33, "B", "Baik")
        assert report["priority"]["unsur"] == "u3"
        assert [u["nrr"] for u in report["unsur"]] == [float(v) for v in ANSWERS.values()]
        assert report["profile"]["sex"] == {"P": 1}
        assert report["suggestions"] == ["Ruang tunggu perlu kipas angin"]
        assert "siti" not in r.text.lower() and app_id not in r.text

        period = report["period"]
        r = await s.http.get(f"/stats/ikm?period={period}-S1", headers=auditor)
        assert r.status_code == 200
        r = await s.http.get("/stats/ikm?agency=JMB", headers=officer)
        assert r.status_code == 403
        r = await s.http.get("/stats/ikm", headers=siti)
        assert r.status_code == 403
        r = await s.http.get("/stats/ikm?period=2026-S3", headers=officer)
        assert r.status_code == 422

        r = await s.http.get("/stats/ikm.csv?agency=BWI", headers=officer)
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(r.text)))
        assert [row["unsur"] for row in rows] == [f"u{i}" for i in range(1, 10)]
        assert {(row["ikm"], row["grade"], row["sample_reached"]) for row in rows} == {
            ("83.33", "B", "no")
        }
        assert "kipas" not in r.text
        assert r.headers["content-disposition"].startswith('attachment; filename="ikm-BWI-')
        # Any text may be asked as an agency: the file name stays a header's.
        r = await s.http.get("/stats/ikm.csv", params={"agency": 'Ā"; x=1'}, headers=auditor)
        assert r.status_code == 200, r.text
        assert r.headers["content-disposition"].startswith('attachment; filename="ikm-____x_1-')

        r = await s.http.get(f"/public/agencies/BWI/ikm?period={period}")
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
        page = r.text
        assert "IKM: 83.33" in page and "Baik" in page and "<svg" in page
        assert "Prioritas perbaikan" in page and "Waktu penyelesaian" in page
        assert "sampel minimum belum tercapai" in page
        assert "kipas" not in page and app_id not in page
        r = await s.http.get("/public/agencies/NOPE/ikm")
        assert r.status_code == 404

        # The service's standard shows its SKM beside it.
        skm = (await s.http.get(f"/public/services/{domisili['id']}/standard")).json()["skm"]
        assert (skm["respondents"], skm["ikm"], skm["grade"]) == (1, 83.33, "B")
        assert "suggestions" not in skm
