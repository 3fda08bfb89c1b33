"""The projector and the read models, on a real SQLite event store and read-model file.

The event streams are built exactly as the writers build them: application streams as
``ApplicationWorkflow`` appends them (one event per append, ids ``event_id(stream, i)``,
the same data shapes), service streams as ``commands.catalogue`` appends drafts and
publications, number streams as ``reserve_number`` does. No Temporal is involved.
"""

from __future__ import annotations

import copy
import dataclasses
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from domain import events as ev
from domain import interpreter
from domain.definition import (
    DecisionStep,
    EndStep,
    FormStep,
    NotifyStep,
    ReviewStep,
    ServiceDefinition,
)
from eventstore.port import NewEvent
from eventstore.sqlite import SqliteEventStore
from lincah.demo import DOMISILI, IZIN_PRAKTIK
from projections import projector as projector_module
from projections.form_data import read_form_data
from projections.projector import Projector
from projections.readmodels import ReadModels

# -- people and data ---------------------------------------------------------------

ADMIN = "admin@banyuwangikab.go.id"
OFFICER = {"subject": "budi@banyuwangikab.go.id", "role": "officer"}
SUPERVISOR = {"subject": "kadinkes@banyuwangikab.go.id", "role": "supervisor"}
SBY_OFFICER = {"subject": "rina@surabaya.go.id", "role": "officer"}

SITI = "siti@example.id"
DEWI = "dewi@example.id"
RAHMAT = "rahmat@example.id"

SITI_DATA = {
    "nik": "3510154808900003",
    "full_name": "Siti Aminah",
    "address": "Jl. Ahmad Yani No. 12, RT 02/RW 05",
    "kelurahan": "Penganjuran",
    "purpose": "Pembukaan rekening bank",
}
DEWI_DATA = {**SITI_DATA, "nik": "3510156104920002", "full_name": "Dewi Lestari"}
NAKES_NEW = {
    "nik": "3510151203850001",
    "full_name": "dr. Rahmat Hidayat",
    "profession": "dokter",
    "str_number": "STR-3510-2026-0042",
    "str_document": "upload:str.pdf",
    "practice_address": "Jl. Brawijaya 5",
    "years_experience": 1,
}
NAKES_SENIOR = {**NAKES_NEW, "full_name": "Siti Aminah, A.Md.Keb.", "profession": "bidan"}
NAKES_SENIOR["years_experience"] = 7

# The same kind of service, run by another agency.
DOMISILI_SBY: dict[str, Any] = {
    **copy.deepcopy(DOMISILI),
    "id": "domisili-surabaya",
    "name": "Surat Keterangan Domisili Surabaya",
    "agency": {"code": "SBY", "name": "Kota Surabaya"},
}

DOMISILI_MSG = (
    "Surat Keterangan Domisili for Siti Aminah has been issued; collect it "
    "at MPP Banyuwangi or download it from the app."
)


# -- builders ----------------------------------------------------------------------


@dataclass
class Stream:
    """The events one writer appends to one stream, and how many are in the store yet."""

    name: str
    events: list[NewEvent]
    written: int = 0


Review = tuple[str, dict[str, str], str]
"""(outcome, actor, comment) of one human task, in the order the flow meets them."""


def application(
    service: dict[str, Any],
    number: str,
    citizen: str,
    data: dict[str, Any],
    reviews: list[Review],
    version: int = 1,
) -> Stream:
    """The events ``ApplicationWorkflow`` appends for this application. The flow stops
    with a task left open when it meets a review step and ``reviews`` is used up."""
    d = ServiceDefinition.model_validate({**service, "version": version})
    stream = ev.application_stream(number)
    out: list[NewEvent] = []

    def add(event_type: str, payload: dict[str, Any]) -> None:
        out.append(
            NewEvent(ev.event_id(stream, len(out)), event_type, payload, {"workflow_id": number})
        )

    add(
        ev.APPLICATION_SUBMITTED,
        {
            "application_id": number,
            "service": {"id": d.id, "version": d.version, "name": d.name},
            "agency": {"code": d.agency.code, "name": d.agency.name},
            "citizen": citizen,
            "data": data,
            "start_step": d.start_step,
        },
    )
    pending = list(reviews)
    outcomes: dict[str, str] = {}
    visits: dict[str, int] = {}
    step_id = d.start_step
    while True:
        step = d.step(step_id)
        visits[step_id] = visits.get(step_id, 0) + 1
        match step:
            case EndStep():
                add(ev.APPLICATION_COMPLETED, {"step": step.id, "result": step.result})
                return Stream(stream, out)
            case FormStep():
                step_id = step.next
            case NotifyStep():
                add(
                    ev.CITIZEN_NOTIFIED,
                    {
                        "step": step.id,
                        "channel": "inbox",
                        "citizen": citizen,
                        "message": interpreter.render_message(step.message, data),
                    },
                )
                step_id = step.next
            case DecisionStep():
                choice = interpreter.decide(step, interpreter.environment(d, data, outcomes))
                add(
                    ev.DECISION_TAKEN,
                    {
                        "step": step.id,
                        "step_name": step.name,
                        "branch": choice.branch,
                        "condition": choice.condition,
                        "target": choice.target,
                        "errors": list(choice.errors),
                    },
                )
                step_id = choice.target
            case ReviewStep():
                task_id = f"{number}.{step.id}.{visits[step_id]}"
                add(
                    ev.TASK_ASSIGNED,
                    {
                        "task_id": task_id,
                        "step": step.id,
                        "step_name": step.name,
                        "role": step.role,
                        "agency": d.agency.code,
                        "outcomes": list(step.outcomes),
                        "instructions": step.instructions,
                    },
                )
                if not pending:
                    return Stream(stream, out)
                outcome, actor, comment = pending.pop(0)
                add(
                    ev.TASK_COMPLETED,
                    {
                        "task_id": task_id,
                        "step": step.id,
                        "step_name": step.name,
                        "outcome": outcome,
                        "comment": comment,
                        "actor": {"subject": actor["subject"], "role": actor["role"]},
                    },
                )
                outcomes[step.id] = outcome
                step_id = step.outcomes[outcome]


