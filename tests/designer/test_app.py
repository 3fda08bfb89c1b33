"""Smoke tests of every page of the designer with Streamlit's AppTest: without an API,
and for every role against a real API seeded with the demo services."""

from __future__ import annotations

from pathlib import Path

import pytest

from designer import navigation
from tests.designer.conftest import APP, free_port, login, open_app

ROLES = ["agency_admin", "officer", "supervisor", "auditor", "citizen"]


def _pages_for(role: str | None) -> list[Path]:
    return [APP.parent / p.path for specs in navigation.sections(role).values() for p in specs]


def test_without_an_api_the_home_page_renders_and_login_says_not_reachable(monkeypatch):
    monkeypatch.setenv("LINCAH_API_URL", f"http://127.0.0.1:{free_port()}")
    at = open_app("id", timeout=30)
    assert not at.exception
    assert any("Masuk lewat bilah samping" in i.value for i in at.info)
    assert not at.error
    at.sidebar.button(key="login.go").click().run()
    assert not at.exception
    assert any(e.value.startswith("Masuk: API di ") and "tidak dapat dihubungi" in e.value
               for e in at.error), [e.value for e in at.error]  # fmt: skip


def test_the_navigation_depends_on_the_role():
    assert [p.name for p in _pages_for(None)] == ["home.py"]
    admin = {p.name for p in _pages_for("agency_admin")}
    assert {"catalogue.py", "editor.py", "simulate.py", "versions.py", "transfer.py"} <= admin
    officer = {p.name for p in _pages_for("officer")}
    assert "inbox.py" in officer and "editor.py" not in officer
    auditor = {p.name for p in _pages_for("auditor")}
    assert "dashboard.py" in auditor and "inbox.py" not in auditor
    assert {"apply.py", "my_applications.py"} <= {p.name for p in _pages_for("citizen")}


@pytest.mark.parametrize("role", ROLES)
def test_every_page_of_every_role_renders(app, role):
    subject = "siti@example.id" if role == "citizen" else f"{role}@banyuwangikab.go.id"
    login(app, role, subject)
    assert any(role in c.value for c in app.sidebar.caption)
    pages = _pages_for(role)
    assert len(pages) >= 4
    for page in pages:
        app.switch_page(str(page.relative_to(APP.parent))).run()
        assert not app.exception, (page.name, app.exception)
        assert app.title, page.name
        errors = [e.value for e in app.error]
        assert not errors, (page.name, errors)


def test_editor_opens_a_demo_service_with_its_diagram_and_no_problems(app):
    login(app)
    app.switch_page("views/catalogue.py").run()
    app.selectbox(key="cat.service").set_value("izin-praktik-nakes")
    app.button(key="cat.open").click().run()
    assert not app.exception
    assert [t.value for t in app.title] == ["Penyunting alur"]
    app.switch_page("views/editor.py").run()  # as the browser stays on it
    assert any("Tidak ada masalah" in s.value for s in app.success), [s.value for s in app.success]
    (chart,) = app.get("graphviz_chart")
    spec = chart.proto.spec
    assert '"experience_check"' in spec and "years_experience < 2" in spec
    assert "#0969da" in spec  # the selected step is highlighted


def test_simulation_page_walks_a_published_service(app):
    login(app)
    app.switch_page("views/simulate.py").run()
    app.selectbox(key="sim.source").set_value(
        "Terbit: Izin Praktik Tenaga Kesehatan (izin-praktik-nakes)"
    ).run()
    app.number_input(key="sim.f.izin-praktik-nakes.years_experience").set_value(1).run()
    assert not app.exception
    assert any("Berakhir **approved**" in s.value for s in app.success), [
        s.value for s in app.success
    ]
    table = app.dataframe[0].value
    assert "Verifikasi tempat praktik (site_verification)" in list(table["langkah"])
    app.selectbox(key="sim.o.izin-praktik-nakes.document_review").set_value("reject").run()
    assert any("Berakhir **rejected**" in s.value for s in app.success)


def test_standard_page_shows_the_components_and_a_printable_page(app):
    login(app, "citizen", "siti@example.id")
    app.switch_page("views/standard.py").run()
    app.selectbox(key="standard.service").set_value("izin-praktik-nakes").run()
    text = "\n".join(m.value for m in app.markdown)
    assert "Izin Praktik Tenaga Kesehatan" in text
    assert "Sistem, mekanisme dan prosedur" in text and "Pemeriksaan berkas" in text
    assert "Tidak dipungut biaya" in text
    assert app.get("download_button"), "no printable page offered"


def test_each_role_sees_only_its_own_pages():
    def paths(role: str) -> set[str]:
        return {p.path for specs in navigation.sections(role).values() for p in specs}

    citizen_demo = {navigation.APPLY.path, navigation.MINE.path}
    assert citizen_demo <= paths("agency_admin") and citizen_demo <= paths("citizen")
    for role in ("officer", "supervisor", "cashier", "auditor"):
        assert not citizen_demo & paths(role), role
    assert navigation.AUDIT.path in paths("auditor")
    assert navigation.AUDIT.path not in paths("officer")
    assert navigation.EDITOR.path not in paths("auditor")
