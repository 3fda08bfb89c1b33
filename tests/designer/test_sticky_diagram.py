"""The flow editor's diagram stays in view while the administrator scrolls down the
step's form (issue 17: "the diagram scrolls away while editing outcomes lower down"),
in a real browser: Debian's Chromium against `lincah designer`'s Streamlit and a real
API (the fixtures of test_screenshot.py)."""

from __future__ import annotations

import pytest

from tests.designer.test_screenshot import ARGS, ARTIFACTS, chromium, designer_url

__all__ = ["chromium", "designer_url"]  # fixtures, used by name

VIEWPORT = {"width": 1400, "height": 800}
SCROLL_PX = 1500
SVG = '[data-testid="stGraphVizChart"] svg'
MAIN = '[data-testid="stMain"]'
"""The element that scrolls the page in Streamlit 1.67 (the window itself does not)."""


def test_the_diagram_stays_in_view_when_the_page_scrolls(chromium, designer_url):
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright (dev extra)")
    ARTIFACTS.mkdir(exist_ok=True)
    failed = ARTIFACTS / "sticky-failed.png"
    failed.unlink(missing_ok=True)
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(chromium), args=ARGS, headless=True)
        try:
            page = browser.new_page(viewport=VIEWPORT)
            page.goto(f"{designer_url}/?lang=en")
            page.wait_for_selector('[data-testid="stApp"]', timeout=30_000)
            page.get_by_role("button", name="Log in", exact=True).click(timeout=30_000)
            page.get_by_text("Logged in as admin@banyuwangikab.go.id").wait_for(timeout=30_000)
            page.get_by_role("link", name="Flow editor").click()
            page.get_by_role("button", name="Open in the editor").click(timeout=30_000)
            try:
                page.wait_for_selector(SVG, timeout=30_000)
                # A review with many outcomes, as the administrator adds them, and the
                # "Add a step" section open: a form far longer than the window.
                page.get_by_text("Add a step after this one").click()
                page.locator('[data-testid="stSelectbox"]').filter(
                    has_text="Step being edited"
                ).click()
                page.get_by_role("option", name="Pemeriksaan berkas").click()
                page.get_by_text("Role that works the task").wait_for(timeout=30_000)
                for n in range(3, 11):
                    page.get_by_role("button", name="Add outcome").click()
                    page.get_by_text(f"Outcome {n}", exact=True).wait_for(timeout=30_000)
                page.eval_on_selector(MAIN, "e => e.scrollTo(0, 0)")
                page.wait_for_timeout(300)
                room = page.eval_on_selector(MAIN, "e => e.scrollHeight - e.clientHeight")
                assert room > SCROLL_PX, room  # else the test would prove nothing

                page.mouse.move(600, 500)  # over the form
                page.mouse.wheel(0, SCROLL_PX)
                page.wait_for_function(
                    f"document.querySelector('{MAIN}').scrollTop >= {SCROLL_PX}",
                    timeout=10_000,
                )
                page.wait_for_timeout(300)
                box = page.locator(SVG).bounding_box()
                assert box is not None
                page.screenshot(path=str(ARTIFACTS / "sticky.png"))  # to look at
                # Still in the window, below Streamlit's header, not scrolled away.
                assert 48 <= box["y"] < VIEWPORT["height"] - 200, box
            except Exception:
                page.screenshot(path=str(failed), full_page=False)
                raise
        finally:
            browser.close()
