"""The flow editor through its widgets: build a flow, see the checks point at a problem,
fix it, undo, reorder, remove, save; against a real API."""

from __future__ import annotations

from tests.designer.conftest import login
from tests.designer.flows import (
    add_step,
    build_three_step_service,
    diagram,
    draft,
    errors,
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


def test_and_or_groups_through_the_condition_builder(app):
    login(app)
    build_three_step_service(app, "izin-keramaian-syarat")  # jumlah_peserta >= 1000, built
    i, _ = step(app, "cek_peserta")
    cb = f"ed.{i}.br.0.when.cb"

    def when() -> str:
        return step(app, "cek_peserta")[1]["branches"][0]["when"]

    def click(key: str) -> None:
        app.button(key=key).click().run()
        ok(app)

    def choose(key: str, value: object) -> None:
        app.selectbox(key=key).set_value(value).run()
        ok(app)

    # A second clause in the group: the review's result, picked from its outcomes. Until
    # it has its value it writes nothing.
    click(f"{cb}.0.add")
    assert when() == "jumlah_peserta >= 1000"
    names = app.selectbox(key=f"{cb}.0.1.name")
    assert {"Jumlah peserta", "Periksa berkas"} <= set(names.options), names.options
    choose(f"{cb}.0.1.name", "periksa")
    assert app.selectbox(key=f"{cb}.0.1.value").options == ["approve", "reject"]
    choose(f"{cb}.0.1.op", "in")  # a list of outcomes, none chosen yet
    assert app.multiselect(key=f"{cb}.0.1.value").value == []
    choose(f"{cb}.0.1.op", "==")
    choose(f"{cb}.0.1.value", "approve")
    assert when() == 'jumlah_peserta >= 1000 and periksa == "approve"'
    choose(f"{cb}.0.join", "any")
    assert when() == 'jumlah_peserta >= 1000 or periksa == "approve"'

    # A second group, joined to the first by "all".
    click(f"{cb}.add")
    assert when() == 'jumlah_peserta >= 1000 or periksa == "approve"'
    choose(f"{cb}.1.0.name", "jumlah_peserta")
    choose(f"{cb}.1.0.op", "<")
    app.number_input(key=f"{cb}.1.0.value").set_value(5000).run()
    ok(app)
    assert when() == '(jumlah_peserta >= 1000 or periksa == "approve") and jumlah_peserta < 5000'
    captions = [c.value for c in app.caption]
    assert any(
        "(Jumlah peserta paling sedikit 1000 atau Periksa berkas sama dengan “approve”) dan "
        "Jumlah peserta kurang dari 5000" in c
        for c in captions
    ), captions
    choose(f"{cb}.join", "any")
    assert when() == '(jumlah_peserta >= 1000 or periksa == "approve") or jumlah_peserta < 5000'
    choose(f"{cb}.join", "all")
    assert not errors(app), errors(app)

    # ✕ removes a clause; the rows below move up.
    click(f"{cb}.0.0.del")
    assert when() == 'periksa == "approve" and jumlah_peserta < 5000'
    assert app.selectbox(key=f"{cb}.0.0.name").value == "periksa"

    # "is one of" takes a list: the value chosen is its first item.
    choose(f"{cb}.0.0.op", "in")
    assert app.multiselect(key=f"{cb}.0.0.value").value == ["approve"]
    assert when() == 'periksa in ["approve"] and jumlah_peserta < 5000'
    app.multiselect(key=f"{cb}.0.0.value").set_value(["approve", "reject"]).run()
    ok(app)
    assert when() == 'periksa in ["approve", "reject"] and jumlah_peserta < 5000'

    # Saved as it was built.
    built = 'periksa in ["approve", "reject"] and jumlah_peserta < 5000'
    assert save_draft(app) == 1
    assert draft(app)["steps"][i]["branches"][0] == {"when": built, "goto": "ditolak"}

    # Jumlah peserta becomes a text field: the builder has no input for the number 5000
    # of a text, so the condition shows as text, saying why, and stays as it was.
    app.selectbox(key="ed.f0.type").set_value("text").run()
    ok(app)
    assert when() == built
    assert app.checkbox(key=f"ed.{i}.br.0.when.astext").value is True
    assert app.text_input(key=f"ed.{i}.br.0.when").value == built
    assert any("5000" in c.value and "Jumlah peserta" in c.value for c in app.caption)


def test_a_condition_the_builder_cannot_show_opens_as_text(app):
    login(app)
    build_three_step_service(app, "izin-keramaian-teks")
    i, _ = step(app, "cek_peserta")
    key = f"ed.{i}.br.0.when"
    app.checkbox(key=f"{key}.astext").check().run()
    ok(app)
    assert app.text_input(key=key).value == "jumlah_peserta >= 1000"  # what the builder wrote
    app.text_input(key=key).set_value("jumlah_peserta * 2 > 1000").run()
    ok(app)
    assert step(app, "cek_peserta")[1]["branches"][0]["when"] == "jumlah_peserta * 2 > 1000"
    assert any("menghitung" in c.value for c in app.caption), [c.value for c in app.caption]
    # Back to the builder: refused, the condition stays text.
    app.checkbox(key=f"{key}.astext").uncheck().run()
    ok(app)
    assert app.checkbox(key=f"{key}.astext").value is True
    assert app.text_input(key=key).value == "jumlah_peserta * 2 > 1000"

    # Opened afresh (another change redraws every form), it opens as text, saying why.
    app.button(key=f"ed.{i}.br.add").click().run()
    ok(app)
    assert app.checkbox(key=f"{key}.astext").value is True
    assert app.text_input(key=key).value == "jumlah_peserta * 2 > 1000"
    assert f"{key}.cb.0.0.name" not in [s.key for s in app.selectbox]
    assert any("menghitung" in c.value for c in app.caption)
    # The new branch opens in the builder.
    assert app.checkbox(key=f"ed.{i}.br.1.when.astext").value is False
    assert app.selectbox(key=f"ed.{i}.br.1.when.cb.0.0.name").value == ""