def service(
    definition: dict[str, Any], *history: tuple[str, int], changes: dict[int, dict] | None = None
) -> Stream:
    """A service stream as ``commands.catalogue.save_draft`` / ``publish`` write it; history
    items are ("draft", version) or ("publish", version)."""
    stream = ev.service_stream(definition["id"])
    out: list[NewEvent] = []
    for action, version in history:
        if action == "draft":
            raw = {**definition, **(changes or {}).get(version, {}), "version": version}
            payload: dict[str, Any] = {
                "definition": ServiceDefinition.model_validate(raw).model_dump(mode="json"),
                "by": ADMIN,
            }
            out.append(NewEvent(ev.event_id(stream, len(out)), ev.SERVICE_DRAFT_SAVED, payload))
        else:
            payload = {"version": version, "by": ADMIN}
            out.append(
                NewEvent(ev.event_id(stream, len(out)), ev.SERVICE_VERSION_PUBLISHED, payload)
            )
    return Stream(stream, out)


def numbers(agency: str, *reserved: tuple[str, str]) -> Stream:
    """``appno-<AGENCY>-2026``: (application number, service id) reservations."""
    stream = ev.number_stream(agency, 2026)
    out = [
        NewEvent(
            ev.event_id(stream, i),
            ev.APPLICATION_NUMBER_RESERVED,
            {"application_id": number, "service_id": service_id},
        )
        for i, (number, service_id) in enumerate(reserved)
    ]
    return Stream(stream, out)


def write(store: SqliteEventStore, stream: Stream, n: int | None = None) -> None:
    """Append the next ``n`` (default: all) unwritten events, one append each, with the
    expected version the workflow uses."""
    stop = len(stream.events) if n is None else min(stream.written + n, len(stream.events))
    for i in range(stream.written, stop):
        store.append(stream.name, [stream.events[i]], expected_version=i - 1)
    stream.written = stop


def interleave(store: SqliteEventStore, *streams: Stream) -> None:
    """Concurrent writers: one event of each stream in turn until all are written."""
    while any(s.written < len(s.events) for s in streams):
        for s in streams:
            write(store, s, 1)


def populate(store: SqliteEventStore) -> dict[str, Stream]:
    """Two agencies, three services, five applications in every stage, interleaved."""
    services = {
        "domisili": service(DOMISILI, ("draft", 1), ("publish", 1)),
        "izin": service(IZIN_PRAKTIK, ("draft", 1), ("publish", 1)),
        "sby": service(DOMISILI_SBY, ("draft", 1), ("publish", 1)),
    }
    for s in services.values():
        write(store, s)
    apps = {
        # approved
        "A1": application(
            DOMISILI, "BWI-2026-000001", SITI, SITI_DATA, [("approve", OFFICER, "Alamat sesuai KK")]
        ),
        # new practitioner: site visit, approved
        "A2": application(
            IZIN_PRAKTIK,
            "BWI-2026-000002",
            RAHMAT,
            NAKES_NEW,
            [("approve", OFFICER, ""), ("approve", OFFICER, ""), ("approve", SUPERVISOR, "")],
        ),
        # rejected
        "A3": application(
            DOMISILI, "BWI-2026-000003", DEWI, DEWI_DATA, [("reject", OFFICER, "Alamat tidak ada")]
        ),
        # open at the supervisor's head_approval
        "A4": application(
            IZIN_PRAKTIK, "BWI-2026-000004", SITI, NAKES_SENIOR, [("approve", OFFICER, "")]
        ),
        # another agency, open at its officer
        "A5": application(DOMISILI_SBY, "SBY-2026-000001", DEWI, DEWI_DATA, []),
    }
    bwi = numbers(
        "BWI",
        ("BWI-2026-000001", DOMISILI["id"]),
        ("BWI-2026-000002", IZIN_PRAKTIK["id"]),
        ("BWI-2026-000003", DOMISILI["id"]),
        ("BWI-2026-000004", IZIN_PRAKTIK["id"]),
    )
    sby = numbers("SBY", ("SBY-2026-000001", DOMISILI_SBY["id"]))
    write(store, bwi)
    write(store, sby)
    interleave(store, *apps.values())
    return {**services, **apps, "bwi": bwi, "sby": sby}


# -- fixtures and helpers --------------------------------------------------------------


@pytest.fixture
def store(tmp_path: Path):
    s = SqliteEventStore(tmp_path / "events.db")
    yield s
    s.close()


@pytest.fixture
def models(tmp_path: Path):
    m = ReadModels(tmp_path / "readmodels.db")
    yield m
    m.close()


def one_go_dump(store: SqliteEventStore, path: Path) -> dict[str, list[tuple[Any, ...]]]:
    """The read models of a projector that ran over the whole log on a fresh file."""
    m = ReadModels(path)
    try:
        Projector(store, m).catch_up()
        assert m.checkpoint() == store.head_position()
        return m.dump()
    finally:
        m.close()


