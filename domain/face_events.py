"""Face enrolments as events (stream ``face-<account id>``): how each enrolment was made
and by whom, so that a service may ask for one an officer vouched for. The embedding
itself never enters the event log (it rests encrypted in the face store)."""

from __future__ import annotations

from typing import ClassVar, Final, Literal

from domain.events import Event

FACE_ENROLLED: Final = "FaceEnrolled"
FACE_ENROLMENT_DELETED: Final = "FaceEnrolmentDeleted"

Provenance = Literal["self-service", "counter"]
"""``self-service``: the citizen, online. ``counter``: an officer who checked the
citizen's KTP in person (the officer is the event's ``by``)."""


def face_stream(account_id: str) -> str:
    return f"face-{account_id}"


class FaceEnrolled(Event):
    TYPE: ClassVar[str] = FACE_ENROLLED
    backend: str
    provenance: Provenance
    by: str
    """Who enrolled the face: the citizen's account, or the officer at the counter."""
    replaced: bool = False


class FaceEnrolmentDeleted(Event):
    TYPE: ClassVar[str] = FACE_ENROLMENT_DELETED
    by: str
