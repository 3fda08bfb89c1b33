"""The designer's language: Bahasa Indonesia by default, English as a choice.

Texts are written in English in the sources, marked ``_("...")`` (or ``N_("...")`` where
they are plain data translated later, ``ngettext`` where a count picks the form), and
looked up in ``designer/locales/<lang>/LC_MESSAGES/designer.po``, then in the catalogue
the designer shares with the citizen portal (``domain.wording``: the words both show, and the
plain wording of validation problems). The .po files are read with babel's pofile API
when first needed (no compiled .mo to keep in step). The
language is the session's choice (the sidebar's selector, key ``lang``). Messages the API
sends are shown as they come: they are not the designer's to translate."""

from __future__ import annotations

import functools
import os
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import streamlit as st
from babel.dates import format_date as _babel_date
from babel.dates import format_datetime as _babel_datetime
from babel.messages.pofile import read_po
from babel.numbers import format_currency

from domain import wording

LANGUAGES = {"id": "Bahasa Indonesia", "en": "English"}
"""The languages offered, by code, each named in itself; the first is the default."""
DEFAULT = "id"
KEY = "lang"
"""The session-state key (and the sidebar selector's widget key) of the language."""
LOCALES = Path(__file__).resolve().parent / "locales"
DOMAIN = "designer"
_BABEL_LOCALE = {"id": "id_ID", "en": "en_US"}

Plural = tuple[str, ...]


def po_path(lang: str) -> Path:
    return LOCALES / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


@functools.cache
def catalogue(lang: str) -> dict[str | Plural, str | Plural]:
    """msgid (a tuple for plural messages) → msgstr, without the untranslated ones."""
    with po_path(lang).open("rb") as f:
        found = read_po(f, locale=_BABEL_LOCALE[lang])
    table: dict[str | Plural, str | Plural] = {}
    for m in found:
        if not m.id or not m.string:
            continue
        if isinstance(m.id, (list, tuple)):
            table[tuple(m.id)] = tuple(m.string)
        elif isinstance(m.string, str):
            table[m.id] = m.string
    return table


def language() -> str:
    """The session's language; the default outside a Streamlit session (pure tests)."""
    try:
        chosen = st.session_state.get(KEY)
    except Exception:  # no script run context: nothing chosen
        chosen = None
    return chosen if chosen in LANGUAGES else DEFAULT


def _(message: str) -> str:
    """``message`` in the session's language: from the designer's catalogue, else the
    shared one (``domain.wording``), else itself."""
    lang = language()
    found = catalogue(lang).get(message)
    return found if isinstance(found, str) and found else wording.catalogue(lang).gettext(message)


def N_(message: str) -> str:
    """Marks a text for the catalogues where it is data; ``_()`` translates it when shown."""
    return message


def ngettext(singular: str, plural: str, n: int) -> str:
    """The form of ``singular``/``plural`` for count ``n`` in the session's language."""
    lang = language()
    found = catalogue(lang).get((singular, plural))
    if isinstance(found, tuple) and found:
        # Indonesian has one form for every count; English two (1, the rest).
        index = 0 if len(found) == 1 or n == 1 else 1
        return found[index] or (singular if n == 1 else plural)
    return wording.catalogue(lang).ngettext(singular, plural, n)


def locale() -> str:
    """The babel locale of the session's language (``id_ID`` or ``en_US``)."""
    return _BABEL_LOCALE[language()]


def rupiah(amount: float) -> str:
    """An amount in rupiah the session's way: ``Rp150.000`` in Indonesian, no cents."""
    return format_currency(amount, "IDR", locale=locale(), format="¤#,##0", currency_digits=False)


def day(d: date) -> str:
    """A date: ``5 Jan 2026`` (Indonesian month names in Indonesian)."""
    return _babel_date(d, "d MMM y", locale=locale())


def moment(t: datetime, weekday: bool = False) -> str:
    """A date and time as written in the language, in the agency's zone and naming it:
    ``Sen 5 Jan 2026 09.00 WIB`` in Indonesian (hours and minutes with a dot),
    ``Mon 5 Jan 2026 09:00 WIB`` in English. A time without a zone is UTC."""
    zone = zone_name()
    local = local_time(t, zone)
    clock = "HH.mm" if language() == "id" else "HH:mm"
    text = _babel_datetime(local, ("EEE " if weekday else "") + f"d MMM y {clock}",
                           tzinfo=local.tzinfo, locale=locale())  # fmt: skip
    return f"{text} {zone}"


ZONES = {"WIB": 7, "WITA": 8, "WIT": 9}
"""Indonesia's zones and their offsets from UTC (the portal has the same table; the
designer may import neither the portal nor config, see tests/test_boundaries.py)."""


def zone_name() -> str:
    """The agency's zone (WIB, WITA or WIT), the one the citizen portal shows too."""
    return os.environ.get("LINCAH_PORTAL_TIME_ZONE", "WIB").upper()


def local_time(t: datetime, zone: str) -> datetime:
    aware = t if t.tzinfo else t.replace(tzinfo=UTC)
    return aware.astimezone(timezone(timedelta(hours=ZONES.get(zone, 7)), zone))


def iso_moment(raw: str | None) -> str:
    """An ISO timestamp from the API, as :func:`moment` writes it ('' when absent)."""
    if not raw:
        return ""
    try:
        return moment(datetime.fromisoformat(str(raw)))
    except ValueError:
        return str(raw)


def iso_day(raw: str | None) -> str:
    """The date of an ISO timestamp from the API, as :func:`day` writes it."""
    if not raw:
        return ""
    try:
        return day(datetime.fromisoformat(str(raw)).date())
    except ValueError:
        return str(raw)