def timeline(models: ReadModels, number: str) -> list[tuple[str, str | None, str | None, str]]:
    state = models.application(number)
    assert state is not None
    return [(e.type, e.step, e.actor, e.summary) for e in state.timeline]


def positions_of(store: SqliteEventStore, stream: str) -> list[int]:
    return [e.position for e in store.read_stream(stream)]


# -- the application read model --------------------------------------------------------


def test_approved_domisili_application(store, models):
    write(store, service(DOMISILI, ("draft", 1), ("publish", 1)))
    app = application(
        DOMISILI, "BWI-2026-000001", SITI, SITI_DATA, [("approve", OFFICER, "Alamat sesuai KK")]
    )
    write(store, app)
    assert Projector(store, models).catch_up() == 2 + 5

    s = models.application("BWI-2026-000001")
    assert s is not None
    recorded = store.read_stream(app.name)
    assert (s.status, s.result, s.current_step) == ("approved", "approved", "issued")
    assert s.outcomes == {"verify_residence": "approve"}
    assert s.open_tasks == []
    assert (s.service_id, s.service_version, s.service_name) == (
        "surat-keterangan-domisili",
        1,
        "Surat Keterangan Domisili",
    )
    assert (s.agency_code, s.agency_name, s.citizen) == ("BWI", "Kabupaten Banyuwangi", SITI)
    # The row keeps no form values (minimum personal data); opening it reads them from
    # the event store, through the same fold.
    assert s.data == {}
    assert read_form_data(store, "BWI-2026-000001", s.position) == SITI_DATA
    assert s.submitted_at == recorded[0].recorded_at
    assert s.completed_at == s.updated_at == recorded[-1].recorded_at
    assert s.position == recorded[-1].position == store.head_position()
    assert timeline(models, "BWI-2026-000001") == [
        ("ApplicationSubmitted", None, SITI, "Application submitted for Surat Keterangan Domisili"),
        ("TaskAssigned", "verify_residence", None, "Verifikasi domisili: task assigned to officer"),
        (
            "TaskCompleted",
            "verify_residence",
            OFFICER["subject"],
            "Verifikasi domisili: approve — Alamat sesuai KK",
        ),
        ("CitizenNotified", "notify_issued", None, f"Citizen notified: {DOMISILI_MSG}"),
        ("ApplicationCompleted", "issued", None, "Application approved"),
    ]
    assert [e.position for e in s.timeline] == [e.position for e in recorded]
    assert [e.at for e in s.timeline] == [e.recorded_at for e in recorded]

    rows = models.applications(citizen=SITI)
    assert [(r["application_id"], r["status"], r["current_step"]) for r in rows] == [
        ("BWI-2026-000001", "approved", "issued")
    ]
    task = models.task("BWI-2026-000001.verify_residence.1")
    assert task is not None
    assert (task["status"], task["outcome"], task["completed_by"]) == (
        "completed",
        "approve",
        OFFICER["subject"],
    )
    assert task["completed_at"] == recorded[2].recorded_at.isoformat()


@pytest.mark.parametrize(
    ("data", "decision_summary", "extra_step"),
    [
        (
            NAKES_NEW,
            "Cek pengalaman: condition 'years_experience < 2' held → site_verification",
            "site_verification",
        ),
        (NAKES_SENIOR, "Cek pengalaman: default → head_approval", None),
    ],
    ids=["new-practitioner", "senior"],
)
def test_izin_praktik_timeline_follows_the_decision(
    store, models, data, decision_summary, extra_step
):
    reviews = [("approve", OFFICER, "STR valid")]
    if extra_step:
        reviews.append(("approve", OFFICER, "Tempat praktik layak"))
    reviews.append(("approve", SUPERVISOR, ""))
    app = application(IZIN_PRAKTIK, "BWI-2026-000007", RAHMAT, data, reviews)
    write(store, app)
    Projector(store, models).catch_up()

    s = models.application("BWI-2026-000007")
    assert s is not None
    assert (s.status, s.result, s.current_step) == ("approved", "approved", "issued")
    expected_outcomes = {"document_review": "approve", "head_approval": "approve"}
    if extra_step:
        expected_outcomes["site_verification"] = "approve"
    assert s.outcomes == expected_outcomes
    entries = timeline(models, "BWI-2026-000007")
    assert ("DecisionTaken", "experience_check", None, decision_summary) in entries
    steps = [step for t, step, _, _ in entries if t == "TaskAssigned"]
    assert steps == ["document_review", *([extra_step] if extra_step else []), "head_approval"]
    assert entries[-3] == (
        "TaskCompleted",
        "head_approval",
        SUPERVISOR["subject"],
        "Persetujuan Kepala Dinas: approve",
    )
    assert entries[-2][3] == (
        f"Citizen notified: The Surat Izin Praktik for {data['full_name']} "
        f"({data['profession']}) has been issued."
    )
    assert [e.position for e in s.timeline] == positions_of(store, app.name)


def test_rejected_application(store, models):
    app = application(
        DOMISILI, "BWI-2026-000003", DEWI, DEWI_DATA, [("reject", OFFICER, "Alamat tidak ada")]
    )
    write(store, app)
    Projector(store, models).catch_up()
    s = models.application("BWI-2026-000003")
    assert s is not None
    assert (s.status, s.result, s.current_step) == ("rejected", "rejected", "refused")
    assert s.outcomes == {"verify_residence": "reject"}
    assert [e[3] for e in timeline(models, "BWI-2026-000003")][2:] == [
        "Verifikasi domisili: reject — Alamat tidak ada",
        "Citizen notified: Your application for a Surat Keterangan Domisili was refused; "
        "see the officer's comment in the timeline.",
        "Application rejected",
    ]


