"""How each event changes the view rows. Called inside the projector's transaction, so
a batch's rows and its checkpoint commit together."""

from __future__ import annotations

import orjson

from domain import events as ev
from domain import personal_data as pd
from domain import services as service_fold
from domain import state as application_fold
from domain.access_log import STREAM_PREFIX as ACCESS_PREFIX
from eventstore.port import EventStore, RecordedEvent
from projections import access_log, complaints, erasure, survey_view
from projections.sqldb import Db


class Batch:
    """Application states folded during one projector batch: each is read once, folded
    in place, and its row written once at ``flush`` (in the same transaction)."""

    def __init__(self, db: Db) -> None:
        self.db = db
        self.states: dict[str, application_fold.ApplicationState] = {}

    def state(self, app_id: str) -> application_fold.ApplicationState | None:
        if app_id not in self.states:
            row = self.db.execute(
                "SELECT state FROM applications WHERE application_id = ?", (app_id,)
            ).fetchone()
            if row is None:
                return None
            self.states[app_id] = application_fold.ApplicationState.model_validate(
                orjson.loads(row[0])
            )
        return self.states[app_id]

    def flush(self) -> None:
        for s in self.states.values():
            _write_application(self.db, s)
        self.states.clear()


def apply(
    db: Db,
    event: RecordedEvent,
    batch: Batch | None = None,
    store: EventStore | None = None,
) -> None:
    """Apply one event; with a ``batch``, application rows wait for its flush. An
    erasure re-folds the citizen's rows from ``store`` (``projections.erasure``)."""
    if event.stream.startswith(pd.ERASURE_PREFIX):
        own = batch or Batch(db)
        erasure.apply(db, event, own, store)
        if batch is None:
            own.flush()
    elif event.stream.startswith("application-"):
        own = batch or Batch(db)
        _apply_application(own, event)
        if batch is None:
            own.flush()
    elif event.stream.startswith("service-"):
        _apply_service(db, event)
    elif event.stream.startswith("draftwork-"):
        _apply_work(db, event)
    elif event.stream.startswith("complaint-"):
        complaints.apply(db, event)
    elif event.stream.startswith("survey-"):
        survey_view.apply(db, event)
    elif event.stream.startswith(ACCESS_PREFIX):
        access_log.apply(db, event)


def _apply_application(batch: Batch, event: RecordedEvent) -> None:
    db = batch.db
    app_id = event.stream.removeprefix("application-")
    s = application_fold.apply(batch.state(app_id), event, in_place=True)
    batch.states[app_id] = s
    _secondary(db, app_id, s, event)


def _write_application(db: Db, s: application_fold.ApplicationState) -> None:
    db.execute(
        "INSERT INTO applications (application_id, service_id, agency_code, citizen, status,"
        " current_step, submitted_at, updated_at, position, state, channel)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (application_id) DO UPDATE SET"
        " status = excluded.status, current_step = excluded.current_step,"
        " updated_at = excluded.updated_at, position = excluded.position,"
        " state = excluded.state",
        (
            s.application_id,
            s.service_id,
            s.agency_code,
            s.citizen,
            s.status,
            s.current_step,
            s.submitted_at.isoformat(),
            s.updated_at.isoformat(),
            s.position,
            # Without the form's values: no view needs them, and whoever opens the
            # application reads them from the event store (projections.form_data).
            orjson.dumps(s.model_dump(mode="json", exclude={"data"})),
            s.channel,
        ),
    )


def _secondary(
    db: Db, app_id: str, s: application_fold.ApplicationState, event: RecordedEvent
) -> None:
    """The rows besides the application's own: inbox tasks and documents."""
    e = ev.parse(event.type, event.data)
    at = event.recorded_at.isoformat()
    match e:
        case ev.ApplicationCompleted():
            survey_view.application_ended(db, s)
        case ev.TaskAssigned():
            db.execute(
                "INSERT INTO tasks (task_id, application_id, service_id, service_name, step,"
                " step_name, role, agency_code, outcomes, status, assigned_at, due_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'open', ?, ?)",
                (
                    e.task_id,
                    app_id,
                    s.service_id,
                    s.service_name,
                    e.step,
                    e.step_name,
                    e.role,
                    e.agency,
                    orjson.dumps(e.outcomes),
                    at,
                    e.due_at,
                ),
            )
        case ev.TaskReassigned():
            db.execute(
                "UPDATE tasks SET role = ?, escalated = 1, claimed_by = NULL WHERE task_id = ?",
                (e.to_role, e.task_id),
            )
        case ev.TaskClaimed():
            db.execute("UPDATE tasks SET claimed_by = ? WHERE task_id = ?", (e.by, e.task_id))
        case ev.TaskCancelled():
            db.execute(
                "UPDATE tasks SET status = 'cancelled', completed_at = ? WHERE task_id = ?",
                (at, e.task_id),
            )
        case ev.TaskCompleted():
            db.execute(
                "UPDATE tasks SET status = 'completed', outcome = ?, completed_by = ?,"
                " completed_at = ? WHERE task_id = ?",
                (e.outcome, e.actor.subject, at, e.task_id),
            )
        case ev.DocumentIssued():
            db.execute(
                "INSERT INTO documents (number, application_id, citizen, agency_code,"
                " agency_name, service_id, service_name, step, title, sha256, signature,"
                " public_key_id, issued_at, position)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (number) DO NOTHING",
                (
                    e.number,
                    app_id,
                    s.citizen,
                    s.agency_code,
                    s.agency_name,
                    s.service_id,
                    s.service_name,
                    e.step,
                    e.title,
                    e.sha256,
                    e.signature,
                    e.public_key_id,
                    e.issued_at,
                    event.position,
                ),
            )


def _apply_work(db: Db, event: RecordedEvent) -> None:
    service_id = event.stream.removeprefix("draftwork-")
    if event.type == ev.WORK_DISCARDED:
        db.execute("DELETE FROM work_copies WHERE service_id = ?", (service_id,))
        return
    if event.type != ev.WORK_SAVED:
        return
    saved = ev.ServiceWorkSaved.model_validate(event.data)
    name = saved.definition.get("name")
    db.execute(
        "INSERT INTO work_copies (service_id, agency_code, name, saved_at, saved_by, problems,"
        " position) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (service_id) DO UPDATE SET"
        " agency_code = excluded.agency_code, name = excluded.name,"
        " saved_at = excluded.saved_at, saved_by = excluded.saved_by,"
        " problems = excluded.problems, position = excluded.position",
        (
            service_id,
            saved.agency,
            name if isinstance(name, str) and name else service_id,
            event.recorded_at.isoformat(),
            saved.by,
            saved.problems,
            event.position,
        ),
    )


def _apply_service(db: Db, event: RecordedEvent) -> None:
    service_id = event.stream.removeprefix("service-")
    row = db.execute("SELECT state FROM services WHERE service_id = ?", (service_id,)).fetchone()
    before = service_fold.ServiceState.model_validate(orjson.loads(row[0])) if row else None
    s = service_fold.apply(before, event, event.version)
    db.execute(
        "INSERT INTO services (service_id, agency_code, name, state) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (service_id) DO UPDATE SET name = excluded.name, state = excluded.state",
        (s.service_id, s.agency_code, s.name, orjson.dumps(s.model_dump(mode="json"))),
    )
