"""The editor shows and edits a number field's min/max and a decision's on_error (issue
9): the checks explain a condition that could exceed the engine's limits, and a bound
on the field it repeats by fixes it."""

from __future__ import annotations

from tests.designer.conftest import login
from tests.designer.flows import build_three_step_service, diagram, draft, errors, ok, step


def test_number_limits_and_on_error_in_the_editor(app):
    login(app)
    build_three_step_service(app, "izin-keramaian-batas")

    # A condition repeating by an unbounded number: refused with the reason.
    i, _ = step(app, "cek_peserta")
    app.checkbox(key=f"ed.{i}.br.0.when.astext").check().run()  # not a builder's condition
    ok(app)
    app.text_input(key=f"ed.{i}.br.0.when").set_value("'*' * jumlah_peserta == 'x'").run()
    ok(app)
    assert any("Kondisi bisa terlalu lama dihitung" in m for m in errors(app)), errors(app)
    assert any("'*' can build a text or list" in c.value for c in app.caption)  # the API's

    # Bounding the field between 0 and 5000 fixes it.
    app.number_input(key="ed.f0.min").set_value(0).run()
    ok(app)
    app.number_input(key="ed.f0.max").set_value(5000).run()
    ok(app)
    assert draft(app)["fields"][0] == {
        "id": "jumlah_peserta",
        "label": "Jumlah peserta",
        "type": "number",
        "required": True,
        "min": 0,
        "max": 5000,
    }
    assert not errors(app), errors(app)

    # on_error: chosen, drawn, and left out again when set back to none.
    app.selectbox(key=f"ed.{i}.on_error").set_value("ditolak").run()
    ok(app)
    assert step(app, "cek_peserta")[1]["on_error"] == "ditolak"
    assert "condition error" in diagram(app)
    app.selectbox(key=f"ed.{i}.on_error").set_value("").run()
    ok(app)
    assert "on_error" not in step(app, "cek_peserta")[1]

    # A text field has no limits: switching the type drops them.
    app.selectbox(key="ed.f0.type").set_value("text").run()
    ok(app)
    assert "min" not in draft(app)["fields"][0] and "max" not in draft(app)["fields"][0]