def test_application_mid_flow_then_finished(store, models):
    app = application(
        DOMISILI, "BWI-2026-000001", SITI, SITI_DATA, [("approve", OFFICER, "Alamat sesuai KK")]
    )
    projector = Projector(store, models)

    write(store, app, 1)  # submitted; the workflow has not assigned the task yet
    projector.catch_up()
    s = models.application("BWI-2026-000001")
    assert s is not None
    assert (s.status, s.current_step, s.result) == ("submitted", "submission", None)
    assert s.open_tasks == []

    write(store, app, 1)  # TaskAssigned
    projector.catch_up()
    s = models.application("BWI-2026-000001")
    assert s is not None
    assert (s.status, s.current_step, s.result, s.completed_at) == (
        "in_review",
        "verify_residence",
        None,
        None,
    )
    assert s.outcomes == {}
    assigned = store.read_stream(app.name)[1]
    assert [t.model_dump() for t in s.open_tasks] == [
        {
            "task_id": "BWI-2026-000001.verify_residence.1",
            "step": "verify_residence",
            "step_name": "Verifikasi domisili",
            "role": "officer",
            "outcomes": ["approve", "reject"],
            "assigned_at": assigned.recorded_at,
            "due_at": None,
            "claimed_by": None,
        }
    ]
    assert models.applications(status="in_review")[0]["application_id"] == "BWI-2026-000001"

    write(store, app)
    projector.catch_up()
    s = models.application("BWI-2026-000001")
    assert s is not None
    assert s.open_tasks == []
    assert s.status == "approved"
    assert models.applications(status="in_review") == []


# -- the officers' inbox ---------------------------------------------------------------


def test_inbox_shows_open_tasks_of_role_and_agency(store, models):
    populate(store)
    projector = Projector(store, models)
    projector.catch_up()

    officer = models.tasks(agency_code="BWI", role="officer")
    # A1, A2, A3's officer tasks are completed; A4's document review too; A5 is Surabaya's.
    assert officer == []
    supervisor = models.tasks(agency_code="BWI", role="supervisor")
    assert [(t["task_id"], t["status"]) for t in supervisor] == [
        ("BWI-2026-000004.head_approval.1", "open")
    ]
    t = supervisor[0]
    assert t["application_id"] == "BWI-2026-000004"
    assert (t["service_id"], t["service_name"]) == (
        "izin-praktik-nakes",
        "Izin Praktik Tenaga Kesehatan",
    )
    assert (t["step"], t["step_name"], t["role"], t["agency_code"]) == (
        "head_approval",
        "Persetujuan Kepala Dinas",
        "supervisor",
        "BWI",
    )
    assert t["outcomes"] == ["approve", "reject"]
    assert (t["outcome"], t["completed_by"], t["completed_at"]) == (None, None, None)

    sby = models.tasks(agency_code="SBY", role="officer")
    assert [x["task_id"] for x in sby] == ["SBY-2026-000001.verify_residence.1"]
    assert models.tasks(agency_code="SBY", role="supervisor") == []

    done = models.tasks(agency_code="BWI", role="officer", status="completed")
    assert sorted(x["task_id"] for x in done) == [
        "BWI-2026-000001.verify_residence.1",
        "BWI-2026-000002.document_review.1",
        "BWI-2026-000002.site_verification.1",
        "BWI-2026-000003.verify_residence.1",
        "BWI-2026-000004.document_review.1",
    ]
    assert all(x["agency_code"] == "BWI" for x in done)


def test_completed_task_leaves_inbox_and_new_one_appears(store, models):
    projector = Projector(store, models)
    bwi = application(
        IZIN_PRAKTIK, "BWI-2026-000002", RAHMAT, NAKES_NEW, [("approve", OFFICER, "STR valid")]
    )
    sby = application(
        DOMISILI_SBY, "SBY-2026-000001", DEWI, DEWI_DATA, [("approve", SBY_OFFICER, "OK")]
    )
    write(store, bwi, 2)  # submitted, document_review assigned
    write(store, sby, 2)  # submitted, verify_residence assigned (Surabaya)
    projector.catch_up()
    assert [t["task_id"] for t in models.tasks(agency_code="BWI", role="officer")] == [
        "BWI-2026-000002.document_review.1"
    ]
    assert [t["task_id"] for t in models.tasks(agency_code="SBY", role="officer")] == [
        "SBY-2026-000001.verify_residence.1"
    ]
    # the inbox of the application lists its open task only
    assert [
        t["task_id"]
        for t in models.tasks(agency_code=None, role=None, application_id="BWI-2026-000002")
    ] == ["BWI-2026-000002.document_review.1"]

    write(store, bwi)  # completed, decision → site_verification assigned
    projector.catch_up()
    inbox = models.tasks(agency_code="BWI", role="officer")
    assert [t["task_id"] for t in inbox] == ["BWI-2026-000002.site_verification.1"]
    assert inbox[0]["step_name"] == "Verifikasi tempat praktik"
    assert models.tasks(agency_code="BWI", role="supervisor") == []
    # Surabaya's officer still sees Surabaya's task, and only it
    assert [t["task_id"] for t in models.tasks(agency_code="SBY", role="officer")] == [
        "SBY-2026-000001.verify_residence.1"
    ]
    closed = models.task("BWI-2026-000002.document_review.1")
    assert closed is not None
    assert (closed["status"], closed["outcome"], closed["completed_by"]) == (
        "completed",
        "approve",
        OFFICER["subject"],
    )

    write(store, sby)
    projector.catch_up()
    assert models.tasks(agency_code="SBY", role="officer") == []
    assert [t["task_id"] for t in models.tasks(agency_code="BWI", role="officer")] == [
        "BWI-2026-000002.site_verification.1"
    ]


