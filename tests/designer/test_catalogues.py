"""The designer's message catalogues against its sources: every text the pages mark is
in both catalogues, translated into Indonesian, with the same {placeholders}; and
Indonesian dates and rupiah (babel, id_ID)."""

from __future__ import annotations

import ast
import re
from datetime import date, datetime

import pytest

from designer import i18n
from designer.draft import KIND_LABEL_TEXTS, KIND_LABELS
from designer.messages import MARKERS, SOURCES, load, shared, used
from domain.wording.messages import load as load_shared

PLACEHOLDER = re.compile(r"\{(\w*)\}")


def placeholders(text: str) -> list[str]:
    return sorted(PLACEHOLDER.findall(text))


def test_the_sources_mark_texts_and_the_scan_finds_them() -> None:
    found = used()
    assert len(found) > 300, len(found)  # the scan really reads the pages
    assert "Service catalogue" in found and "Save draft" in found
    assert ("{count} working day", "{count} working days") in found


def test_marked_texts_are_literals_not_f_strings() -> None:
    """An f-string given to _() would be looked up as whatever it formats to: never
    found, never translated."""
    bad = []
    for path in SOURCES.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                    and node.func.id in MARKERS
                    and any(isinstance(a, ast.JoinedStr) for a in node.args)):  # fmt: skip
                bad.append(f"{path.name}:{node.lineno}")
    assert not bad, bad


@pytest.mark.parametrize("lang", sorted(i18n.LANGUAGES))
def test_every_text_used_is_in_the_catalogue(lang: str) -> None:
    catalogue, common = load(lang), shared()
    missing = {mid: where for mid, where in used().items()
               if catalogue.get(mid) is None and mid not in common}  # fmt: skip
    assert not missing, f"run python -m designer.messages, then translate: {missing}"


def test_a_text_has_one_translation_the_designers_or_the_shared_one() -> None:
    """A text both catalogues held would have two translations that drift apart; the
    shared catalogue's is the one the portal shows too."""
    both = sorted(str(m.id) for m in load("id") if m.id and m.id in shared())
    assert not both, f"remove from designer.po (domain/wording/locales has them): {both}"


def test_the_designer_falls_back_to_the_shared_catalogue() -> None:
    # "Log out" lives in domain/wording/locales only: the designer and the portal say it alike.
    assert load("id").get("Log out") is None
    assert i18n._("Log out") == "Keluar"


def test_every_indonesian_text_is_translated_with_the_same_placeholders() -> None:
    """The designer's catalogue and the shared one it falls back to."""
    problems: list[tuple[object, ...]] = []
    for m in [*load("id"), *load_shared("id")]:
        if not m.id:
            continue
        ids = list(m.id) if isinstance(m.id, (list, tuple)) else [m.id]
        strings = [str(x or "") for x in (m.string if isinstance(m.string, (list, tuple))
                                          else [m.string])]  # fmt: skip
        if not all(strings):
            problems.append(("untranslated", m.id))
            continue
        for s in strings:
            if placeholders(s) != placeholders(ids[-1]):
                problems.append(("placeholders differ", m.id, s))
    assert not problems, problems


def test_english_strings_keep_the_placeholders() -> None:
    for m in load("en"):
        if m.id:
            ids = list(m.id) if isinstance(m.id, (list, tuple)) else [m.id]
            strings = list(m.string) if isinstance(m.string, (list, tuple)) else [m.string]
            assert len(strings) == len(ids), m.id  # singular and plural
            for mid, s in zip(ids, strings, strict=True):
                assert s and placeholders(s) == placeholders(mid), (m.id, s)


def test_every_step_kind_label_is_marked_for_translation() -> None:
    assert set(KIND_LABELS.values()) == set(KIND_LABEL_TEXTS)


def test_indonesian_is_the_default_and_formats_the_indonesian_way() -> None:
    # Outside a Streamlit session nothing is chosen: Bahasa Indonesia.
    assert i18n.language() == "id"
    assert i18n._("Service catalogue") == "Katalog layanan"
    assert i18n._("a text no catalogue has") == "a text no catalogue has"
    assert i18n.ngettext("{count} working day", "{count} working days", 3) == "{count} hari kerja"
    assert i18n.rupiah(1_500_000) == "Rp1.500.000"
    assert i18n.day(date(2026, 8, 17)) == "17 Agu 2026"
    # Times are the agency's (WIB by default) and say so; the API's are UTC.
    assert i18n.moment(datetime(2026, 1, 5, 2, 30), weekday=True) == "Sen 5 Jan 2026 09.30 WIB"
    assert i18n.iso_moment("2026-03-02T07:05:00+00:00") == "2 Mar 2026 14.05 WIB"
    assert i18n.iso_moment("2026-03-02T14:05:00+07:00") == "2 Mar 2026 14.05 WIB"
    assert i18n.iso_day("2026-12-25T00:00:00+07:00") == "25 Des 2026"
