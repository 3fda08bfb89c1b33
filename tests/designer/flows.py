"""Building a service through the designer's widgets, as a person would: shared by the
editor test (API only) and the end-to-end test (API, Temporal, worker, projector)."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest


def ok(at: AppTest) -> AppTest:
    assert not at.exception, at.exception
    return at


def select_step(at: AppTest, step_id: str) -> None:
    (box,) = [s for s in at.selectbox if s.label == "Langkah yang sedang disunting"]
    box.set_value(step_id).run()
    ok(at)


def add_step(at: AppTest, kind: str, step_id: str, name: str) -> None:
    at.selectbox(key="add.kind").set_value(kind)
    at.text_input(key="add.id").set_value(step_id)
    at.text_input(key="add.name").set_value(name)
    at.button(key="add.go").click().run()
    ok(at)


def draft(at: AppTest) -> dict:
    return at.session_state["draft"]


def step(at: AppTest, step_id: str) -> tuple[int, dict]:
    steps = draft(at)["steps"]
    i = [s["id"] for s in steps].index(step_id)
    return i, steps[i]


def errors(at: AppTest) -> list[str]:
    return [e.value for e in at.error]


def diagram(at: AppTest) -> str:
    charts = at.get("graphviz_chart")
    assert charts, "no diagram on the page"
    return str(charts[0].proto.spec)


def create_service(at: AppTest, service_id: str, name: str) -> None:
    at.switch_page("views/catalogue.py").run()
    at.text_input(key="cat.new.name").set_value(name)
    at.text_input(key="cat.new.id").set_value(service_id)
    at.button(key="FormSubmitter:cat.new-Buat layanan").click().run()
    ok(at)
    assert [t.value for t in at.title] == ["Penyunting alur"], [t.value for t in at.title]
    assert [s["id"] for s in draft(at)["steps"]] == ["pengajuan", "selesai"]
    follow(at, "views/editor.py")


def follow(at: AppTest, page: str) -> None:
    """The page switched to st.switch_page; AppTest reruns its own current page unless
    told, where a browser would stay on the new one."""
    at.switch_page(page)


def build_three_step_service(at: AppTest, service_id: str) -> None:
    """Form → review → decision, with a validation message seen and fixed on the way."""
    create_service(at, service_id, "Izin Keramaian")

    # 1. A review after the form: spliced into the chain pengajuan → periksa → selesai.
    add_step(at, "review", "periksa", "Periksa berkas")
    assert step(at, "pengajuan")[1]["next"] == "periksa"
    assert step(at, "periksa")[1]["outcomes"] == {"approve": "selesai"}
    assert '"pengajuan" -> "periksa"' in diagram(at)

    # 2. A rejecting end, and a second outcome of the review leading to it.
    add_step(at, "end", "ditolak", "Ditolak")
    i, _ = step(at, "ditolak")
    at.selectbox(key=f"ed.{i}.result").set_value("rejected").run()
    ok(at)
    assert step(at, "ditolak")[1]["result"] == "rejected"
    # End steps show their result in words and colour.
    assert "\\n✖ ditolak" in diagram(at) and "\\n✔ disetujui" in diagram(at)
    select_step(at, "periksa")
    i, _ = step(at, "periksa")
    at.button(key=f"ed.{i}.out.add").click().run()
    ok(at)
    assert step(at, "periksa")[1]["outcomes"]["outcome"] == ""  # unassigned until chosen
    at.text_input(key=f"ed.{i}.out.1.name").set_value("reject")
    at.selectbox(key=f"ed.{i}.out.1.target").set_value("ditolak").run()
    ok(at)
    assert step(at, "periksa")[1]["outcomes"] == {"approve": "selesai", "reject": "ditolak"}

    # 3. A decision after the review's approval, with a branch whose condition is empty:
    # the checks point at it, on the step and in the list, and the diagram marks it red.
    add_step(at, "decision", "cek_peserta", "Cek jumlah peserta")
    assert step(at, "periksa")[1]["outcomes"]["approve"] == "cek_peserta"
    i, _ = step(at, "cek_peserta")
    at.button(key=f"ed.{i}.br.add").click().run()
    ok(at)
    # In plain Indonesian, the place named as the administrator sees it; the API's
    # technical path and message only small beneath (a caption).
    messages = errors(at)
    assert ("Langkah 'Cek jumlah peserta' › cabang 1 › kondisi: Kondisinya masih kosong: "
            "susun kondisi dengan penyusun kondisi.") in messages, messages  # fmt: skip
    assert not any("branches[" in m or "condition" in m for m in messages), messages
    captions = [c.value for c in at.caption]
    assert f"`steps[{i}].branches[0].when`: the condition is empty: write one with the " \
        "condition builder" in captions, captions  # fmt: skip
    # A new branch leads nowhere until the administrator chooses (no arrow back to the
    # first step that nobody asked for).
    assert step(at, "cek_peserta")[1]["branches"] == [{"when": "", "goto": ""}]
    assert ("Langkah 'Cek jumlah peserta' › cabang 1 › lalu lanjut ke: Belum mengarah ke "
            "langkah mana pun: pilih langkah tujuannya.") in messages, messages  # fmt: skip
    assert '"cek_peserta" [' in diagram(at) and "#cf222e" in diagram(at)
    at.selectbox(key=f"ed.{i}.br.0.goto").set_value("ditolak").run()
    ok(at)

    # 4. A condition on a field that does not exist yet, written as text (the builder
    # offers only the service's data): another message, naming it.
    when = f"ed.{i}.br.0.when"
    at.checkbox(key=f"{when}.astext").check().run()
    ok(at)
    at.text_input(key=when).set_value("jumlah_peserta > 500").run()
    ok(at)
    assert any("Kondisi memakai 'jumlah_peserta', yang bukan isian formulir" in m
               for m in errors(at)), errors(at)  # fmt: skip

    # 5. Fix it: declare the field (a number) in the form fields.
    at.text_input(key="field.new").set_value("jumlah_peserta")
    at.button(key="field.add").click().run()
    ok(at)
    at.selectbox(key="ed.f0.type").set_value("number").run()
    ok(at)
    at.text_input(key="ed.f0.label").set_value("Jumlah peserta").run()
    ok(at)
    assert draft(at)["fields"] == [
        {"id": "jumlah_peserta", "label": "Jumlah peserta", "type": "number", "required": True}
    ]
    assert not errors(at), errors(at)

    # 6. Back to the builder, which shows the condition by the field's label and changes
    # it; the branch leads to the rejection.
    at.checkbox(key=f"{when}.astext").uncheck().run()
    ok(at)
    assert at.selectbox(key=f"{when}.cb.0.0.name").value == "jumlah_peserta"
    assert at.selectbox(key=f"{when}.cb.0.0.name").format_func("jumlah_peserta") == (
        "Jumlah peserta"
    )
    assert at.selectbox(key=f"{when}.cb.0.0.op").value == ">"
    assert at.number_input(key=f"{when}.cb.0.0.value").value == 500
    at.selectbox(key=f"{when}.cb.0.0.op").set_value(">=").run()
    ok(at)
    at.number_input(key=f"{when}.cb.0.0.value").set_value(1000).run()
    ok(at)
    assert any("Jumlah peserta paling sedikit 1000" in c.value for c in at.caption)
    at.selectbox(key=f"ed.{i}.br.0.goto").set_value("ditolak").run()
    ok(at)
    decision = step(at, "cek_peserta")[1]
    assert decision["branches"] == [{"when": "jumlah_peserta >= 1000", "goto": "ditolak"}], decision
    assert decision["default"] == "selesai"
    assert not errors(at), errors(at)
    assert any("Tidak ada masalah" in s.value for s in at.success)


def fill_standard(at: AppTest) -> None:
    """What publication needs of the Standar Pelayanan beyond the flow: the complaint
    channel, and the time limit and product in words (this flow has neither)."""
    at.text_input(key="ed.svc.std.complaint_channel").set_value("Loket pengaduan MPP").run()
    ok(at)
    at.text_area(key="ed.svc.std.time_limit").set_value("Selesai pada hari yang sama").run()
    ok(at)
    at.text_area(key="ed.svc.std.product").set_value("Surat Izin Keramaian").run()
    ok(at)
    standard = draft(at)["standard"]
    assert standard["complaint_channel"] == "Loket pengaduan MPP", standard
    assert standard["delivery"]["product"] == "Surat Izin Keramaian", standard


def save_draft(at: AppTest) -> int:
    at.button(key="editor.save").click().run()
    ok(at)
    saved = [s.value for s in at.success if "Tersimpan sebagai draf versi" in s.value]
    assert saved, errors(at)
    return int(saved[0].split("versi ")[1].split(".")[0])
