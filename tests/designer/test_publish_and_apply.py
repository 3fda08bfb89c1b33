"""End to end through the designer's widgets: build a three-step service with a decision,
see a validation message and fix it, publish it (with confirmation) through a real API,
then start an application of it as a citizen and complete its task as an officer. The
API, the Temporal dev server, the worker and the projector are real, as `lincah up`
runs them."""

from __future__ import annotations

import re
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from config.settings import TaskQueues, TemporalSettings
from lincah.worker import build_worker
from tests.designer.conftest import Projecting, login, open_app, serve, wait_projected
from tests.designer.flows import build_three_step_service, fill_standard, ok, save_draft

pytestmark = pytest.mark.e2e


@pytest.fixture
async def live_api(dev_env, settings):
    settings = settings.model_copy(
        update={
            "temporal": TemporalSettings(
                address=dev_env.client.service_client.config.target_host,
                task_queues=TaskQueues(applications=f"tq-{uuid.uuid4()}"),
            )
        }
    )
    server, thread = serve(settings)
    projecting = Projecting(settings)
    executor = ThreadPoolExecutor(4)
    worker = build_worker(
        dev_env.client, projecting.store, settings.temporal.task_queues.applications, executor
    )
    async with worker:
        yield f"http://127.0.0.1:{settings.api_port}"
    server.should_exit = True
    thread.join(10)
    projecting.close()
    executor.shutdown()


def run_in_thread(fn, *args):
    """AppTest blocks; the worker needs this event loop meanwhile."""
    result: dict = {}

    def target():
        try:
            result["value"] = fn(*args)
        except BaseException as e:  # re-raised in the test
            result["error"] = e

    t = threading.Thread(target=target)
    t.start()
    return t, result


async def finish(t: threading.Thread, result: dict):
    import asyncio

    while t.is_alive():
        await asyncio.sleep(0.05)
    if "error" in result:
        raise result["error"]
    return result.get("value")


def designer_session(api: str, monkeypatch) -> None:
    monkeypatch.setenv("LINCAH_API_URL", api)
    at = open_app("id")
    login(at)
    build_three_step_service(at, "izin-keramaian")
    fill_standard(at)
    assert save_draft(at) == 1

    # Publish, with confirmation; the versions list shows who and when.
    at.switch_page("views/versions.py").run()
    ok(at)
    at.button(key="versions.publish").click().run()
    assert any("Warga langsung dapat mengajukan permohonan" in w.value for w in at.warning)
    at.button(key="versions.confirm").click().run()
    ok(at)
    assert any("Versi 1 dari Izin Keramaian telah terbit" in s.value for s in at.success), [
        e.value for e in at.error
    ]
    table = at.dataframe[0].value
    assert list(table["status"]) == ["published"]
    assert list(table["diterbitkan oleh"]) == ["admin@banyuwangikab.go.id"]
    wait_projected(api)

    # The citizen demo applies for it.
    at.switch_page("views/apply.py").run()
    at.text_input(key="apply.subject").set_value("siti@example.id")
    at.button(key="apply.login").click().run()
    ok(at)
    at.selectbox(key="apply.service").set_value("izin-keramaian").run()
    at.number_input(key="apply.izin-keramaian.jumlah_peserta").set_value(300)
    at.button(key="FormSubmitter:apply.form.izin-keramaian-Kirim permohonan").click().run()
    ok(at)
    done = [s.value for s in at.success if "terkirim" in s.value]
    assert done and "status `in_review`" in done[0], [e.value for e in at.error]
    number = done[0].split("**")[1]
    assert number.startswith("BWI-")

    # The officer completes the review in the inbox; the decision sends 300 to the end.
    officer = open_app("id")
    login(officer, "officer", "budi@banyuwangikab.go.id")
    wait_projected(api)
    officer.switch_page("views/inbox.py").run()
    ok(officer)
    officer.selectbox(key="inbox.task").set_value(f"{number}.periksa.1").run()
    # The application's data as a labelled form, not JSON with field ids.
    shown = officer.dataframe[-1].value
    assert list(shown["Isian"]) == ["Jumlah peserta"] and list(shown["Nilai"]) == ["300"]
    officer.button(key="inbox.claim").click().run()
    ok(officer)
    said = [s.value for s in officer.success] + [w.value for w in officer.warning]
    assert any("kini Anda pegang" in m or "endpoint POST /tasks/" in m for m in said), [
        e.value for e in officer.error
    ]
    officer.selectbox(key="inbox.outcome").set_value("approve")
    officer.text_area(key="inbox.comment").set_value("Berkas lengkap")
    officer.button(key="FormSubmitter:inbox.complete-Selesaikan tugas").click().run()
    ok(officer)
    assert any("permohonan kini berstatus approved" in s.value for s in officer.success), [
        e.value for e in officer.error
    ]

    # The auditor reads the application's trail: who did what, each hash verified, and
    # the application as it stood at the time it was submitted.
    auditor = open_app("id")
    login(auditor, "auditor", "auditor@inspektorat.banyuwangikab.go.id")
    wait_projected(api)
    auditor.switch_page("views/audit.py").run()
    ok(auditor)
    auditor.selectbox(key="audit.application").set_value(number).run()
    ok(auditor)
    assert any("Rantai hash utuh" in m.value for m in auditor.success), [
        e.value for e in auditor.error]
    trail = auditor.dataframe[0].value
    assert "budi@banyuwangikab.go.id" in list(trail["siapa"])
    assert set(trail["terverifikasi"]) == {"✔"}
    assert all(t.endswith(" WIB") for t in trail["waktu"])
    assert [m.label for m in auditor.metric] == ["Status", "Langkah", "Peristiwa diterapkan"]

    # The Temporal replay check, from the page: today's code replays the history.
    auditor.button(key="audit.replay").click().run()
    ok(auditor)
    said = [m.value for m in auditor.success]
    assert any(re.search(rf"memutar ulang semua \d+ peristiwa riwayat Temporal {number}", m)
               for m in said), (said, [e.value for e in auditor.error])  # fmt: skip
    assert any(c.value.startswith(f"Alur kerja {number}, run ") for c in auditor.caption)


async def test_design_publish_and_apply_through_the_designer(live_api, monkeypatch):
    t, result = run_in_thread(designer_session, live_api, monkeypatch)
    await finish(t, result)
