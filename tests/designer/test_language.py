"""The designer speaks Bahasa Indonesia unless the person chooses English in the
sidebar; the choice holds for the session, on every page."""

from __future__ import annotations

import re

from streamlit.testing.v1 import AppTest

from tests.designer.conftest import APP, login
from tests.designer.flows import ok


def titles(at) -> list[str]:
    return [t.value for t in at.title]


def test_without_a_choice_the_designer_is_in_indonesian(monkeypatch, api_url):
    monkeypatch.setenv("LINCAH_API_URL", api_url)
    at = AppTest.from_file(str(APP), default_timeout=60).run()  # nobody chose
    ok(at)
    assert at.sidebar.selectbox(key="lang").value == "id"
    assert titles(at) == ["Lincah — perancang layanan MPP Digital"]
    assert [s.value for s in at.sidebar.subheader] == ["Akun Anda", "Masuk mode pengembangan"]
    assert at.sidebar.button(key="login.go").proto.label == "Masuk"


def test_switching_to_english_shows_english_labels_on_every_page(app):
    login(app)
    app.switch_page("views/catalogue.py").run()
    ok(app)
    assert titles(app) == ["Katalog layanan"]
    assert "layanan" in app.dataframe[0].value.columns

    app.sidebar.selectbox(key="lang").set_value("en").run()
    ok(app)
    assert titles(app) == ["Service catalogue"]
    assert list(app.dataframe[0].value.columns)[:2] == ["service", "id"]
    assert app.button(key="cat.open").proto.label == "Open in the flow editor"
    assert any("Logged in as admin@banyuwangikab.go.id" in c.value for c in app.sidebar.caption)

    # Remembered in the session: the next page is in English too.
    app.switch_page("views/versions.py").run()
    ok(app)
    assert titles(app) == ["Versions"]
    assert "saved by" in app.dataframe[0].value.columns
    app.switch_page("views/editor.py").run()
    assert titles(app) == ["Flow editor"]
    assert any("Open a service to edit" in i.value for i in app.info)

    app.sidebar.selectbox(key="lang").set_value("id").run()
    assert titles(app) == ["Penyunting alur"]


def test_simulation_writes_dates_and_rupiah_the_indonesian_way(app):
    login(app)
    app.switch_page("views/simulate.py").run()
    app.selectbox(key="sim.source").set_value(
        "Terbit: Izin Praktik Tenaga Kesehatan (izin-praktik-nakes)"
    ).run()
    ok(app)
    metrics = {m.label: m.value for m in app.metric}
    assert re.fullmatch(r"\d+ hari kerja", metrics["Perkiraan lama"]), metrics
    assert re.fullmatch(r"Rp\d{1,3}(\.\d{3})*", metrics["Biaya dibayar"]), metrics
    # Submitted on Monday 5 January 2026 (the page's default): Indonesian day and month
    # names, hours and minutes with a dot.
    first = app.dataframe[0].value["dari"].iloc[0]
    assert first == "5 Jan 2026 09.00 WIB", first
