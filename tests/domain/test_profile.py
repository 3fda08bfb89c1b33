"""The profile's rules: validation, agreement with the NIK, the fold (provenance,
history, a changed value losing its verification) and what prefill offers and records."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain import profile as pf
from domain.refusals import Invalid
from domain.validation import parse_definition

SITI_NIK = "3510154808900003"  # a woman born 8 August 1990 (48 = 8 + 40)
AT = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)
SITI = {
    "nik": SITI_NIK,
    "full_name": "Siti Aminah",
    "birth_place": "Banyuwangi",
    "birth_date": "1990-08-08",
    "sex": "P",
    "address.street": "Jl. Ahmad Yani No. 12",
    "address.rt": "2",
    "address.rw": "5",
    "address.kelurahan_desa": "Penganjuran",
    "address.kecamatan": "Banyuwangi",
    "address.kabupaten_kota": "Kabupaten Banyuwangi",
    "address.province": "Jawa Timur",
    "religion": "Islam",
    "marital_status": "Kawin",
}


def run(*steps: pf.ProfileEvent | None) -> pf.Profile:
    events = [(e, AT + timedelta(minutes=i)) for i, e in enumerate(steps) if e is not None]
    return pf.fold("c-siti", events)


def declared(profile: pf.Profile, changes: dict[str, str], by: str = "c-siti") -> pf.Profile:
    event = pf.declaration(profile, changes, by)
    return run(*_events(profile), event)


def _events(profile: pf.Profile) -> list[pf.ProfileEvent]:
    out: list[pf.ProfileEvent] = []
    for c in profile.history:
        if c.kind == "declared":
            out.append(pf.ProfileDeclared(changes=c.values, by=c.by))
        else:
            assert c.method is not None
            out.append(pf.ProfileVerified(fields=c.fields, method=c.method, by=c.by))
    return out


def test_a_declared_profile_is_self_declared_with_its_history():
    p = declared(run(), SITI)
    assert p.values() == SITI
    assert {f.provenance for f in p.fields.values()} == {pf.SELF_DECLARED}
    assert [(c.kind, c.by) for c in p.history] == [("declared", "c-siti")]
    assert p.version == 0


def test_counter_verification_records_the_officer_and_a_change_loses_it():
    p = declared(run(), SITI)
    officer = pf.verification(p, ["full_name", "address.kecamatan"], "counter", "s-budi")
    p = run(*_events(p), officer)
    assert p.fields["full_name"].provenance == pf.VERIFIED_COUNTER
    assert p.fields["full_name"].verified_by == "s-budi"
    assert p.fields["birth_place"].provenance == pf.SELF_DECLARED
    # The same verification again records nothing; a face match is another method.
    assert pf.verification(p, ["full_name"], "counter", "s-budi") is None
    p = declared(p, {"full_name": "Siti Aminah Rahayu", "address.kecamatan": "Banyuwangi"})
    assert p.fields["full_name"].provenance == pf.SELF_DECLARED
    assert p.fields["full_name"].verified_by is None
    assert p.fields["address.kecamatan"].provenance == pf.VERIFIED_COUNTER  # unchanged
    assert p.history[-1].unverified == ["full_name"]
    assert p.history[-1].values == {"full_name": "Siti Aminah Rahayu"}


def test_an_unchanged_declaration_records_nothing():
    p = declared(run(), SITI)
    assert pf.declaration(p, {"full_name": " Siti Aminah "}, "c-siti") is None


def test_verifying_a_field_without_a_value_is_refused_by_name():
    p = declared(run(), {"full_name": "Siti Aminah"})
    with pytest.raises(Invalid) as e:
        pf.verification(p, ["full_name", "kk_number", "shoe_size"], "counter", "s-budi")
    assert [x.path for x in e.value.problems] == ["kk_number", "shoe_size"]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"nik": SITI_NIK, "birth_date": "1990-08-09"}, "birth_date"),
        ({"nik": SITI_NIK, "sex": "L"}, "sex"),
        ({"nik": "3510150808900003", "sex": "P"}, "sex"),  # a man's NIK (day 08)
    ],
)
def test_birth_date_and_sex_must_agree_with_the_nik(changes, field):
    with pytest.raises(Invalid) as e:
        pf.declaration(run(), changes, "c-siti")
    assert [p.path for p in e.value.problems] == [field]
    assert changes["nik"] not in str(e.value.problems)


def test_a_later_nik_is_checked_against_the_declared_birth_date():
    p = declared(run(), {"birth_date": "1990-08-08", "sex": "L"})
    with pytest.raises(Invalid) as e:
        pf.declaration(p, {"nik": SITI_NIK}, "c-siti")
    assert [x.path for x in e.value.problems] == ["sex"]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("kk_number", "12345"),
        ("religion", "Jedi"),
        ("marital_status", "Menikah"),
        ("sex", "W"),
        ("address.rt", "2a"),
        ("address.rw", "1234"),
        ("birth_date", "08-08-1990"),
        ("birth_date", "1990-02-30"),
        ("nik", "12"),
        ("full_name", "x" * 101),
        ("occupation", "a\nb"),
        ("email", "not-an-address"),
        ("phone", "12"),
        ("favourite_colour", "biru"),
        ("full_name", "   "),
    ],
)
def test_each_invalid_value_is_named(name, value):
    problems = pf.validate_changes({name: value})
    assert [p.path for p in problems] == [name]


@given(st.dates(date(1940, 1, 1), date(2025, 12, 31)), st.sampled_from(["L", "P"]))
def test_any_nik_agrees_with_the_birth_date_and_sex_it_encodes(born, sex):
    day = born.day + (40 if sex == "P" else 0)
    nik = f"351015{day:02d}{born:%m%y}0001"
    p = declared(run(), {"nik": nik, "birth_date": born.isoformat(), "sex": sex})
    assert p.values()["birth_date"] == born.isoformat()
    other = "L" if sex == "P" else "P"
    assert [x.path for x in pf.nik_disagreements({"nik": nik, "sex": other})] == ["sex"]


def test_prefill_offers_values_with_their_provenance():
    p = declared(run(), SITI)
    p = run(*_events(p), pf.verification(p, list(pf.IDENTITY_FIELDS), "face", "c-siti"))
    assert pf.prefilled(p, "profile.full_name") == pf.Prefilled("Siti Aminah", pf.VERIFIED_FACE)
    address = pf.prefilled(p, "profile.address")
    assert address == pf.Prefilled(
        "Jl. Ahmad Yani No. 12, RT 002/RW 005, Penganjuran, Banyuwangi, Kabupaten Banyuwangi, "
        "Jawa Timur",
        pf.SELF_DECLARED,
    )
    assert pf.prefilled(p, "profile.kk_number") is None
    name = pf.prefilled(p, "profile.full_name")
    assert pf.submitted_provenance(name, "Siti Aminah") == pf.VERIFIED_FACE
    assert pf.submitted_provenance(name, "Siti A.") == pf.CHANGED_VERIFIED
    assert pf.submitted_provenance(address, "elsewhere") == pf.SELF_DECLARED
    assert pf.submitted_provenance(None, "x") == pf.SELF_DECLARED


def test_a_definition_with_an_unknown_profile_path_is_refused():
    definition = {
        "id": "uji",
        "name": "Uji",
        "agency": {"code": "BWI", "name": "Kabupaten Banyuwangi"},
        "fields": [
            {"id": "nama", "label": "Nama", "prefill": "profile.full_name"},
            {"id": "kec", "label": "Kecamatan", "prefill": "profile.address.kecamatan"},
            {"id": "x", "label": "X", "prefill": "profile.shoe_size"},
        ],
        "steps": [
            {"kind": "form", "id": "submission", "name": "Pengajuan", "next": "done"},
            {"kind": "end", "id": "done", "name": "Selesai", "result": "approved"},
        ],
    }
    _, problems = parse_definition(definition)
    assert [p.path for p in problems] == ["fields[2].prefill"]
    assert "unknown profile field 'profile.shoe_size'" in problems[0].message
