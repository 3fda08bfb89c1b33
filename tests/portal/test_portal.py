"""The portal itself, against a stub API (httpx.MockTransport): the session cookie's
flags, CSRF refusals, the language choice, Indonesian formatting, and the rule that
templates hold no text outside the message catalogues."""

from __future__ import annotations

import json
import re
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from fastapi.testclient import TestClient

from config.settings import Settings
from domain import wording
from domain.definition import FormField
from domain.validation import validate_fields
from portal import i18n
from portal.app import create_app
from portal.sessions import COOKIE
from portal.words import (
    ANONYMITY,
    COMPLAINT_STATUS_WORDS,
    COMPLAINT_SUBJECTS,
    PROFILE_FIELDS,
    PROVENANCE_WORDS,
    SCORES,
    STATUS_WORDS,
    UNSUR,
)

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "portal" / "templates"
SERVICE = {"service_id": "domisili", "name": "Surat Keterangan Domisili", "description": "-"}
CATALOGUE = [{"agency_code": "BWI", "agency_name": "DPMPTSP Banyuwangi", "services": [SERVICE]}]

FORM = {"service_id": "domisili", "version": 1, "name": "Surat Keterangan Domisili", "fields": [
    {"id": "nik", "label": "NIK", "type": "nik", "required": True, "choices": [], "help": "",
     "value": "3510154808900003", "provenance": "verified-counter"},
    {"id": "kk_scan", "label": "Scan KK", "type": "file", "required": True, "choices": [],
     "help": "", "kinds": ["kk"], "offers": [
         {"document_id": "doc-1", "kind": "kk", "kind_name": "Kartu Keluarga",
          "filename": "kk.pdf"}]}]}  # fmt: skip

APPLICATION = {
    "application_id": "BWI-2026-000001", "service_id": "domisili",
    "service_name": "Surat Keterangan Domisili", "agency_name": "DPMPTSP", "status": "in_review",
    "status_text": "Sedang diproses", "submitted_at": "2026-08-03T01:00:00+00:00",
    "timeline": [{"at": "2026-08-03T01:00:00+00:00", "type": "ApplicationSubmitted",
                  "actor": "Anda", "text": "Permohonan Surat Keterangan Domisili diajukan"},
                 {"at": "2026-08-03T02:00:00+00:00", "type": "TaskCompleted",
                  "actor": "Petugas", "text": "Verifikasi: disetujui", "note": "Sesuai KK"}],
    "payments": [], "attachments": [],
    "documents": [{"number": "BWI/SKD/2026/000001", "title": "Surat Keterangan Domisili",
                   "issued_at": "2026-08-03T02:00:00+00:00",
                   "verify_url": "https://api.test/documents/BWI/SKD/2026/000001/verify",
                   "download_url": "https://api.test/documents/BWI/SKD/2026/000001"}],
    "waiting_for_you": [{"step": "check_originals", "kind": "visit", "purpose": "Cek berkas asli",
                         "locations": ["mpp-bwi"], "due_at": "2026-08-20"}],
}  # fmt: skip
"""What ``GET /me/applications/{id}`` answers (projections.riwayat.Detail), in part."""
SLOTS = [
    {"id": "slot-full", "location_id": "mpp-bwi", "start": "2026-08-10T01:00:00+00:00",
     "time_zone": "WITA", "remaining": 0},
    {"id": "slot-free", "location_id": "mpp-bwi", "start": "2026-08-10T01:30:00+00:00",
     "time_zone": "WITA", "remaining": 2},
]  # fmt: skip


