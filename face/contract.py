"""The face-verification activity as the workflow sees it. It runs on its own task
queue (``face``) in its own worker process, so the main worker never imports torch; the
workflow calls it by name with these types."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

VERIFY_FACE: Final = "verify_face"


@dataclass
class FaceCheck:
    application_id: str
    citizen: str
    selfie_ref: str | None
    """Reference of a selfie held in the transient store; deleted after the check."""
    require_counter_enrolment: bool = False
    """The service's face step accepts only an enrolment an officer made at the counter."""
    second_selfie_ref: str | None = None
    """The active check: a second selfie, taken after the requested head ``turn``."""
    turn: str | None = None
    """``left`` or ``right`` as seen in the image; with ``second_selfie_ref``."""


@dataclass
class FaceOutcome:
    match: bool | None
    """None: no decision possible (unusable image, no selfie, nobody enrolled)."""
    distance: float | None
    threshold: float | None
    backend: str
    reason: str
    code: str = ""
    """Why it is not a match where that is not the face itself: ``replay``, ``no_turn``,
    ``counter_enrolment_required``; empty otherwise."""
