"""Requirement documents (persyaratan) and the citizen's document wallet.

A citizen uploads a document once (``POST /me/documents``: a PDF, JPEG or PNG and its
kind), finds it in their wallet (``GET /me/documents``, ``?kind=ktp`` for one
requirement's candidates) and attaches it to any later application
(``POST /applications`` with ``attachments: {requirement: document_id}``). Staff of the
application's agency download the attached files
(``GET /applications/{id}/attachments/{document_id}``).

An upload is bounded before it is read (``upload_max_bytes``, by Content-Length, then
while it streams), its declared type and its content must agree
(``documents.sniff``), and it is stored encrypted outside the event store
(``documents.uploads``); the wallet's events name it by id and hash only.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from typing import Annotated, Final
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Query, Request, Response, status
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.types import Message

from api import errors, idempotency
from api.access import AccessLogged
from api.deps import AgencyScope, Citizen, Consistent, CurrentUser, ModelsDep, RuntimeDep, may_see
from api.idempotency import IdempotencyKey, Key
from commands import wallet
from documents import sniff
from documents.uploads import Unreadable, UploadStore
from domain.checks import Problem
from domain.refusals import Invalid, NotFound
from domain.wallet import DOCUMENT_KINDS, DocumentUploaded, WalletDocument

router = APIRouter(tags=["documents of the citizen"])

MULTIPART_SLACK: Final = 64 * 1024
"""Bytes a multipart body may carry beyond the file itself (boundaries, headers, kind)."""
MAX_FILENAME: Final = 120
_UNSAFE_IN_NAME: Final = re.compile(r'[\x00-\x1f\x7f"\\]')


class UploadedDocument(BaseModel):
    document_id: str
    """Attach it to an application: ``attachments: {requirement: document_id}``."""
    kind: str
    kind_name: str
    filename: str
    content_type: str
    size: int
    sha256: str
    position: int
    """The event-store position of the upload."""


class Removed(BaseModel):
    document_id: str
    kept_for_applications: list[str]
    """Applications it is attached to: their officers still see the file."""


def upload_store(request: Request, rt: RuntimeDep) -> UploadStore:
    store: UploadStore | None = getattr(request.app.state, "upload_store", None)
    if store is None:
        store = UploadStore.from_settings(rt.settings)
        request.app.state.upload_store = store
    return store


def _too_large(limit: int) -> HTTPException:
    return HTTPException(
        status.HTTP_413_CONTENT_TOO_LARGE,
        f"the document is larger than {limit / 1024 / 1024:g} MB, the most accepted; scan it "
        "at a lower resolution (200-300 dpi) or compress it, and upload it again",
    )


async def _read_capped(request: Request, cap: int, limit: int) -> bytes:
    """The body, refused by its Content-Length before a byte is read, else as soon as
    it passes ``cap``."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > cap:
        raise _too_large(limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > cap:
            raise _too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


def _filename(sent: str | None, content_type: str) -> str:
    """The citizen's name for the file, for display only: no path, no control
    characters, bounded; a generic one when nothing usable was sent."""
    name = re.split(r"[/\\]", sent or "")[-1]
    name = _UNSAFE_IN_NAME.sub("", unicodedata.normalize("NFC", name)).strip().lstrip(".")
    if len(name) > MAX_FILENAME:
        stem, dot, ext = name.rpartition(".")
        name = (
            stem[: MAX_FILENAME - len(ext) - 1] + dot + ext
            if dot and len(ext) <= 8
            else (name[:MAX_FILENAME])
        )
    return name or f"dokumen.{sniff.EXTENSIONS[content_type]}"


def _file_response(content: bytes, content_type: str, filename: str) -> Response:
    fallback = "".join(c if c.isascii() and c.isprintable() else "_" for c in filename)
    return Response(
        content,
        media_type=content_type,
        headers={
            "Content-Disposition": f'attachment; filename="{fallback}"; '
            f"filename*=UTF-8''{quote(filename, safe='')}",
            # A citizen's file is served as what it was checked to be, never rendered as
            # a page of this origin.
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "sandbox",
            "Cache-Control": "private, no-store",
        },
    )


def _stored(uploads: UploadStore, document_id: str, owner: str, sha256: str) -> bytes:
    try:
        content = uploads.get(document_id, owner)
    except Unreadable:
        content = None
    if content is None or hashlib.sha256(content).hexdigest() != sha256:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            f"the file of document {document_id} is missing or altered on this server; the "
            "operator has to restore it from a backup (var/uploads)",
        )
    return content