# -- the services catalogue --------------------------------------------------------------


def test_service_catalogue_versions(store, models):
    projector = Projector(store, models)
    domisili = service(
        DOMISILI,
        ("draft", 1),
        ("publish", 1),
        ("draft", 2),
        changes={2: {"description": "Now also for Kecamatan Giri."}},
    )
    write(store, domisili, 1)
    projector.catch_up()
    s = models.service("surat-keterangan-domisili")
    assert s is not None
    assert {v: i.status for v, i in s.versions.items()} == {1: "draft"}
    assert s.latest_published is None
    assert s.stream_version == 0
    assert s.versions[1].saved_by == ADMIN

    write(store, domisili, 1)
    projector.catch_up()
    s = models.service("surat-keterangan-domisili")
    assert s is not None
    assert {v: i.status for v, i in s.versions.items()} == {1: "published"}
    assert s.versions[1].published_by == ADMIN
    assert s.versions[1].published_at == store.read_stream(domisili.name)[1].recorded_at
    assert s.draft is None

    write(store, domisili)
    projector.catch_up()
    s = models.service("surat-keterangan-domisili")
    assert s is not None
    assert {v: i.status for v, i in s.versions.items()} == {1: "published", 2: "draft"}
    assert s.stream_version == 2
    assert s.summary() == {
        "service_id": "surat-keterangan-domisili",
        "name": "Surat Keterangan Domisili",
        "agency_code": "BWI",
        "latest_published_version": 1,
        "draft_version": 2,
        "archived": False,
    }
    assert s.versions[2].definition.description == "Now also for Kecamatan Giri."
    assert s.versions[1].definition.description == DOMISILI["description"]
    assert s.versions[2].published_at is None


def test_services_filtered_by_agency(store, models):
    write(store, service(IZIN_PRAKTIK, ("draft", 1), ("publish", 1)))
    write(store, service(DOMISILI_SBY, ("draft", 1)))
    write(store, service(DOMISILI, ("draft", 1), ("publish", 1), ("draft", 2)))
    Projector(store, models).catch_up()

    bwi = models.services("BWI")
    assert [(s.service_id, s.agency_code) for s in bwi] == [
        ("izin-praktik-nakes", "BWI"),
        ("surat-keterangan-domisili", "BWI"),
    ]
    assert [s.summary()["latest_published_version"] for s in bwi] == [1, 1]
    assert [s.summary()["draft_version"] for s in bwi] == [None, 2]
    sby = models.services("SBY")
    assert [(s.service_id, s.draft.version if s.draft else None) for s in sby] == [
        ("domisili-surabaya", 1)
    ]
    assert models.services("XYZ") == []
    assert [s.name for s in models.services()] == [
        "Izin Praktik Tenaga Kesehatan",
        "Surat Keterangan Domisili",
        "Surat Keterangan Domisili Surabaya",
    ]


# -- checkpoint, catch-up, tail ----------------------------------------------------------


def test_run_once_advances_checkpoint_to_batch_end(store, models):
    populate(store)
    log = store.read_all()
    projector = Projector(store, models)
    assert models.checkpoint() == 0

    assert projector.run_once(limit=4) == 4
    assert models.checkpoint() == log[3].position
    assert projector.run_once(limit=5) == 5
    assert models.checkpoint() == log[8].position
    assert projector.run_once() == len(log) - 9
    assert models.checkpoint() == log[-1].position == store.head_position()

    before = models.dump()
    assert projector.run_once() == 0
    assert projector.catch_up() == 0
    assert models.checkpoint() == log[-1].position
    assert models.dump() == before

    # events appended later are picked up
    late = application(DOMISILI, "BWI-2026-000010", DEWI, DEWI_DATA, [])
    write(store, late)
    assert projector.run_once() == 2
    assert models.checkpoint() == store.head_position() == log[-1].position + 2
    assert [t["task_id"] for t in models.tasks(agency_code="BWI", role="officer")] == [
        "BWI-2026-000010.verify_residence.1"
    ]


def test_catch_up_in_small_batches_equals_one_go(store, models, tmp_path):
    populate(store)
    log = store.read_all()
    projector = Projector(store, models)
    ends = []
    while n := projector.run_once(limit=3):
        assert n <= 3
        ends.append(models.checkpoint())
    assert ends == [log[i].position for i in range(2, len(log), 3)] + (
        [log[-1].position] if len(log) % 3 else []
    )
    assert models.dump() == one_go_dump(store, tmp_path / "one-go.db")


