"""The satisfaction survey's rows, so that the SKM reports are queries:

- ``ended_applications``: every application that has ended (its population for the
  IKM's minimum sample, and what the portal offers a citizen to answer);
- ``survey_responses``: one row per answer, with where and when the service was given
  (service, agency, region, the WIB day it ended and its semester and year), the nine
  values and the respondent's optional data. No citizen: reports never say who answered.
  The suggestions are kept in their own column and reported only as a list of texts,
  never beside the respondent's data.

Periods count the day an application ended, for its answer as for the population, so
the respondents of a period are always among its population.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from domain import events as ev
from domain import ikm
from domain.state import ApplicationState
from eventstore.port import RecordedEvent
from projections.sqldb import Db

SCHEMA = """
CREATE TABLE IF NOT EXISTS ended_applications (
    application_id TEXT PRIMARY KEY,
    citizen TEXT NOT NULL,
    service_id TEXT NOT NULL,
    service_name TEXT NOT NULL,
    agency_code TEXT NOT NULL,
    agency_name TEXT NOT NULL,
    status TEXT NOT NULL,
    ended_at TEXT NOT NULL,
    ended_on TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS ended_citizen ON ended_applications (citizen, ended_at);
CREATE INDEX IF NOT EXISTS ended_agency ON ended_applications (agency_code, ended_on);
CREATE TABLE IF NOT EXISTS survey_responses (
    application_id TEXT PRIMARY KEY,
    service_id TEXT NOT NULL,
    service_name TEXT NOT NULL,
    agency_code TEXT NOT NULL,
    agency_name TEXT NOT NULL,
    region TEXT,
    ended_on TEXT NOT NULL,
    semester TEXT NOT NULL,
    year TEXT NOT NULL,
    u1 INTEGER NOT NULL, u2 INTEGER NOT NULL, u3 INTEGER NOT NULL,
    u4 INTEGER NOT NULL, u5 INTEGER NOT NULL, u6 INTEGER NOT NULL,
    u7 INTEGER NOT NULL, u8 INTEGER NOT NULL, u9 INTEGER NOT NULL,
    age INTEGER,
    sex TEXT,
    education TEXT,
    occupation TEXT,
    suggestion TEXT NOT NULL,
    position INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS survey_agency ON survey_responses (agency_code, ended_on);
"""
TABLES = ("ended_applications", "survey_responses")


def application_ended(db: Db, s: ApplicationState) -> None:
    """An application reached its result: it counts in its period's population."""
    if s.completed_at is None or s.result is None:
        return
    db.execute(
        "INSERT INTO ended_applications (application_id, citizen, service_id, service_name,"
        " agency_code, agency_name, status, ended_at, ended_on)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (application_id) DO UPDATE SET"
        " status = excluded.status, ended_at = excluded.ended_at,"
        " ended_on = excluded.ended_on",
        (
            s.application_id,
            s.citizen,
            s.service_id,
            s.service_name,
            s.agency_code,
            s.agency_name,
            s.result,
            s.completed_at.isoformat(),
            ikm.local_day(s.completed_at).isoformat(),
        ),
    )


def apply(db: Db, event: RecordedEvent) -> None:
    """An event of a ``survey-`` stream."""
    if event.type != ev.SURVEY_ANSWERED:
        return
    d = event.data
    day = ikm.local_day(datetime.fromisoformat(d["ended_at"]))
    values = d["values"]
    respondent = d.get("respondent") or {}
    db.execute(
        "INSERT INTO survey_responses (application_id, service_id, service_name, agency_code,"
        " agency_name, region, ended_on, semester, year, u1, u2, u3, u4, u5, u6, u7, u8, u9,"
        " age, sex, education, occupation, suggestion, position)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (application_id) DO NOTHING",
        (
            d["application_id"],
            d["service_id"],
            d["service_name"],
            d["agency_code"],
            d["agency_name"],
            d.get("region"),
            day.isoformat(),
            ikm.semester(day),
            str(day.year),
            *(int(values[u]) for u in ikm.UNSUR_IDS),
            respondent.get("age"),
            respondent.get("sex"),
            respondent.get("education"),
            respondent.get("occupation"),
            d.get("suggestion", ""),
            event.position,
        ),
    )


def answers_of(db: Db, citizen: str, limit: int) -> list[dict[str, Any]]:
    """The answers a citizen gave, newest first: found through their ended
    applications, as the answers themselves name nobody."""
    rows = db.execute(
        "SELECT r.* FROM ended_applications e JOIN survey_responses r"
        " ON r.application_id = e.application_id WHERE e.citizen = ?"
        " ORDER BY r.position DESC LIMIT ?",
        (citizen, limit),
    ).fetchall()
    return [dict(r) for r in rows]
