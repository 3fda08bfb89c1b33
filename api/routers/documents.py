"""Issued documents (produk pelayanan): public verification, downloads, the public key.

Document numbers contain slashes (``BWI/SKD/2026/000001``), so the routes take them with
the ``path`` converter; the more specific routes (``/documents/public-key``,
``/documents/{number}/verify``) are declared before the catch-all download route.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any, Final

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from fastapi import APIRouter, HTTPException, Request, Response, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.types import Message

from accounts.registry import Registry
from api import errors, limits
from api.access import AccessLogged
from api.deps import AgencyScope, Consistent, CurrentUser, ModelsDep, SettingsDep, StoreDep
from api.security import Principal
from config.settings import Settings
from documents.numbering import (
    NUMBER_PATTERN,
    document_filename,
    document_path,
    download_url,
    verify_url,
)
from documents.pdf import MAX_PDF_BYTES
from documents.signing import (
    load_signing_key,
    public_key_id,
    public_key_pem,
    retired_public_key,
    signature_valid,
    signed_payload,
)
from domain.personal_data import ERASED
from eventstore.port import EventStore
from projections.readmodels import ReadModels

router = APIRouter(tags=["documents"])

NOT_ISSUED: Final = (
    "this file does not match any document issued by Lincah; it may have been altered"
)
_MULTIPART_OVERHEAD: Final = 1024 * 1024
_WORD: Final = re.compile(r"[^\W_]+")


class Verification(BaseModel):
    valid: bool
    number: str | None = None
    title: str | None = None
    service_name: str | None = None
    agency_code: str | None = None
    agency_name: str | None = None
    issued_at: str | None = None
    holder: str | None = None
    """The holder's name, masked (``Siti Aminah`` -> ``S*** A***``): the only personal
    data a verification shows. None once the holder's data was erased."""
    revoked: str | None = None
    """Why the document no longer stands (``data erased``: its holder's personal data
    was erased, and its file deleted); None while it stands."""
    reason: str


class DocumentInfo(BaseModel):
    number: str
    title: str
    application_id: str
    service_id: str
    service_name: str
    agency_code: str
    issued_at: str
    sha256: str
    public_key_id: str
    verify_url: str
    download_url: str


def mask_holder(subject: str) -> str:
    """Keep the first character of each word: ``Siti Aminah`` -> ``S*** A***``."""
    return _WORD.sub(lambda m: m.group(0)[0] + "***", subject)


def _public_key(settings: Settings) -> Ed25519PublicKey:
    try:
        return load_signing_key(settings.document_key_location).public_key()
    except (OSError, ValueError, UnsupportedAlgorithm) as e:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            "the document-signing key is not usable on this server; try again later",
        ) from e


REVOKED_ERASED: Final = "data erased"


def erased(models: ReadModels, row: dict[str, Any]) -> bool:
    """Whether the holder of the document ``row`` has had their personal data erased."""
    app = models.application(str(row["application_id"]))
    return app is not None and app.erased_at is not None


def _holder(store: EventStore, settings: Settings, citizen: str) -> str | None:
    """The holder's name masked; a citizen without an account (a development token) by
    their subject, masked the same way; None once erased."""
    account = Registry(store, settings).account(citizen)
    name = account.full_name if account is not None and account.full_name else citizen
    return None if name == ERASED else mask_holder(name)