def test_catch_up_then_tail(store, models):
    streams = populate(store)
    head = store.head_position()
    stop = threading.Event()
    runner = threading.Thread(
        target=Projector(store, models).run_forever, args=(stop, 0.01), daemon=True
    )
    runner.start()
    try:
        assert models.wait_for(head, 2.0)
        assert models.checkpoint() == head
        # tail: the next application and the completion of A4's supervisor task
        late = application(
            DOMISILI, "BWI-2026-000011", RAHMAT, {**SITI_DATA, "full_name": "Rahmat"}, []
        )
        write(store, late)
        assert models.wait_for(store.head_position(), 2.0)
        assert [t["task_id"] for t in models.tasks(agency_code="BWI", role="officer")] == [
            "BWI-2026-000011.verify_residence.1"
        ]
        a4 = application(
            IZIN_PRAKTIK,
            "BWI-2026-000004",
            SITI,
            NAKES_SENIOR,
            [("approve", OFFICER, ""), ("approve", SUPERVISOR, "")],
        )
        a4.written = streams["A4"].written
        write(store, a4)
        assert models.wait_for(store.head_position(), 2.0)
        s = models.application("BWI-2026-000004")
        assert s is not None
        assert (s.status, s.current_step) == ("approved", "issued")
        assert models.tasks(agency_code="BWI", role="supervisor") == []
    finally:
        stop.set()
        runner.join(2.0)
    assert not runner.is_alive()


# -- atomicity -------------------------------------------------------------------------


@pytest.mark.parametrize(
    # Application rows are written at the end of a batch, task rows as they come.
    ("fault_at", "rows_inside"),
    [(1, (0, 0)), (3, (0, 0)), (8, (0, 2))],
    ids=str,
)
def test_database_fault_mid_batch_commits_nothing_and_resume_is_clean(
    store, models, tmp_path, monkeypatch, fault_at, rows_inside
):
    """A failure of the read-model database (not of the event) rolls the whole batch
    back: nothing is parked, the checkpoint stays, and the next try applies it."""
    populate(store)
    log = store.read_all()
    projector = Projector(store, models)
    # the first batch: three services, five number reservations
    assert projector.run_once(limit=11) == 11
    assert all(not e.stream.startswith("application-") for e in log[:11])
    assert all(e.stream.startswith("application-") for e in log[11:])
    after_first = models.dump()
    assert {t: len(rows) for t, rows in after_first.items()} == {
        "applications": 0,
        "tasks": 0,
        "services": 3,
        "documents": 0,
        "complaints": 0,
        "ended_applications": 0,
        "survey_responses": 0,
        "access_log": 0,
    }

    real_apply = projector_module._apply
    seen: list[int] = []
    counted: list[tuple[int, int]] = []

    def faulty(db: sqlite3.Connection, event: Any, *batch: Any) -> None:
        seen.append(event.position)
        if len(seen) == fault_at:
            counted.append(
                (
                    db.execute("SELECT count(*) FROM applications").fetchone()[0],
                    db.execute("SELECT count(*) FROM tasks").fetchone()[0],
                )
            )
            raise sqlite3.OperationalError("disk I/O error")
        real_apply(db, event, *batch)

    monkeypatch.setattr(projector_module, "_apply", faulty)
    for _ in range(2):
        seen.clear()
        with pytest.raises(sqlite3.OperationalError, match="disk I/O error"):
            projector.run_once(limit=50)
        assert seen == [e.position for e in log[11 : 11 + fault_at]]
        # the rows written inside the transaction before the fault ...
        assert counted[-1] == rows_inside
        # ... are not visible after it, and the checkpoint did not move
        assert models.checkpoint() == log[10].position
        assert models.dump() == after_first
        assert models.parked_count() == 0
    other = ReadModels(models.path)  # a reader on its own connection sees the same
    try:
        assert other.dump() == after_first
        assert other.application("BWI-2026-000001") is None
    finally:
        other.close()

    monkeypatch.setattr(projector_module, "_apply", real_apply)
    assert projector.catch_up() == len(log) - 11
    assert models.checkpoint() == store.head_position()
    assert models.dump() == one_go_dump(store, tmp_path / "clean.db")


@pytest.mark.parametrize("missing", ["task_id", "agency"])
def test_malformed_event_is_parked_and_the_rest_commits(store, models, missing, caplog):
    """A missing ``task_id`` or ``agency`` fails in the fold, where the typed event
    (``domain.events.TaskAssigned``) requires them. Either way that event's
    own row changes roll back (SAVEPOINT), it is parked, and every other event of the
    batch, before and after it, commits with the checkpoint."""
    write(store, service(DOMISILI, ("draft", 1), ("publish", 1)))
    projector = Projector(store, models)
    projector.run_once()
    checkpoint = models.checkpoint()
    assert checkpoint == 2

    good = application(
        DOMISILI, "BWI-2026-000001", SITI, SITI_DATA, [("approve", OFFICER, "Alamat sesuai KK")]
    )
    write(store, good, 2)
    bad = application(DOMISILI, "BWI-2026-000002", DEWI, DEWI_DATA, [("reject", OFFICER, "")])
    assigned = bad.events[1]
    assert assigned.type == ev.TASK_ASSIGNED
    bad.events[1] = dataclasses.replace(
        assigned, data={k: v for k, v in assigned.data.items() if k != missing}
    )
    write(store, bad, 2)
    poison = store.read_stream(bad.name)[1]
    write(store, good)  # the good application goes on after the poison event

    with caplog.at_level("WARNING", logger="projections.projector"):
        assert projector.run_once() == store.head_position() - checkpoint
    assert models.checkpoint() == store.head_position()

    # the poison event is parked, with what an operator needs and no personal data
    (parked,) = models.parked_events()
    assert parked["position"] == poison.position
    assert (parked["stream"], parked["type"]) == (bad.name, ev.TASK_ASSIGNED)
    assert missing in parked["error"] and parked["error"].startswith("ValidationError")
    assert models.parked_count() == 1
    (record,) = [r for r in caplog.records if "parked" in r.getMessage()]
    message = record.getMessage()
    assert str(poison.position) in message and bad.name in message
    for personal in (DEWI_DATA["nik"], DEWI_DATA["full_name"], DEWI, DEWI_DATA["address"]):
        assert personal not in message

    # its own changes rolled back: Dewi's application shows only its submission ...
    dewi = models.application("BWI-2026-000002")
    assert dewi is not None
    assert (dewi.status, dewi.open_tasks) == ("submitted", [])
    assert [e.type for e in dewi.timeline] == [ev.APPLICATION_SUBMITTED]
    assert models.task("BWI-2026-000002.verify_residence.1") is None
    # ... while everything around it committed
    siti = models.application("BWI-2026-000001")
    assert siti is not None and (siti.status, siti.result) == ("approved", "approved")
    assert models.task("BWI-2026-000001.verify_residence.1")["status"] == "completed"

    # it stays parked: the next runs do not trip over it again
    assert projector.run_once() == 0
    write(store, bad)  # the rest of Dewi's stream still applies
    assert projector.run_once() == len(bad.events) - 2
    assert models.parked_count() == 1

    # a rebuild gives parked events another chance (and parks them again)
    projector.rebuild()
    assert [p["position"] for p in models.parked_events()] == [poison.position]
    assert models.checkpoint() == store.head_position()


