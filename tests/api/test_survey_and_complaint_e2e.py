"""Issue 13's acceptance on the real stack (API, worker, projector, Temporal dev server):
an application ends, the citizen answers the satisfaction survey, files a complaint about
the application, the complaint officer verifies it and follows up, and the agency's
figures show the IKM beside the complaint."""

from __future__ import annotations

import pytest

from accounts.registry import Registry
from tests.api.test_e2e import SITI, apply, publish
from tests.support import run_stack

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

# All nine unsur: sum 31, / 9 x 25 = 86.11: B (Baik); the lowest is u4 (biaya/tarif).
ANSWERS = {"u1": 4, "u2": 4, "u3": 3, "u4": 2, "u5": 4, "u6": 4, "u7": 3, "u8": 4, "u9": 3}


async def test_survey_then_complaint_then_follow_up_and_the_figures(dev_env, settings, domisili):
    async with run_stack(dev_env, settings) as s:
        registry = Registry(s.store, s.settings)
        registry.create_region("35.10", "Kabupaten Banyuwangi", "test")
        registry.create_agency("BWI", "DPMPTSP Banyuwangi", "35.10", "test")
        await publish(s, domisili)
        siti = await s.token("siti@example.id", "citizen")
        officer = await s.token("budi@banyuwangikab.go.id", "officer", "BWI")
        desk = await s.token("rina@banyuwangikab.go.id", "complaint_officer", "BWI")

        # The application ends.
        app_id = (await apply(s, siti, domisili["id"], SITI))["application_id"]
        r = await s.http.post(
            f"/tasks/{app_id}.verify_residence.1/complete",
            json={"outcome": "approve"},
            headers=officer,
        )
        assert (r.status_code, r.json()["status"]) == (200, "approved"), r.text

        # The citizen answers the survey.
        r = await s.http.post(
            f"/applications/{app_id}/survey",
            json={**ANSWERS, "suggestion": "Biaya fotokopi di loket terlalu mahal"},
            headers=siti,
        )
        assert r.status_code == 201, r.text

        # ... and complains about the application.
        r = await s.http.post(
            "/complaints",
            json={
                "agency": "BWI",
                "subject": {"kind": "application", "ref": app_id},
                "text": "Saya diminta membayar fotokopi di loket, padahal layanan gratis.",
            },
            headers=siti,
        )
        assert r.status_code == 201, r.text
        cid = r.json()["complaint_id"]

        # The complaint officer verifies and follows up; the citizen accepts the answer.
        r = await s.http.post(
            f"/complaints/{cid}/verify", json={"decision": "accept"}, headers=desk
        )
        assert (r.status_code, r.json()["status"]) == (200, "verified"), r.text
        r = await s.http.post(
            f"/complaints/{cid}/follow-up",
            json={"unit": "Bidang Pelayanan", "text": "Pungutan dihentikan; petugas dibina."},
            headers=desk,
        )
        assert (r.status_code, r.json()["status"]) == (200, "followed_up"), r.text
        r = await s.http.post(
            f"/complaints/{cid}/respond", json={"decision": "accept"}, headers=siti
        )
        assert (r.status_code, r.json()["status"]) == (200, "closed"), r.text
        position = r.json()["position"]

        # The agency's figures: the IKM of the period and the complaint handled.
        ikm = await s.http.get(
            "/stats/ikm", params={"agency": "BWI", "min_position": position}, headers=desk
        )
        assert ikm.status_code == 200, ikm.text
        report = ikm.json()
        assert (report["ikm"], report["grade"], report["respondents"]) == (86.11, "B", 1)
        assert report["priority"]["unsur"] == "u4"
        complaints = await s.http.get(
            "/stats/complaints", params={"min_position": position}, headers=desk
        )
        assert complaints.status_code == 200, complaints.text
        figures = complaints.json()
        assert (figures["volume"], figures["by_status"]) == (1, {"closed": 1})
        assert figures["median_hours_to_follow_up"] is not None
        # The complaint is in the citizen's history, about that application.
        mine = await s.http.get("/me/complaints", headers=siti)
        assert [(c["complaint_id"], c["subject"]["ref"]) for c in mine.json()] == [(cid, app_id)]
