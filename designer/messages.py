"""The designer's translatable texts, found in its sources, and the catalogues kept in
step with them.

``python -m designer.messages`` adds every text the sources mark (``_("...")``,
``N_("...")``, ``ngettext("...", "...", n)``) and the catalogues lack: to English as
itself, to Indonesian untranslated (for a person to write; the catalogue test fails
until they do). It never removes or changes an existing translation. A text the shared
catalogue (``domain.wording``, the words the designer and the portal both show) has is not
added: ``designer.i18n`` finds it there."""

from __future__ import annotations

import ast
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po

from designer.i18n import _BABEL_LOCALE, LANGUAGES, po_path
from domain.wording.messages import load as load_shared

SOURCES = Path(__file__).resolve().parent
MARKERS = {"_": 1, "N_": 1, "ngettext": 2}
"""Marking function → how many leading string arguments form the message id."""

MessageId = str | tuple[str, str]


def marked(path: Path) -> list[tuple[MessageId, int]]:
    """(message id, line) of every marked text in one source file. A marker called with
    anything but string literals translates data marked elsewhere (``N_``): skipped."""
    found: list[tuple[MessageId, int]] = []
    for node in ast.walk(ast.parse(path.read_text("utf-8"), str(path))):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
            continue
        count = MARKERS.get(node.func.id)
        if count is None:
            continue
        args = node.args[:count]
        texts = [a.value for a in args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
        if len(texts) != count:
            continue
        if count == 1:
            found.append((texts[0], node.lineno))
        else:
            found.append(((texts[0], texts[1]), node.lineno))
    return found


def used() -> dict[MessageId, list[str]]:
    """Every message id the designer's sources use → where (``file:line``)."""
    found: dict[MessageId, list[str]] = {}
    for path in sorted(SOURCES.rglob("*.py")):
        if path.name == "i18n.py":
            continue  # defines the markers
        for mid, line in marked(path):
            found.setdefault(mid, []).append(f"{path.relative_to(SOURCES.parent)}:{line}")
    return found


def load(lang: str) -> Catalog:
    with po_path(lang).open("rb") as f:
        return read_po(f, locale=_BABEL_LOCALE[lang])


def shared() -> set[MessageId]:
    """The message ids the shared catalogue holds (for the designer as for the portal)."""
    return {m.id if isinstance(m.id, str) else (m.id[0], m.id[1])
            for m in load_shared("en") if m.id}  # fmt: skip


def update() -> dict[str, int]:
    """Adds what the sources use and each catalogue lacks; returns how many, per language."""
    common = shared()
    wanted = {mid: where for mid, where in used().items() if mid not in common}
    added: dict[str, int] = {}
    for lang in LANGUAGES:
        catalogue = load(lang)
        count = 0
        for mid, where in wanted.items():
            if catalogue.get(mid) is not None:
                continue
            string: str | tuple[str, ...] = ""
            if lang == "en":
                string = mid
            elif isinstance(mid, tuple):
                string = ("",)
            locations = [(w.rsplit(":", 1)[0], int(w.rsplit(":", 1)[1])) for w in where]
            catalogue.add(mid, string, locations=locations)
            count += 1
        with po_path(lang).open("wb") as f:
            write_po(f, catalogue, width=88, sort_output=True, include_lineno=False)
        added[lang] = count
    return added


if __name__ == "__main__":
    for lang, count in update().items():
        print(f"{po_path(lang)}: {count} new message(s)")
