"""The citizen's profile end to end on the real stack (API, worker, projector, Temporal
dev server): a registered citizen declares their profile, a counter officer finds them
by NIK and verifies fields, the demo's Surat Keterangan Domisili form comes prefilled,
and the application records which values kept their verification and flags the one
that changed. (Face verification of the profile: tests/face/test_profile_face.py.)"""

from __future__ import annotations

import pytest

from accounts.registry import Registry
from commands import profile as commands
from tests.api.test_e2e import publish
from tests.support import Stack, run_stack

pytestmark = pytest.mark.e2e

NIK = "3510154808900003"  # a woman born 8 August 1990
PROFILE = {
    "nik": NIK,
    "full_name": "Siti Aminah",
    "birth_place": "Banyuwangi",
    "birth_date": "1990-08-08",
    "sex": "P",
    "address": {
        "street": "Jl. Ahmad Yani No. 12",
        "rt": "2",
        "rw": "5",
        "kelurahan_desa": "Penganjuran",
        "kecamatan": "Banyuwangi",
        "kabupaten_kota": "Kabupaten Banyuwangi",
        "province": "Jawa Timur",
    },
    "religion": "Islam",
    "marital_status": "Kawin",
    "phone": "081234567890",
}
ADDRESS = (
    "Jl. Ahmad Yani No. 12, RT 002/RW 005, Penganjuran, Banyuwangi, Kabupaten Banyuwangi, "
    "Jawa Timur"
)


async def registered(s: Stack) -> tuple[str, dict[str, str]]:
    """Siti registers (her account id is her NIK's keyed hash); her token."""
    registration = Registry(s.store, s.settings).register(
        NIK, "Siti Aminah", "siti@example.id", None, "kata-sandi-uji-2026"
    )
    return registration.account_id, await s.token(registration.account_id, "citizen")