def _check(
    row: dict[str, Any], settings: Settings, models: ReadModels, store: EventStore
) -> Verification:
    """Whether a registry record stands: signed by this server's key, and not revoked."""
    found: dict[str, Any] = {
        "number": row["number"],
        "title": row["title"],
        "service_name": row["service_name"],
        "agency_code": row["agency_code"],
        "agency_name": row["agency_name"],
        "issued_at": row["issued_at"],
    }
    if erased(models, row):
        return Verification(
            valid=False,
            revoked=REVOKED_ERASED,
            reason="revoked: data erased (dicabut: data dihapus). The holder's personal "
            "data was erased, so this document no longer stands and its file was deleted",
            **found,
        )
    found["holder"] = _holder(store, settings, str(row["citizen"]))
    key = _public_key(settings)
    if row["public_key_id"] != public_key_id(key):
        # Signed before a key rotation: the retired key's public half verifies it.
        key = retired_public_key(settings.retired_document_keys_dir, row["public_key_id"]) or key
    kid = public_key_id(key)
    if row["public_key_id"] != kid:
        return Verification(
            valid=False,
            reason=f"the document names signing key {row['public_key_id']}, which is neither "
            f"this server's key ({kid}) nor one it retired",
            **found,
        )
    payload = signed_payload(
        number=row["number"],
        application_id=row["application_id"],
        service_id=row["service_id"],
        sha256=row["sha256"],
        issued_at=row["issued_at"],
        holder=row["citizen"],
    )
    if not signature_valid(key, payload, row["signature"]):
        return Verification(
            valid=False,
            reason="the registry record's signature does not verify; the record has been altered",
            **found,
        )
    return Verification(
        valid=True,
        reason=f"issued by {row['agency_name']} and signed with key {kid}; the record and "
        "its signature are intact",
        **found,
    )


def _may_see(user: Principal, scope: frozenset[str] | None, row: dict[str, Any]) -> bool:
    if user.role == "citizen":
        return user.subject == str(row["citizen"])
    return scope is None or str(row["agency_code"]) in scope


# -- public -----------------------------------------------------------------------------


@router.get(
    "/documents/public-key",
    response_class=Response,
    dependencies=[limits.PublicDocuments],
    responses={200: {"content": {"application/x-pem-file": {}}}, **errors.answers(503)},
)
def public_key(settings: SettingsDep) -> Response:
    """The Ed25519 public key documents are signed with (PEM); ``X-Key-Id`` is the id
    printed on each document."""
    key = _public_key(settings)
    return Response(
        public_key_pem(key),
        media_type="application/x-pem-file",
        headers={"X-Key-Id": public_key_id(key)},
    )


