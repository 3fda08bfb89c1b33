"""The words: every kind in both languages, short texts that fit one SMS, no personal
data beyond what the message needs; and the settings that guard the provider's secret."""

from __future__ import annotations

import re

import pytest

from config.settings import Settings, UnsafeSettings, production_problems
from notifications.kinds import Notice
from notifications.templates import SMS_CHARS, TEMPLATES, render

VALUES = {
    "ref": "BWI-2026-000123",
    "service": "Surat Keterangan Domisili",
    "agency": "DPMPTSP Kabupaten Banyuwangi",
    "text": "Foto KTP tidak terbaca, unggah ulang",
    "fields": "ktp, kk",
    "due": "2026-12-03",
    "amount": "150000",
    "code": "PAY-7F3K-22",
    "title": "Surat Keterangan Domisili",
    "number": "BWI/SKD/2026/000123",
    "url": "https://mpp.banyuwangikab.go.id/documents/BWI%2FSKD%2F2026%2F000123/verify",
    "when": "2026-01-05 09:00 WITA",
}


def _notice(kind: str, **values: str) -> Notice:
    return Notice(kind, "c-1", "BWI", "BWI-2026-000123", "BWI-2026-000123", {**VALUES, **values})


@pytest.mark.parametrize("kind", sorted(TEMPLATES))
@pytest.mark.parametrize("language", ["id", "en"])
def test_every_kind_renders_in_both_languages(kind: str, language: str) -> None:
    text = render(_notice(kind), language)  # type: ignore[arg-type]
    assert "BWI-2026-000123" in text.subject + text.body
    assert len(text.short) <= SMS_CHARS, text.short
    assert not re.search(r"\{\w+\}", text.body + text.short + text.subject)
    assert text.body in text.email


def test_a_long_free_text_is_cut_in_the_short_form_only() -> None:
    long = "Dokumen pendukung " * 30
    text = render(_notice("correction", text=long), "id")
    assert long in text.body
    assert len(text.short) <= SMS_CHARS and text.short.endswith("…")


def test_amounts_in_each_language() -> None:
    assert "Rp 150.000" in render(_notice("payment_due"), "id").body
    assert "Rp 150,000" in render(_notice("payment_due"), "en").body


def test_the_provider_secret_must_be_strong_in_production(tmp_path) -> None:
    base = Settings(var_dir=tmp_path / "var", notify_webhook_url="http://sms.example.id/send")
    problems = production_problems(base)
    assert any(p.startswith("notify_webhook_secret") for p in problems)
    assert any(p.startswith("notify_webhook_url") and "https" in p for p in problems)
    unused = Settings(var_dir=tmp_path / "var")
    assert not [p for p in production_problems(unused) if p.startswith("notify_")]
    with pytest.raises(UnsafeSettings, match="notify_webhook_secret"):
        Settings(environment="production", notify_webhook_url="https://sms.example.id/send")


def test_development_generates_the_provider_secret(tmp_path) -> None:
    s = Settings(var_dir=tmp_path / "var")
    assert len(s.notify_secret()) >= 32 and s.notify_secret() == s.notify_secret()
    assert (tmp_path / "var" / "notify-webhook-secret").stat().st_mode & 0o077 == 0
