"""The export of a citizen's data (projections/export.py) and the riwayat it reads
(projections/riwayat.py), on a real SQLite event store and read models fed by the
projector, without Temporal: the section registry, the cut of long sections, a failing
section, and what the real sections hold (one citizen's data, no staff ids)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

from accounts.registry import Registry
from config.settings import Settings
from eventstore.sqlite import SqliteEventStore
from face.store import FaceStore
from notifications.outbox import Outbox
from notifications.subscriber import OutboxSubscriber
from projections.export import SECTIONS, ExportContext, Section, export_document
from projections.projector import Projector
from projections.readmodels import ReadModels
from projections.riwayat import Riwayat, period_bounds
from tests.projections.test_projector import DEWI, OFFICER, SITI, SUPERVISOR, populate

NOW = datetime(2026, 11, 29, 10, 0, tzinfo=UTC)


@pytest.fixture
def ctx(tmp_path: Path) -> Iterator[ExportContext]:
    settings = Settings(var_dir=tmp_path / "var", jwt_secret="test-secret-of-at-least-32-bytes")
    store = SqliteEventStore(tmp_path / "events.db")
    models = ReadModels(tmp_path / "readmodels.db")
    outbox = Outbox(tmp_path / "outbox.db")
    yield ExportContext(
        store=store,
        models=models,
        settings=settings,
        accounts=Registry(store, settings),
        faces=FaceStore.from_settings(settings),
        riwayat=Riwayat(store, models, settings),
        outbox=outbox,
        limit=3,
    )
    outbox.close()
    models.close()
    store.close()


def exported(ctx: ExportContext, citizen: str, sections: Any = SECTIONS) -> dict[str, Any]:
    doc: dict[str, Any] = orjson.loads(b"".join(export_document(ctx, citizen, sections, NOW)))
    return doc


def numbers(n: int) -> Section:
    return Section("numbers", "n numbers", lambda ctx, citizen: iter(range(n)))


def test_each_section_is_a_key_and_listed_with_its_count(ctx: ExportContext) -> None:
    sections = [
        Section("me", "who", lambda ctx, citizen: {"citizen": citizen}),
        numbers(2),
    ]
    doc = exported(ctx, SITI, sections)
    assert doc["generated_at"] == NOW.isoformat()
    assert (doc["me"], doc["numbers"]) == ({"citizen": SITI}, [0, 1])
    assert doc["sections"] == [
        {"name": "me", "description": "who", "items": None, "truncated": False},
        {"name": "numbers", "description": "n numbers", "items": 2, "truncated": False},
    ]


@pytest.mark.parametrize(
    ("n", "kept", "truncated"), [(3, 3, False), (4, 3, True), (10**9, 3, True)]
)
def test_a_long_section_is_cut_at_the_limit_and_marked(
    ctx: ExportContext, n: int, kept: int, truncated: bool
) -> None:
    doc = exported(ctx, SITI, [numbers(n)])  # a billion items: only limit + 1 are read
    assert doc["numbers"] == list(range(kept))
    assert (doc["sections"][0]["items"], doc["sections"][0]["truncated"]) == (kept, truncated)


def test_a_failing_section_is_null_and_named_and_the_rest_is_exported(
    ctx: ExportContext, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(ctx: ExportContext, citizen: str) -> list[Any]:
        raise RuntimeError(f"disk error reading {citizen}'s rows")

    doc = exported(ctx, SITI, [Section("broken", "fails", broken), numbers(1)])
    assert (doc["broken"], doc["numbers"]) == (None, [0])
    assert doc["sections"][0]["error"].startswith("could not be read")
    assert "broken" in caplog.text and "RuntimeError" in caplog.text
    assert SITI not in caplog.text  # the log names the section, never the data


def test_the_real_sections_of_a_citizen_with_nothing(ctx: ExportContext) -> None:
    doc = exported(ctx, "nobody@example.id")
    assert [s["name"] for s in doc["sections"]] == [s.name for s in SECTIONS]
    assert doc["account"] == {"account_id": "nobody@example.id"}
    assert doc["face"]["enrolled"] is False
    assert all(doc[s] == [] for s in ("applications", "complaints", "notifications", "documents"))


def test_the_real_sections_hold_one_citizens_applications_and_no_staff_id(
    ctx: ExportContext,
) -> None:
    populate(ctx.store)  # type: ignore[arg-type]
    Projector(ctx.store, ctx.models).catch_up()
    OutboxSubscriber(ctx.store, ctx.outbox, ctx.settings).run_once()
    text = b"".join(export_document(ctx, SITI, now=NOW)).decode()
    doc = orjson.loads(text)
    assert [a["application_id"] for a in doc["applications"]] == [
        "BWI-2026-000004",
        "BWI-2026-000001",
    ]
    assert DEWI not in text and "Dewi" not in text
    assert OFFICER["subject"] not in text and SUPERVISOR["subject"] not in text
    approved = doc["applications"][1]
    said = [(e["actor"], e["text"], e["note"]) for e in approved["timeline"]]
    assert said[0] == ("Anda", "Permohonan Surat Keterangan Domisili diajukan", None)
    assert ("Petugas", "Verifikasi domisili: disetujui", "Alamat sesuai KK") in said
    assert approved["status_text"] == "Disetujui"
    told = {n["application_id"] for n in doc["notifications"]}
    assert told == {"BWI-2026-000001", "BWI-2026-000004"}, doc["notifications"]


def test_a_cut_section_reads_one_item_past_the_limit_and_no_more(ctx: ExportContext) -> None:
    pulled: list[int] = []

    def lazily(ctx: ExportContext, citizen: str) -> Iterator[int]:
        for i in range(100):
            pulled.append(i)  # the applications section words each timeline here
            yield i

    doc = exported(ctx, SITI, [Section("lazy", "a generator", lazily)])
    assert doc["lazy"] == [0, 1, 2]
    assert pulled == [0, 1, 2, 3]


def test_the_riwayat_filters_by_status_service_and_period(ctx: ExportContext) -> None:
    populate(ctx.store)  # type: ignore[arg-type]
    Projector(ctx.store, ctx.models).catch_up()
    r = ctx.riwayat

    def ids(**filters: Any) -> list[str]:
        return [a.application_id for a in r.summaries(SITI, **filters)[0]]

    assert ids() == ["BWI-2026-000004", "BWI-2026-000001"]
    assert ids(status="approved") == ["BWI-2026-000001"]
    assert ids(service_id="izin-praktik-nakes") == ["BWI-2026-000004"]
    assert ids(start=date(2000, 1, 1), end=date(2099, 12, 31)) == ids()
    assert ids(start=date(2099, 12, 31)) == []
    assert ids(end=date(2000, 1, 1)) == []
    assert r.summaries(SITI, limit=1, offset=1)[0][0].application_id == "BWI-2026-000001"
    assert r.summaries(SITI, limit=1)[1] == 2
    assert r.of(DEWI, "BWI-2026-000001") is None  # Siti's, not Dewi's
    assert r.of(SITI, "BWI-2026-000001") is not None


def test_period_bounds_are_wib_days_as_utc_instants() -> None:
    since, before = period_bounds(date(2026, 11, 1), date(2026, 11, 30))
    assert (since, before) == ("2026-10-31T17:00:00+00:00", "2026-11-30T17:00:00+00:00")
    assert period_bounds(None, None) == (None, None)