@router.post(
    "/documents/verify",
    response_model=Verification,
    dependencies=[limits.PublicDocuments],
    responses=errors.answers(400, 413, 415, 422, 503),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/pdf": {"schema": {"type": "string", "format": "binary"}},
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": {"file": {"type": "string", "format": "binary"}},
                        "required": ["file"],
                    }
                },
            },
        }
    },
)
async def verify_file(
    request: Request, models: ModelsDep, settings: SettingsDep, store: StoreDep
) -> Verification:
    """Public: is this PDF a document Lincah issued, unaltered? Send it as the raw body
    (``application/pdf``) or as the multipart field ``file``; at most 20 MB."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "multipart/form-data":
        pdf = await _multipart_file(request)
    elif content_type in ("", "application/pdf", "application/octet-stream"):
        pdf = await _read_capped(request, MAX_PDF_BYTES)
    else:
        raise HTTPException(
            status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
            f"send the PDF as application/pdf or as the multipart field 'file', not {content_type}",
        )
    if not pdf:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, "the upload is empty; send the PDF file"
        )
    sha = hashlib.sha256(pdf).hexdigest()
    row = await run_in_threadpool(models.document_by_sha256, sha)
    if row is None:
        reason = NOT_ISSUED if pdf.startswith(b"%PDF") else "this file is not a PDF"
        return Verification(valid=False, reason=reason)
    return await run_in_threadpool(_check, row, settings, models, store)


@router.get(
    "/documents/{number:path}/verify",
    response_model=Verification,
    dependencies=[limits.PublicDocuments],
    responses={
        **errors.answers(503),
        404: {
            "description": "No document has this number: the verdict, or the Error body "
            "when the path is no document number at all",
            "content": {
                "application/json": {
                    "schema": {
                        "anyOf": [
                            {"$ref": "#/components/schemas/Verification"},
                            {"$ref": errors.ERROR_REF},
                        ]
                    }
                }
            },
        },
    },
)
def verify_number(
    number: str, models: ModelsDep, settings: SettingsDep, store: StoreDep, _: Consistent
) -> JSONResponse:
    """Public (what the QR code on a document opens): is this number a document Lincah
    issued, and is its registry record intact?"""
    if not NUMBER_PATTERN.match(number):
        reason = "this is not a Lincah document number (they look like BWI/SKD/2026/000001)"
        return _verdict(Verification(valid=False, number=number, reason=reason), 404)
    row = models.document(number)
    if row is None:
        reason = "no document with this number was issued by Lincah"
        return _verdict(Verification(valid=False, number=number, reason=reason), 404)
    return _verdict(_check(row, settings, models, store), 200)


def _verdict(v: Verification, code: int) -> JSONResponse:
    return JSONResponse(v.model_dump(), status_code=code)


# -- for the holder, the agency and auditors --------------------------------------------


@router.get(
    "/documents/{number:path}",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}, **errors.answers(404, 410, 503)},
)
def download(
    number: str,
    user: CurrentUser,
    scope: AgencyScope,
    models: ModelsDep,
    settings: SettingsDep,
    access: AccessLogged,
    _: Consistent,
) -> Response:
    """The PDF. The holder, staff of the issuing agency and its auditors may download it;
    staff's downloads are recorded in the holder's access log."""
    row = models.document(number)
    if row is None or not _may_see(user, scope, row):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"there is no document {number} you may see")
    if erased(models, row):
        raise HTTPException(
            status.HTTP_410_GONE,
            f"document {number} is revoked: its holder's personal data was erased, and its "
            "file with it",
        )
    content = _stored_file(document_path(settings, number))
    if content is None or hashlib.sha256(content).hexdigest() != row["sha256"]:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            f"the file of document {number} is missing or does not match its registry "
            "record on this server; the agency has been told to reissue it",
        )
    access.read(
        "document",
        citizen=str(row["citizen"]),
        app=models.application(row["application_id"]) if user.role != "citizen" else None,
        agency=row["agency_code"],
        item=number,
    )
    return Response(
        content,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{document_filename(number)}"'},
    )


@router.get(
    "/applications/{application_id}/documents",
    response_model=list[DocumentInfo],
    responses=errors.answers(404),
)
def documents_of_application(
    application_id: str,
    user: CurrentUser,
    scope: AgencyScope,
    models: ModelsDep,
    settings: SettingsDep,
    _: Consistent,
) -> list[DocumentInfo]:
    """Documents issued for an application, for whoever may see the application."""
    app = models.application(application_id)
    seen = {"citizen": app.citizen, "agency_code": app.agency_code} if app else None
    if seen is None or not _may_see(user, scope, seen):
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, f"there is no application {application_id} you may see"
        )
    return [_info(row, settings) for row in models.documents_of(application_id)]


def _info(row: dict[str, Any], settings: Settings) -> DocumentInfo:
    return DocumentInfo(
        number=row["number"],
        title=row["title"],
        application_id=row["application_id"],
        service_id=row["service_id"],
        service_name=row["service_name"],
        agency_code=row["agency_code"],
        issued_at=row["issued_at"],
        sha256=row["sha256"],
        public_key_id=row["public_key_id"],
        verify_url=verify_url(settings, row["number"]),
        download_url=download_url(settings, row["number"]),
    )


# -- helpers ----------------------------------------------------------------------------


def _stored_file(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:
        return None


def _too_large() -> HTTPException:
    return HTTPException(
        status.HTTP_413_CONTENT_TOO_LARGE,
        f"the file is larger than {MAX_PDF_BYTES // (1024 * 1024)} MB; no issued document is",
    )


async def _read_capped(request: Request, cap: int) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > cap:
        raise _too_large()
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > cap:
            raise _too_large()
        chunks.append(chunk)
    return b"".join(chunks)


async def _multipart_file(request: Request) -> bytes:
    """The multipart field ``file`` (or the only file sent), the body read with a cap
    first so that no upload is spooled past it."""
    body = await _read_capped(request, MAX_PDF_BYTES + _MULTIPART_OVERHEAD)
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    form = await Request(request.scope, replay).form(max_files=2, max_fields=20)
    try:
        field = form.get("file")
        files = [v for _, v in form.multi_items() if isinstance(v, UploadFile)]
        upload = field if isinstance(field, UploadFile) else files[0] if len(files) == 1 else None
        if upload is None:
            raise HTTPException(
                status.HTTP_422_UNPROCESSABLE_CONTENT,
                "send the PDF in the multipart field 'file'",
            )
        content = await upload.read(MAX_PDF_BYTES + 1)
        if len(content) > MAX_PDF_BYTES:
            raise _too_large()
        return content
    finally:
        await form.close()
