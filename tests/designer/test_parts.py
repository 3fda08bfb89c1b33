"""The designer's pure parts (draft edits, diagram, standard page, dashboard figures,
condition builder), and the pages that lean on API endpoints: import/export, versions
diff, archive, dashboard statistics."""

from __future__ import annotations

import copy
from pathlib import Path

import httpx
import pytest

from designer import draft, standard
from designer.dashboard import from_applications
from designer.diagram import dot
from domain.bpmn import to_bpmn
from domain.definition import ServiceDefinition
from domain.steps import raw_exits
from domain.validation import parse_definition
from lincah.demo import DOMISILI, IZIN_PRAKTIK
from tests.designer.conftest import ADMIN, login, wait_projected
from tests.designer.flows import follow, ok

MIWG = Path(__file__).resolve().parents[3] / "shared" / "data" / "bpmn-miwg"


def test_new_steps_of_every_kind_parse_and_the_skeleton_is_valid():
    d = draft.skeleton("layanan-baru", "Layanan Baru", {"code": "BWI", "name": "B"})
    assert parse_definition(d)[1] == []
    for kind in draft.KIND_LABELS:
        d["steps"].insert(1, draft.new_step(kind, f"s_{kind}", "", "selesai"))
    parsed, _ = parse_definition(d)
    assert parsed is not None, parse_definition(d)[1]


def test_rename_references_repoints_every_way():
    d = copy.deepcopy(IZIN_PRAKTIK)
    draft.rename_references(d, "notify_refused", "tolak")
    targets = [t for s in d["steps"] for _, t in raw_exits(s)]
    assert "notify_refused" not in targets and targets.count("tolak") == 3


def test_diagram_marks_selected_problem_and_walked_steps_and_missing_targets():
    d = copy.deepcopy(DOMISILI)
    d["steps"][1]["outcomes"]["approve"] = "ghost"
    text = dot(d, "verify_residence", {"verify_residence"}, ["submission", "verify_residence"])
    assert '"verify_residence" [label="Verifikasi domisili\\n(verify_residence)\\n[officer]"' in (
        text
    )
    assert 'label="tidak ada: ghost"' in text  # in Bahasa Indonesia, the default
    assert '"submission" -> "verify_residence" [color="#1a7f37"' in text
    assert text.count("penwidth=3.5") == 1  # only the selected step


def test_standard_components_come_from_the_definition_and_the_flow():
    d = {**DOMISILI, "standard": {"complaints": "SP4N LAPOR!", "legal_basis": ["Perbup 1/2024"]}}
    titles = dict(standard.components(d))
    assert titles["Dasar hukum"] == ["Perbup 1/2024"]
    assert titles["Sistem, mekanisme dan prosedur"][:2] == [
        "Pengajuan (pemohon mengisi formulir dan mengunggah persyaratan)",
        "Verifikasi domisili (petugas)",
    ]
    assert titles["Biaya/tarif"] == ["Tidak dipungut biaya (gratis)"]
    assert titles["Produk pelayanan"] == []  # missing: no document step, no explanation
    page = standard.page_html({**d, "name": "<script>x</script>"})
    assert "<script>" not in page and "&lt;script&gt;" in page and "@page" in page


def test_dashboard_figures_from_applications():
    apps = [
        {"service_id": "a", "status": "approved", "submitted_at": "2026-01-05T09:00:00+07:00",
         "updated_at": "2026-01-05T11:00:00+07:00"},
        {"service_id": "a", "status": "rejected", "submitted_at": "2026-01-05T09:00:00+07:00",
         "updated_at": "2026-01-05T13:00:00+07:00"},
        {"service_id": "b", "status": "in_review", "submitted_at": "2026-01-05T09:00:00+07:00",
         "updated_at": "2026-01-05T09:00:00+07:00"},
    ]  # fmt: skip
    stats = from_applications(apps)
    assert stats["by_status"] == {"approved": 1, "rejected": 1, "in_review": 1}
    a, b = stats["by_service"]
    assert (a["service_id"], a["total"], a["median_processing_hours"]) == ("a", 2, 3.0)
    assert (b["open"], b["median_processing_hours"]) == (1, None)
    # Rows without a channel (an API before the channels) count as online.
    assert stats["by_channel"] == [
        {"channel": "online", "total": 3, "open": 1},
        {"channel": "counter", "total": 0, "open": 0},
        {"channel": "kiosk", "total": 0, "open": 0},
        {"channel": "mobile", "total": 0, "open": 0},
    ]
    counter = from_applications([{**apps[2], "channel": "counter"}])["by_channel"]
    assert [(c["channel"], c["total"], c["open"]) for c in counter if c["total"]] == [
        ("counter", 1, 1)
    ]


# --- pages against the API --------------------------------------------------------


