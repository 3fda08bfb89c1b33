"""What the workflow's ``document`` step sends to the ``issue_document`` activity and gets
back. Plain dataclasses: the workflow sandbox imports this module."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class IssueRequest:
    application_id: str
    step_id: str
    visit: int
    citizen: str
    agency_code: str
    agency_name: str
    service_id: str
    service_name: str
    template: dict[str, Any]
    """``DocumentTemplate`` as JSON: code, title, body, signatory."""
    values: dict[str, str]
    """Form and external field values, already stringified."""
    issued_at: str
    """ISO 8601 in UTC, from ``workflow.now()``: a retry renders identical bytes."""
    utc_offset_hours: int = 7
    """The agency's time zone (7 WIB, 8 WITA, 9 WIT): the year of the number and the
    date printed on the document are local."""


@dataclass
class IssuedDocument:
    number: str
    sha256: str
    signature: str
    """Base64 of the Ed25519 signature over ``signed_payload(...)``."""
    public_key_id: str
    issued_at: str
    verify_url: str
    title: str
