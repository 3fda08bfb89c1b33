"""Typed events store what the dicts stored: every payload recorded in tests/histories/
and every event of a seeded store round-trips through its model byte for byte
(tests/payloads.py). The stores of the workflow tests are checked the same way when
each test ends (tests/workflows/conftest.py)."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from commands import catalogue, numbering
from domain import complaints
from domain import events as ev
from eventstore.sqlite import SqliteEventStore
from lincah.demo import DOMISILI, IZIN_PRAKTIK
from tests.payloads import mismatch, store_mismatches

HISTORIES = sorted((Path(__file__).resolve().parents[1] / "histories").glob("*.json"))


def appended(history: Path) -> list[dict[str, Any]]:
    """The event specs of every append the workflow scheduled in a recorded history."""
    specs = []
    for event in json.loads(history.read_text())["events"]:
        attrs = event.get("activityTaskScheduledEventAttributes")
        if attrs and attrs["activityType"]["name"] in ("append_events", "notify_citizen"):
            for payload in attrs["input"]["payloads"]:
                specs.extend(json.loads(base64.b64decode(payload["data"]))["events"])
    return specs


@pytest.mark.parametrize("history", HISTORIES, ids=[p.stem for p in HISTORIES])
def test_recorded_payloads_round_trip_through_their_models(history: Path):
    specs = appended(history)
    assert specs, "a history without appends proves nothing"
    assert [why for s in specs if (why := mismatch(s["type"], s["data"]))] == []


def test_a_seeded_catalogue_round_trips(tmp_path: Path):
    db = tmp_path / "events.db"
    store = SqliteEventStore(db)
    try:
        for raw in (DOMISILI, IZIN_PRAKTIK):
            draft = catalogue.save_draft(store, dict(raw), "admin", "BWI")
            catalogue.publish(store, draft.service_id, draft.version, "admin", "BWI")
            catalogue.save_draft(store, dict(raw), "admin", "BWI")  # a second draft
        catalogue.archive(store, "surat-keterangan-domisili", "admin", "BWI")
        # The designer's work in progress: kept with its problems, then discarded.
        half = {**dict(IZIN_PRAKTIK), "steps": []}
        catalogue.save_work(store, "izin-praktik-nakes", half, "admin", "BWI")
        catalogue.discard_work(store, "izin-praktik-nakes", "admin", "BWI")
        numbering.reserve_number(store, "BWI", "izin-praktik", key_digest="k" * 64)
        numbering.reserve_number(store, "BWI", "izin-praktik")
        types = {e.type for e in store.read_all()}
    finally:
        store.close()
    assert types == set(ev.CATALOGUE_EVENTS) - {ev.AGENCY_CALENDAR_SET, ev.AGENCY_MAKLUMAT_SET}
    assert store_mismatches(db) == []


def test_agency_payloads_round_trip():
    calendar = {"weekend": [5, 6], "holidays": ["2026-12-25"], "utc_offset_hours": 7}
    maklumat = {"text": "Kami siap", "signed_by": "Bupati", "position_title": "", "place": "BWI"}
    assert mismatch(ev.AGENCY_CALENDAR_SET, {"calendar": calendar, "by": "admin"}) == ""
    assert mismatch(ev.AGENCY_MAKLUMAT_SET, {"maklumat": maklumat, "by": "admin"}) == ""


def test_the_histories_cover_most_event_types():
    seen = {s["type"] for h in HISTORIES for s in appended(h)}
    assert len(seen) >= 20, sorted(seen)
    assert seen <= set(ev.APPLICATION_EVENTS) | set(complaints.EVENTS)


def test_a_key_the_model_does_not_know_is_caught():
    stored = {"step": "pay", "surprise": 1}
    assert "surprise" in mismatch(ev.PAYMENT_WAIVED, stored)


def test_optional_keys_stay_absent_and_given_nones_stay():
    service = ev.SlaBreached(scope="service", step=None, due_at="2026-12-01T00:00:00+07:00")
    assert "task_id" not in service.payload()
    step = ev.SlaBreached(scope="step", step="pay", due_at="2026-12-01", task_id=None)
    assert step.payload() == {
        "scope": "step",
        "step": "pay",
        "due_at": "2026-12-01",
        "task_id": None,
    }


def test_events_are_frozen_and_refuse_missing_keys_without_echoing_data():
    event = ev.PaymentWaived(step="pay")
    with pytest.raises(ValidationError):
        event.step = "other"  # type: ignore[misc]
    with pytest.raises(ValidationError) as info:
        ev.parse(ev.CORRECTION_SUBMITTED, {"data": {"nik": "3510154808900003"}})
    assert "3510154808900003" not in str(info.value)


def test_an_unknown_type_has_no_model():
    assert ev.parse("SomethingNewer", {"step": "x"}) is None