class StubApi:
    """What the portal's tests need of the API; every request is kept."""

    def __init__(self, role: str = "citizen") -> None:
        self.requests: list[httpx.Request] = []
        self.role = role
        self.application = APPLICATION
        self.refusal: dict | None = None  # what POST /applications answers with a 422

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        match request.method, request.url.path:
            case "GET", "/public/services":
                return httpx.Response(200, json=CATALOGUE)
            case "POST", "/auth/login":
                return httpx.Response(200, json={"access_token": "a", "refresh_token": "r",
                                                 "expires_in": 600})  # fmt: skip
            case "GET", "/auth/me":
                return httpx.Response(200, json={"full_name": "Siti Aminah", "role": self.role})
            case "GET", "/applications":
                return httpx.Response(200, json=[])
            case "GET", "/services/domisili/form":
                return httpx.Response(200, json=FORM)
            case "POST", "/applications" if self.refusal:
                return httpx.Response(422, json=self.refusal)
            case "POST", "/applications":
                return httpx.Response(
                    201,
                    json={
                        "application_id": "BWI-2026-000001",
                        "status": "submitted",
                        "position": 42,
                    },
                )
            case "GET", "/me/applications/BWI-2026-000001":
                return httpx.Response(200, json=self.application)
            case "GET", "/public/locations/mpp-bwi/slots":
                return httpx.Response(200, json=SLOTS)
            case "POST", "/me/appointments":
                return httpx.Response(201, json={"appointment_id": "apt-1"})
            case "POST", "/me/appointments/apt-1/confirm":
                return httpx.Response(200, json={"appointment_id": "apt-1"})
            case "GET", "/me/appointments":
                return httpx.Response(200, json=[{
                    "appointment_id": "apt-1", "application_id": "BWI-2026-000001",
                    "location_id": "mpp-bwi", "start": SLOTS[1]["start"], "time_zone": "WITA",
                    "qr_ticket": "token", "hold_until": None}])  # fmt: skip
            case "GET", "/documents/BWI/2026/0001":
                return httpx.Response(200, content=b"%PDF-1.7", headers={
                    "content-type": "application/pdf",
                    "content-disposition": 'attachment; filename="BWI-2026-0001.pdf"'})  # fmt: skip
        return httpx.Response(404, json={"detail": f"no stub for {request.url.path}"})


def client(environment: str = "development", role: str = "citizen") -> tuple[TestClient, StubApi]:
    api = StubApi(role)
    # model_copy: the portal needs none of the secrets production requires of the API.
    settings = Settings().model_copy(update={"environment": environment})
    app = create_app(settings, httpx.MockTransport(api))
    return TestClient(app, base_url="http://portal.test"), api


def csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, html
    return found.group(1)


def test_the_session_cookie_is_httponly_and_samesite_lax_and_secure_only_in_production():
    c, _ = client()
    cookie = c.get("/login").headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}=")
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" not in cookie
    prod, _ = client("production")
    assert "Secure" in prod.get("/login").headers["set-cookie"]


def test_a_form_without_the_sessions_csrf_token_is_refused_and_never_reaches_the_api():
    c, api = client()
    token = csrf(c.get("/login").text)
    for sent in ({}, {"csrf_token": "forged"}):
        r = c.post("/login", data={"login": "siti@example.id", "password": "x", **sent})
        assert r.status_code == 403 and "kedaluwarsa" in r.text
    # Another browser (no session cookie) with a real token is refused too.
    other, _ = client()
    other.get("/login")
    other.cookies.clear()
    assert other.post("/login", data={"csrf_token": token, "login": "a", "password": "b"}
                      ).status_code == 403  # fmt: skip
    assert not [r for r in api.requests if r.url.path == "/auth/login"]


def test_login_with_the_token_signs_in_under_a_new_session_id():
    c, api = client()
    token = csrf(c.get("/login").text)
    before = c.cookies[COOKIE]
    r = c.post("/login", data={"csrf_token": token, "login": "siti@example.id", "password": "p",
                               "next": "/applications"}, follow_redirects=False)  # fmt: skip
    assert r.status_code == 303 and r.headers["location"] == "/applications"
    assert c.cookies[COOKIE] != before  # a planted session id is worth nothing after
    page = c.get("/applications")
    assert "Permohonan saya" in page.text and "Keluar" in page.text
    # The tokens stay on the server: the browser never sees them.
    assert "access_token" not in page.text and '"a"' not in str(c.cookies)
    assert api.requests[-1].headers["authorization"] == "Bearer a"


