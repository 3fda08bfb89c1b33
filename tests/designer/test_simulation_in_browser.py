"""The simulation page as a person reads it, in a real browser (Debian's Chromium
against `lincah designer`'s Streamlit and a real API: the fixtures of
test_screenshot.py): counts are written as counts ("0", not "0.00"), and the figures
(expected duration, time limit, fee) are shown whole, not cut off with "…"."""

from __future__ import annotations

import pytest

from tests.designer.test_screenshot import ARGS, ARTIFACTS, chromium, designer_url

__all__ = ["chromium", "designer_url"]  # fixtures, used by name

CUT_OFF = """() => [...document.querySelectorAll(
    '[data-testid="stMetric"] [data-testid="stMarkdownContainer"]')]
  .filter(e => e.scrollWidth > e.clientWidth)
  .map(e => e.textContent)"""
"""The texts of the metrics that do not fit their box (the browser ends them with …)."""


@pytest.mark.parametrize("width", [1280, 1600])
def test_simulation_shows_counts_and_whole_figures(chromium, designer_url, width):
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright (dev extra)")
    ARTIFACTS.mkdir(exist_ok=True)
    failed = ARTIFACTS / f"simulation-failed-{width}.png"
    failed.unlink(missing_ok=True)
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(chromium), args=ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": width, "height": 900})
            page.goto(f"{designer_url}/?lang=id")
            page.wait_for_selector('[data-testid="stApp"]', timeout=30_000)
            page.get_by_role("button", name="Masuk", exact=True).click(timeout=30_000)
            page.get_by_text("Masuk sebagai admin@banyuwangikab.go.id").wait_for(timeout=30_000)
            page.get_by_role("link", name="Simulasi").click()
            try:
                page.locator('[data-testid="stSelectbox"]').filter(has_text="Simulasikan").click(
                    timeout=30_000
                )
                page.get_by_role("option", name="Izin Praktik Tenaga Kesehatan").click()
                page.get_by_text("Perkiraan lama").wait_for(timeout=30_000)
                page.wait_for_timeout(500)
                # The number field of the form (years of experience) reads as a count.
                number = page.get_by_label("Lama pengalaman (tahun)", exact=True)
                assert number.input_value() == "0", number.input_value()
                values = page.locator('[data-testid="stMetricValue"]').all_text_contents()
                assert any(v.endswith("hari kerja") for v in values), values
                assert page.evaluate(CUT_OFF) == [], values
            except Exception:
                page.screenshot(path=str(failed), full_page=True)
                raise
        finally:
            browser.close()
