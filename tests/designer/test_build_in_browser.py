"""Issue 17's acceptance, in a real browser (Debian's Chromium, driven by playwright):
an agency administrator builds the README's service (Designing a service) in the
designer's Bahasa Indonesia by names only, never typing an id, and writes the decision's
condition with the visual condition builder alone. Midway the tab is closed and the
work is found again from a new browser with nothing of the old session. Then the two
confirmations that keep an administrator from losing work: creating a service whose id
is taken is refused, and archiving asks first.

Widgets are found by their keys, which Streamlit puts on the page as CSS classes
(``st-key-`` and the key with every character but letters, digits, ``_`` and ``-`` made
``-``), or by their Indonesian texts where a person would read them. What the designer
kept is checked through the API, as the person's next visit would see it."""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from tests.designer.conftest import ADMIN
from tests.designer.test_screenshot import ARGS, ARTIFACTS, chromium, designer_url

__all__ = ["chromium", "designer_url"]  # fixtures, used by name

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright (dev extra)")

pytestmark = [pytest.mark.browser, pytest.mark.timeout(420)]

T = TypeVar("T")
SERVICE = "izin-keramaian"
WAIT_MS = 30_000
"""How long an element may take to appear: Streamlit reruns the page on a shared CPU."""


# --- the designer and the browser ----------------------------------------------------


