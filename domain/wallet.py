"""The citizen's document wallet: the requirement documents (persyaratan) a citizen has
uploaded, kept to be offered again for the next application, so that a KTP scan
uploaded once is never asked for twice.

Each citizen's wallet is one stream, ``wallet-<sha256 of the account id>``, written by
``commands.wallet``. The files themselves rest encrypted outside the event store
(``documents.uploads``); these events name them by id and hash only. Pure: the event
models, the fold and the document kinds.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import datetime
from typing import Any, ClassVar, Final

from pydantic import BaseModel, ConfigDict, Field

from domain.recorded import Recorded

DOCUMENT_UPLOADED: Final = "DocumentUploaded"
DOCUMENT_REMOVED: Final = "DocumentRemoved"
DOCUMENT_ATTACHED: Final = "DocumentAttached"

DOCUMENT_KINDS: Final[dict[str, str]] = {
    "ktp": "KTP-el",
    "kk": "Kartu Keluarga",
    "akta": "Akta kelahiran",
    "pas_foto": "Pas foto",
    "npwp": "NPWP",
    "ijazah": "Ijazah",
    "str": "Surat Tanda Registrasi (STR)",
    "surat_pengantar": "Surat pengantar RT/RW",
    "other": "Dokumen lain",
}
"""The kinds of document a wallet holds, with their names in Bahasa Indonesia. A form's
file field names the kinds that satisfy it (``FormField.kinds``)."""


def wallet_stream(citizen: str) -> str:
    """The stream of ``citizen``'s wallet. Account ids of development tokens can be any
    text (an e-mail address), so the stream is named by their hash."""
    return f"wallet-{hashlib.sha256(citizen.encode()).hexdigest()[:40]}"


class _Event(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore", hide_input_in_errors=True)
    TYPE: ClassVar[str]

    def payload(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


class DocumentUploaded(_Event):
    """A file was checked, encrypted and stored under ``document_id``."""

    TYPE: ClassVar[str] = DOCUMENT_UPLOADED
    document_id: str
    citizen: str
    sha256: str
    kind: str
    filename: str
    """As the citizen named it, for them to recognise it; the file is never stored
    under it."""
    content_type: str
    size: int


class DocumentRemoved(_Event):
    """The citizen took the document out of their wallet. Its file is kept while an
    application it was attached to needs it (``Wallet.attached_to``)."""

    TYPE: ClassVar[str] = DOCUMENT_REMOVED
    document_id: str
    citizen: str


class DocumentAttached(_Event):
    """The document was attached to an application (recorded before the application
    starts), so its file outlives its removal from the wallet."""

    TYPE: ClassVar[str] = DOCUMENT_ATTACHED
    document_id: str
    application_id: str
    requirement: str


EVENTS: Final[dict[str, type[_Event]]] = {
    cls.TYPE: cls for cls in (DocumentUploaded, DocumentRemoved, DocumentAttached)
}


class AttachmentRef(BaseModel):
    """A wallet document attached to an application for one requirement."""

    model_config = ConfigDict(frozen=True)

    document_id: str
    sha256: str
    requirement: str
    """The id of the file field it satisfies."""
    filename: str
    content_type: str
    size: int


class WalletDocument(BaseModel):
    document_id: str
    kind: str
    kind_name: str
    filename: str
    content_type: str
    size: int
    sha256: str
    uploaded_at: datetime
    attached_to: list[str] = Field(default_factory=list)
    """Application numbers it was attached to."""


class Wallet(BaseModel):
    """What a citizen's wallet holds now (removed documents are gone from ``documents``
    but stay in ``attached`` while applications need their files)."""

    documents: dict[str, WalletDocument] = Field(default_factory=dict)
    attached: dict[str, list[str]] = Field(default_factory=dict)
    """document id -> application numbers, removed documents included."""
    version: int = -1
    """The stream's version this was folded to (-1: no stream), for expected-version
    appends."""

    def listed(self, kind: str | None = None) -> list[WalletDocument]:
        """The documents, newest first, optionally of one kind."""
        docs = [d for d in self.documents.values() if kind is None or d.kind == kind]
        return sorted(docs, key=lambda d: (d.uploaded_at, d.document_id), reverse=True)


def fold(events: Iterable[Recorded]) -> Wallet:
    """The wallet after ``events`` (recorded events of its stream, in order); event
    types this code does not know are skipped."""
    wallet = Wallet()
    for r in events:
        wallet.version = r.version
        cls = EVENTS.get(r.type)
        if cls is None:
            continue
        e = cls.model_validate(r.data)
        match e:
            case DocumentUploaded():
                wallet.documents[e.document_id] = WalletDocument(
                    document_id=e.document_id,
                    kind=e.kind,
                    kind_name=DOCUMENT_KINDS.get(e.kind, e.kind),
                    filename=e.filename,
                    content_type=e.content_type,
                    size=e.size,
                    sha256=e.sha256,
                    uploaded_at=r.recorded_at,
                )
            case DocumentRemoved():
                wallet.documents.pop(e.document_id, None)
            case DocumentAttached():
                apps = wallet.attached.setdefault(e.document_id, [])
                if e.application_id not in apps:
                    apps.append(e.application_id)
                doc = wallet.documents.get(e.document_id)
                if doc is not None and e.application_id not in doc.attached_to:
                    doc.attached_to.append(e.application_id)
    return wallet
