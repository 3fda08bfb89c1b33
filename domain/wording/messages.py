"""The shared texts, found in ``wording``'s sources, and the shared catalogues kept in
step with them.

``python -m domain.wording.messages`` adds every text the sources mark (``N_("...")``, or
``_("...")`` where it is translated on the spot) and a
catalogue lacks: to English as itself, to Indonesian untranslated (for a person to
write; ``tests/domain/wording/test_catalogue.py`` fails until they do). It never removes or
changes a translation. (The designer's own texts: ``python -m designer.messages``.)"""

from __future__ import annotations

import ast
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po

from domain.wording import LANGUAGES, po_path

SOURCES = Path(__file__).resolve().parent


def marked(path: Path) -> list[tuple[str, int]]:
    """(text, line) of every ``N_("...")`` or ``_("...")`` in one source file."""
    found: list[tuple[str, int]] = []
    for node in ast.walk(ast.parse(path.read_text("utf-8"), str(path))):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                and node.func.id in ("N_", "_") and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)):  # fmt: skip
            found.append((node.args[0].value, node.lineno))
    return found


def used() -> dict[str, list[tuple[str, int]]]:
    """Every shared text → where the sources mark it (file, line)."""
    found: dict[str, list[tuple[str, int]]] = {}
    for path in sorted(SOURCES.rglob("*.py")):
        for text, line in marked(path):
            found.setdefault(text, []).append((str(path.relative_to(SOURCES.parent)), line))
    return found


def load(language: str) -> Catalog:
    with po_path(language).open("rb") as f:
        return read_po(f, locale=language)


def update() -> dict[str, int]:
    """Adds what the sources mark and each catalogue lacks; how many, per language."""
    wanted = used()
    added: dict[str, int] = {}
    for language in LANGUAGES:
        catalogue = load(language)
        count = 0
        for text, where in wanted.items():
            if catalogue.get(text) is None:
                catalogue.add(text, text if language == "en" else "", locations=where)
                count += 1
        with po_path(language).open("wb") as f:
            write_po(f, catalogue, width=88, sort_output=True, include_lineno=False)
        added[language] = count
    return added


if __name__ == "__main__":
    for language, count in update().items():
        print(f"{po_path(language)}: {count} new message(s)")