def test_import_a_bpmn_file_lists_what_was_left_out_and_opens_it(app):
    path = MIWG / "A.4.0.bpmn"
    if not path.exists():
        pytest.skip(f"BPMN MIWG reference models not found at {MIWG}")
    login(app)
    app.switch_page("views/transfer.py").run()
    app.text_area(key="xfer.text").set_value(path.read_text("iso-8859-1")).run()
    ok(app)
    assert any("WFP-6-2" in s.value for s in app.success)
    left_out = app.dataframe[-1].value
    assert "participant" in list(left_out["Tipe"])
    assert "Pool" in list(left_out["Nama"])  # named as the modeller named it
    assert any("'Expanded Sub-Process 1' is flattened" in i.value for i in app.info)
    app.button(key="xfer.open").click().run()
    ok(app)
    follow(app, "views/editor.py")
    app.run()
    assert app.session_state["draft_origin"] == "an imported file"
    names = [s["name"] for s in app.session_state["draft"]["steps"]]
    assert {"Task 4", "Task 6"} <= set(names)  # the sub-processes' tasks, flattened


def test_export_offers_json_yaml_and_bpmn_that_imports_back(app):
    login(app)
    app.switch_page("views/transfer.py").run()
    app.selectbox(key="xfer.source").set_value(
        "Surat Keterangan Domisili (surat-keterangan-domisili)"
    ).run()
    ok(app)
    labels = [b.proto.label for b in app.get("download_button")]
    assert labels == ["JSON", "YAML", "BPMN 2.0"]
    xml = to_bpmn(ServiceDefinition.model_validate(DOMISILI))
    app.text_area(key="xfer.text").set_value(xml).run()
    ok(app)
    assert any("Tidak ada bagian berkas yang tidak diambil" in c.value for c in app.caption)
    assert not app.warning


def _admin_headers(api_url: str) -> dict:
    r = httpx.post(f"{api_url}/auth/dev-token",
                   json={"subject": ADMIN, "role": "agency_admin", "agency": "BWI"})  # fmt: skip
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def test_versions_page_shows_what_changed_between_two_versions(app, api_url):
    h = _admin_headers(api_url)
    service = {**copy.deepcopy(DOMISILI), "id": "domisili-beda", "name": "Domisili beda"}
    assert httpx.post(f"{api_url}/services", json=service, headers=h).status_code == 201
    httpx.post(f"{api_url}/services/domisili-beda/versions/1/publish", headers=h)
    service["steps"][1]["role"] = "supervisor"
    assert httpx.post(f"{api_url}/services", json=service, headers=h).status_code == 201
    wait_projected(api_url)
    login(app)
    app.switch_page("views/versions.py").run()
    app.selectbox(key="versions.service").set_value("domisili-beda").run()
    ok(app)
    assert list(app.dataframe[0].value["status"]) == ["published", "draft"]
    assert [e.label for e in app.expander] == ["✏️ steps.verify_residence.role (changed)"]


def test_archive_a_service_from_the_catalogue(app, api_url):
    h = _admin_headers(api_url)
    service = {**copy.deepcopy(DOMISILI), "id": "domisili-lama", "name": "Domisili lama"}
    assert httpx.post(f"{api_url}/services", json=service, headers=h).status_code == 201
    wait_projected(api_url)
    login(app)
    app.switch_page("views/catalogue.py").run()
    app.selectbox(key="cat.service").set_value("domisili-lama")
    app.button(key="cat.archive").click().run()
    ok(app)
    # One click only asks, naming the service; Cancel leaves it as it was.
    assert any("Arsipkan Domisili lama?" in w.value for w in app.warning)
    assert not app.success
    app.button(key="cat.archive.no").click().run()
    ok(app)
    assert not app.warning
    detail = httpx.get(f"{api_url}/services/domisili-lama", headers=h).json()
    assert not detail.get("archived")
    app.button(key="cat.archive").click().run()
    app.button(key="cat.archive.yes").click().run()
    ok(app)
    assert any("diarsipkan" in s.value for s in app.success), [w.value for w in app.warning]


def test_creating_a_service_with_an_id_in_use_is_refused_and_changes_nothing(app, api_url):
    login(app)
    app.switch_page("views/catalogue.py").run()
    app.text_input(key="cat.new.name").set_value("Domisili baru")
    app.text_input(key="cat.new.id").set_value("surat-keterangan-domisili")
    app.button(key="FormSubmitter:cat.new-Buat layanan").click().run()
    assert any("already a service with the id 'surat-keterangan-domisili'" in e.value
               for e in app.error), [e.value for e in app.error]  # fmt: skip
    assert [t.value for t in app.title] == ["Katalog layanan"]  # still here, nothing opened
    h = _admin_headers(api_url)
    detail = httpx.get(f"{api_url}/services/surat-keterangan-domisili", headers=h).json()
    assert detail["name"] == "Surat Keterangan Domisili"
    assert all(len(v["definition"]["steps"]) > 2 for v in detail["versions"])


