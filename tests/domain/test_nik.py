"""NIK validation, and that the NIK never appears in an error message."""

from datetime import date

import pytest

from domain.definition import ServiceDefinition
from domain.nik import (
    PROVINCE_CODES,
    UNKNOWN_PROVINCE_WARNING,
    Nik,
    NikError,
    is_valid_nik,
    province_warning,
    validate_nik,
)
from domain.validation import Problem, application_warnings, validate_application_data

TODAY = date(2024, 6, 1)

# Province 35 (Jawa Timur), regency 10, district 15, born 15-08-1990, serial 0001.
MALE = "35" + "10" + "15" + "150890" + "0001"
FEMALE = "35" + "10" + "15" + "550890" + "0002"  # day 15 + 40 = 55


def test_valid_male_nik_is_split_into_parts() -> None:
    nik = validate_nik(MALE, today=TODAY)
    assert nik == Nik(
        province_code="35",
        regency_code="10",
        district_code="15",
        birth_date=date(1990, 8, 15),
        sex="L",
        serial="0001",
    )
    assert nik.value == MALE


def test_women_add_forty_to_the_birth_day() -> None:
    nik = validate_nik(FEMALE, today=TODAY)
    assert (nik.birth_date, nik.sex, nik.value) == (date(1990, 8, 15), "P", FEMALE)


@pytest.mark.parametrize(
    ("born", "today", "expected"),
    [
        ("150805", TODAY, date(2005, 8, 15)),
        ("150825", TODAY, date(1925, 8, 15)),  # 2025 would be in the future
        ("010624", TODAY, date(2024, 6, 1)),  # today itself is not the future
        ("020624", TODAY, date(1924, 6, 2)),
        ("290200", TODAY, date(2000, 2, 29)),
        ("290204", TODAY, date(2004, 2, 29)),
    ],
)
def test_two_digit_year_prefers_this_century_unless_future(
    born: str, today: date, expected: object
) -> None:
    assert validate_nik("3171" + "01" + born + "0001", today=today).birth_date == expected


def test_today_defaults_to_the_real_date() -> None:
    assert validate_nik(MALE).birth_date == date(1990, 8, 15)


KEMENDAGRI_PROVINCES = [
    "11",
    "12",
    "13",
    "14",
    "15",
    "16",
    "17",
    "18",
    "19",
    "21",
    "31",
    "32",
    "33",
    "34",
    "35",
    "36",
    "51",
    "52",
    "53",
    "61",
    "62",
    "63",
    "64",
    "65",
    "71",
    "72",
    "73",
    "74",
    "75",
    "76",
    "81",
    "82",
    "91",
    "92",
    "93",
    "94",
    "95",
    "96",
]


@pytest.mark.parametrize("province", KEMENDAGRI_PROVINCES)
def test_every_province_is_known_including_new_papua_provinces(province: str) -> None:
    assert province_warning(validate_nik(province + MALE[2:], today=TODAY)) is None
    assert province in PROVINCE_CODES


# The code is where the NIK was first issued and stays for life (Dukcapil): a retired
# province's code (Timor Timur, 54) or one not in today's list is accepted, with a
# warning for the officer, never refused. "00" too: no structural rule excludes it.
@pytest.mark.parametrize("province", ["54", "00", "10", "20", "22", "30", "37", "50", "97", "99"])
def test_any_other_province_code_is_accepted_with_a_warning(province: str) -> None:
    nik = validate_nik(province + MALE[2:], today=TODAY)
    assert nik.province_code == province and is_valid_nik(nik.value, today=TODAY)
    warning = province_warning(nik)
    assert warning == UNKNOWN_PROVINCE_WARNING
    assert "retired" in warning and "Check it against the KTP" in warning
    digits = nik.value
    assert all(digits[i : i + 4] not in warning for i in range(len(digits) - 3))


