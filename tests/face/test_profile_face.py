"""A citizen verifies their profile by face, end to end: the real stack (tests/support.py
``run_stack``) and the face worker with the dlib backend on the recorded photos. A
selfie that matches the enrolment marks the identity fields ``verified-face`` and the
prefilled form carries it; one that does not changes nothing; the selfie is gone after
either."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from face.store import FaceStore
from tests.api.test_e2e import publish
from tests.api.test_profile import NIK, PROFILE
from tests.face.conftest import needs_face_extra, needs_faces, photo
from tests.support import Stack, run_stack

pytestmark = [pytest.mark.e2e, needs_face_extra, needs_faces]

IDENTITY = ["nik", "full_name", "birth_place", "birth_date", "sex"]


async def upload(s: Stack, who: dict[str, str], path: str, name: str) -> dict:
    r = await s.http.post(path, files={"photo": ("p.jpg", photo(name), "image/jpeg")},
                          headers=who)  # fmt: skip
    assert r.status_code == 201, r.text
    return dict(r.json())


async def test_a_matching_selfie_verifies_the_identity_fields(
    dev_env, face_settings, dlib_pipeline, domisili
):
    from lincah.face_worker import build_face_worker

    async with run_stack(dev_env, face_settings) as s:
        with ThreadPoolExecutor(8) as executor:
            async with build_face_worker(dev_env.client, s.settings, executor, dlib_pipeline):
                siti = await s.token("siti@example.id", "citizen")
                verify = "/me/profile/verify-face"

                # Nothing to verify before the identity is declared.
                selfie = (await upload(s, siti, "/me/selfies", "obama/obama2.jpg"))["selfie_ref"]
                r = await s.http.post(verify, json={"selfie_ref": selfie}, headers=siti)
                assert r.status_code == 409, r.text
                r = await s.http.patch("/me/profile", json=PROFILE, headers=siti)
                assert r.status_code == 200, r.text

                await upload(s, siti, "/me/face", "obama/obama1.jpg")
                # Someone else's face: refused, nothing verified, the selfie deleted.
                other = (await upload(s, siti, "/me/selfies", "biden/biden1.jpg"))["selfie_ref"]
                r = await s.http.post(verify, json={"selfie_ref": other}, headers=siti)
                assert r.status_code == 422, r.text
                assert "does not match" in r.json()["detail"]
                faces = FaceStore.from_settings(s.settings)
                assert not faces.has_photo(other, "siti@example.id")
                r = await s.http.get("/me/profile", headers=siti)
                assert {f["provenance"] for f in r.json()["fields"].values()} == {"self-declared"}

                r = await s.http.post(verify, json={"selfie_ref": selfie}, headers=siti)
                assert r.status_code == 200, r.text
                fields = r.json()["fields"]
                assert [n for n, f in fields.items() if f["provenance"] == "verified-face"] == (
                    IDENTITY
                )
                assert fields["address.kecamatan"]["provenance"] == "self-declared"
                assert r.json()["history"][-1]["method"] == "face"
                assert not faces.has_photo(selfie, "siti@example.id")

                # Without typing: the demo form comes with her verified identity.
                await publish(s, domisili)
                r = await s.http.get(f"/services/{domisili['id']}/form?prefill=true",
                                     headers=siti)  # fmt: skip
                filled = {f["id"]: (f["value"], f["provenance"]) for f in r.json()["fields"]}
                assert filled["nik"] == (NIK, "verified-face")
                assert filled["full_name"] == ("Siti Aminah", "verified-face")
