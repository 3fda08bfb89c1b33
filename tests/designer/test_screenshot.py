"""The editor page in a real browser: Debian's Chromium, driven by the playwright
package (never `playwright install`), against `streamlit run designer/app.py` and a real
API, in Bahasa Indonesia (chosen by the link, ?lang=id). The test waits for the rendered
diagram (Graphviz's SVG) and keeps a screenshot at tests/artifacts/editor.png."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from lincah.cli import designer_argv
from tests.designer.conftest import free_port

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@pytest.fixture(scope="session")
def chromium() -> Path:
    """Debian's chromium: installed here when missing and we are root, else skipped."""
    if not CHROMIUM.exists():
        if os.geteuid() != 0 or shutil.which("apt-get") is None:
            pytest.skip("Debian chromium is not installed (apt-get install chromium, as root)")
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        for cmd in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "chromium"]):
            done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)
            if done.returncode != 0:
                pytest.skip(f"installing chromium failed: {done.stderr[-500:]}")
    return CHROMIUM


@pytest.fixture
def designer_url(api_url: str, tmp_path: Path) -> Iterator[str]:
    port = free_port()
    env = dict(os.environ, LINCAH_API_URL=api_url, HOME=str(tmp_path))
    log = (tmp_path / "streamlit.log").open("w")
    # Served as `lincah designer` serves it (its flags: no developer menu).
    proc = subprocess.Popen(designer_argv(port), env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, (tmp_path / "streamlit.log").read_text()
            try:
                if httpx.get(f"{base}/_stcore/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "streamlit did not start"
            time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        proc.wait(10)
        log.close()


def test_editor_page_renders_its_diagram_in_chromium(chromium, designer_url):
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright (dev extra)")
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "editor.png"
    shot.unlink(missing_ok=True)
    (ARTIFACTS / "editor-failed.png").unlink(missing_ok=True)
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(chromium), args=ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1600, "height": 1500})
            page.goto(f"{designer_url}/?lang=id")
            # Streamlit renders over a websocket: wait for the app, then for the login.
            page.wait_for_selector('[data-testid="stApp"]', timeout=30_000)
            page.get_by_role("button", name="Masuk", exact=True).click(timeout=30_000)
            page.get_by_text("Masuk sebagai admin@banyuwangikab.go.id").wait_for(timeout=30_000)
            page.get_by_role("link", name="Penyunting alur").click()
            page.get_by_role("button", name="Buka di penyunting").click(timeout=30_000)
            try:
                svg = page.wait_for_selector('[data-testid="stGraphVizChart"] svg', timeout=30_000)
            except Exception:
                page.screenshot(path=str(ARTIFACTS / "editor-failed.png"), full_page=True)
                raise
            assert svg is not None
            # The diagram is really drawn: Graphviz nodes, the selected step in blue.
            page.wait_for_function(
                "document.querySelectorAll('[data-testid=\"stGraphVizChart\"] svg g.node')"
                ".length >= 9",
                timeout=30_000,
            )
            labels = page.locator(
                '[data-testid="stGraphVizChart"] svg g.node text'
            ).all_text_contents()
            assert any("Pemeriksaan berkas" in t for t in labels), labels
            assert page.locator('[data-testid="stGraphVizChart"] svg [stroke="#0969da"]').count()
            # An administrator sees the app, not Streamlit's developer menu or "Deploy".
            assert page.get_by_text("Deploy", exact=True).count() == 0
            page.wait_for_timeout(500)  # let the last frame settle
            page.screenshot(path=str(shot), full_page=True)
        finally:
            browser.close()
    assert shot.stat().st_size > 20_000
