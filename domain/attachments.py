"""Requirement documents attached to an application.

A service's upload requirements (persyaratan) are its form's ``file`` fields; one that
names ``kinds`` takes only a document of the citizen's wallet of one of those kinds.
The citizen attaches wallet documents by requirement (``attachments: {field id:
document id}``); the application carries them as ``AttachmentRef``s (``domain.wallet``:
id and hash, never the file) in ``ApplicationSubmitted`` and its state, and its form
data holds each attached document's id under the field's id, so conditions and officers
see it there.

File fields without ``kinds`` (definitions written before uploads) still take a
reference typed into the form data, as they always did.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from domain.checks import Problem
from domain.definition import FieldType, FormField, ServiceDefinition
from domain.validation import validate_application_data
from domain.wallet import DOCUMENT_KINDS, AttachmentRef, Wallet


@dataclass(frozen=True)
class Attached:
    data: dict[str, Any]
    """The form data with each attached document's id under its requirement's id."""
    refs: list[AttachmentRef]
    problems: list[Problem]
    """Every problem of the attachments and of the form data, in one list."""


def kinds_text(kinds: list[str]) -> str:
    return " or ".join(f"{DOCUMENT_KINDS.get(k, k)} ({k})" for k in kinds)


def _how(f: FormField) -> str:
    kind = f" with kind {' or '.join(f.kinds)}" if f.kinds else ""
    return (
        f"upload it (POST /me/documents{kind}) or pick one GET /me/documents lists, and "
        f"send its document_id as attachments.{f.id}"
    )


def attach(
    definition: ServiceDefinition,
    data: Mapping[str, Any],
    attachments: Mapping[str, str],
    wallet: Wallet,
) -> Attached:
    """Check ``attachments`` against the service's upload requirements and the
    citizen's ``wallet``, and the form data with them; what the application carries."""
    uploads = {f.id: f for f in definition.fields if f.type == FieldType.FILE}
    problems: list[Problem] = []
    refs: list[AttachmentRef] = []
    for requirement, document_id in attachments.items():
        at = f"attachments.{requirement}"
        f = uploads.get(requirement)
        if f is None:
            offered = ", ".join(uploads) or "none: this service takes no uploads"
            problems.append(
                Problem(
                    at,
                    f"there is no upload requirement '{requirement}'; its requirements "
                    f"are {offered}",
                )
            )
            continue
        doc = wallet.documents.get(document_id)
        if doc is None:
            problems.append(
                Problem(at, f"there is no document {document_id} in your wallet; {_how(f)}")
            )
            continue
        if f.kinds and doc.kind not in f.kinds:
            problems.append(
                Problem(
                    at,
                    f"document {document_id} is a {kinds_text([doc.kind])}; '{f.label}' takes "
                    f"a {kinds_text(f.kinds)}",
                )
            )
            continue
        if requirement in data:
            problems.append(
                Problem(
                    f"data.{requirement}", f"'{f.label}' is attached ({at}); leave it out of data"
                )
            )
            continue
        refs.append(
            AttachmentRef(
                document_id=document_id,
                sha256=doc.sha256,
                requirement=requirement,
                filename=doc.filename,
                content_type=doc.content_type,
                size=doc.size,
            )
        )
    covered: set[str] = set()
    for f in uploads.values():
        if f.id in attachments:
            covered.add(f"data.{f.id}")
            continue
        value = data.get(f.id)
        if f.kinds and value is not None:
            problems.append(
                Problem(
                    f"data.{f.id}",
                    f"'{f.label}' takes an uploaded document, not a value in data: {_how(f)}",
                )
            )
            covered.add(f"data.{f.id}")
        elif f.required and (value is None or (isinstance(value, str) and not value.strip())):
            problems.append(Problem(f"attachments.{f.id}", f"'{f.label}' is required: {_how(f)}"))
            covered.add(f"data.{f.id}")
    merged = {**data, **{r.requirement: r.document_id for r in refs}}
    problems += [p for p in validate_application_data(definition, merged) if p.path not in covered]
    return Attached(merged, refs, problems)
