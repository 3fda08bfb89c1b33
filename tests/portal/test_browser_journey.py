"""The citizen's core path in a real browser on a phone's screen (360x740): Debian's
Chromium driven by playwright (never `playwright install`), against the whole stack
(Temporal's dev server, worker, projector, notifier, API) and the portal under uvicorn,
with the confirmation code read from a real SMTP server. Register → confirm → log in →
fill the profile → apply with the prefilled form → the application and its timeline →
the officer's decision arrives → the signed letter downloads as a PDF, with its check
link → the survey; then the same log in and apply with JavaScript off. axe-core checks
the key pages; screenshots are kept at tests/artifacts/portal-*.png."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import pytest
import uvicorn

from accounts.registry import Registry
from config.settings import Settings
from lincah.demo import DOMISILI, KELURAHAN
from portal.app import create_app
from tests.accounts.conftest import Inbox, smtp  # noqa: F401 - fixture
from tests.api.test_e2e import publish
from tests.conftest import free_port
from tests.designer.test_screenshot import ARGS, ARTIFACTS, chromium  # noqa: F401 - fixture
from tests.support import Stack, run_stack

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
PHONE = {"width": 360, "height": 740}
NIK = "3510154808900003"  # born 8 August 1990 (day + 40: a woman)
EMAIL = "siti@example.id"
PASSWORD = "kopi-luwak-2026"
CONFIRM_CODE = r"confirmation code: (\d{6})"
SIGNED_DOMISILI: dict[str, Any] = {
    **DOMISILI,
    "steps": [
        {**step, "outcomes": {**step["outcomes"], "approve": "issue_letter"}}
        if step["id"] == "verify_residence"
        else step
        for step in DOMISILI["steps"]
    ]
    + [
        {
            "kind": "document",
            "id": "issue_letter",
            "name": "Penerbitan surat",
            "template": {
                "code": "SKD",
                "title": "Surat Keterangan Domisili",
                "body": "Menerangkan bahwa {full_name} berdomisili di {address}, "
                "Kelurahan {kelurahan}.",
            },
            "next": "notify_issued",
        }
    ],
}
"""The demo's Domisili with the letter issued as a signed PDF after the approval."""


@pytest.fixture
async def stack(
    dev_env: Any,
    settings: Settings,
    smtp: tuple[Inbox, int],  # noqa: F811
) -> AsyncIterator[Stack]:
    mailing = settings.model_copy(update={"smtp_host": "127.0.0.1", "smtp_port": smtp[1]})
    async with run_stack(dev_env, mailing) as s:
        # The agency complaints are addressed to (lincah admin create-agency).
        registry = Registry(s.store, s.settings)
        registry.create_region("35.10", "Kabupaten Banyuwangi", "test")
        registry.create_agency("BWI", "DPMPTSP Kabupaten Banyuwangi", "35.10", "test")
        yield s


@pytest.fixture
def portal_url(stack: Stack) -> Iterator[str]:
    settings = stack.settings.model_copy(update={"api_url": stack.base, "portal_port": free_port()})
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=settings.portal_port,
                       log_level="warning")
    )  # fmt: skip
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the portal did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{settings.portal_port}"
    finally:
        server.should_exit = True
        thread.join(10)


