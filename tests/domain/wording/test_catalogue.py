"""The catalogue the designer and the portal share, against the sources that mark its
texts: every text in both languages, Indonesian translating each with the same
{placeholders}; and both apps find its texts."""

from __future__ import annotations

import re

import pytest

from domain import wording
from domain.wording.messages import load, marked, used

PLACEHOLDER = re.compile(r"\{(\w*)\}")


def placeholders(text: str) -> list[str]:
    return sorted(PLACEHOLDER.findall(text))


def test_the_scan_finds_the_marked_texts(tmp_path) -> None:
    found = used()
    assert len(found) > 150, len(found)
    assert "Log out" in found and "Something here needs fixing: {message}" in found
    source = tmp_path / "x.py"
    source.write_text('N_("a")\n_("b")\nN_(name)\nprint("c")\n')
    assert marked(source) == [("a", 1), ("b", 2)]


@pytest.mark.parametrize("language", wording.LANGUAGES)
def test_every_marked_text_is_in_the_catalogue(language: str) -> None:
    catalogue = load(language)
    missing = sorted(t for t in used() if catalogue.get(t) is None)
    assert not missing, f"run python -m domain.wording.messages, then translate: {missing}"


def test_every_indonesian_text_is_translated_with_the_same_placeholders() -> None:
    problems: list[tuple[object, ...]] = []
    for m in load("id"):
        if not m.id:
            continue
        if not m.string:
            problems.append(("untranslated", m.id))
        elif placeholders(str(m.string)) != placeholders(str(m.id)):
            problems.append(("placeholders differ", m.id, m.string))
    assert not problems, problems


def test_english_is_the_msgids_themselves() -> None:
    for m in load("en"):
        if m.id:
            assert m.string == m.id, m.id


def test_the_catalogue_translates_and_knows_the_default() -> None:
    assert wording.catalogue("id").gettext("Log out") == "Keluar"
    assert wording.catalogue("en").gettext("Log out") == "Log out"
    # A language not offered reads as the default, Bahasa Indonesia.
    assert wording.catalogue("fr").gettext("Log out") == "Keluar"


def test_the_designer_and_the_portal_both_fall_back_to_it() -> None:
    from designer import i18n as designer_i18n
    from portal import i18n as portal_i18n

    assert designer_i18n._("Password") == "Kata sandi"
    assert portal_i18n.catalogue("id").gettext("Password") == "Kata sandi"
    assert portal_i18n.catalogue("en").gettext("Password") == "Password"
    # Their own texts still come from their own catalogues.
    assert portal_i18n.catalogue("id").gettext("Register") == "Daftar"