def test_a_poison_event_does_not_stop_the_running_projector(store, models):
    write(store, service(DOMISILI, ("draft", 1), ("publish", 1)))
    head = store.head_position()
    stop = threading.Event()
    runner = threading.Thread(
        target=Projector(store, models).run_forever, args=(stop, 0.01), daemon=True
    )
    runner.start()
    try:
        assert models.wait_for(head, 5.0)
        bad = application(DOMISILI, "BWI-2026-000003", DEWI, DEWI_DATA, [])
        bad.events[0] = dataclasses.replace(bad.events[0], data={"application_id": "x"})
        write(store, bad)
        later = application(DOMISILI, "BWI-2026-000004", SITI, SITI_DATA, [])
        write(store, later)
        assert models.wait_for(store.head_position(), 5.0)
        assert models.application("BWI-2026-000004") is not None
        assert runner.is_alive()
    finally:
        stop.set()
        runner.join(5.0)
    assert not runner.is_alive()
    parked = models.parked_events()
    assert [p["stream"] for p in parked] == [bad.name, bad.name]  # submission, then task
    assert parked[-1]["error"].startswith("ValidationError")
    assert "TaskAssigned before ApplicationSubmitted" in parked[0]["error"]


# -- resume after a crash, rebuild ------------------------------------------------------


@pytest.mark.parametrize("fraction", [0.25, 0.5, 0.8])
def test_resume_after_crash_equals_one_go(store, tmp_path, fraction):
    populate(store)
    log = store.read_all()
    half = int(len(log) * fraction)
    path = tmp_path / "crashing.db"

    first = ReadModels(path)
    assert Projector(store, first).run_once(limit=half) == half
    assert first.checkpoint() == log[half - 1].position
    first.close()
    del first

    second = ReadModels(path)
    try:
        assert second.checkpoint() == log[half - 1].position
        assert Projector(store, second).catch_up() == len(log) - half
        assert second.checkpoint() == store.head_position()
        resumed = second.dump()
    finally:
        second.close()
    reference = one_go_dump(store, tmp_path / "one-go.db")
    assert resumed == reference
    assert {t: len(rows) for t, rows in reference.items()} == {
        "applications": 5,
        "tasks": 8,
        "services": 3,
        "documents": 0,
        "complaints": 0,
        "ended_applications": 3,
        "survey_responses": 0,
        "access_log": 0,
    }


def test_rebuild_equals_live_also_after_tampering(store, models):
    populate(store)
    projector = Projector(store, models)
    projector.catch_up()
    live = models.dump()
    total = len(store.read_all())

    assert projector.rebuild() == total
    assert models.dump() == live
    assert models.checkpoint() == store.head_position()

    with sqlite3.connect(models.path) as db:
        db.execute("DELETE FROM tasks WHERE task_id = 'BWI-2026-000004.head_approval.1'")
        db.execute(
            "UPDATE applications SET status = 'approved' WHERE application_id = ?",
            ("BWI-2026-000003",),
        )
        db.execute("DELETE FROM services WHERE service_id = 'izin-praktik-nakes'")
        db.execute(
            "INSERT INTO applications VALUES ('X-1', 's', 'BWI', 'mallory@example.id', 'approved',"
            " NULL, 'now', 'now', 999999, '{}', 'online')"
        )
        db.execute("UPDATE checkpoints SET position = 3")
    db.close()
    tampered = models.dump()
    assert tampered != live
    assert models.tasks(agency_code="BWI", role="supervisor") == []
    assert models.checkpoint() == 3

    assert projector.rebuild() == total
    assert models.dump() == live
    assert models.checkpoint() == store.head_position()
    assert [t["task_id"] for t in models.tasks(agency_code="BWI", role="supervisor")] == [
        "BWI-2026-000004.head_approval.1"
    ]
    assert models.applications(status="rejected")[0]["application_id"] == "BWI-2026-000003"


# -- wait_for ---------------------------------------------------------------------------


def test_wait_for(store, models):
    assert models.wait_for(0, 0.0)
    app = application(DOMISILI, "BWI-2026-000001", SITI, SITI_DATA, [])
    write(store, app)
    head = store.head_position()
    assert head == 2

    started = time.monotonic()
    assert models.wait_for(head, 0.05) is False
    assert time.monotonic() - started >= 0.05

    Projector(store, models).run_once(limit=1)
    assert models.wait_for(1, 0.05) is True
    assert models.wait_for(head, 0.05) is False

    # another thread projects while this one waits
    timer = threading.Timer(0.03, lambda: Projector(store, models).catch_up())
    timer.start()
    try:
        assert models.wait_for(head, 2.0) is True
    finally:
        timer.join()
    assert models.checkpoint() == head
    assert models.wait_for(head + 1, 0.05) is False


