"""A review's outcomes are typed as words, the officer's ("Tolak permohonan"), and kept as
the id made from them by the rule of step and field ids (tolak_permohonan), which the
conditions name; the editor shows the words and the id they make."""

from __future__ import annotations

from tests.designer.conftest import login
from tests.designer.flows import add_step, create_service, diagram, ok, select_step, step


def test_an_outcome_typed_as_words_is_kept_as_their_id(app):
    login(app)
    create_service(app, "izin-reklame", "Izin Reklame")
    add_step(app, "review", "periksa", "Periksa berkas")
    add_step(app, "end", "ditolak", "Ditolak")
    select_step(app, "periksa")
    i, _ = step(app, "periksa")
    # The id it has reads as words.
    assert app.text_input(key=f"ed.{i}.out.0.name").value == "Approve"

    app.button(key=f"ed.{i}.out.add").click().run()
    ok(app)
    app.text_input(key=f"ed.{i}.out.1.name").set_value("Tolak permohonan")
    app.selectbox(key=f"ed.{i}.out.1.target").set_value("ditolak").run()
    ok(app)
    assert step(app, "periksa")[1]["outcomes"] == {
        "approve": "selesai",
        "tolak_permohonan": "ditolak",
    }
    # The words stay in the field, the id they make is shown under it and in the diagram.
    assert app.text_input(key=f"ed.{i}.out.1.name").value == "Tolak permohonan"
    assert "id `tolak_permohonan`" in [c.value for c in app.caption]
    assert '"periksa" -> "ditolak" [label="tolak_permohonan"' in diagram(app)

    # Words that would make an id already taken make another one; none is lost.
    app.text_input(key=f"ed.{i}.out.1.name").set_value("approve").run()
    ok(app)
    assert step(app, "periksa")[1]["outcomes"] == {"approve": "selesai", "approve_2": "ditolak"}
