"""Document issuance (produk pelayanan): a numbered, signed PDF with a QR code.

A ``document`` step of a service definition calls ``issue_document``. The activity

1. allocates the number (``BWI/SKD/2026/000001``: agency, template code, year, sequence)
   by appending one event to ``domain.events.document_number_stream``. The event id is
   derived from (application, step, visit), so a retried activity re-appends the same id,
   the store answers with the stored version, and the number is the same; concurrent
   appends are serialised by the store, so no two requests share a version;
2. renders the PDF deterministically (creation date = ``issued_at``, which the workflow
   takes from ``workflow.now()``): a retry writes identical bytes, hence the same sha256
   and, Ed25519 being deterministic, the same signature;
3. stores it under ``var/documents/`` and signs a canonical JSON of the registry record
   (number, application, service, sha256, issue time, holder) with the agency's Ed25519
   key (``var/document-signing-key.pem``, generated on first use, mode 0600).

Anyone can then check a number (``GET /documents/{number}/verify``, what the QR code
opens) or a file (``POST /documents/verify``): a PDF whose bytes were altered has another
sha256, which no issued document has.
"""

from __future__ import annotations

import hashlib
import logging
import re
from datetime import timedelta, timezone
from typing import Final

from pydantic import ValidationError
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.heartbeat import heartbeating
from config.settings import Settings
from documents.contract import IssuedDocument, IssueRequest
from documents.numbering import allocate_number, document_path, verify_url
from documents.pdf import parse_issued_at, render_pdf, write_pdf
from documents.signing import load_signing_key, public_key_id, sign, signed_payload
from domain.definition import DocumentTemplate
from eventstore.port import DuplicateEventIds, EventStore, InvalidEvent

log = logging.getLogger(__name__)

_AGENCY_CODE: Final = re.compile(r"^[A-Z]{2,6}$")


# -- the activity -----------------------------------------------------------------------


def _refuse(message: str, kind: str) -> ApplicationError:
    return ApplicationError(message, type=kind, non_retryable=True)


class DocumentActivities:
    """Holds the store and the settings (documents folder, signing key, public URL)."""

    def __init__(self, store: EventStore, settings: Settings) -> None:
        self._store = store
        self._settings = settings

    def allocate_number(self, req: IssueRequest, code: str, year: int) -> str:
        """The same number for the same (application, step, visit), however often asked."""
        try:
            return allocate_number(self._store, req, code, year)
        except (DuplicateEventIds, InvalidEvent) as e:
            raise _refuse(str(e), type(e).__name__) from e

    @activity.defn(name="issue_document")
    def issue_document(self, req: IssueRequest) -> IssuedDocument:
        with heartbeating():
            return self._issue(req)

    def _issue(self, req: IssueRequest) -> IssuedDocument:
        try:
            template = DocumentTemplate.model_validate(req.template)
        except ValidationError as e:
            raise _refuse(f"the document template is not valid: {e}", "InvalidTemplate") from e
        try:
            issued = parse_issued_at(req.issued_at)
        except ValueError as e:
            raise _refuse(
                f"issued_at {req.issued_at!r} is not an ISO 8601 time", "InvalidRequest"
            ) from e
        if not _AGENCY_CODE.match(req.agency_code):
            raise _refuse(
                f"agency code {req.agency_code!r} is not 2-6 capital letters", "InvalidRequest"
            )
        if req.visit < 1:
            raise _refuse(f"visit must be >= 1, got {req.visit}", "InvalidRequest")

        local = issued.astimezone(timezone(timedelta(hours=req.utc_offset_hours)))
        number = self.allocate_number(req, template.code, local.year)
        key = load_signing_key(self._settings.document_key_location)
        key_id = public_key_id(key.public_key())
        url = verify_url(self._settings, number)
        pdf = render_pdf(req, template, number, url, key_id, issued, local)
        sha = hashlib.sha256(pdf).hexdigest()
        write_pdf(document_path(self._settings, number), pdf)
        signature = sign(
            key,
            signed_payload(
                number=number,
                application_id=req.application_id,
                service_id=req.service_id,
                sha256=sha,
                issued_at=req.issued_at,
                holder=req.citizen,
            ),
        )
        log.info("issued document %s for application %s", number, req.application_id)
        return IssuedDocument(
            number=number,
            sha256=sha,
            signature=signature,
            public_key_id=key_id,
            issued_at=req.issued_at,
            verify_url=url,
            title=template.title,
        )
