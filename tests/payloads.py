"""The proof that typed events changed no stored byte: every application event, parsed
into its model (``domain.events``) and dumped again, gives the very bytes the store
keeps (orjson with sorted keys, as ``eventstore.common.serialise`` writes them) and, for
a payload recorded in a Temporal history, the same keys in the same order."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from domain import appointment_events, complaints, location_events, queue_events
from domain import events as ev
from domain.events import Event
from eventstore.common import serialise

MODELLED_ELSEWHERE: dict[str, type[Event]] = {
    **complaints.EVENTS,
    **appointment_events.EVENTS,
    **queue_events.EVENTS,
    **location_events.EVENTS,
}
"""Event types with their models outside ``domain.events``: complaints, appointments
and their slots, the counter queue, locations."""


def mismatch(event_type: str, stored: dict[str, Any], stored_bytes: bytes | None = None) -> str:
    """Why this stored payload does not round-trip through its model ("" when it does).
    ``stored_bytes``: the store's own bytes (sorted keys, so no order to compare);
    without them, ``stored`` is a payload as the workflow sent it, order included.
    Names the keys only: payloads hold citizens' data."""
    model = ev.parse(event_type, stored)
    if model is None and event_type in MODELLED_ELSEWHERE:
        model = MODELLED_ELSEWHERE[event_type].model_validate(stored)
    if model is None:
        return f"{event_type}: no model in domain.events"
    dumped = model.payload()
    if stored_bytes is None and json.dumps(dumped) != json.dumps(stored):
        # As the workflow sent it to the append activity: keys, order and values.
        return f"{event_type}: stored keys {list(stored)}, model gives {list(dumped)}"
    if sorted(dumped) != sorted(stored):
        return f"{event_type}: stored keys {sorted(stored)}, model gives {sorted(dumped)}"
    canonical = serialise(stored, "data") if stored_bytes is None else stored_bytes
    if serialise(dumped, "data") != canonical:
        return f"{event_type}: the stored bytes differ from the model's"
    return ""


def store_mismatches(db: Path) -> list[str]:
    """Every event of a SQLite event store that ``domain.events`` models, against its
    stored bytes; an application event must have a model. (Accounts and document
    numbers have their own modules.)"""
    conn = sqlite3.connect(db)
    try:
        rows: Iterable[tuple[int, str, str, bytes]] = conn.execute(
            "SELECT position, stream, type, data FROM events"
        ).fetchall()
    finally:
        conn.close()
    found = []
    for position, stream, event_type, data in rows:
        modelled = event_type in ev.EVENTS or event_type in MODELLED_ELSEWHERE
        if not modelled and not stream.startswith("application-"):
            continue
        why = mismatch(event_type, json.loads(data), bytes(data))
        if why:
            found.append(f"position {position}: {why}")
    return found
