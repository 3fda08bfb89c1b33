"""commands/wallet.py on a real event store: the wallet's limit and a removal racing an
attachment hold under concurrent requests; retries with a key record once."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from commands import wallet
from domain.refusals import Conflict, Invalid, NotFound
from domain.wallet import AttachmentRef, DocumentUploaded, wallet_stream
from eventstore.sqlite import SqliteEventStore

SITI = "siti@example.id"


@pytest.fixture
def store(tmp_path: Path):
    s = SqliteEventStore(str(tmp_path / "events.db"))
    yield s
    s.close()


def uploaded(kind: str = "ktp", citizen: str = SITI) -> DocumentUploaded:
    return DocumentUploaded(
        document_id=f"doc-{uuid.uuid4().hex}",
        citizen=citizen,
        sha256="0" * 64,
        kind=kind,
        filename="ktp.pdf",
        content_type="application/pdf",
        size=10,
    )


def ref(doc: DocumentUploaded, requirement: str = "ktp") -> AttachmentRef:
    return AttachmentRef(
        document_id=doc.document_id,
        sha256=doc.sha256,
        requirement=requirement,
        filename=doc.filename,
        content_type=doc.content_type,
        size=doc.size,
    )


def test_racing_uploads_never_pass_the_limit(store):
    with ThreadPoolExecutor(8) as pool:
        results = list(
            pool.map(lambda _: _try(lambda: wallet.upload(store, uploaded(), 5)), range(16))
        )
    assert sum(1 for r in results if r == "ok") == 5
    assert {r for r in results if r != "ok"} == {"full"}
    assert len(wallet.load(store, SITI).documents) == 5


def _try(upload):
    try:
        upload()
    except Conflict as e:
        assert "the most it takes" in e.message
        return "full"
    return "ok"


def test_a_retry_with_a_key_answers_the_first_document(store):
    key = uuid.uuid4()
    first, position = wallet.upload(store, uploaded(), 10, key)
    again, same = wallet.upload(store, uploaded(), 10, key)
    assert (again.document_id, same) == (first.document_id, position)
    assert len(store.read_stream(wallet_stream(SITI))) == 1


def test_a_removal_keeps_the_applications_that_need_the_file(store):
    doc, _ = wallet.upload(store, uploaded(), 10)
    wallet.record_attachments(store, SITI, "BWI-2026-000001", [ref(doc)])
    wallet.record_attachments(store, SITI, "BWI-2026-000001", [ref(doc)])  # a retry
    assert wallet.load(store, SITI).documents[doc.document_id].attached_to == ["BWI-2026-000001"]
    assert wallet.remove(store, SITI, doc.document_id) == ["BWI-2026-000001"]
    with pytest.raises(NotFound):
        wallet.remove(store, SITI, doc.document_id)
    with pytest.raises(Invalid) as refused:
        wallet.record_attachments(store, SITI, "BWI-2026-000002", [ref(doc)])
    assert refused.value.problems[0].path == "attachments.ktp"


def test_removals_racing_attachments_never_lose_a_needed_file(store):
    """Each pair: the removal either reports the application (the file stays) or came
    first (the attachment is refused); never a removed file that an application holds."""
    for i in range(10):
        doc, _ = wallet.upload(store, uploaded(), 100)
        app = f"BWI-2026-{i:06d}"
        with ThreadPoolExecutor(2) as pool:
            removal = pool.submit(wallet.remove, store, SITI, doc.document_id)
            attachment = pool.submit(_attach, store, app, doc)
            kept_for, attached = removal.result(), attachment.result()
        assert attached == (app in kept_for), (kept_for, attached)


def _attach(store, app, doc) -> bool:
    try:
        wallet.record_attachments(store, SITI, app, [ref(doc)])
    except Invalid:
        return False
    return True


def test_another_citizens_document_is_not_in_the_wallet(store):
    doc, _ = wallet.upload(store, uploaded(citizen="agus@example.id"), 10)
    assert wallet.load(store, SITI).documents == {}
    with pytest.raises(NotFound):
        wallet.remove(store, SITI, doc.document_id)
