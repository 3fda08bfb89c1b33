"""The definition being edited: a raw JSON dict in the session, changed one step at a
time with an undo stack. The pure helpers below work on plain dicts so that a draft
with problems (which pydantic would refuse) can still be edited and drawn."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import streamlit as st

from designer.i18n import N_
from domain.steps import KINDS, retarget

WIDGET_PREFIX = "ed."
UNDO_LIMIT = 50

KIND_LABELS = {kind: k.label for kind, k in KINDS.items()}
"""The palette: every step kind by what people call it, in the registry's order (in
English, as the registry names them; the pages show them translated)."""
KIND_LABEL_TEXTS = (
    N_("Form (pengajuan)"),
    N_("Review by an officer"),
    N_("Decision (condition)"),
    N_("Notify the citizen"),
    N_("End"),
    N_("Parallel split"),
    N_("Join"),
    N_("Correction by the citizen (perbaikan)"),
    N_("Payment (biaya/tarif)"),
    N_("Issue a document"),
    N_("Wait for an external event"),
    N_("Sub-service"),
    N_("Face verification"),
    N_("Visit in person (appointment)"),
)
"""The registry's labels marked for the catalogues (a test checks none is missing)."""


def skeleton(
    service_id: str, name: str, agency: dict[str, str], description: str = ""
) -> dict[str, Any]:
    """A new service that is valid from the start: the citizen's form, then the end."""
    return {
        "id": service_id,
        "name": name,
        "agency": agency,
        "description": description,
        "fields": [],
        "steps": [
            {"kind": "form", "id": "pengajuan", "name": "Pengajuan", "next": "selesai"},
            {"kind": "end", "id": "selesai", "name": "Selesai", "result": "approved"},
        ],
    }


def new_step(kind: str, step_id: str, name: str, fallback: str) -> dict[str, Any]:
    """A step of ``kind`` with sensible defaults; its ways out lead to ``fallback``."""
    base: dict[str, Any] = {"kind": kind, "id": step_id, "name": name or step_id}
    extra: dict[str, Any]
    match kind:
        case "form" | "notify" | "document" | "subservice":
            extra = {"next": fallback}
            if kind == "notify":
                extra["message"] = "Permohonan Anda sedang diproses."
            if kind == "document":
                extra["template"] = {"code": "SK", "title": name or "Surat", "body": "..."}
            if kind == "subservice":
                extra["service"] = "layanan-lain"
        case "review":
            extra = {"role": "officer", "instructions": "", "outcomes": {"approve": fallback}}
        case "decision":
            extra = {"branches": [], "default": fallback}
        case "end":
            extra = {"result": "approved"}
        case "parallel":
            extra = {"branches": [fallback, fallback], "join": fallback}
        case "join":
            extra = {"mode": "all", "next": fallback}
        case "correction":
            extra = {"resume": fallback, "on_abandon": fallback, "pause_clock": True}
        case "payment":
            extra = {"fee": {"amount": 0, "rules": []}, "next": fallback}
        case "external":
            extra = {"event": "event_received", "fields": [], "next": fallback}
        case "face_verify":
            extra = {"on_match": fallback, "on_mismatch": fallback}
        case "appointment":
            extra = {
                "purpose": "Membawa dokumen asli",
                "locations": [],
                "deadline": {"amount": 10, "unit": "working_days"},
                "role": "officer",
                "next": fallback,
                "no_show": fallback,
            }
        case _:
            raise ValueError(f"unknown step kind {kind!r}")
    return {**base, **extra}


def rename_references(definition: dict[str, Any], old: str, new: str) -> None:
    """Point every way out that led to step ``old`` at ``new``."""
    for step in definition.get("steps", []):
        if isinstance(step, dict):
            retarget(step, old, new)
    if definition.get("start") == old:
        definition["start"] = new
    if definition.get("cancellable_until") == old:
        definition["cancellable_until"] = new


def unique_id(base: str, taken: set[str]) -> str:
    base = re.sub(r"[^a-z0-9_]+", "_", base.lower()).strip("_") or "step"
    if not base[0].isalpha():
        base = f"s_{base}"
    candidate, n = base, 2
    while candidate in taken:
        candidate, n = f"{base}_{n}", n + 1
    return candidate