def _service() -> ServiceDefinition:
    return ServiceDefinition.model_validate(
        {
            "id": "surat-keterangan",
            "name": "Surat keterangan",
            "agency": {"code": "BWI", "name": "Kabupaten Banyuwangi"},
            "fields": [
                {"id": "nik", "label": "NIK", "type": "nik"},
                {"id": "nik_saksi", "label": "NIK saksi", "type": "nik", "required": False},
            ],
            "steps": [{"kind": "end", "id": "selesai", "name": "Selesai", "result": "approved"}],
        }
    )


def test_the_officer_gets_the_warning_and_the_application_is_not_refused() -> None:
    retired, unknown, known = "54" + MALE[2:], "99" + FEMALE[2:], MALE
    data = {"nik": retired, "nik_saksi": unknown}
    assert validate_application_data(_service(), data) == []
    assert application_warnings(_service(), data) == [
        Problem("data.nik", UNKNOWN_PROVINCE_WARNING),
        Problem("data.nik_saksi", UNKNOWN_PROVINCE_WARNING),
    ]
    assert application_warnings(_service(), {"nik": known}) == []
    # An invalid NIK is a problem, not a warning; a missing optional one is nothing.
    assert application_warnings(_service(), {"nik": "54" + MALE[2:12] + "0000"}) == []


LENGTH = "NIK must have exactly 16 digits"
BIRTH = "NIK birth date (digits 7-12, DDMMYY) is not a real calendar date"
SERIAL = "NIK serial number (last 4 digits) must not be all zeros"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (MALE[:-1], LENGTH),
        (MALE + "1", LENGTH),
        ("", LENGTH),
        ("35101515089O0001", LENGTH),  # letter O
        (" " + MALE[1:], LENGTH),
        ("３５" + MALE[2:], LENGTH),  # full-width digits are not ASCII digits
        ("351015" + "000890" + "0001", BIRTH),  # day 0
        ("351015" + "320890" + "0001", BIRTH),  # day 32
        ("351015" + "400890" + "0001", BIRTH),  # day 40 (= woman, day 0)
        ("351015" + "720890" + "0001", BIRTH),  # day 72 (= woman, day 32)
        ("351015" + "151390" + "0001", BIRTH),  # month 13
        ("351015" + "150090" + "0001", BIRTH),  # month 0
        ("351015" + "310490" + "0001", BIRTH),  # 31 April
        ("351015" + "290201" + "0001", BIRTH),  # 29 Feb in a non-leap year
        ("351015" + "150890" + "0000", SERIAL),
        # An unknown or retired province code does not lift the structural checks.
        ("991015" + "320890" + "0001", BIRTH),
        ("541015" + "150890" + "0000", SERIAL),
        ("54101515089", LENGTH),
    ],
)
def test_invalid_niks_are_refused_without_echoing_the_nik(value: str, message: str) -> None:
    with pytest.raises(NikError) as caught:
        validate_nik(value, today=TODAY)
    text = str(caught.value)
    assert text == message
    assert not is_valid_nik(value, today=TODAY)
    # Privacy: not even a 4-digit run of the NIK may leak into a log line.
    digits = "".join(c for c in value if c.isdigit())
    assert all(digits[i : i + 4] not in text for i in range(len(digits) - 3))


@pytest.mark.parametrize("value", [None, 3510151508900001, b"3510151508900001"])
def test_non_strings_are_refused(value: object) -> None:
    assert not is_valid_nik(value)
    with pytest.raises(NikError, match="^NIK must have exactly 16 digits$"):
        validate_nik(value)  # type: ignore[arg-type]


def test_repr_does_not_reveal_the_nik() -> None:
    nik = validate_nik(MALE, today=TODAY)
    assert MALE not in repr(nik)
    assert "150890" not in repr(nik)
    assert "0001" not in repr(nik)


def test_nik_error_is_a_value_error() -> None:
    assert issubclass(NikError, ValueError)
