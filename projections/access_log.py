"""The access log view: one row per read of personal data (``domain.access_log``), for
the auditors' query (by agency, application, reader, citizen and time). The citizen's
own log is read straight from their stream. Applied inside the projector's transaction
by ``projections.views``."""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC
from typing import Any

from domain.access_log import PERSONAL_DATA_READ, PersonalDataRead
from eventstore.port import RecordedEvent
from projections.sqldb import Db

SCHEMA = """
CREATE TABLE IF NOT EXISTS access_log (
    position INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    citizen TEXT NOT NULL,
    what TEXT NOT NULL,
    application TEXT,
    item TEXT,
    agency TEXT,
    staff TEXT NOT NULL,
    role TEXT NOT NULL,
    staff_agency TEXT,
    task TEXT,
    reason TEXT
);
CREATE INDEX IF NOT EXISTS access_log_agency ON access_log (agency, at);
CREATE INDEX IF NOT EXISTS access_log_application ON access_log (application, at);
CREATE INDEX IF NOT EXISTS access_log_staff ON access_log (staff, at);
CREATE INDEX IF NOT EXISTS access_log_citizen ON access_log (citizen, at);
"""
TABLES = ("access_log",)
COLUMNS = (
    "position, at, citizen, what, application, item, agency, staff, role, staff_agency,"
    " task, reason"
)


def apply(db: Db, event: RecordedEvent) -> None:
    if event.type != PERSONAL_DATA_READ:
        return
    r = PersonalDataRead.model_validate(event.data)
    db.execute(
        f"INSERT INTO access_log ({COLUMNS})"  # noqa: S608 - our own columns
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (position) DO NOTHING",
        (
            event.position,
            event.recorded_at.astimezone(UTC).isoformat(timespec="microseconds"),
            r.citizen,
            r.what,
            r.application,
            r.item,
            r.agency,
            r.staff,
            r.role,
            r.staff_agency,
            r.task,
            r.reason,
        ),
    )


def reads(
    db: Db,
    *,
    agencies: Collection[str] | None,
    application: str | None = None,
    staff: str | None = None,
    citizen: str | None = None,
    since: str | None = None,
    until: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[dict[str, Any]], int]:
    """Reads of the records of ``agencies`` (None: every agency), newest first, narrowed
    by application, reader, citizen and time (``since`` inclusive, ``until`` exclusive:
    UTC ISO 8601, compared as the stored text); and how many match in all."""
    clauses: list[str] = []
    args: list[str | int] = []
    if agencies is not None:
        clauses.append(f"agency IN ({', '.join('?' * len(agencies))})" if agencies else "1 = 0")
        args += sorted(agencies)
    for clause, value in (
        ("application = ?", application),
        ("staff = ?", staff),
        ("citizen = ?", citizen),
        ("at >= ?", since),
        ("at < ?", until),
    ):
        if value is not None:
            clauses.append(clause)
            args.append(value)
    where = f"WHERE {' AND '.join(clauses)}" if clauses else ""  # our clauses, bound values
    (total,) = db.execute(f"SELECT count(*) FROM access_log {where}", args).fetchone()  # noqa: S608
    rows = db.execute(
        f"SELECT {COLUMNS} FROM access_log {where}"  # noqa: S608 - see above
        " ORDER BY position DESC LIMIT ? OFFSET ?",
        (*args, limit, offset),
    ).fetchall()
    return [dict(r) for r in rows], total