@pytest.fixture(scope="module")
def browser(chromium: Path) -> Iterator[Any]:
    with sync_api.sync_playwright() as p:
        launched = p.chromium.launch(executable_path=str(chromium), args=ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture(scope="module")
def token(api_url: str) -> str:
    """The agency admin's token, for the test's own look at what the designer kept."""
    body = {"subject": ADMIN, "role": "agency_admin", "agency": "BWI"}
    answer = httpx.post(f"{api_url}/auth/dev-token", json=body, timeout=10)
    answer.raise_for_status()
    return str(answer.json()["access_token"])


def get(api_url: str, token: str, path: str) -> Any:
    answer = httpx.get(f"{api_url}{path}", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    answer.raise_for_status()
    return answer.json()


class Designer:
    """One browser tab on the designer, driven as a person does: by the texts they read,
    and by the widgets' keys where several widgets share a text. Every text typed is
    recorded by its widget's key, so the test can show that no id was typed."""

    def __init__(self, browser: Any, base: str) -> None:
        self.browser, self.base = browser, base
        self.typed: list[str] = []
        self.open()

    def open(self) -> None:
        """A new tab in a new browser context (no cookies, no session of an earlier
        tab), logged in as the agency admin with the development login."""
        context = self.browser.new_context(viewport={"width": 1600, "height": 1400})
        self.page = context.new_page()
        self.page.set_default_timeout(WAIT_MS)
        self.page.goto(f"{self.base}/?lang=id")
        self.page.wait_for_selector('[data-testid="stApp"]', timeout=WAIT_MS)
        self.click("button", "Masuk")
        self.see(f"Masuk sebagai {ADMIN}")

    def close(self) -> None:
        """Close the tab and its browser context, as closing the browser window does."""
        if not self.page.is_closed():
            context = self.page.context
            self.page.close()
            context.close()

    def idle(self) -> None:
        """Until the run an action caused has ended. Streamlit reruns the script after
        each change, but the page says so only once the server answers, which may take
        a while on a busy machine: wait for the run to start (a run too quick to be
        seen is over already), then for it to end."""
        app = '[data-testid="stApp"]'
        with contextlib.suppress(sync_api.TimeoutError):
            self.page.wait_for_selector(f'{app}[data-test-script-state="running"]', timeout=3000)
        self.page.wait_for_selector(f'{app}[data-test-script-state="notRunning"]', timeout=WAIT_MS)

    def widget(self, key: str) -> Any:
        return self.page.locator(".st-key-" + re.sub(r"[^a-zA-Z0-9_-]", "-", key.strip()))

    def type(self, key: str, text: str, in_form: bool = False) -> None:
        """Type ``text`` into ``key`` and commit it; ``in_form``: left for the form's
        button to send (Enter would submit the form)."""
        box = self.widget(key).locator("input, textarea").first
        box.fill(text)
        self.typed.append(key)
        if in_form:
            return
        # Enter commits a text input; a text area takes Ctrl+Enter.
        is_area = box.evaluate("e => e.tagName") == "TEXTAREA"
        box.press("Control+Enter" if is_area else "Enter")
        self.idle()

    def pick(self, key: str, option: str) -> None:
        """Choose ``option`` (its text as shown) in the select box ``key``."""
        choose(self.page, self.widget(key).get_by_role("combobox"), option, exact=True)
        self.idle()

    def press(self, key: str) -> None:
        self.widget(key).get_by_role("button").click(timeout=WAIT_MS)
        self.idle()

    def click(self, role: str, name: str) -> None:
        self.page.get_by_role(role, name=name, exact=True).click(timeout=WAIT_MS)
        self.idle()

    def see(self, text: str) -> None:
        self.page.get_by_text(text).first.wait_for(timeout=WAIT_MS)

    def go(self, page_title: str) -> None:
        self.page.get_by_role("link", name=page_title).click(timeout=WAIT_MS)
        self.page.get_by_role("heading", name=page_title).first.wait_for(timeout=WAIT_MS)
        self.idle()

    def options(self, key: str) -> list[str]:
        """The texts a select box offers (opened, read, closed again)."""
        self.widget(key).get_by_role("button", name="Open").click()
        self.page.get_by_role("option").first.wait_for(timeout=WAIT_MS)
        found = self.page.get_by_role("option").all_text_contents()
        self.page.keyboard.press("Escape")
        return [str(t) for t in found]

    def diagram_labels(self) -> list[str]:
        self.page.wait_for_selector('[data-testid="stGraphVizChart"] svg g.node', timeout=WAIT_MS)
        texts = self.page.locator('[data-testid="stGraphVizChart"] svg g.node text')
        return [str(t) for t in texts.all_text_contents()]

    def step(self, name: str) -> None:
        """Edit the step called ``name`` (the selector's key changes with each select)."""
        box = self.page.locator('[class*="st-key-sel-"]').get_by_role("combobox")
        choose(self.page, box, name, exact=False)
        self.idle()

    def shot(self, name: str) -> None:
        if self.page.is_closed():
            return
        ARTIFACTS.mkdir(exist_ok=True)
        self.page.screenshot(path=str(ARTIFACTS / name), full_page=True)


def choose(page: Any, combobox: Any, option: str, exact: bool) -> None:
    """Streamlit's select box is a combo box: typing narrows its list to the options
    containing the text; then the option is clicked."""
    combobox.click(timeout=WAIT_MS)
    combobox.fill(option)
    if exact:
        page.get_by_role("option", name=option, exact=True).click(timeout=WAIT_MS)
    else:
        page.get_by_role("option").filter(has_text=option).first.click(timeout=WAIT_MS)


@pytest.fixture
def ui(browser: Any, designer_url: str, request: pytest.FixtureRequest) -> Iterator[Designer]:
    """A logged-in tab; a screenshot of it when the test fails, named for the test."""
    (ARTIFACTS / f"{request.node.name}-failed.png").unlink(missing_ok=True)  # an older run's
    tab = Designer(browser, designer_url)
    try:
        yield tab
    finally:
        failed = getattr(request.node, "rep_call", None)
        if failed is None or failed.failed:
            tab.shot(f"{request.node.name}-failed.png")
        tab.close()


# --- the acceptance test ---------------------------------------------------------------


def test_build_the_readme_service_by_names_with_the_condition_builder(
    ui: Designer, api_url: str, token: str
) -> None:
    (ARTIFACTS / "built.png").unlink(missing_ok=True)

    # 1. A new service by its name only: the id is made from it.
    ui.go("Katalog layanan")
    ui.type("cat.new.name", "Izin Keramaian", in_form=True)
    ui.click("button", "Buat layanan")
    ui.page.get_by_role("heading", name="Penyunting alur").first.wait_for()
    ui.see(f"({SERVICE})")  # the editor's caption: Menyunting Izin Keramaian (`izin-keramaian`)

    # 2. The field, by its label; then its type.
    ui.click("tab", "Isian formulir")
    ui.type("field.new", "Jumlah peserta")
    ui.press("field.add")
    ui.pick("ed.f0.type", "number")

    # 3. The steps, by name: a review after the form, a rejecting end, a second outcome
    # of the review leading to it, then a decision after the review with one branch.
    ui.click("tab", "Langkah")
    add_step(ui, "Pemeriksaan oleh petugas", "Periksa berkas")
    add_step(ui, "Selesai", "Ditolak")  # "Selesai" is the End kind in Indonesian
    ui.pick("ed.2.result", "rejected")
    ui.step("Periksa berkas")
    ui.press("ed.1.out.add")
    ui.type("ed.1.out.1.name", "reject")
    ui.pick("ed.1.out.1.target", "Ditolak (ditolak)")
    add_step(ui, "Keputusan (kondisi)", "Cek peserta")
    ui.press("ed.2.br.add")
    ui.pick("ed.2.br.0.goto", "Ditolak (ditolak)")
    steps_made = ["pengajuan", "periksa_berkas", "cek_peserta", "ditolak", "selesai"]
    until(
        lambda: (
            kept_steps(api_url, token) == steps_made
            and branches(api_url, token) == [{"when": "", "goto": "ditolak"}]
        ),
        "the steps and the branch to fill in are kept on the server",
    )

    # 4. The tab closes before the condition is written. A new browser context has none
    # of the old session: the work is found again from the catalogue.
    ui.close()
    ui.open()
    ui.go("Katalog layanan")
    assert f"Izin Keramaian ({SERVICE})" in ui.options("cat.service")  # the id made
    ui.see("Perubahan yang belum disimpan")
    (unsaved,) = ui.options("work.service")  # the only service with unsaved changes
    assert unsaved.startswith(f"Izin Keramaian ({SERVICE})"), unsaved
    ui.press("work.open")
    ui.page.get_by_role("heading", name="Penyunting alur").first.wait_for()
    labels = " ".join(ui.diagram_labels())
    for name in ("Pengajuan", "Periksa berkas", "Cek peserta", "Ditolak", "Selesai"):
        assert name in labels, (name, labels)

    # 5. The branch's condition, with the visual condition builder only.
    ui.step("Cek peserta")
    when = "ed.2.br.0.when"
    assert "Jumlah peserta" in ui.options(f"{when}.cb.0.0.name")  # the label, not the id
    ui.pick(f"{when}.cb.0.0.name", "Jumlah peserta")
    ui.pick(f"{when}.cb.0.0.op", "paling sedikit")
    ui.type(f"{when}.cb.0.0.value", "1000")
    expected = [{"when": "jumlah_peserta >= 1000", "goto": "ditolak"}]
    until(lambda: branches(api_url, token) == expected, "the condition is kept on the server")
    ui.see("Tidak ada masalah")

    # 6. The standard's three texts the flow cannot say, then save and publish.
    ui.click("tab", "Layanan & standar")
    ui.type("ed.svc.std.complaint_channel", "Loket pengaduan MPP")
    ui.type("ed.svc.std.time_limit", "Selesai pada hari yang sama")
    ui.type("ed.svc.std.product", "Surat Izin Keramaian")
    ui.see("Tidak ada masalah")
    ui.press("editor.save")
    ui.see("Tersimpan sebagai draf versi")
    ui.click("tab", "Langkah")
    ui.step("Cek peserta")
    ui.diagram_labels()
    ui.page.wait_for_timeout(500)  # the diagram's last frame
    ui.shot("built.png")
    ui.go("Versi")
    ui.click("button", "Terbitkan versi 1…")
    ui.click("button", "Ya, terbitkan")
    ui.see("Versi 1 dari Izin Keramaian telah terbit")

    # Nobody typed an id: only names, labels, an outcome, a number and the standard.
    assert not [k for k in ui.typed if k.endswith(".id") or k == "add.id"], ui.typed
    v1 = until(lambda: published(api_url, token, SERVICE, 1), "version 1 is published")
    definition = v1["definition"]
    assert definition["name"] == "Izin Keramaian"
    assert definition["fields"][0]["id"] == "jumlah_peserta"
    assert definition["fields"][0]["label"] == "Jumlah peserta"
    assert definition["fields"][0]["type"] == "number"
    steps = {s["id"]: s for s in definition["steps"]}
    assert list(steps) == ["pengajuan", "periksa_berkas", "cek_peserta", "ditolak", "selesai"]
    assert steps["periksa_berkas"]["name"] == "Periksa berkas"
    assert steps["periksa_berkas"]["outcomes"] == {"approve": "cek_peserta", "reject": "ditolak"}
    assert steps["cek_peserta"]["branches"] == [
        {"when": "jumlah_peserta >= 1000", "goto": "ditolak"}
    ]
    assert steps["cek_peserta"]["default"] == "selesai"
    assert steps["ditolak"]["result"] == "rejected"
    assert (ARTIFACTS / "built.png").stat().st_size > 20_000


def add_step(ui: Designer, kind: str, name: str) -> None:
    """A step after the one being edited, by its kind and name (the id is made from it)."""
    # The expander is open on a new service (two steps) and closes itself after the run
    # that adds the third, in an animation that ends a moment after the run: open it
    # once it has settled.
    kinds = ui.widget("add.kind").get_by_role("combobox")
    summary = ui.page.locator("summary").filter(has_text="Tambah langkah sesudah langkah ini")
    for _ in range(3):
        ui.page.wait_for_timeout(400)
        if kinds.is_visible():
            break
        summary.click()
    ui.pick("add.kind", kind)
    ui.type("add.name", name)
    ui.press("add.go")
    ui.see(f"{name} (")  # the step selector now shows it


# --- the confirmations -----------------------------------------------------------------


def test_a_taken_id_is_refused_and_archiving_asks_first(
    ui: Designer, api_url: str, token: str
) -> None:
    taken = "surat-keterangan-domisili"
    flow_before = get(api_url, token, f"/services/{taken}")["versions"]

    # Its name makes an id that is taken: refused, naming the service; its flow unchanged.
    ui.go("Katalog layanan")
    ui.type("cat.new.name", "Surat Keterangan Domisili", in_form=True)
    ui.click("button", "Buat layanan")
    error = ui.page.locator('[data-testid="stAlertContentError"]').first
    error.wait_for(timeout=WAIT_MS)
    assert "Surat Keterangan Domisili" in error.inner_text()
    assert get(api_url, token, f"/services/{taken}")["versions"] == flow_before

    # Archive asks first; Cancel keeps the service, Yes archives it.
    archived = "legalisir-dokumen-kependudukan"
    ui.pick("cat.service", f"Legalisir Dokumen Kependudukan ({archived})")
    ui.press("cat.archive")
    ui.see("Arsipkan Legalisir Dokumen Kependudukan?")
    ui.press("cat.archive.no")
    question = ui.page.get_by_text("Arsipkan Legalisir Dokumen Kependudukan?")
    question.wait_for(state="detached", timeout=WAIT_MS)
    assert not archived_flag(api_url, token, archived)
    ui.press("cat.archive")
    ui.press("cat.archive.yes")
    # Had Cancel archived it, this would be the API's refusal (already archived).
    ui.see("Legalisir Dokumen Kependudukan diarsipkan")
    until(lambda: archived_flag(api_url, token, archived), f"{archived} is archived")


def kept_steps(api_url: str, token: str) -> list[str]:
    """The ids of the steps in the work kept on the server."""
    work = get(api_url, token, f"/services/{SERVICE}/work")["definition"]
    return [str(s["id"]) for s in work["steps"]]


def branches(api_url: str, token: str) -> list[dict[str, str]]:
    """The decision's branches in the work kept on the server."""
    work = get(api_url, token, f"/services/{SERVICE}/work")["definition"]
    (decision,) = [s for s in work["steps"] if s["id"] == "cek_peserta"]
    return list(decision["branches"])


def archived_flag(api_url: str, token: str, service_id: str) -> bool:
    (found,) = [s for s in get(api_url, token, "/services") if s["service_id"] == service_id]
    return bool(found.get("archived"))


def published(api_url: str, token: str, service_id: str, version: int) -> dict[str, Any] | None:
    detail = get(api_url, token, f"/services/{service_id}")
    (found,) = [v for v in detail["versions"] if v["version"] == version]
    return found if found["status"] == "published" else None


def until(check: Callable[[], T | None], what: str) -> T:
    """``check``'s answer once it is true: the read models follow the designer's writes
    within moments (10 s is generous)."""
    deadline = time.monotonic() + 10
    while not (answer := check()):
        assert time.monotonic() < deadline, f"not so after 10 s: {what}"
        time.sleep(0.1)
    return answer
