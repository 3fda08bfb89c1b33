"""The rough edges issue 17 found, each held to: no Python value printed where a person
reads ("Acting as {'subject': ...}", "None"), and every time of day with its zone. Every
page of the administrator and of the citizen is read as rendered (AppTest, a real API
with the demo services)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from streamlit.testing.v1 import AppTest

from designer import navigation
from tests.designer.conftest import login
from tests.designer.flows import ok

PYTHON_VALUES = re.compile(r"\bNone\b|\{'|\[\{|\bTrue\b|\bFalse\b|\bnan\b")
TIME_OF_DAY = re.compile(r"(?<![\d.:,])\d{1,2}[.:]\d{2}(?![\d.:,])")
ZONES = ("WIB", "WITA", "WIT")


def texts(at: AppTest) -> Iterator[str]:
    """Everything the page shows as text, the sidebar's included, with each table cell."""
    for kind in ("title", "header", "subheader", "markdown", "caption", "info", "success",
                 "warning", "error", "metric"):  # fmt: skip
        for element in at.get(kind):
            value = getattr(element, "value", None)
            yield str(value)
            label = getattr(element, "label", None)
            if label:
                yield str(label)
    for table in at.dataframe:
        frame = table.value
        yield from (str(c) for c in frame.columns)
        for row in frame.astype(str).itertuples(index=False):
            yield from row


def times_without_zone(text: str) -> list[str]:
    return [m.group() for m in TIME_OF_DAY.finditer(text)
            if not text[m.end():m.end() + 6].strip().startswith(ZONES)]  # fmt: skip


def test_the_checks_catch_what_they_are_for():
    assert PYTHON_VALUES.search("Acting as {'subject': 'siti', 'agency': None}")
    assert PYTHON_VALUES.search("agency: None")
    assert not PYTHON_VALUES.search("Nonetheless, Rp150.000")
    assert times_without_zone("saved 2 Mar 2026 14.05") == ["14.05"]
    assert times_without_zone("saved 2 Mar 2026 14.05 WIB, Rp1.500.000, v1.2") == []


@pytest.mark.parametrize("role", ["agency_admin", "citizen"])
def test_no_page_prints_a_python_value_or_a_time_without_its_zone(app, role):
    login(app, role, "siti@example.id" if role == "citizen" else "admin@banyuwangikab.go.id")
    zoned: list[str] = []
    for spec in (p for specs in navigation.sections(role).values() for p in specs):
        app.switch_page(spec.path).run()
        ok(app)
        shown = list(texts(app))
        assert not [t for t in shown if PYTHON_VALUES.search(t)], (spec.path, shown)
        assert not [t for t in shown if times_without_zone(t)], (spec.path, shown)
        zoned += [t for t in shown if TIME_OF_DAY.search(t)]
    if role == "agency_admin":  # the versions' times were read, each with its zone
        assert any(t.endswith(" WIB") for t in zoned), zoned


def test_the_citizen_demo_names_the_citizen_it_acts_as(app):
    login(app)
    app.switch_page("views/apply.py").run()
    app.text_input(key="apply.subject").set_value("siti@example.id")
    app.button(key="apply.login").click().run()
    ok(app)
    assert "Bertindak sebagai siti@example.id" in [c.value for c in app.caption], [
        c.value for c in app.caption
    ]
