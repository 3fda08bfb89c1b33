"""The complaints view (pengaduan): one row per complaint with its folded state
(``domain.complaints.apply``), read by the complainant's history, the agency's inbox and
the dashboard. Applied inside the projector's transaction by ``projections.views``."""

from __future__ import annotations

import orjson

from domain import complaints as c
from eventstore.port import RecordedEvent
from projections.sqldb import Db

SCHEMA = """
CREATE TABLE IF NOT EXISTS complaints (
    complaint_id TEXT PRIMARY KEY,
    agency_code TEXT NOT NULL,
    complainant TEXT,
    status TEXT NOT NULL,
    filed_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    position INTEGER NOT NULL,
    state BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS complaints_agency ON complaints (agency_code, filed_at);
CREATE INDEX IF NOT EXISTS complaints_complainant ON complaints (complainant, filed_at);
"""


def apply(db: Db, event: RecordedEvent) -> None:
    complaint_id = event.stream.removeprefix("complaint-")
    before = complaint(db, complaint_id)
    view = c.apply(before, event.type, event.data, event.recorded_at.isoformat())
    db.execute(
        "INSERT INTO complaints (complaint_id, agency_code, complainant, status, filed_at,"
        " updated_at, position, state) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (complaint_id) DO UPDATE SET agency_code = excluded.agency_code,"
        " status = excluded.status, updated_at = excluded.updated_at,"
        " position = excluded.position, state = excluded.state",
        (
            view.complaint_id,
            view.agency,
            view.complainant,
            view.status,
            view.filed_at,
            event.recorded_at.isoformat(),
            event.position,
            orjson.dumps(view.model_dump(mode="json")),
        ),
    )


def complaint(db: Db, complaint_id: str) -> c.ComplaintView | None:
    row = db.execute(
        "SELECT state FROM complaints WHERE complaint_id = ?", (complaint_id,)
    ).fetchone()
    return c.ComplaintView.model_validate(orjson.loads(row[0])) if row else None


def complaints(
    db: Db,
    *,
    agency_code: str | None = None,
    complainant: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[c.ComplaintView]:
    """Newest first, of one agency (the inbox) or one complainant (their history)."""
    column, value = ("agency_code", agency_code) if agency_code else ("complainant", complainant)
    rows = db.execute(
        f"SELECT state FROM complaints WHERE {column} = ?"  # noqa: S608 - our own columns
        " ORDER BY filed_at DESC, complaint_id DESC LIMIT ? OFFSET ?",
        (value, limit, offset),
    ).fetchall()
    return [c.ComplaintView.model_validate(orjson.loads(r[0])) for r in rows]