async def test_declare_verify_prefill_and_submit(dev_env, settings, domisili):
    async with run_stack(dev_env, settings) as s:
        await publish(s, domisili)
        account, siti = await registered(s)
        officer = await s.token("s-budi", "officer", "BWI")
        cashier = await s.token("s-kasir", "cashier", "BWI")

        # Nothing declared yet: an empty profile, and the form comes with no values.
        r = await s.http.get("/me/profile", headers=siti)
        assert r.status_code == 200 and r.json()["fields"] == {} and r.json()["version"] == -1

        # A date of birth that the NIK contradicts is refused, naming the field only.
        r = await s.http.patch("/me/profile", json={**PROFILE, "birth_date": "1990-08-09"},
                               headers=siti)  # fmt: skip
        assert r.status_code == 422, r.text
        assert [p["path"] for p in r.json()["problems"]] == ["birth_date"]
        assert NIK not in r.text
        # Another NIK than the one she registered with is refused too.
        r = await s.http.patch("/me/profile", json={"nik": "3510150808900003"}, headers=siti)
        assert r.status_code == 422 and r.json()["problems"][0]["path"] == "nik", r.text

        r = await s.http.patch("/me/profile", json=PROFILE, headers=siti)
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["fields"]["address.kecamatan"]["value"] == "Banyuwangi"
        assert {f["provenance"] for f in body["fields"].values()} == {"self-declared"}
        # Idempotent: the same values again record nothing.
        r = await s.http.patch("/me/profile", json=PROFILE, headers=siti)
        assert r.status_code == 200 and r.json()["position"] is None
        assert len(r.json()["history"]) == 1

        # The counter: only officers and supervisors find a citizen, by NIK in the body.
        r = await s.http.post("/citizens/lookup", json={"nik": NIK}, headers=cashier)
        assert r.status_code == 403
        r = await s.http.post("/citizens/lookup", json={"nik": "3509011203850002"},
                              headers=officer)  # fmt: skip
        assert r.status_code == 404 and "3509011203850002" not in r.text
        r = await s.http.post("/citizens/lookup", json={"nik": NIK}, headers=officer)
        assert r.status_code == 200, r.text
        assert r.json() == {"account_id": account, "full_name": "Siti Aminah",
                            "nik": "************0003"}  # fmt: skip
        r = await s.http.get(f"/citizens/{account}/profile", headers=officer)
        assert r.status_code == 200 and r.json()["fields"]["nik"]["value"] == NIK
        r = await s.http.get("/citizens/c-nobody/profile", headers=officer)
        assert r.status_code == 404

        checked = ["nik", "full_name", "birth_date", "sex", *(
            f"address.{p}" for p in PROFILE["address"])]  # fmt: skip
        r = await s.http.post(f"/citizens/{account}/profile/verify",
                              json={"fields": checked}, headers=officer)  # fmt: skip
        assert r.status_code == 200, r.text
        fields = r.json()["fields"]
        assert fields["full_name"]["provenance"] == "verified-counter"
        assert fields["full_name"]["verified_by"] == "s-budi"
        assert fields["birth_place"]["provenance"] == "self-declared"
        r = await s.http.post(f"/citizens/{account}/profile/verify",
                              json={"fields": ["kk_number"]}, headers=officer)  # fmt: skip
        assert r.status_code == 422 and r.json()["problems"][0]["path"] == "kk_number"

        # The citizen sees who verified what, in her history.
        history = (await s.http.get("/me/profile", headers=siti)).json()["history"]
        assert [(h["kind"], h["by"], h["method"]) for h in history] == [
            ("declared", account, None),
            ("verified", "s-budi", "counter"),
        ]

        # The form: plain without a token, prefilled with provenance for her.
        form = f"/services/{domisili['id']}/form"
        r = await s.http.get(f"{form}?prefill=true")
        assert r.status_code == 200 and all(f["value"] is None for f in r.json()["fields"])
        r = await s.http.get(f"{form}?prefill=true", headers=siti)
        filled = {f["id"]: (f["value"], f["provenance"]) for f in r.json()["fields"]}
        assert filled["nik"] == (NIK, "verified-counter")
        assert filled["full_name"] == ("Siti Aminah", "verified-counter")
        assert filled["address"] == (ADDRESS, "verified-counter")
        assert filled["kelurahan"] == ("Penganjuran", "verified-counter")
        assert filled["purpose"] == (None, None)

        # She keeps the verified values but one: that one is flagged for the officer.
        data = {k: v for k, (v, _) in filled.items() if v is not None}
        data |= {"full_name": "Siti Aminah Rahayu", "purpose": "Pembukaan rekening bank"}
        r = await s.http.post("/applications", json={"service_id": domisili["id"],
                              "data": data}, headers=siti)  # fmt: skip
        assert r.status_code == 201, r.text
        app_id, position = r.json()["application_id"], r.json()["position"]
        view = (await s.http.get(f"/applications/{app_id}?min_position={position}",
                                 headers=officer)).json()  # fmt: skip
        assert view["provenance"] == {
            "nik": "verified-counter",
            "full_name": "changed-verified",
            "address": "verified-counter",
            "kelurahan": "verified-counter",
        }
        assert [w["path"] for w in view["warnings"]] == ["data.full_name"]
        # The profile itself is unchanged by the application.
        after = commands.profile_of(s.store, s.settings, account)
        assert after.fields["full_name"].value == "Siti Aminah"

        # Changing a verified value in the profile makes it self-declared again.
        r = await s.http.patch("/me/profile", json={"full_name": "Siti Aminah Rahayu"},
                               headers=siti)  # fmt: skip
        assert r.json()["fields"]["full_name"]["provenance"] == "self-declared"
        assert r.json()["history"][-1]["unverified"] == ["full_name"]


async def test_profile_values_rest_encrypted(dev_env, settings):
    async with run_stack(dev_env, settings) as s:
        siti = await s.token("siti@example.id", "citizen")
        r = await s.http.patch("/me/profile", json=PROFILE, headers=siti)
        assert r.status_code == 200, r.text
        stored = [e for e in s.store.read_all() if e.stream == "profile-siti@example.id"]
        assert [e.type for e in stored] == ["ProfileDeclared"]
        raw = str(stored[0].data)
        assert "Aminah" not in raw and NIK not in raw and "Ahmad Yani" not in raw
        assert "full_name" in stored[0].data["fields"]
