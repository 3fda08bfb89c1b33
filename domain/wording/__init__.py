"""How Lincah words things for people. Durations, roles and amounts in Bahasa Indonesia
for the Standar Pelayanan and the documents (below); and the texts the designer and the
citizen portal both show, in one catalogue:
``domain/wording/locales/{id,en}/LC_MESSAGES/shared.po`` (English msgids, Bahasa
Indonesia the default), so each has ONE translation. Each app keeps its own catalogue
for its own texts and adds this one as the fallback. It imports nothing of Lincah but
the domain, so both apps (which may import neither each other nor the API) can use it.

``domain.wording.problems`` words the validators' problems for the people who fix them."""

from __future__ import annotations

import functools
from io import BytesIO
from pathlib import Path
from typing import Final

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

from domain.primitives import Duration, DurationUnit

LOCALES: Final = Path(__file__).resolve().parent / "locales"
DOMAIN: Final = "shared"
LANGUAGES: Final = ("id", "en")
DEFAULT: Final = "id"


def po_path(language: str) -> Path:
    return LOCALES / language / "LC_MESSAGES" / f"{DOMAIN}.po"


@functools.cache
def catalogue(language: str) -> Translations:
    """The shared messages of ``language`` (Indonesian for a language it does not offer),
    compiled in memory from the .po file (no .mo to keep in step). Cached: treat it as
    read-only; an app that adds it as a fallback adds it to its own catalogue."""
    with po_path(language if language in LANGUAGES else DEFAULT).open("rb") as f:
        po = read_po(f, locale=language if language in LANGUAGES else DEFAULT)
    mo = BytesIO()
    write_mo(mo, po)
    mo.seek(0)
    return Translations(fp=mo, domain=DOMAIN)


def N_(message: str) -> str:
    """Marks a text for the shared catalogue where it is data (``python -m
    domain.wording.messages`` finds it); it is translated where it is shown."""
    return message


COMMON: Final = (
    N_("Log in"),
    N_("Log out"),
    N_("Password"),
    N_("Services"),
    N_("My applications"),
    N_("published"),
    N_("version"),
)
"""Words both apps show, moved here from their own catalogues so each has one
translation (the apps look them up like their own texts)."""

# -- durations, roles and amounts in Bahasa Indonesia ------------------------------

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
