"""How Lincah words durations, roles and amounts for the people who read the Standar
Pelayanan and the documents (Bahasa Indonesia)."""

from __future__ import annotations

from typing import Final

from domain.primitives import Duration, DurationUnit

UNITS: Final = {
    DurationUnit.WORKING_DAYS: "hari kerja",
    DurationUnit.DAYS: "hari",
    DurationUnit.HOURS: "jam",
    DurationUnit.MINUTES: "menit",
}
ROLES: Final = {
    "citizen": "pemohon",
    "officer": "petugas",
    "supervisor": "supervisor",
    "cashier": "kasir",
    "agency_admin": "admin instansi",
}


def rupiah(amount: int | float) -> str:
    return "Rp " + f"{int(amount):,}".replace(",", ".")


def duration_text(d: Duration) -> str:
    return f"{d.amount:g} {UNITS[d.unit]}"