def test_staff_are_sent_to_the_designer_and_stay_signed_out():
    c, _ = client(role="officer")
    token = csrf(c.get("/login").text)
    r = c.post("/login", data={"csrf_token": token, "login": "budi@bwi.go.id", "password": "p"})
    assert r.status_code == 403 and "Portal ini untuk warga" in r.text
    assert c.get("/applications", follow_redirects=False).status_code == 303


def test_pages_need_a_login_and_send_there_with_the_way_back():
    c, _ = client()
    r = c.get("/applications", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login?next=/applications"


def test_bahasa_indonesia_by_default_english_by_choice():
    c, _ = client()
    page = c.get("/")
    assert '<html lang="id">' in page.text and "Layanan per instansi" in page.text
    r = c.get("/lang/en?next=/", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/"
    assert "lang=en" in r.headers["set-cookie"]
    page = c.get("/")
    assert '<html lang="en">' in page.text and "Services by agency" in page.text
    # Elsewhere than this portal: refused, back to the start.
    assert c.get("/lang/id?next=//evil.example", follow_redirects=False
                 ).headers["location"] == "/"  # fmt: skip


def test_dates_times_and_rupiah_the_indonesian_way_in_the_agencys_zone():
    at = datetime(2026, 8, 8, 7, 5, tzinfo=UTC)
    assert i18n.when(at, "WIB") == "8 Agu 2026 14.05 WIB"
    assert i18n.when(at.isoformat(), "WITA") == "8 Agu 2026 15.05 WITA"
    assert i18n.when(at, "WIT") == "8 Agu 2026 16.05 WIT"
    assert i18n.day(datetime(2026, 8, 8, 20, 0, tzinfo=UTC), "WIB") == "9 Agustus 2026"
    assert i18n.rupiah(1_500_000).replace("\xa0", " ") == "Rp 1.500.000"


def _strip_template(text: str) -> str:
    """What a template says outside the catalogues: its text nodes and the attributes a
    person reads (alt, title, aria-label, placeholder)."""
    text = re.sub(r"\{%\s*trans\b.*?\{%\s*endtrans\s*%\}", " ", text, flags=re.S)
    text = re.sub(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", " ", text, flags=re.S)
    text = re.sub(r"<(script|style)\b.*?</\1>", " ", text, flags=re.S)
    readable = re.findall(r'\b(?:alt|title|aria-label|placeholder)="([^"]*)"', text)
    nodes = re.sub(r"<[^>]*>", " ", text)
    return " ".join([nodes, *readable])


WORD = re.compile(r"[A-Za-z]{2,}")


def test_templates_hold_no_text_outside_the_catalogues():
    found = {
        p.name: WORD.findall(_strip_template(p.read_text()))
        for p in sorted(TEMPLATES.glob("*.html"))
    }
    assert {name: words for name, words in found.items() if words} == {}


def test_the_scan_finds_a_literal_string():
    assert WORD.findall(_strip_template('<p title="Halo">{{ x }} Kirim</p>')) == ["Kirim", "Halo"]
    assert WORD.findall(_strip_template("<p>{% trans %}Send{% endtrans %} {{ _('x') }}</p>")) == []


def _msgids() -> set[str]:
    extracted = {
        message
        for _, _, message, _, _ in extract_from_dir(
            str(TEMPLATES), method_map=[("**.html", "jinja2.ext:babel_extract")]
        )
    }
    named = [
        *STATUS_WORDS.values(),
        *PROVENANCE_WORDS.values(),
        *PROFILE_FIELDS.values(),
        *UNSUR.values(),
        *SCORES.values(),
        *COMPLAINT_STATUS_WORDS.values(),
        *COMPLAINT_SUBJECTS.values(),
        *ANONYMITY.values(),
    ]
    return {*(m for m in extracted if isinstance(m, str)), *named}


@pytest.mark.parametrize("language", i18n.LANGUAGES)
def test_every_message_is_in_each_catalogue_and_indonesian_translates_all(language):
    path = i18n.LOCALES / language / "LC_MESSAGES" / "portal.po"
    with path.open("rb") as f:
        po = read_po(f)
    with wording.po_path(language).open("rb") as f:
        shared = read_po(f)  # the words the designer shows too; tests/domain/wording checks it
    missing = sorted(m for m in _msgids() if m not in po and m not in shared)
    assert not missing, f"add to {path}: {missing}"
    both = sorted(m.id for m in po if m.id and m.id in shared)
    assert not both, f"remove from {path} (domain/wording/locales has them): {both}"
    if language == "id":  # the portal's own texts and those it shares with the designer
        untranslated = sorted(m.id for m in [*po, *shared] if m.id and not m.string)
        assert not untranslated, f"translate in {path}: {untranslated}"


def test_htmx_is_vendored_as_the_npm_registrys_file():
    vendored = ROOT / "portal" / "static" / "vendor" / "htmx.min.js"
    npm = ROOT / "node_modules" / "htmx.org" / "dist" / "htmx.min.js"
    if not npm.exists():
        pytest.skip("node_modules is not installed (npm ci)")
    assert vendored.read_bytes() == npm.read_bytes()
    assert [p.name for p in vendored.parent.iterdir()] == ["htmx.min.js"]


def signed_in() -> tuple[TestClient, StubApi]:
    c, api = client()
    token = csrf(c.get("/login").text)
    c.post("/login", data={"csrf_token": token, "login": "siti@example.id", "password": "p"})
    return c, api


def test_the_form_shows_prefilled_values_with_their_badge_and_posts_them_with_the_wallet_file():
    c, api = signed_in()
    page = c.get("/services/domisili/apply")
    assert 'value="3510154808900003"' in page.text
    assert "Diverifikasi di loket" in page.text and "kk.pdf" in page.text
    key = re.search(r'name="idempotency_key" value="([^"]+)"', page.text)
    assert key
    r = c.post("/services/domisili/apply", follow_redirects=False, data={
        "csrf_token": csrf(page.text), "idempotency_key": key.group(1),
        "nik": "3510154808900003", "kk_scan__wallet": "doc-1"})  # fmt: skip
    assert r.status_code == 303
    # The read after the redirect waits for the projections to include the submission.
    assert r.headers["location"] == "/applications/BWI-2026-000001?at=42"
    [sent] = [q for q in api.requests if q.url.path == "/applications" and q.method == "POST"]
    assert sent.headers["idempotency-key"] == key.group(1)
    assert json.loads(sent.content) == {"service_id": "domisili",
        "data": {"nik": "3510154808900003"}, "attachments": {"kk_scan": "doc-1"}}  # fmt: skip


def test_a_document_downloads_through_the_session_and_only_when_signed_in():
    anonymous, _ = client()
    r = anonymous.get("/documents/BWI/2026/0001", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    c, api = signed_in()
    r = c.get("/documents/BWI/2026/0001")
    assert r.status_code == 200 and r.content == b"%PDF-1.7"
    assert r.headers["content-disposition"].startswith("attachment")
    assert api.requests[-1].headers["authorization"] == "Bearer a"


def test_a_visit_is_booked_from_the_free_times_and_confirmed_for_its_qr_ticket():
    c, api = signed_in()
    page = c.get("/applications/BWI-2026-000001")
    assert "/applications/BWI-2026-000001/visit/check_originals" in page.text
    page = c.get("/applications/BWI-2026-000001/visit/check_originals")
    # Only the slot with a free place, at the location's own time (WITA).
    assert 'value="slot-free"' in page.text and "slot-full" not in page.text
    assert "10 Agu 2026 09.30 WITA" in page.text
    r = c.post("/applications/BWI-2026-000001/visit/check_originals", follow_redirects=False,
               data={"csrf_token": csrf(page.text), "slot_id": "slot-free"})  # fmt: skip
    assert r.status_code == 303 and r.headers["location"] == "/appointments"
    booked = [q for q in api.requests if q.url.path.startswith("/me/appointments")]
    assert [(q.method, q.url.path) for q in booked] == [
        ("POST", "/me/appointments"), ("POST", "/me/appointments/apt-1/confirm")]  # fmt: skip
    assert json.loads(booked[0].content) == {"application_id": "BWI-2026-000001",
        "step": "check_originals", "slot_id": "slot-free"}  # fmt: skip
    page = c.get("/appointments")
    assert "Janji temu Anda sudah dipesan" in page.text
    assert 'src="/appointments/apt-1/ticket.png"' in page.text


def test_the_application_page_shows_the_citizens_own_timeline_and_documents():
    c, api = signed_in()
    page = c.get("/applications/BWI-2026-000001?at=42")
    assert page.status_code == 200
    [read] = [q for q in api.requests if q.url.path.endswith("/BWI-2026-000001")]
    assert read.url.path == "/me/applications/BWI-2026-000001"
    assert read.url.params["min_position"] == "42"
    assert '<p class="status status-in_review">Sedang diproses</p>' in page.text
    assert "Anda: Permohonan Surat Keterangan Domisili diajukan" in page.text
    assert "Petugas: Verifikasi: disetujui · “Sesuai KK”" in page.text
    assert 'href="/documents/BWI/SKD/2026/000001" download hx-boost="false"' in page.text
    assert 'href="https://api.test/documents/BWI/SKD/2026/000001/verify"' in page.text
    # A status the portal has no words of its own for is shown as the API words it.
    api.application = {**APPLICATION, "status": "awaiting_visit",
                       "status_text": "Menunggu kedatangan Anda"}  # fmt: skip
    page = c.get("/applications/BWI-2026-000001")
    assert '<p class="status status-awaiting_visit">Menunggu kedatangan Anda</p>' in page.text


def test_a_refused_application_shows_each_problem_in_plain_words_by_the_fields_label():
    c, api = signed_in()
    # The API's answer, with the domain's own problems (paths and technical messages).
    found = validate_fields([FormField(id="nik", label="NIK", type="nik")], {"nik": "35101548"})
    api.refusal = {"detail": "the application data has problems",
                   "problems": [asdict(p) for p in found]}  # fmt: skip
    page = c.get("/services/domisili/apply")
    key = re.search(r'name="idempotency_key" value="([^"]+)"', page.text)
    assert key
    r = c.post("/services/domisili/apply", follow_redirects=False, data={
        "csrf_token": csrf(page.text), "idempotency_key": key.group(1),
        "nik": "35101548", "kk_scan__wallet": "doc-1"})  # fmt: skip
    assert r.status_code == 422
    assert "Mohon perbaiki formulir:" in r.text
    assert "<li>NIK: NIK terdiri atas tepat 16 angka: periksa dengan KTP.</li>" in r.text
    assert "must have exactly 16 digits" not in r.text and "data.nik" not in r.text
    assert 'value="35101548"' in r.text  # what the citizen typed stays in the form
    c.cookies.set(i18n.COOKIE, "en")
    r = c.post("/services/domisili/apply", follow_redirects=False, data={
        "csrf_token": csrf(page.text), "idempotency_key": key.group(1),
        "nik": "35101548", "kk_scan__wallet": "doc-1"})  # fmt: skip
    assert "<li>NIK: A NIK has exactly 16 digits: check it against the KTP.</li>" in r.text