UPLOAD_REFUSALS: Final = errors.answers(
    400,
    409,
    413,
    415,
    422,
    503,
    _400="the multipart body cannot be read",
    _409="the wallet is full",
    _413="the document is larger than the limit (nothing was kept)",
    _415="not multipart/form-data, or the file is not a PDF, JPEG or PNG, or not what it "
    "was declared as",
    _422="the kind is missing or unknown, or the file is damaged, unsafe or too many pixels",
    _503="the wallet is being changed by many requests at once; try again",
)


@router.post(
    "/me/documents",
    status_code=status.HTTP_201_CREATED,
    response_model=UploadedDocument,
    responses=UPLOAD_REFUSALS,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": {
                            "file": {"type": "string", "format": "binary"},
                            "kind": {"type": "string", "enum": list(DOCUMENT_KINDS)},
                        },
                        "required": ["file", "kind"],
                    }
                }
            },
        }
    },
)
async def upload_document(
    request: Request, user: Citizen, rt: RuntimeDep, idempotency_key: IdempotencyKey = None
) -> UploadedDocument:
    """Upload a requirement document to your wallet: the multipart fields ``file`` (a
    PDF, JPEG or PNG, at most ``upload_max_bytes``, 5 MB by default) and ``kind``
    (ktp, kk, akta, pas_foto, npwp, ijazah, str, surat_pengantar, other). It is kept
    encrypted and offered for your later applications. A retry with the same
    Idempotency-Key answers the same document."""
    settings = rt.settings
    limit = settings.upload_max_bytes
    if sniff.declared_type(request.headers.get("content-type")) != "multipart/form-data":
        raise HTTPException(
            status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
            "upload the document as multipart/form-data with the fields 'file' and 'kind' "
            "(e.g. curl -F file=@ktp.pdf -F kind=ktp)",
        )
    body = await _read_capped(request, limit + MULTIPART_SLACK, limit)
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    form = await Request(request.scope, replay).form(max_files=1, max_fields=4)
    try:
        kind, upload = form.get("kind"), form.get("file")
        problems = []
        if not isinstance(kind, str) or kind not in DOCUMENT_KINDS:
            problems.append(Problem("kind", f"the kind must be one of {', '.join(DOCUMENT_KINDS)}"))
        if not isinstance(upload, UploadFile):
            problems.append(Problem("file", "send the document in the multipart field 'file'"))
        if problems or not isinstance(kind, str) or not isinstance(upload, UploadFile):
            raise Invalid("the upload is incomplete", problems)
        data = await upload.read(limit + 1)
        declared, sent_name = upload.content_type, upload.filename
    finally:
        await form.close()
    if len(data) > limit:
        raise _too_large(limit)
    if not data:
        raise Invalid("the file is empty; choose the scan or photo again")
    try:
        sniffed = await run_in_threadpool(sniff.check, data, declared, settings.upload_max_pixels)
    except sniff.Unacceptable as e:
        code = status.HTTP_415_UNSUPPORTED_MEDIA_TYPE if e.wrong_type else 422
        raise HTTPException(code, e.reason) from e
    uploaded = DocumentUploaded(
        document_id=UploadStore.new_id(),
        citizen=user.subject,
        sha256=hashlib.sha256(data).hexdigest(),
        kind=kind,
        filename=_filename(sent_name, sniffed.content_type),
        content_type=sniffed.content_type,
        size=len(data),
    )
    request_fingerprint = {"sha256": uploaded.sha256, "kind": kind, "filename": uploaded.filename}
    key = Key.of(idempotency_key, user.subject, "upload-document", request_fingerprint)
    uploads = upload_store(request, rt)

    async def run() -> UploadedDocument:
        await run_in_threadpool(uploads.put, uploaded.document_id, user.subject, data)
        try:
            recorded, position = await run_in_threadpool(
                wallet.upload,
                rt.store,
                uploaded,
                settings.wallet_max_documents,
                key.event_id if key else None,
            )
        except BaseException:
            await run_in_threadpool(uploads.delete, uploaded.document_id)
            raise
        if recorded.document_id != uploaded.document_id:  # an earlier request's document
            await run_in_threadpool(uploads.delete, uploaded.document_id)
        return UploadedDocument(
            **recorded.model_dump(exclude={"citizen"}),
            kind_name=DOCUMENT_KINDS[recorded.kind],
            position=position,
        )

    return await idempotency.once(rt.store, key, run, UploadedDocument.model_validate)


