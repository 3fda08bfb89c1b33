"""What a ``CitizenDataErased`` event does to the views: the citizen's applications and
complaints are folded again from the event store, which now yields ``[dihapus]`` for
every personal value of theirs (``eventstore.personal``), and their applications are
marked ``erased_at`` (their documents' verification then says they are revoked).

Only the events up to the erasure's position are folded: later ones are applied by the
projector in their turn. A rebuild from position 0 arrives at the same rows, since the
key is gone for it too. Applied inside the projector's transaction."""

from __future__ import annotations

from typing import TYPE_CHECKING

from domain import complaints as c
from domain import events as ev
from domain import state as application_fold
from eventstore.port import EventStore, RecordedEvent
from projections import complaints
from projections.sqldb import Db

if TYPE_CHECKING:
    from projections.views import Batch


def apply(
    db: Db, event: RecordedEvent, batch: Batch, store: EventStore | None
) -> None:
    if store is None:
        raise RuntimeError(
            "an erasure is projected by re-reading the citizen's streams; the projector "
            "passes its event store to projections.views.apply"
        )
    citizen = str(event.data["citizen"])
    rows = db.execute("SELECT application_id FROM applications WHERE citizen = ?", (citizen,))
    ids = {str(r[0]) for r in rows} | {
        app_id for app_id, s in batch.states.items() if s.citizen == citizen
    }
    for app_id in sorted(ids):
        state: application_fold.ApplicationState | None = None
        for e in store.read_stream(ev.application_stream(app_id)):
            if e.position > event.position:
                break
            state = application_fold.apply(state, e, in_place=True)
        if state is not None:
            state.erased_at = event.recorded_at
            batch.states[app_id] = state
    filed = db.execute("SELECT complaint_id FROM complaints WHERE complainant = ?", (citizen,))
    for complaint_id in sorted(str(r[0]) for r in filed):
        db.execute("DELETE FROM complaints WHERE complaint_id = ?", (complaint_id,))
        for e in store.read_stream(c.complaint_stream(complaint_id)):
            if e.position > event.position:
                break
            complaints.apply(db, e)
