"""The access log (UU 27/2022, PDP): every read of a citizen's personal data by anyone
but the citizen, with who read it, when, what and why.

One event per read, ``PersonalDataRead``, on the citizen's stream ``access-<account>``:
in the event store, so the log is hash-chained like every other stream and covered by
the anchored checkpoints (``audit.anchor``); nobody can quietly drop a line of it.
Why: the task the reader holds on the application (``task``), and/or the reason they
gave (``reason``: the ``X-Access-Reason`` header or the ``reason`` query parameter).
"""

from __future__ import annotations

from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, Field

from domain.state import ApplicationState

PERSONAL_DATA_READ: Final = "PersonalDataRead"
STREAM_PREFIX: Final = "access-"
MAX_REASON: Final = 500
"""Characters of a reason a reader gives."""

What = Literal["application", "attachment", "document", "profile", "lookup", "audit_state"]
"""What was read: the application (data, timeline), an attached requirement document, an
issued document's PDF, the citizen's profile at the counter, the citizen found by NIK
at the counter, the application's state replayed by an auditor."""


def access_stream(citizen: str) -> str:
    return f"{STREAM_PREFIX}{citizen}"


class PersonalDataRead(BaseModel):
    """The stored payload (the reading time is the event's ``recorded_at``)."""

    model_config = ConfigDict(frozen=True)
    citizen: str
    """Whose data: the citizen's account id."""
    what: What
    application: str | None = None
    item: str | None = None
    """The document number or attachment id read, where one was."""
    agency: str | None = None
    """The agency whose records were read: the application's, or the reader's own for a
    profile read at its counter."""
    staff: str
    """The reader's account id."""
    role: str
    staff_agency: str | None = None
    """The reader's agency; None for a region's administrators and auditors."""
    task: str | None = None
    """The open task the reader holds on the application: claimed by them, or waiting
    for their role."""
    reason: str | None = Field(default=None, max_length=MAX_REASON)
    """The reason the reader gave."""


def held_task(app: ApplicationState, subject: str, role: str) -> str | None:
    """The open task of ``app`` that the reader holds: one they claimed, else one
    unclaimed for their role."""
    mine = [t.task_id for t in app.open_tasks if t.claimed_by == subject]
    free = [t.task_id for t in app.open_tasks if t.claimed_by is None and t.role == role]
    held = mine or free
    return held[0] if held else None
