"""The citizen's timeline in words (domain/citizen_timeline.py), over every payload the
recorded workflow histories appended: each known event is worded (or is the engine's
bookkeeping, left out), and no entry names a staff account or any other subject."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from domain import citizen_timeline as words
from domain import events as ev
from tests.domain.test_event_payloads import HISTORIES, appended

AT = datetime(2026, 11, 29, 3, 0, tzinfo=UTC)
GENERIC = "Permohonan diperbarui"


def recorded() -> list[dict[str, Any]]:
    return [s for h in HISTORIES for s in appended(h) if s["type"] in ev.APPLICATION_EVENTS]


def subjects(data: Any) -> set[str]:
    """Every account id a payload names (who acted, claimed, was notified)."""
    found: set[str] = set()
    if isinstance(data, dict):
        for key, value in data.items():
            if key in ("by", "subject", "citizen") and isinstance(value, str):
                found.add(value)
            found |= subjects(value)
    elif isinstance(data, list):
        for item in data:
            found |= subjects(item)
    return found


def test_every_recorded_event_is_worded_without_naming_anyone() -> None:
    specs = recorded()
    worded: set[str] = set()
    for spec in specs:
        entry = words.entry(spec["type"], spec["data"], AT, {})
        if entry is None:
            assert spec["type"] in words.HIDDEN
            continue
        worded.add(spec["type"])
        assert entry.text != GENERIC, spec["type"]
        shown = entry.model_dump_json()
        named = [s for s in subjects(spec["data"]) if s in shown]
        assert named == [], f"{spec['type']} names {named}"
    assert len(worded) >= 18, sorted(worded)


def test_step_names_come_from_the_definition() -> None:
    data = {"task_id": "X.check.1", "step": "check", "by": "budi@banyuwangikab.go.id"}
    entry = words.entry(ev.TASK_CLAIMED, data, AT, {"check": "Pemeriksaan lokasi"})
    assert entry is not None
    assert (entry.actor, entry.step_name) == ("Petugas", "Pemeriksaan lokasi")
    assert entry.text == "Pemeriksaan lokasi: petugas mulai memeriksa berkas Anda"
    assert "budi" not in entry.model_dump_json()


@pytest.mark.parametrize(
    ("role", "who"),
    [("citizen", "Anda"), ("officer", "Petugas"), ("cashier", "Kasir"), ("payment_provider",
     "Penyedia pembayaran"), ("somebody_new", "Petugas")],
)  # fmt: skip
def test_roles_are_named_by_their_part(role: str, who: str) -> None:
    assert words.role_text(role) == who


def test_the_bookkeeping_is_left_out_and_an_unknown_type_is_said_plainly() -> None:
    decision = {"step": "cek", "branch": 0, "condition": "x > 1", "target": "a", "errors": []}
    assert words.entry(ev.DECISION_TAKEN, decision, AT, {}) is None
    newer = words.entry("SomethingNewer", {"step": "s", "by": "rina@bwi.go.id"}, AT, {})
    assert newer is not None
    assert (newer.actor, newer.text) == ("Sistem", GENERIC)
    assert "rina" not in newer.model_dump_json()


def test_an_incident_says_it_is_held_up_without_the_engines_error() -> None:
    data = {"step": "issue", "error": "ActivityError: sqlite3.OperationalError at /var/lincah"}
    entry = words.entry(ev.INCIDENT_RAISED, data, AT, {})
    assert entry is not None and "sqlite3" not in entry.model_dump_json()


def test_a_submission_says_where_and_who_filed_it() -> None:
    base = {
        "application_id": "BWI-2026-000001",
        "service": {"id": "domisili", "version": 1, "name": "Surat Keterangan Domisili"},
        "agency": {"code": "BWI", "name": "DPMPTSP Banyuwangi"},
        "citizen": "siti@example.id",
    }
    own = words.entry(ev.APPLICATION_SUBMITTED, base, AT, {})
    walk_in = {**base, "channel": "counter", "filed_by": "s-budi"}
    filed = words.entry(ev.APPLICATION_SUBMITTED, walk_in, AT, {})
    assert own is not None and filed is not None
    assert (own.actor, own.text) == ("Anda", "Permohonan Surat Keterangan Domisili diajukan")
    assert (filed.actor, filed.text) == (
        "Petugas",
        "Permohonan Surat Keterangan Domisili diajukan di loket MPP atas nama Anda",
    )
    assert "s-budi" not in filed.model_dump_json()