def test_dashboard_uses_the_statistics_endpoint(app):
    login(app)
    app.switch_page("views/dashboard.py").run()
    ok(app)
    assert not app.warning, [w.value for w in app.warning]
    assert [m.label for m in app.metric] == ["Permohonan", "Terbuka", "Pelanggaran SLA"]
    assert app.metric[2].value != "—"


def test_queue_rows_put_the_total_first_and_show_shares() -> None:
    from designer.dashboard import queue_rows

    figures = {
        "total": {"called": 3, "served": 2, "waiting": {"mean_minutes": 4.0, "p90_minutes": 9.0},
                  "within_target": 0.6667, "no_show_rate": 0.25},
        "by_service": {"ktp-el": {"called": 3, "served": 2, "within_target": 1.0}},
    }  # fmt: skip
    rows = queue_rows(figures)
    assert [r["service"] for r in rows] == ["All services", "ktp-el"]
    assert rows[0]["within target"] == "67%" and rows[0]["no-show rate"] == "25%"
    assert rows[1]["mean wait (min)"] is None and rows[1]["within target"] == "100%"


def test_switching_role_switches_the_person_and_forgets_the_previous_one(app):
    login(app)
    app.session_state["draft"] = {"id": "half-done"}
    app.sidebar.button(key="logout").click().run()
    app.sidebar.selectbox(key="login.role").set_value("officer").run()
    # The development login fills in the officer's demo person, not the admin still
    # shown before: the audit trail must not record the admin claiming the officer's task.
    assert app.sidebar.text_input(key="login.subject").value == "budi@banyuwangikab.go.id"
    app.sidebar.button(key="login.go").click().run()
    ok(app)
    assert app.session_state["user"]["subject"] == "budi@banyuwangikab.go.id"
    assert "draft" not in app.session_state


def test_work_is_kept_on_the_server_and_found_again_after_the_tab_closes(app, api_url, monkeypatch):
    from tests.designer.conftest import open_app
    from tests.designer.flows import add_step, create_service, step

    login(app)
    create_service(app, "izin-reklame-kecil", "Izin Reklame Kecil")
    add_step(app, "decision", "cek_luas", "Cek luas")
    i, _ = step(app, "cek_luas")
    app.button(key=f"ed.{i}.br.add").click().run()
    ok(app)
    assert any("tersimpan di server" in c.value for c in app.caption)
    h = _admin_headers(api_url)
    kept = httpx.get(f"{api_url}/services/izin-reklame-kecil/work", headers=h).json()
    assert [s["id"] for s in kept["definition"]["steps"]] == ["pengajuan", "cek_luas", "selesai"]
    assert kept["problems"]  # kept with its problems: the branch is not filled in
    # Publishing the saved draft waits until the changes are saved or discarded.
    r = httpx.post(f"{api_url}/services/izin-reklame-kecil/versions/1/publish", headers=h)
    assert r.status_code == 409 and "not saved as a draft yet" in r.json()["detail"]

    # The tab closes; a new one finds the work in the catalogue and continues it.
    wait_projected(api_url)
    again = open_app("id")
    login(again)
    again.switch_page("views/catalogue.py").run()
    ok(again)
    assert [s.value for s in again.subheader if s.value == "Perubahan yang belum disimpan"]
    again.selectbox(key="work.service").set_value("izin-reklame-kecil")
    again.button(key="work.open").click().run()
    follow(again, "views/editor.py")
    again.run()
    assert [s["id"] for s in again.session_state["draft"]["steps"]] == [
        "pengajuan", "cek_luas", "selesai"]  # fmt: skip
    assert again.session_state["draft_origin"] == (
        "changes kept on the server, not saved as a draft")

    # Discard: asked first, then back to the saved draft, and nothing is kept any more.
    again.button(key="editor.discard").click().run()
    assert any("Buang semua perubahan" in w.value for w in again.warning)
    again.button(key="editor.discard.yes").click().run()
    follow(again, "views/editor.py")
    again.run()
    ok(again)
    assert [s["id"] for s in again.session_state["draft"]["steps"]] == ["pengajuan", "selesai"]
    gone = httpx.get(f"{api_url}/services/izin-reklame-kecil/work", headers=h)
    assert gone.status_code == 404


def test_ids_are_made_from_names(app):
    from tests.designer.flows import create_service

    login(app)
    create_service(app, "izin-nama", "Izin Nama")
    app.text_input(key="add.name").set_value("Periksa berkas")
    app.selectbox(key="add.kind").set_value("review")
    app.button(key="add.go").click().run()
    ok(app)
    assert [s["id"] for s in app.session_state["draft"]["steps"]] == [
        "pengajuan", "periksa_berkas", "selesai"]  # fmt: skip
    app.text_input(key="field.new").set_value("Jumlah peserta")
    app.button(key="field.add").click().run()
    ok(app)
    field = app.session_state["draft"]["fields"][-1]
    assert (field["id"], field["label"]) == ("jumlah_peserta", "Jumlah peserta")
