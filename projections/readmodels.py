"""The read-model database (a SQLite file, or a PostgreSQL schema: ``readmodel_url``):
what the API's queries read. The SQL is written once, for both (``projections.sqldb``).

Its tables are derived data: ``lincah projections rebuild`` drops and recreates them from
the event store. The projector commits each batch of row changes together with its
checkpoint, so a crash never applies an event twice or skips one.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

import orjson

from domain.complaints import ComplaintView
from domain.services import ServiceState
from domain.state import ApplicationState
from projections import access_log as access_log_view
from projections import complaints as complaint_view
from projections import survey_view
from projections.checkpointed import CheckpointedFile

SCHEMA = (
    """
CREATE TABLE IF NOT EXISTS checkpoints (
    name TEXT PRIMARY KEY, position INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS parked_events (
    position INTEGER PRIMARY KEY,
    stream TEXT NOT NULL,
    type TEXT NOT NULL,
    error TEXT NOT NULL,
    parked_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS applications (
    application_id TEXT PRIMARY KEY,
    service_id TEXT NOT NULL,
    agency_code TEXT NOT NULL,
    citizen TEXT NOT NULL,
    status TEXT NOT NULL,
    current_step TEXT,
    submitted_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    position INTEGER NOT NULL,
    state BLOB NOT NULL,
    channel TEXT NOT NULL DEFAULT 'online'
);
CREATE INDEX IF NOT EXISTS applications_citizen ON applications (citizen, submitted_at);
CREATE INDEX IF NOT EXISTS applications_agency ON applications (agency_code, submitted_at);
CREATE TABLE IF NOT EXISTS tasks (
    task_id TEXT PRIMARY KEY,
    application_id TEXT NOT NULL,
    service_id TEXT NOT NULL,
    service_name TEXT NOT NULL,
    step TEXT NOT NULL,
    step_name TEXT NOT NULL,
    role TEXT NOT NULL,
    agency_code TEXT NOT NULL,
    outcomes BLOB NOT NULL,
    status TEXT NOT NULL,
    assigned_at TEXT NOT NULL,
    due_at TEXT,
    escalated INTEGER NOT NULL DEFAULT 0,
    claimed_by TEXT,
    outcome TEXT,
    completed_by TEXT,
    completed_at TEXT
);
CREATE INDEX IF NOT EXISTS tasks_inbox ON tasks (agency_code, role, status, assigned_at);
CREATE TABLE IF NOT EXISTS services (
    service_id TEXT PRIMARY KEY,
    agency_code TEXT NOT NULL,
    name TEXT NOT NULL,
    state BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS work_copies (
    service_id TEXT PRIMARY KEY,
    agency_code TEXT NOT NULL,
    name TEXT NOT NULL,
    saved_at TEXT NOT NULL,
    saved_by TEXT NOT NULL,
    problems INTEGER NOT NULL,
    position INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS documents (
    number TEXT PRIMARY KEY,
    application_id TEXT NOT NULL,
    citizen TEXT NOT NULL,
    agency_code TEXT NOT NULL,
    agency_name TEXT NOT NULL,
    service_id TEXT NOT NULL,
    service_name TEXT NOT NULL,
    step TEXT NOT NULL,
    title TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    signature TEXT NOT NULL,
    public_key_id TEXT NOT NULL,
    issued_at TEXT NOT NULL,
    position INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS documents_application ON documents (application_id, position);
CREATE INDEX IF NOT EXISTS documents_sha256 ON documents (sha256);
"""
    + complaint_view.SCHEMA
    + survey_view.SCHEMA
    + access_log_view.SCHEMA
)

SCHEMA_VERSION = 10  # 8: access log; 9: work copies; 10: no form values in rows

"""Bump on any change to SCHEMA: existing read models are then rebuilt from scratch."""
VIEW_TABLES = (
    "applications",
    "tasks",
    "services",
    "work_copies",
    "documents",
    "complaints",
    *survey_view.TABLES,
    *access_log_view.TABLES,
)
RETIRED_TABLES = ("notifications",)
"""Tables of older schemas, dropped with the views: the citizen's messages are the
notification outbox's now (``notifications.outbox``), not a read model's."""
CHECKPOINT = "main"


class ReadModels(CheckpointedFile):
    """The read models (on SQLite ``synchronous=NORMAL``: derived data, rebuildable)."""

    checkpoint_name = CHECKPOINT

    def __init__(self, location: str | Path) -> None:
        """``location``: a SQLite file path or a ``postgresql://`` URL
        (``Settings.readmodel_location``)."""
        super().__init__(location)
        # Derived data: on a schema change drop the views and the checkpoint, and the
        # projector rebuilds them from position 0.
        self._conn().ensure_schema(
            SCHEMA, SCHEMA_VERSION, (*VIEW_TABLES, *RETIRED_TABLES, "checkpoints")
        )

    def wait_for(self, position: int, timeout_s: float) -> bool:
        """Wait until the projections have applied ``position``; False on time-out."""
        deadline = time.monotonic() + timeout_s
        while self.checkpoint() < position:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.02)
        return True

    # Queries ----------------------------------------------------------------
    def application(self, application_id: str) -> ApplicationState | None:
        row = (
            self._conn()
            .execute("SELECT state FROM applications WHERE application_id = ?", (application_id,))
            .fetchone()
        )
        return ApplicationState.model_validate(orjson.loads(row[0])) if row else None

    def applications(
        self,
        *,
        citizen: str | None = None,
        agency_code: str | None = None,
        status: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[dict[str, Any]]:
        where, args = _filters(citizen=citizen, agency_code=agency_code, status=status)
        rows = (
            self._conn()
            .execute(
                "SELECT application_id, service_id, agency_code, citizen, status, current_step,"  # noqa: S608 - see _filters
                f" submitted_at, updated_at, channel FROM applications {where}"
                " ORDER BY submitted_at DESC, application_id DESC LIMIT ? OFFSET ?",
                (*args, limit, offset),
            )
            .fetchall()
        )
        return [dict(r) for r in rows]

    def citizen_applications(
        self,
        citizen: str,
        *,
        status: str | None = None,
        service_id: str | None = None,
        submitted_from: str | None = None,
        submitted_before: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> tuple[list[ApplicationState], int]:
        """One citizen's applications, newest first, narrowed by status, service and
        the period they were submitted in (``submitted_from`` inclusive,
        ``submitted_before`` exclusive: UTC ISO 8601 instants, compared as the stored
        text, which is UTC ISO 8601 too); and how many match in all. The
        ``applications_citizen`` index finds the citizen's rows."""
        clauses = ["citizen = ?"]
        args: list[str | int] = [citizen]
        for clause, value in (
            ("status = ?", status),
            ("service_id = ?", service_id),
            ("submitted_at >= ?", submitted_from),
            ("submitted_at < ?", submitted_before),
        ):
            if value is not None:
                clauses.append(clause)
                args.append(value)
        where = " AND ".join(clauses)  # our own clauses; every value is bound
        db = self._conn()
        total = db.execute(f"SELECT count(*) FROM applications WHERE {where}", args).fetchone()[0]  # noqa: S608
        rows = db.execute(
            f"SELECT state FROM applications WHERE {where}"  # noqa: S608
            " ORDER BY submitted_at DESC, application_id DESC LIMIT ? OFFSET ?",
            (*args, limit, offset),
        ).fetchall()
        return [ApplicationState.model_validate(orjson.loads(r[0])) for r in rows], int(total)

    def application_states(self, agency_code: str | None = None) -> list[ApplicationState]:
        """Every application's folded state (for dashboards), newest first."""
        where, args = _filters(agency_code=agency_code)
        rows = (
            self._conn()
            .execute(
                f"SELECT state FROM applications {where} ORDER BY submitted_at DESC",  # noqa: S608
                args,
            )
            .fetchall()
        )
        return [ApplicationState.model_validate(orjson.loads(r[0])) for r in rows]

    def tasks(
        self,
        *,
        agency_code: str | None,
        role: str | None,
        status: str = "open",
        application_id: str | None = None,
        limit: int = 100,
    ) -> list[dict[str, Any]]:
        where, args = _filters(
            agency_code=agency_code, role=role, status=status, application_id=application_id
        )
        rows = (
            self._conn()
            .execute(
                f"SELECT * FROM tasks {where} ORDER BY assigned_at, task_id LIMIT ?",  # noqa: S608
                (*args, limit),
            )
            .fetchall()
        )
        return [_task_row(r) for r in rows]

    def task(self, task_id: str) -> dict[str, Any] | None:
        row = self._conn().execute("SELECT * FROM tasks WHERE task_id = ?", (task_id,)).fetchone()
        return _task_row(row) if row else None

    def services(self, agency_code: str | None = None) -> list[ServiceState]:
        where, args = _filters(agency_code=agency_code)
        rows = (
            self._conn()
            .execute(
                f"SELECT state FROM services {where} ORDER BY name",  # noqa: S608
                args,
            )
            .fetchall()
        )
        return [ServiceState.model_validate(orjson.loads(r[0])) for r in rows]

    def service(self, service_id: str) -> ServiceState | None:
        row = (
            self._conn()
            .execute("SELECT state FROM services WHERE service_id = ?", (service_id,))
            .fetchone()
        )
        return ServiceState.model_validate(orjson.loads(row[0])) if row else None

    def work_copies(self, agency_code: str | None) -> list[dict[str, Any]]:
        """The agency's services with work in progress not saved as a draft yet."""
        rows = (
            self._conn()
            .execute(
                "SELECT service_id, name, saved_at, saved_by, problems FROM work_copies"
                " WHERE agency_code = ? ORDER BY saved_at DESC",
                (agency_code or "",),
            )
            .fetchall()
        )
        return [dict(r) for r in rows]

    def document(self, number: str) -> dict[str, Any] | None:
        """The registry record of an issued document (produk pelayanan)."""
        row = self._conn().execute("SELECT * FROM documents WHERE number = ?", (number,)).fetchone()
        return dict(row) if row else None

    def document_by_sha256(self, sha256: str) -> dict[str, Any] | None:
        row = (
            self._conn()
            .execute("SELECT * FROM documents WHERE sha256 = ? ORDER BY position", (sha256,))
            .fetchone()
        )
        return dict(row) if row else None

    def documents_of(self, application_id: str) -> list[dict[str, Any]]:
        rows = (
            self._conn()
            .execute(
                "SELECT * FROM documents WHERE application_id = ? ORDER BY position",
                (application_id,),
            )
            .fetchall()
        )
        return [dict(r) for r in rows]

    def documents_of_citizen(self, citizen: str, limit: int = 100) -> list[dict[str, Any]]:
        """Documents issued to the citizen, oldest first (through their applications,
        so both lookups use an index)."""
        rows = (
            self._conn()
            .execute(
                "SELECT d.* FROM applications a JOIN documents d"
                " ON d.application_id = a.application_id WHERE a.citizen = ?"
                " ORDER BY d.position LIMIT ?",
                (citizen, limit),
            )
            .fetchall()
        )
        return [dict(r) for r in rows]

    def ended_applications(self, citizen: str, limit: int = 100) -> list[dict[str, Any]]:
        """The citizen's ended applications, newest first, each with whether its survey
        has been answered."""
        rows = (
            self._conn()
            .execute(
                "SELECT e.application_id, e.service_id, e.service_name, e.agency_code,"
                " e.agency_name, e.status, e.ended_at, r.application_id IS NOT NULL AS answered"
                " FROM ended_applications e LEFT JOIN survey_responses r"
                " ON r.application_id = e.application_id WHERE e.citizen = ?"
                " ORDER BY e.ended_at DESC, e.application_id DESC LIMIT ?",
                (citizen, limit),
            )
            .fetchall()
        )
        return [{**dict(r), "answered": bool(r["answered"])} for r in rows]

    def survey_answers_of(self, citizen: str, limit: int = 100) -> list[dict[str, Any]]:
        """The citizen's own survey answers (for their data export only: reports never
        say who answered)."""
        return survey_view.answers_of(self._conn(), citizen, limit)

    def survey_responses(
        self, agencies: frozenset[str] | None, service_id: str | None, start: str, end: str
    ) -> list[dict[str, Any]]:
        """Answers for services that ended on days in [start, end) (ISO dates) at
        ``agencies`` (None: every agency), without who answered."""
        where, args = _survey_scope(agencies, service_id, start, end)
        rows = (
            self._conn()
            .execute(f"SELECT * FROM survey_responses {where} ORDER BY position", args)  # noqa: S608 - see _survey_scope
            .fetchall()
        )
        answers = [dict(r) for r in rows]
        for a in answers:
            del a["application_id"]  # who answered stays out of every report
        return answers

    def ended_count(
        self, agencies: frozenset[str] | None, service_id: str | None, start: str, end: str
    ) -> int:
        """Applications that ended on days in [start, end) at ``agencies``: the SKM's
        population."""
        where, args = _survey_scope(agencies, service_id, start, end)
        row = (
            self._conn()
            .execute(f"SELECT count(*) FROM ended_applications {where}", args)  # noqa: S608
            .fetchone()
        )
        return int(row[0])

    def parked_events(self, limit: int = 100) -> list[dict[str, Any]]:
        """Events the projector could not apply and skipped (newest first)."""
        rows = (
            self._conn()
            .execute("SELECT * FROM parked_events ORDER BY position DESC LIMIT ?", (limit,))
            .fetchall()
        )
        return [dict(r) for r in rows]

    def complaint(self, complaint_id: str) -> ComplaintView | None:
        return complaint_view.complaint(self._conn(), complaint_id)

    def complaints(
        self, *, agency_code: str | None = None, complainant: str | None = None, limit: int = 100
    ) -> list[ComplaintView]:
        return complaint_view.complaints(
            self._conn(), agency_code=agency_code, complainant=complainant, limit=limit
        )

    def status_counts(self) -> dict[str, int]:
        """How many applications are in each status (the API's metrics)."""
        rows = self._conn().execute("SELECT status, count(*) FROM applications GROUP BY status")
        return {str(name): int(n) for name, n in rows}

    def access_log(
        self, *, agencies: Collection[str] | None, **filters: Any
    ) -> tuple[list[dict[str, Any]], int]:
        """Reads of personal data (``projections.access_log.reads``)."""
        return access_log_view.reads(self._conn(), agencies=agencies, **filters)

    def parked_count(self) -> int:
        return int(self._conn().execute("SELECT count(*) FROM parked_events").fetchone()[0])

    def dump(self) -> dict[str, list[tuple[Any, ...]]]:
        """Every view row, in a stable order: rebuild tests compare two dumps, also of
        the two backends (sorted here, as the databases' collations may differ)."""
        db = self._conn()
        dumped: dict[str, list[tuple[Any, ...]]] = {}
        for t in VIEW_TABLES:
            rows = db.execute(f"SELECT * FROM {t}")  # noqa: S608 - our own tables
            dumped[t] = sorted((tuple(r) for r in rows), key=repr)
        return dumped


def _filters(**columns: str | None) -> tuple[str, tuple[str, ...]]:
    # Column names come from this module, never from a request; values are bound.
    pairs = [(c, v) for c, v in columns.items() if v is not None]
    if not pairs:
        return "", ()
    return "WHERE " + " AND ".join(f"{c} = ?" for c, _ in pairs), tuple(v for _, v in pairs)


def _survey_scope(
    agencies: frozenset[str] | None, service_id: str | None, start: str, end: str
) -> tuple[str, tuple[str, ...]]:
    # Column names are ours; every value is bound.
    clauses = ["ended_on >= ?", "ended_on < ?"]
    args: list[str] = [start, end]
    if agencies is not None:
        clauses.append(f"agency_code IN ({', '.join('?' * len(agencies))})")
        args += sorted(agencies)
    if service_id is not None:
        clauses.append("service_id = ?")
        args.append(service_id)
    return "WHERE " + " AND ".join(clauses), tuple(args)


def _task_row(row: Mapping[str, Any]) -> dict[str, Any]:
    d = dict(row)
    d["outcomes"] = orjson.loads(d["outcomes"])
    return d
