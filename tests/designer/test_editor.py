"""The flow editor through its widgets: build a flow, see the checks point at a problem,
fix it, undo, reorder, remove, save; against a real API."""

from __future__ import annotations

from tests.designer.conftest import login
from tests.designer.flows import (
    add_step,
    build_three_step_service,
    diagram,
    draft,
    follow,
    ok,
    save_draft,
    select_step,
    step,
)


def test_build_a_flow_with_a_decision_and_save_it_as_a_draft(app):
    login(app)
    build_three_step_service(app, "izin-keramaian-draf")
    assert save_draft(app) == 1
    # The saved draft is the service's: the versions page lists it, saved by the admin.
    app.switch_page("views/versions.py").run()
    ok(app)
    app.selectbox(key="versions.service").set_value("izin-keramaian-draf").run()
    table = app.dataframe[0].value
    assert list(table["status"]) == ["draft"]
    assert list(table["disimpan oleh"]) == ["admin@banyuwangikab.go.id"]


def test_undo_reorder_remove_and_rename(app):
    login(app)
    app.switch_page("views/catalogue.py").run()
    app.text_input(key="cat.new.name").set_value("Surat Pengantar")
    app.button(key="FormSubmitter:cat.new-Buat layanan").click().run()
    ok(app)
    assert draft(app)["id"] == "surat-pengantar"  # made from the name
    follow(app, "views/editor.py")

    add_step(app, "notify", "kabari", "Kabari warga")
    assert [s["id"] for s in draft(app)["steps"]] == ["pengajuan", "kabari", "selesai"]
    i, _ = step(app, "kabari")
    app.text_area(key=f"ed.{i}.message").set_value("Surat untuk {nama} siap").run()
    ok(app)
    assert any("Teks memakai {nama}, yang bukan isian layanan ini" in e.value for e in app.error)

    # Undo takes back the last change only, and the widget shows the old text again.
    app.button(key="editor.undo").click().run()
    ok(app)
    assert step(app, "kabari")[1]["message"] == "Permohonan Anda sedang diproses."
    assert app.text_area(key=f"ed.{i}.message").value == "Permohonan Anda sedang diproses."
    assert not app.error

    # Renaming a step's id re-points every way that led to it.
    app.text_input(key=f"ed.{i}.id").set_value("kabari_warga").run()
    ok(app)
    assert step(app, "pengajuan")[1]["next"] == "kabari_warga"
    assert '"pengajuan" -> "kabari_warga"' in diagram(app)

    # Move up, then remove: the diagram and the checks follow.
    app.button(key="editor.up").click().run()
    ok(app)
    assert [s["id"] for s in draft(app)["steps"]] == ["kabari_warga", "pengajuan", "selesai"]
    app.button(key="editor.undo").click().run()
    select_step(app, "kabari_warga")
    app.button(key="editor.remove").click().run()
    ok(app)
    assert [s["id"] for s in draft(app)["steps"]] == ["pengajuan", "selesai"]
    assert any("Mengarah ke langkah yang tidak ada ('kabari_warga')" in e.value
               for e in app.error)  # fmt: skip
    assert "tidak ada: kabari_warga" in diagram(app)
    app.button(key="editor.undo").click().run()
    ok(app)
    assert not app.error and [s["id"] for s in draft(app)["steps"]] == [
        "pengajuan",
        "kabari_warga",
        "selesai",
    ]


def test_every_step_kind_has_a_form(app):
    login(app)
    app.switch_page("views/catalogue.py").run()
    app.text_input(key="cat.new.name").set_value("Semua Jenis")
    app.button(key="FormSubmitter:cat.new-Buat layanan").click().run()
    follow(app, "views/editor.py")
    from designer.draft import KIND_LABELS

    for kind in KIND_LABELS:
        add_step(app, kind, f"langkah_{kind}", f"Langkah {kind}")
        i, s = step(app, f"langkah_{kind}")
        assert s["kind"] == kind
        assert app.text_input(key=f"ed.{i}.name").value == f"Langkah {kind}"
    assert len(draft(app)["steps"]) == 2 + len(KIND_LABELS)
    assert "Langkah face_verify" in diagram(app)