def step_index(path: str) -> int | None:
    m = re.match(r"^steps\[(\d+)\]", path)
    return int(m.group(1)) if m else None


def field_index(path: str) -> int | None:
    m = re.match(r"^fields\[(\d+)\]", path)
    return int(m.group(1)) if m else None


def fingerprint(definition: dict[str, Any]) -> str:
    return json.dumps(definition, sort_keys=True, default=str)


# --- the session's draft ------------------------------------------------------------


def current() -> dict[str, Any] | None:
    found: dict[str, Any] | None = st.session_state.get("draft")
    return found


def load(definition: dict[str, Any], origin: str) -> None:
    """Start editing ``definition`` (a copy); the undo stack starts empty."""
    clean = copy.deepcopy(definition)
    clean.pop("version", None)
    clean.pop("schema_version", None)
    st.session_state["draft"] = clean
    st.session_state["draft_origin"] = origin
    # What the server holds already: nothing to keep until the administrator changes it.
    # The editor's first complete run may write it in its own form (defaults filled in),
    # which is no change of theirs: ``settle`` takes that form as the baseline.
    st.session_state["autosaved"] = copy.deepcopy(clean)
    st.session_state["autosave_pending"] = True
    st.session_state.pop("autosaved_at", None)
    st.session_state["undo"] = []
    st.session_state["selected"] = clean["steps"][0]["id"] if clean.get("steps") else None
    reset_widgets()


_SERVICE_ID = re.compile(r"^[a-z][a-z0-9-]{1,62}$")


def autosave() -> str | None:
    """Keep the draft on the server (the API's work in progress) when it changed since it
    was last kept, problems and all: closing the tab or losing the connection loses no
    work. The time it was last kept (ISO), or None when it never had to be. Raises
    ``ApiError`` when the API cannot keep it."""
    d = current()
    if d is None or not _SERVICE_ID.match(str(d.get("id", ""))):
        return None
    if st.session_state.get("autosave_pending"):
        return None
    if st.session_state.get("autosaved") != d:
        from designer import session  # the pages' API client (session imports draft)

        session.api().save_work(str(d["id"]), d)
        st.session_state["autosaved"] = copy.deepcopy(d)
        st.session_state["autosaved_at"] = datetime.now(UTC).isoformat()
    found: str | None = st.session_state.get("autosaved_at")
    return found


def settle() -> None:
    """At the end of the editor's first complete run after ``load``: the draft as the
    editor writes it is what the server holds (see ``load``)."""
    if st.session_state.pop("autosave_pending", False) and current() is not None:
        st.session_state["autosaved"] = copy.deepcopy(current())


def keep_now() -> None:
    """The draft is not on the server yet (an imported file): keep it at once."""
    st.session_state["autosaved"] = None
    st.session_state.pop("autosave_pending", None)


def change(mutate: Callable[[dict[str, Any]], None], what: str, *, reset: bool = False) -> None:
    """Apply one edit to the draft, remembering the state before it for undo."""
    d = current()
    if d is None:
        return
    before = copy.deepcopy(d)
    mutate(d)
    if d == before:
        return
    stack: list[tuple[str, dict[str, Any]]] = st.session_state.setdefault("undo", [])
    stack.append((what, before))
    del stack[:-UNDO_LIMIT]
    if reset:
        reset_widgets()


def undo() -> None:
    stack: list[tuple[str, dict[str, Any]]] = st.session_state.get("undo", [])
    if not stack:
        return
    _, before = stack.pop()
    st.session_state["draft"] = before
    ids = [s.get("id") for s in before.get("steps", [])]
    if st.session_state.get("selected") not in ids:
        st.session_state["selected"] = ids[0] if ids else None
    reset_widgets()


def last_change() -> str | None:
    stack: list[tuple[str, dict[str, Any]]] = st.session_state.get("undo", [])
    return stack[-1][0] if stack else None


def reset_widgets() -> None:
    """Forget the editor's widget values so they show the draft again (after undo or a
    change that moved things)."""
    for key in [k for k in st.session_state if str(k).startswith(WIDGET_PREFIX)]:
        del st.session_state[key]
