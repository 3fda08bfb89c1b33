"""An application's form values, read from the event store when someone opens the
application: the read models keep none of them (minimum personal data, UU 27/2022
art. 16: the inbox, the lists and the dashboards need the status, the service and whose
it is, not the NIK, the address or what else the form asked). The values come out of
the same fold the views use, so they are what the view would have held; after the
citizen's erasure they read ``[dihapus]`` (``eventstore.personal``)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from domain import events as ev
from domain import state as application_fold
from eventstore.port import EventStore, RecordedEvent


def form_data(events: Iterable[RecordedEvent], upto: int | None = None) -> dict[str, Any]:
    """The values after the application's ``events`` (those at or before ``upto``)."""
    state: application_fold.ApplicationState | None = None
    for e in events:
        if upto is not None and e.position > upto:
            break
        state = application_fold.apply(state, e, in_place=True)
    return dict(state.data) if state is not None else {}


def read_form_data(
    store: EventStore, application_id: str, upto: int | None = None
) -> dict[str, Any]:
    return form_data(store.read_stream(ev.application_stream(application_id)), upto)
