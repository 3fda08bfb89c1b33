"""Fixtures of the document tests: a real SQLite event store in the test's var/, the
activity as the worker registers it, and a request as the interpreter workflow builds it
for a ``document`` step."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from temporalio.testing import ActivityEnvironment

from activities.documents import DocumentActivities
from config.settings import Settings
from documents.contract import IssuedDocument, IssueRequest
from eventstore.sqlite import SqliteEventStore

SITI = "siti@example.id"
SITI_VALUES = {
    "nik": "3510154808900003",
    "full_name": "Siti Aminah",
    "address": "Jl. Ahmad Yani No. 12, RT 02/RW 05",
    "kelurahan": "Penganjuran",
    "purpose": "Pembukaan rekening bank",
}
TEMPLATE: dict[str, Any] = {
    "code": "SKD",
    "title": "Surat Keterangan Domisili",
    "body": "Yang bertanda tangan di bawah ini menerangkan bahwa {full_name}, bertempat "
    "tinggal di {address}, Kelurahan {kelurahan}, benar berdomisili di alamat tersebut.\n"
    "Surat ini dibuat untuk keperluan {purpose} pada {issued_date}.\n"
    "Permohonan {application_id} ({service_name}), dokumen {document_number}.",
    "signatory": "Camat Banyuwangi",
}
ISSUED_AT = "2026-11-28T03:15:00+00:00"


@pytest.fixture
def store(settings: Settings) -> Iterator[SqliteEventStore]:
    s = SqliteEventStore(settings.eventstore_location)
    yield s
    s.close()


@pytest.fixture
def acts(store: SqliteEventStore, settings: Settings) -> DocumentActivities:
    return DocumentActivities(store, settings)


def make_request(**changes: Any) -> IssueRequest:
    req = IssueRequest(
        application_id="BWI-2026-000001",
        step_id="issue_certificate",
        visit=1,
        citizen=SITI,
        agency_code="BWI",
        agency_name="Kabupaten Banyuwangi",
        service_id="surat-keterangan-domisili",
        service_name="Surat Keterangan Domisili",
        template=dict(TEMPLATE),
        values=dict(SITI_VALUES),
        issued_at=ISSUED_AT,
    )
    return dataclasses.replace(req, **changes)


@pytest.fixture
def issue(acts: DocumentActivities) -> Callable[..., IssuedDocument]:
    """Run ``issue_document`` in an ActivityEnvironment, as a Temporal worker would."""

    def run(req: IssueRequest | None = None, **changes: Any) -> IssuedDocument:
        result: IssuedDocument = ActivityEnvironment().run(
            acts.issue_document, req or make_request(**changes)
        )
        return result

    return run


@pytest.fixture
def make_req() -> Callable[..., IssueRequest]:
    """``make_req(visit=2, ...)``: the default request with some fields changed."""
    return make_request
