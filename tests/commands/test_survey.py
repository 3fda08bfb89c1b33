"""The survey command on a real SQLite event store, its read model through the real
projector (rebuilt with identical rows), and the IKM report read from it. Application
streams are written as the workflow writes them: one event per append, ids
``event_id(stream, i)``."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from commands import survey
from domain import events as ev
from domain import ikm_report
from domain.refusals import Conflict, NotFound
from eventstore.port import NewEvent
from eventstore.sqlite import SqliteEventStore
from projections.projector import Projector
from projections.readmodels import ReadModels

SITI = "siti@example.id"


@pytest.fixture
def store(tmp_path: Path) -> SqliteEventStore:
    return SqliteEventStore(tmp_path / "events.db")


def _append(store: SqliteEventStore, app_id: str, event: ev.Event) -> None:
    stream = ev.application_stream(app_id)
    index = store.stream_version(stream) + 1
    store.append(stream, [NewEvent(ev.event_id(stream, index), event.TYPE, event.payload())])


def application(store: SqliteEventStore, app_id: str, citizen: str, result: str | None) -> None:
    _append(
        store,
        app_id,
        ev.ApplicationSubmitted(
            application_id=app_id,
            service=ev.ServiceRef(id="domisili", version=1, name="Surat Keterangan Domisili"),
            agency=ev.AgencyRef(code="BWI", name="DPMPTSP Banyuwangi"),
            citizen=citizen,
            data={"full_name": "Siti Aminah"},
        ),
    )
    if result is not None:
        _append(store, app_id, ev.ApplicationCompleted(step="end", result=result))


def answers(value: int = 3, suggestion: str = "") -> survey.Answers:
    values = {f"u{i}": value for i in range(1, 10)}
    return survey.Answers.model_validate({**values, "suggestion": suggestion})


def region_of(agency: str) -> str | None:
    return {"BWI": "35.10"}.get(agency)


def test_one_answer_per_application_by_its_citizen_once_ended(store: SqliteEventStore) -> None:
    application(store, "BWI-2026-000001", SITI, "approved")
    application(store, "BWI-2026-000002", SITI, None)
    position = survey.answer(store, "BWI-2026-000001", SITI, answers(), region_of)
    [stored] = store.read_stream(ev.survey_stream("BWI-2026-000001"))
    assert stored.position == position and stored.type == ev.SURVEY_ANSWERED
    assert SITI not in str(stored.data)  # the answer names no one
    assert stored.data["region"] == "35.10"

    with pytest.raises(Conflict, match="already been answered"):
        survey.answer(store, "BWI-2026-000001", SITI, answers(4), region_of)
    with pytest.raises(Conflict, match="opens once it has ended"):
        survey.answer(store, "BWI-2026-000002", SITI, answers(), region_of)
    # Another citizen's application answers as an unknown one, word for word.
    with pytest.raises(NotFound) as theirs:
        survey.answer(store, "BWI-2026-000001", "agus@example.id", answers(), region_of)
    with pytest.raises(NotFound) as unknown:
        survey.answer(store, "BWI-2026-999999", "agus@example.id", answers(), region_of)
    assert theirs.value.message.replace("000001", "999999") == unknown.value.message
    assert len(store.read_stream(ev.survey_stream("BWI-2026-000001"))) == 1


def test_a_retry_with_the_same_event_id_answers_the_first_position(
    store: SqliteEventStore,
) -> None:
    application(store, "BWI-2026-000001", SITI, "rejected")
    key = uuid.uuid4()
    first = survey.answer(store, "BWI-2026-000001", SITI, answers(), region_of, key)
    again = survey.answer(store, "BWI-2026-000001", SITI, answers(), region_of, key)
    assert first == again


def test_the_read_model_reports_and_rebuilds_identically(
    store: SqliteEventStore, tmp_path: Path
) -> None:
    application(store, "BWI-2026-000001", SITI, "approved")
    application(store, "BWI-2026-000002", "agus@example.id", "rejected")
    application(store, "BWI-2026-000003", SITI, None)
    survey.answer(store, "BWI-2026-000001", SITI, answers(4, "Antrean lebih cepat"), region_of)
    models = ReadModels(tmp_path / "views.db")
    projector = Projector(store, models)
    projector.catch_up()

    offered = models.ended_applications(SITI)
    assert [(o["application_id"], o["answered"]) for o in offered] == [("BWI-2026-000001", True)]
    day = next(iter(models.survey_responses(None, None, "2000-01-01", "2999-01-01")))
    assert "application_id" not in day and SITI not in str(day)
    year = day["year"]
    start, end = f"{year}-01-01", f"{int(year) + 1}-01-01"
    rows = models.survey_responses(frozenset({"BWI"}), None, start, end)
    population = models.ended_count(frozenset({"BWI"}), None, start, end)
    report = ikm_report.build(
        rows, population, period=year, agency="BWI", service=None, with_suggestions=True
    )
    assert (report["respondents"], report["population"], report["minimum_sample"]) == (1, 2, 2)
    assert report["ikm"] == 100.0 and report["grade"] == "A"
    assert report["sample_reached"] is False
    assert report["suggestions"] == ["Antrean lebih cepat"]
    assert models.survey_responses(frozenset({"JMB"}), None, start, end) == []

    before = models.dump()
    projector.rebuild()
    assert models.dump() == before
    assert before["survey_responses"] and before["ended_applications"]