@router.get("/me/documents", response_model=list[WalletDocument], responses=errors.answers(422))
def my_documents(
    user: Citizen,
    rt: RuntimeDep,
    kind: Annotated[
        str | None,
        Query(max_length=40, description="Only documents of this kind (e.g. ktp)"),
    ] = None,
) -> list[WalletDocument]:
    """Your wallet: the documents you uploaded, newest first, each with the applications
    it is attached to. A form offers them for its upload requirements: those of the
    kinds a requirement names (``?kind=ktp``)."""
    if kind is not None and kind not in DOCUMENT_KINDS:
        raise Invalid(
            f"there is no document kind {kind!r}; the kinds are {', '.join(DOCUMENT_KINDS)}",
            [Problem("query.kind", "unknown document kind")],
        )
    return wallet.load(rt.store, user.subject).listed(kind)


@router.get(
    "/me/documents/{document_id}",
    response_class=Response,
    responses={
        200: {"content": {m: {} for m in sniff.ACCEPTED}},
        **errors.answers(404, 503),
    },
)
def download_my_document(
    document_id: str, request: Request, user: Citizen, rt: RuntimeDep
) -> Response:
    """Download a document of your wallet."""
    doc = wallet.load(rt.store, user.subject).documents.get(document_id)
    if doc is None:
        raise NotFound(f"there is no document {document_id} in your wallet")
    content = _stored(upload_store(request, rt), document_id, user.subject, doc.sha256)
    return _file_response(content, doc.content_type, doc.filename)


@router.delete(
    "/me/documents/{document_id}", response_model=Removed, responses=errors.answers(404, 503)
)
def remove_my_document(
    document_id: str, request: Request, user: Citizen, rt: RuntimeDep
) -> Removed:
    """Take a document out of your wallet. Its file is deleted, unless it is attached to
    an application: then the agency keeps it with the application's record."""
    kept_for = wallet.remove(rt.store, user.subject, document_id)
    if not kept_for:
        upload_store(request, rt).delete(document_id)
    return Removed(document_id=document_id, kept_for_applications=kept_for)


@router.get(
    "/applications/{application_id}/attachments/{document_id}",
    response_class=Response,
    responses={
        200: {"content": {m: {} for m in sniff.ACCEPTED}},
        **errors.answers(404, 503),
    },
)
def download_attachment(
    application_id: str,
    document_id: str,
    request: Request,
    user: CurrentUser,
    scope: AgencyScope,
    models: ModelsDep,
    rt: RuntimeDep,
    access: AccessLogged,
    _: Consistent,
) -> Response:
    """A requirement document attached to an application, for whoever may see the
    application: staff and auditors of its agency (or region), and its citizen. Staff's
    downloads are recorded in the citizen's access log."""
    app = models.application(application_id)
    if app is None or not may_see(user, scope, app.citizen, app.agency_code):
        raise NotFound(f"there is no application {application_id} you may see")
    ref = next((a for a in app.attachments if a.document_id == document_id), None)
    if ref is None:
        raise NotFound(f"application {application_id} has no attachment {document_id}")
    content = _stored(upload_store(request, rt), document_id, app.citizen, ref.sha256)
    access.read("attachment", citizen=app.citizen, app=app, item=document_id)
    return _file_response(content, ref.content_type, ref.filename)
