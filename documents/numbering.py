"""Document numbers (``BWI/SKD/2026/000001``: agency, template code, year, sequence) and
where an issued document is found: its file and the public URL its QR code opens.

A number is allocated by appending one event to ``domain.events.document_number_stream``.
The event id is derived from (application, step, visit), so a retried request re-appends
the same id, the store answers with the stored version, and the number is the same;
concurrent appends are serialised by the store, so no two requests share a version.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Final

from config.settings import Settings
from documents.contract import IssueRequest
from domain import events as ev
from eventstore.port import ANY, EventStore, NewEvent

DOCUMENT_NUMBER_RESERVED: Final = "DocumentNumberReserved"
"""Event of a ``docno-<AGENCY>-<CODE>-<YEAR>`` stream; its version + 1 is the sequence."""

NUMBER_PATTERN: Final = re.compile(r"^[A-Z]{2,6}/[A-Z]{2,10}/[0-9]{4}/[0-9]{6,9}$")
_AGENCY_CODE: Final = re.compile(r"^[A-Z]{2,6}$")


def document_number(agency_code: str, code: str, year: int, sequence: int) -> str:
    return f"{agency_code}/{code}/{year}/{sequence:06d}"


def document_filename(number: str) -> str:
    """``BWI/SKD/2026/000001`` -> ``BWI_SKD_2026_000001.pdf``."""
    return number.replace("/", "_") + ".pdf"


def document_path(settings: Settings, number: str) -> Path:
    return settings.documents_dir / document_filename(number)


def verify_url(settings: Settings, number: str) -> str:
    return f"{settings.public_url}/documents/{number}/verify"


def download_url(settings: Settings, number: str) -> str:
    return f"{settings.public_url}/documents/{number}"


def allocate_number(store: EventStore, req: IssueRequest, code: str, year: int) -> str:
    """The same number for the same (application, step, visit), however often asked.
    Raises the store's ``DuplicateEventIds``/``InvalidEvent`` when the stream refuses."""
    stream = ev.document_number_stream(req.agency_code, code, year)
    event = NewEvent(
        id=ev.event_id(f"docreq-{req.application_id}-{req.step_id}", req.visit),
        type=DOCUMENT_NUMBER_RESERVED,
        data={
            "application_id": req.application_id,
            "service_id": req.service_id,
            "step": req.step_id,
            "visit": req.visit,
        },
    )
    result = store.append(stream, [event], expected_version=ANY)
    return document_number(req.agency_code, code, year, result.stream_version + 1)
