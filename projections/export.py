"""All of a citizen's data as one JSON document: their right of access (hak akses)
under UU 27/2022 tentang Pelindungan Data Pribadi.

The document is a registry of sections (``SECTIONS``): each a function
``(context, citizen) -> dict | list`` that reads one kind of data about that citizen
alone, so a new kind of data is one line there. A list section may give more items than
the export keeps: it is cut at ``ExportContext.limit`` and marked ``truncated`` in the
``sections`` list. The document is written section by section (``export_document``
yields bytes), so memory holds one section at a time.

What no section gives: another citizen's data, staff account ids (the timeline names
roles), secrets, password or token hashes, face embeddings.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

import orjson

from accounts.registry import Registry
from commands.access_log import reads_of
from commands.profile import profile_of
from commands.wallet import load as load_wallet
from config.settings import Settings
from eventstore.port import EventStore
from face.store import FaceStore
from notifications.outbox import Outbox
from projections.readmodels import ReadModels
from projections.riwayat import Riwayat

log = logging.getLogger(__name__)

LEGAL_BASIS: Final = (
    "Undang-Undang Nomor 27 Tahun 2022 tentang Pelindungan Data Pribadi, Pasal 7: "
    "hak subjek data pribadi untuk mendapatkan akses dan salinan data pribadinya"
)


@dataclass(frozen=True)
class ExportContext:
    """What the sections read from. A section that needs another store adds it here."""

    store: EventStore
    models: ReadModels
    settings: Settings
    accounts: Registry
    faces: FaceStore
    riwayat: Riwayat
    outbox: Outbox
    limit: int
    """Items kept per list section."""

    @property
    def enough(self) -> int:
        """How many items a list section should read: one more than is kept, so the
        export can tell a cut list from a complete one."""
        return self.limit + 1


SectionData = dict[str, Any] | Iterable[Any]
Reader = Callable[[ExportContext, str], SectionData]


@dataclass(frozen=True)
class Section:
    name: str
    description: str
    read: Reader


def account(ctx: ExportContext, citizen: str) -> dict[str, Any]:
    found = ctx.accounts.account(citizen)
    return found.public() if found is not None else {"account_id": citizen}


def applications(ctx: ExportContext, citizen: str) -> Iterator[dict[str, Any]]:
    states, _ = ctx.models.citizen_applications(citizen, limit=ctx.enough)
    for s in states:  # lazily: a cut list words no timeline it drops
        yield ctx.riwayat.detail(s).model_dump(mode="json")


def complaints(ctx: ExportContext, citizen: str) -> list[dict[str, Any]]:
    views = ctx.models.complaints(complainant=citizen, limit=ctx.enough)
    return [v.model_dump(mode="json") for v in views]


def survey_answers(ctx: ExportContext, citizen: str) -> list[dict[str, Any]]:
    return ctx.models.survey_answers_of(citizen, ctx.enough)


def notifications(ctx: ExportContext, citizen: str) -> list[dict[str, Any]]:
    return ctx.outbox.messages(citizen, ctx.enough)


def wallet(ctx: ExportContext, citizen: str) -> list[dict[str, Any]]:
    """What the wallet holds (each file is downloaded with GET /me/documents/{id})."""
    return [
        {**d.model_dump(mode="json"), "download_url": f"/me/documents/{d.document_id}"}
        for d in load_wallet(ctx.store, citizen).listed()
    ]


def profile(ctx: ExportContext, citizen: str) -> dict[str, Any]:
    """The profile's values with their provenance, and its history; who verified or
    changed a value is named by part (you, an officer), never by staff account id."""
    kept = profile_of(ctx.store, ctx.settings, citizen)

    def who(by: str) -> str:
        return "you" if by == citizen else "officer"

    return {
        "fields": {
            name: {
                "value": f.value,
                "provenance": f.provenance,
                "verified_at": f.verified_at.isoformat() if f.verified_at else None,
                "changed_at": f.changed_at.isoformat() if f.changed_at else None,
            }
            for name, f in kept.fields.items()
        },
        "history": [
            {
                "at": c.at.isoformat(),
                "kind": c.kind,
                "by": who(c.by),
                "fields": c.fields,
                "values": c.values,
                "method": c.method,
            }
            for c in kept.history
        ],
    }


def documents(ctx: ExportContext, citizen: str) -> list[dict[str, Any]]:
    rows = ctx.models.documents_of_citizen(citizen, ctx.enough)
    return [ctx.riwayat.document(row).model_dump(mode="json") for row in rows]


def face(ctx: ExportContext, citizen: str) -> dict[str, Any]:
    enrolments = ctx.faces.enrolments(citizen)
    return {
        "enrolled": bool(enrolments),
        "backends": [e.backend for e in enrolments],
        "enrolled_at": datetime.fromtimestamp(enrolments[0].enrolled_at, UTC).isoformat()
        if enrolments
        else None,
        "kept": "only an encrypted face embedding, never the photo; not part of this export",
    }


def access_log(ctx: ExportContext, citizen: str) -> list[dict[str, Any]]:
    """Who at an agency read your data, newest first, as ``GET /me/access-log`` shows it
    (the reader by role and agency)."""
    reads, _ = reads_of(ctx.store, citizen, limit=ctx.enough, offset=0)
    return [
        {
            "at": at.isoformat(),
            "role": r.role,
            "agency": r.agency,
            "what": r.what,
            "application": r.application,
            "document": r.item,
            "task": r.task,
            "reason": r.reason,
        }
        for at, r in reads
    ]


SECTIONS: Final[tuple[Section, ...]] = (
    Section("account", "Your account as you see it (NIK masked)", account),
    Section("profile", "Your profile: each value, where it came from, its history", profile),
    Section("applications", "Your applications: data, timeline, documents, payments", applications),
    Section("complaints", "Complaints you filed under your name", complaints),
    Section("survey_answers", "Your answers to the satisfaction survey (SKM)", survey_answers),
    Section("notifications", "What Lincah told you, newest first", notifications),
    Section("documents", "Documents issued to you", documents),
    Section("wallet", "Documents you uploaded (your document wallet)", wallet),
    Section("face", "Whether you enrolled a face (never the embedding)", face),
    Section("access_log", "Who at an agency read your data, and why", access_log),
)


def export_document(
    ctx: ExportContext,
    citizen: str,
    sections: Iterable[Section] = SECTIONS,
    now: datetime | None = None,
) -> Iterator[bytes]:
    """The JSON document, in pieces: ``generated_at``, one key per section, then
    ``sections`` (each with its description, item count and whether it was cut). A
    section that fails is ``null`` with its error named in ``sections``, so one broken
    store never withholds the rest."""
    generated = (now or datetime.now(UTC)).isoformat()
    yield b'{"generated_at":' + orjson.dumps(generated)
    yield b',"citizen":' + orjson.dumps(citizen) + b',"legal_basis":' + orjson.dumps(LEGAL_BASIS)
    listed: list[dict[str, Any]] = []
    for section in sections:
        entry: dict[str, Any] = {"name": section.name, "description": section.description}
        try:
            value, count, truncated = _read(section, ctx, citizen)
        except Exception as e:
            # The log names the section and the error's class only: its message (and
            # its traceback's locals) may quote the citizen's data.
            log.error("the export section %s could not be read: %s", section.name, type(e).__name__)
            value, count, truncated = None, None, False
            entry["error"] = "could not be read just now; export again later"
        entry |= {"items": count, "truncated": truncated}
        listed.append(entry)
        yield b"," + orjson.dumps(section.name) + b":" + orjson.dumps(value)
    yield b',"sections":' + orjson.dumps(listed) + b"}"


def _read(
    section: Section, ctx: ExportContext, citizen: str
) -> tuple[dict[str, Any] | list[Any], int | None, bool]:
    """(value, item count or None for a single record, whether it was cut)."""
    data = section.read(ctx, citizen)
    if isinstance(data, dict):
        return data, None, False
    items = list(itertools.islice(data, ctx.limit + 1))
    truncated = len(items) > ctx.limit
    kept = items[: ctx.limit]
    return kept, len(kept), truncated