async def check_page(page: Any, name: str) -> None:
    """No serious or critical axe-core violation, no horizontal scroll at 360 px, at most
    150 KB transferred (what the browser cached from an earlier page counts 0), and a
    screenshot kept."""
    ARTIFACTS.mkdir(exist_ok=True)
    weight = await page.evaluate(
        "[...performance.getEntriesByType('navigation'),"
        " ...performance.getEntriesByType('resource')]"
        ".reduce((sum, e) => sum + e.transferSize, 0)"
    )
    assert weight <= 150_000, f"{name}: {weight} bytes transferred"
    await page.screenshot(path=str(ARTIFACTS / f"portal-{name}.png"), full_page=True)
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{name}: {width} px wide, scrolls sideways"
    await page.add_script_tag(content=AXE.read_text())
    result = await page.evaluate("axe.run(document)")
    bad = [
        (v["id"], v["impact"], [n["target"] for n in v["nodes"]])
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    others = sorted(v["id"] for v in result["violations"] if v not in bad)
    # The figures `make portal-check` prints (pytest -s).
    print(
        f"portal {name:14} axe: {len(result['passes'])} rules pass, {len(bad)} serious or "
        f"critical, minor/moderate {others or 'none'}; {width} px wide; {weight} B transferred"
    )
    assert not bad, f"{name}: {bad}"


async def apply_for_domisili(page: Any, portal_url: str) -> None:
    """From the catalogue to the application's page, with what the profile prefills."""
    await page.goto(portal_url + "/")
    card = page.locator(".card", has_text=DOMISILI["name"])
    await card.get_by_role("link", name="Ajukan").click()
    await page.get_by_role("heading", name=f"Ajukan: {DOMISILI['name']}").wait_for()
    # Everything but the purpose comes from her profile, marked with its provenance.
    assert await page.locator("#nik").input_value() == NIK
    assert await page.locator("#full_name").input_value() == "Siti Aminah"
    assert await page.locator("#kelurahan").input_value() == KELURAHAN[1]
    assert "Jl. Ahmad Yani No. 12" in await page.locator("#address").input_value()
    assert await page.locator("label[for=full_name] .badge").inner_text() == "Diisi sendiri"
    await page.locator("#purpose").fill("Syarat melamar kerja")


async def see_the_application(page: Any) -> None:
    await page.get_by_role("heading", name=DOMISILI["name"]).wait_for()
    assert "/applications/BWI-" in page.url
    status = await page.locator(".status").inner_text()
    assert status in ("Diajukan", "Sedang diproses"), status
    steps = page.locator(".timeline li")
    assert await steps.count() >= 1
    # Times in the agency's zone, the Indonesian way ("8 Agu 2026 14.05 WIB").
    assert (await steps.first.inner_text()).split("\n")[0].endswith(" WIB")


async def decide(stack: Stack, application_id: str) -> None:
    officer = await stack.token("budi@banyuwangikab.go.id", "officer", "BWI")
    tasks = await stack.until(
        "/tasks", officer, lambda ts: any(t["application_id"] == application_id for t in ts)
    )
    [task] = [t for t in tasks if t["application_id"] == application_id]
    decision = {"outcome": "approve", "comment": "Alamat sesuai KK"}
    r = await stack.http.post(f"/tasks/{task['task_id']}/complete", headers=officer, json=decision)
    assert r.status_code == 200, r.text


async def download_the_letter(page: Any) -> None:
    """The signed letter comes through the portal (the session's token) as a PDF, with
    the public address its QR code opens to check it."""
    letter = page.locator(".documents li", has_text="Surat Keterangan Domisili")
    link = letter.get_by_role("link", name="Unduh (PDF)")
    number = (await link.get_attribute("href")).removeprefix("/documents/")
    assert number.startswith("BWI/SKD/")
    r = await page.context.request.get(urljoin(page.url, await link.get_attribute("href")))
    assert r.ok, await r.text()
    assert r.headers["content-type"] == "application/pdf"
    assert (await r.body()).startswith(b"%PDF")
    async with page.expect_download() as downloading:
        await link.click()
    download = await downloading.value
    assert download.suggested_filename.endswith(".pdf")
    assert Path(await download.path()).read_bytes().startswith(b"%PDF")
    verify = letter.get_by_role("link", name="Periksa keasliannya")
    check = await verify.get_attribute("href")
    assert check.endswith(f"/documents/{number}/verify")
    r = await page.context.request.get(check)
    assert r.ok and (await r.json())["valid"] is True
    # The timeline says so in her words.
    await page.locator(
        ".timeline li", has_text=f"Dokumen terbit: Surat Keterangan Domisili nomor {number}"
    ).wait_for()


@pytest.mark.timeout(240)
async def test_register_confirm_log_in_apply_and_track_on_a_phone(
    stack: Stack,
    portal_url: str,
    smtp: tuple[Inbox, int],  # noqa: F811
    chromium: Path,  # noqa: F811
) -> None:
    async_api = pytest.importorskip("playwright.async_api", reason="playwright (dev extra)")
    if not AXE.exists():
        pytest.skip("node_modules is not installed (npm ci): axe-core comes from it")
    await publish(stack, SIGNED_DOMISILI)
    inbox = smtp[0]
    async with async_api.async_playwright() as p:
        browser = await p.chromium.launch(executable_path=str(chromium), args=ARGS)
        try:
            page = await (await browser.new_context(viewport=PHONE)).new_page()
            await page.goto(portal_url + "/")
            await check_page(page, "catalogue")

            # Register; the code comes by e-mail.
            await page.get_by_role("link", name="Daftar").first.click()
            await page.get_by_role("heading", name="Buat akun Anda").wait_for()
            await check_page(page, "register")
            await page.get_by_label("NIK").fill(NIK)
            await page.get_by_label("Nama lengkap").fill("Siti Aminah")
            await page.get_by_label("E-mail").fill(EMAIL)
            await page.get_by_label("Nomor HP").fill("+6281234567890")
            await page.get_by_label("Kata sandi").fill(PASSWORD)
            await page.get_by_role("button", name="Daftar").click()
            await page.get_by_role("heading", name="Konfirmasi e-mail Anda").wait_for()
            await page.get_by_label("Kode dari e-mail").fill(await inbox.code(EMAIL, CONFIRM_CODE))
            await page.get_by_role("button", name="Konfirmasi").click()
            await page.get_by_text("Akun Anda sudah dikonfirmasi").wait_for()

            # Log in.
            await check_page(page, "login")
            await page.get_by_label("E-mail atau NIK").fill(EMAIL)
            await page.get_by_label("Kata sandi").fill(PASSWORD)
            await page.get_by_role("button", name="Masuk").click()
            await page.get_by_text("Anda belum punya permohonan").wait_for()

            # She fills her profile once.
            await page.get_by_role("link", name="Profil").click()
            await page.get_by_role("heading", name="Profil saya").wait_for()
            await page.get_by_label("Nama lengkap").fill("Siti Aminah")
            await page.get_by_label("Jalan dan nomor").fill("Jl. Ahmad Yani No. 12")
            await page.get_by_label("Kelurahan/desa").fill(KELURAHAN[1])
            await page.get_by_role("button", name="Simpan profil").click()
            await page.get_by_text("Profil Anda tersimpan").wait_for()
            badge = page.locator("label[for=full_name] .badge")
            assert await badge.inner_text() == "Diisi sendiri"
            await check_page(page, "profile")

            # Apply with the prefilled form; then the application and its timeline.
            await apply_for_domisili(page, portal_url)
            await check_page(page, "apply")
            await page.get_by_role("button", name="Kirim permohonan").click()
            await see_the_application(page)
            await check_page(page, "application")

            # The officer approves; the decision reaches her page, then the survey.
            await decide(stack, page.url.split("/applications/")[1].split("?")[0])
            status = page.locator(".status")
            for _ in range(60):
                await page.reload()
                if await status.inner_text() == "Selesai: disetujui":
                    break
                await asyncio.sleep(0.5)
            assert await status.inner_text() == "Selesai: disetujui"
            await download_the_letter(page)
            await check_page(page, "document")
            await page.get_by_role("link", name="Isi survei").click()
            await page.get_by_role("heading", name="Survei kepuasan masyarakat").wait_for()
            await check_page(page, "survey")
            for fieldset in await page.locator("fieldset").all():
                await fieldset.get_by_label("Baik", exact=True).check()
            await page.get_by_label("Saran").fill("Cepat dan jelas")
            await page.get_by_role("button", name="Kirim jawaban").click()
            await page.get_by_text("Terima kasih: jawaban Anda sudah tercatat").wait_for()
            assert await page.get_by_text("Sudah dijawab").count() == 1
            await page.get_by_role("link", name="Notifikasi").click()
            await page.get_by_role("heading", name="Notifikasi").wait_for()
            await check_page(page, "notifications")
            await page.get_by_role("link", name="Pengaduan").click()
            await page.get_by_label("Tentang").select_option("service")
            await page.get_by_label("Yang mana").fill(DOMISILI["name"])
            await page.get_by_label("Apa yang terjadi").fill("Antrean di loket terlalu lama.")
            await page.get_by_role("button", name="Kirim pengaduan").click()
            await page.get_by_text("Pengaduan Anda sudah tercatat").wait_for()
            await page.get_by_text("Diterima; menunggu verifikasi").wait_for()
            await check_page(page, "complaints")
            await page.get_by_role("link", name="Janji temu").click()
            await page.get_by_text("Anda belum punya janji temu").wait_for()
            await check_page(page, "appointments")
            await page.get_by_role("link", name="Wajah").click()
            camera = page.get_by_label("Foto wajah Anda")
            assert await camera.get_attribute("capture") == "user"
            assert await camera.get_attribute("accept") == "image/*"
            await check_page(page, "face")
        finally:
            await browser.close()

        # The same path without JavaScript: plain forms and links.
        browser = await p.chromium.launch(executable_path=str(chromium), args=ARGS)
        try:
            context = await browser.new_context(viewport=PHONE, java_script_enabled=False)
            page = await context.new_page()
            await page.goto(portal_url + "/login")
            await page.get_by_label("E-mail atau NIK").fill(NIK)
            await page.get_by_label("Kata sandi").fill(PASSWORD)
            await page.get_by_role("button", name="Masuk").click()
            await page.get_by_role("heading", name="Permohonan saya").wait_for()
            await apply_for_domisili(page, portal_url)
            await page.get_by_role("button", name="Kirim permohonan").click()
            await see_the_application(page)
            await page.get_by_role("link", name="Semua permohonan saya").click()
            assert await page.locator(".cards .card").count() == 2
        finally:
            await browser.close()
