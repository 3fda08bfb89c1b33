"""Indonesian NIK (Nomor Induk Kependudukan) validation.

Layout of the 16 digits: ``PP RR DD ddmmyy SSSS`` -- province, regency (kabupaten/
kota), district (kecamatan), birth date (women add 40 to the day) and a serial.

The province code is where the number was first issued, and a NIK keeps it for life:
provinces are split and renamed (Papua in 2022, Kalimantan Utara in 2012) and a
province can cease to exist (Timor Timur, 54), so Dukcapil's rule is that a code
missing from today's list does not make a NIK invalid. Any two digits are accepted,
"00" included (no structural rule excludes it); a code outside ``PROVINCE_CODES`` is
reported by ``province_warning`` for the officer to check against the KTP, never
refused.

A NIK is personal data: no message, ``repr`` or exception produced here contains
its digits, so a rejected value can never leak into logs or API error bodies.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Literal

# Today's Kemendagri province codes, including the Papua provinces created in 2022
# (92-96). Only for the warning: a code outside it is still a valid NIK.
PROVINCE_CODES = frozenset(
    {
        *("11", "12", "13", "14", "15", "16", "17", "18", "19", "21"),
        *("31", "32", "33", "34", "35", "36"),
        *("51", "52", "53"),
        *("61", "62", "63", "64", "65"),
        *("71", "72", "73", "74", "75", "76"),
        *("81", "82"),
        *("91", "92", "93", "94", "95", "96"),
    }
)

_DIGITS = re.compile(r"[0-9]{16}")  # ASCII only: str.isdigit() accepts other scripts
_FEMALE_DAY_OFFSET = 40


class NikError(ValueError):
    """An invalid NIK. The message never contains the NIK itself."""


@dataclass(frozen=True, slots=True)
class Nik:
    """A validated NIK, split into its parts (each code is its own two digits)."""

    province_code: str
    regency_code: str
    district_code: str
    birth_date: date
    sex: Literal["L", "P"]
    serial: str

    @property
    def value(self) -> str:
        """The 16 digits again, for storage; do not log it."""
        day = self.birth_date.day + (_FEMALE_DAY_OFFSET if self.sex == "P" else 0)
        born = f"{day:02d}{self.birth_date:%m%y}"
        return f"{self.province_code}{self.regency_code}{self.district_code}{born}{self.serial}"

    def __repr__(self) -> str:
        # The default dataclass repr would spell out every part; keep logs clean.
        return f"Nik(province_code={self.province_code!r}, ...)"


def validate_nik(value: str, today: date | None = None) -> Nik:
    """Parse and validate a NIK; raises ``NikError`` with a value-free message."""
    if not isinstance(value, str) or not _DIGITS.fullmatch(value):
        raise NikError("NIK must have exactly 16 digits")
    province, regency, district = value[0:2], value[2:4], value[4:6]
    day, month, year = int(value[6:8]), int(value[8:10]), int(value[10:12])
    sex: Literal["L", "P"] = "P" if day > _FEMALE_DAY_OFFSET else "L"
    if sex == "P":
        day -= _FEMALE_DAY_OFFSET
    birth_date = _birth_date(day, month, year, today or date.today())
    serial = value[12:16]
    if serial == "0000":
        raise NikError("NIK serial number (last 4 digits) must not be all zeros")
    return Nik(province, regency, district, birth_date, sex, serial)


def is_valid_nik(value: object, today: date | None = None) -> bool:
    """True when ``value`` is a valid NIK string."""
    if not isinstance(value, str):
        return False
    try:
        validate_nik(value, today)
    except NikError:
        return False
    return True


UNKNOWN_PROVINCE_WARNING = (
    "NIK province code (first 2 digits) is not in the current list of provinces; it may "
    "be a retired or renamed province's code (the code is where the NIK was first "
    "issued). Check it against the KTP; the NIK was accepted."
)


def province_warning(nik: Nik) -> str | None:
    """A warning for the officer when the province code is not one of today's; never a
    reason to refuse the NIK. The message contains no digit of the NIK."""
    return None if nik.province_code in PROVINCE_CODES else UNKNOWN_PROVINCE_WARNING


def _birth_date(day: int, month: int, yy: int, today: date) -> date:
    # Two-digit year: prefer 20YY unless that date lies in the future.
    try:
        recent = date(2000 + yy, month, day)
        if recent <= today:
            return recent
    except ValueError:
        pass  # e.g. 29 Feb in a non-leap 20YY; 19YY may still be valid
    try:
        return date(1900 + yy, month, day)
    except ValueError:
        raise NikError("NIK birth date (digits 7-12, DDMMYY) is not a real calendar date") from None
