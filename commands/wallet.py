"""The citizen's document wallet (``domain.wallet``): uploads, removals and attachments
to applications, appended to the citizen's wallet stream.

Every append expects the version its checks were made on, and a concurrent change makes
it read and check again: a removal racing an attachment either sees the attachment (and
keeps the file for the application) or happens first (and the attachment is refused);
the wallet never takes more than its limit of documents.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from typing import Final, TypeVar

from commands.retries import stored_event
from domain.checks import Problem
from domain.refusals import Conflict, Invalid, NotFound, Unavailable
from domain.wallet import (
    AttachmentRef,
    DocumentAttached,
    DocumentRemoved,
    DocumentUploaded,
    Wallet,
    fold,
    wallet_stream,
)
from eventstore.port import DuplicateEventIds, EventStore, NewEvent, WrongExpectedVersion

ATTEMPTS: Final = 20
"""Reads and checks again this often when other changes keep landing first."""
_NAMESPACE: Final = uuid.UUID("9a3f0c2e-7b41-4d6a-8e15-3c2d9f6b7a10")

T = TypeVar("T")


def load(store: EventStore, citizen: str) -> Wallet:
    return fold(store.read_stream(wallet_stream(citizen)))


def _until_appended(store: EventStore, citizen: str, attempt: Callable[[Wallet], T]) -> T:
    """Run ``attempt`` on the wallet as it is now until its append was not overtaken."""
    for _ in range(ATTEMPTS):
        try:
            return attempt(load(store, citizen))
        except WrongExpectedVersion:
            continue
    raise Unavailable("your wallet is being changed by many requests at once; try again")


def upload(
    store: EventStore,
    uploaded: DocumentUploaded,
    max_documents: int,
    event_id: uuid.UUID | None = None,
) -> tuple[DocumentUploaded, int]:
    """Record an uploaded document (its file already stored); the recorded event and
    its position. With ``event_id`` (from an Idempotency-Key), the document that an
    earlier request with it recorded, if there is one: then nothing is appended, and
    the caller deletes the file it stored meanwhile."""
    stream = wallet_stream(uploaded.citizen)
    done = stored_event(store, stream, event_id)
    if done is not None:
        return DocumentUploaded.model_validate(done.data), done.position

    def attempt(wallet: Wallet) -> tuple[DocumentUploaded, int]:
        if len(wallet.documents) >= max_documents:
            raise Conflict(
                f"your wallet holds {len(wallet.documents)} documents, the most it takes; "
                "delete those you no longer need (DELETE /me/documents/{id}) and upload again"
            )
        new = NewEvent(event_id or uuid.uuid4(), uploaded.TYPE, uploaded.payload())
        try:
            result = store.append(stream, [new], expected_version=wallet.version)
        except DuplicateEventIds:
            # A racing request with the same key recorded its own document first.
            first = stored_event(store, stream, event_id)
            if first is None:
                raise
            return DocumentUploaded.model_validate(first.data), first.position
        return uploaded, result.last_position

    return _until_appended(store, uploaded.citizen, attempt)


def remove(store: EventStore, citizen: str, document_id: str) -> list[str]:
    """Take a document out of the wallet; the applications it is attached to (its file
    must stay while they need it)."""

    def attempt(wallet: Wallet) -> list[str]:
        if document_id not in wallet.documents:
            raise NotFound(f"there is no document {document_id} in your wallet")
        removed = DocumentRemoved(document_id=document_id, citizen=citizen)
        store.append(
            wallet_stream(citizen),
            [NewEvent(uuid.uuid4(), removed.TYPE, removed.payload())],
            expected_version=wallet.version,
        )
        return list(wallet.attached.get(document_id, []))

    return _until_appended(store, citizen, attempt)


def record_attachments(
    store: EventStore, citizen: str, application_id: str, refs: Sequence[AttachmentRef]
) -> None:
    """Mark the documents as attached to ``application_id`` before the application
    starts, so that removing them from the wallet keeps their files. Refuses a document
    removed since it was checked; a retry of the same submission records nothing new."""
    if not refs:
        return
    stream = wallet_stream(citizen)

    def attempt(wallet: Wallet) -> None:
        new_refs = [r for r in refs if application_id not in wallet.attached.get(r.document_id, [])]
        gone = [r for r in new_refs if r.document_id not in wallet.documents]
        if gone:
            raise Invalid(
                "a document was removed from your wallet while you applied",
                [
                    Problem(
                        f"attachments.{r.requirement}",
                        f"document {r.document_id} is no longer in your wallet; attach another",
                    )
                    for r in gone
                ],
            )
        new = [
            NewEvent(
                uuid.uuid5(_NAMESPACE, f"{stream}#{application_id}#{r.requirement}"),
                DocumentAttached.TYPE,
                DocumentAttached(
                    document_id=r.document_id,
                    application_id=application_id,
                    requirement=r.requirement,
                ).payload(),
            )
            for r in new_refs
        ]
        if new:
            store.append(stream, new, expected_version=wallet.version)

    _until_appended(store, citizen, attempt)