# -- unknown events and foreign streams --------------------------------------------------


def test_unknown_event_types_are_recorded_and_other_streams_ignored(store, models):
    app = application(
        DOMISILI, "BWI-2026-000001", SITI, SITI_DATA, [("approve", OFFICER, "Alamat sesuai KK")]
    )
    write(store, app, 2)  # submitted, task assigned
    # a newer writer's events this code does not know
    store.append(
        app.name,
        [NewEvent(ev.event_id(app.name, 2), "DocumentAttached", {"step": "verify_residence"})],
        expected_version=1,
    )
    store.append(
        app.name,
        [NewEvent(ev.event_id(app.name, 3), "ApplicationTagged", {"tag": "priority"})],
        expected_version=2,
    )
    write(store, numbers("BWI", ("BWI-2026-000001", DOMISILI["id"])))
    store.append("audit-2026", [NewEvent(ev.event_id("audit-2026", 0), "Exported", {"rows": 3})])
    Projector(store, models).catch_up()

    assert models.checkpoint() == store.head_position() == 6
    s = models.application("BWI-2026-000001")
    assert s is not None
    assert (s.status, s.current_step) == ("in_review", "verify_residence")
    assert len(s.open_tasks) == 1
    assert s.position == 4  # the last application event, not the foreign ones
    assert timeline(models, "BWI-2026-000001")[2:] == [
        ("DocumentAttached", "verify_residence", None, "DocumentAttached"),
        ("ApplicationTagged", None, None, "ApplicationTagged"),
    ]
    dump = models.dump()
    assert {t: len(rows) for t, rows in dump.items()} == {
        "applications": 1,
        "tasks": 1,
        "services": 0,
        "documents": 0,
        "complaints": 0,
        "ended_applications": 0,
        "survey_responses": 0,
        "access_log": 0,
    }

    # the flow goes on after the unknown events
    for i, e in enumerate(app.events[2:]):
        index = 4 + i
        store.append(
            app.name,
            [dataclasses.replace(e, id=ev.event_id(app.name, index))],
            expected_version=index - 1,
        )
    Projector(store, models).catch_up()
    s = models.application("BWI-2026-000001")
    assert s is not None
    assert (s.status, s.result) == ("approved", "approved")
    assert [e.type for e in s.timeline] == [
        "ApplicationSubmitted",
        "TaskAssigned",
        "DocumentAttached",
        "ApplicationTagged",
        "TaskCompleted",
        "CitizenNotified",
        "ApplicationCompleted",
    ]


# -- two projectors on one read-model file ---------------------------------------------


def test_two_projectors_on_one_file_never_apply_an_event_twice(store, tmp_path, monkeypatch):
    app = application(
        IZIN_PRAKTIK, "BWI-2026-000004", SITI, NAKES_SENIOR, [("approve", OFFICER, "")]
    )
    write(store, app, 2)  # submitted, document_review assigned
    path = tmp_path / "shared.db"
    a, b = ReadModels(path), ReadModels(path)
    live = Projector(store, a)  # e.g. `lincah projections run` under `lincah up`
    live.catch_up()
    write(store, app, 2)  # the officer approves; the decision is taken

    other_store = SqliteEventStore(store.path)
    real_read_all = other_store.read_all

    def racing_read_all(after: int = 0, limit: int = 1000) -> list[Any]:
        batch = real_read_all(after, limit)
        live.run_once()  # the other projector commits the same events meanwhile
        return batch

    monkeypatch.setattr(other_store, "read_all", racing_read_all)
    try:
        Projector(other_store, b).run_once()
        s = a.application("BWI-2026-000004")
        assert s is not None
        assert [e.position for e in s.timeline] == positions_of(store, app.name)
    finally:
        a.close()
        b.close()
        other_store.close()


def test_running_projector_recovers_from_a_database_fault(store, models, monkeypatch, caplog):
    """A read-model fault (not the event's) rolls the batch back; the projector logs
    the error class, backs off, resumes from the checkpoint and parks nothing."""
    app = application(DOMISILI, "BWI-2026-000001", SITI, SITI_DATA, [])
    write(store, app)
    real_apply = projector_module._apply
    failures: list[int] = []

    def flaky(db: sqlite3.Connection, event: Any, *batch: Any) -> None:
        if not failures:
            failures.append(event.position)
            raise sqlite3.OperationalError("database is locked")
        real_apply(db, event, *batch)

    monkeypatch.setattr(projector_module, "_apply", flaky)
    stop = threading.Event()
    runner = threading.Thread(
        target=Projector(store, models).run_forever, args=(stop, 0.01), daemon=True
    )
    with caplog.at_level("ERROR", logger="projections.projector"):
        runner.start()
        try:
            assert models.wait_for(store.head_position(), 10.0)
        finally:
            stop.set()
            runner.join(5.0)
    assert not runner.is_alive()
    assert failures == [1]
    assert models.parked_count() == 0
    s = models.application("BWI-2026-000001")
    assert s is not None and s.status == "in_review"
    (record,) = [r for r in caplog.records if r.levelname == "ERROR"]
    assert "OperationalError" in record.getMessage()
    assert SITI_DATA["nik"] not in record.getMessage()
