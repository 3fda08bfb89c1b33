"""Languages: Bahasa Indonesia by default, English as a choice. Messages come from the
babel catalogues under ``locales/`` (compiled in memory at start, no .mo files), then
from the catalogue shared with the designer (``domain.wording``: the words both show, and the
plain wording of the API's problems with what the citizen sent); dates,
times and rupiah amounts are written the Indonesian way whatever the language."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from io import BytesIO
from pathlib import Path
from typing import Final

from babel.dates import format_date as babel_date
from babel.dates import format_datetime as babel_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_currency
from babel.support import Translations

from domain import wording

LOCALES: Final = Path(__file__).resolve().parent / "locales"
LANGUAGES: Final = ("id", "en")
DEFAULT: Final = "id"
COOKIE: Final = "lang"
ZONES: Final = {"WIB": 7, "WITA": 8, "WIT": 9}
"""Indonesia's three zones and their offsets from UTC."""
FORMAT_LOCALE: Final = "id_ID"
"""Numbers, currency and dates follow Indonesian conventions in both languages: the
amounts and dates are those on Indonesian documents."""


def catalogue(language: str) -> Translations:
    """The language's messages, compiled from its .po file, with the shared ones as the
    fallback for what it does not hold."""
    path = LOCALES / language / "LC_MESSAGES" / "portal.po"
    with path.open("rb") as f:
        po = read_po(f, locale=language)
    mo = BytesIO()
    write_mo(mo, po)
    mo.seek(0)
    own = Translations(fp=mo, domain="portal")
    own.add_fallback(wording.catalogue(language))
    return own


def language_of(cookie: str | None) -> str:
    return cookie if cookie in LANGUAGES else DEFAULT


def local_time(at: datetime, zone: str) -> datetime:
    moment = at if at.tzinfo else at.replace(tzinfo=UTC)
    return moment.astimezone(timezone(timedelta(hours=ZONES[zone]), zone))


def when(at: datetime | str | None, zone: str) -> str:
    """``8 Agu 2026 14.05 WIB``: the date and time in the agency's zone, with its name."""
    if at is None:
        return ""
    moment = datetime.fromisoformat(at) if isinstance(at, str) else at
    local = local_time(moment, zone)
    return f"{babel_datetime(local, 'd MMM y HH.mm', locale=FORMAT_LOCALE)} {zone}"


def day(at: datetime | str | None, zone: str) -> str:
    """``8 Agustus 2026``."""
    if at is None:
        return ""
    moment = datetime.fromisoformat(at) if isinstance(at, str) else at
    return babel_date(local_time(moment, zone).date(), "long", locale=FORMAT_LOCALE)


def rupiah(amount: int | float | None) -> str:
    """``Rp 150.000``: whole rupiah, dots between thousands."""
    if amount is None:
        return ""
    return format_currency(
        amount, "IDR", format="¤ #,##0", locale=FORMAT_LOCALE, currency_digits=False
    )
