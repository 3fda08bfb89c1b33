"""A citizen's riwayat: their applications as summaries, and each one in full (its
timeline in the citizen's words, its data, the documents issued and the payments), for
``GET /me/applications`` and for the export of their data.

The application rows come from the read models; the timeline is worded from the
application's own events (``domain.citizen_timeline``), read up to the position the
row reflects, so the status and the timeline always tell the same moment.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Final

from pydantic import BaseModel, Field

from config.settings import Settings
from documents.numbering import download_url, verify_url
from domain import citizen_timeline as words
from domain import events as ev
from domain.ikm import WIB
from domain.state import ApplicationState
from domain.wording import rupiah
from eventstore.port import EventStore
from projections.form_data import form_data
from projections.readmodels import ReadModels

MAX_TIMELINE: Final = 1000
"""Events read for one timeline; a longer history is cut there and says so."""


class Summary(BaseModel):
    application_id: str
    service_id: str
    service_name: str
    agency_code: str
    agency_name: str
    status: str
    status_text: str
    """The status in words (Bahasa Indonesia)."""
    current_step: str | None
    submitted_at: datetime
    updated_at: datetime
    completed_at: datetime | None
    expected_completion: datetime | None
    url: str
    """Where the full history is: ``/me/applications/{id}``."""
    channel: str = "online"
    """Where it was filed: online, counter, kiosk or mobile (``domain.channels``)."""


class DocumentView(BaseModel):
    number: str
    title: str
    application_id: str
    service_name: str
    issued_at: str
    sha256: str
    verify_url: str
    """Public: anyone holding the document can check it there (the QR code)."""
    download_url: str


class PaymentView(BaseModel):
    step: str
    step_name: str
    amount: int
    amount_text: str
    status: str  # requested | paid | refunded
    status_text: str
    payment_code: str
    method: str | None = None
    reference: str | None = None
    """The receipt or the payment provider's reference."""


class Detail(Summary):
    service_version: int
    data: dict[str, Any]
    """The form data as submitted, with any corrections."""
    waiting_for_you: list[dict[str, Any]] = Field(default_factory=list)
    """What the flow waits on from the citizen: a correction (its fields, reason and
    deadline) or a payment (its amount and code)."""
    timeline: list[words.CitizenEntry]
    timeline_truncated: bool = False
    documents: list[DocumentView]
    payments: list[PaymentView]
    face_check: str | None = None
    """The outcome of the face check, where the service has one."""
    attachments: list[dict[str, Any]] = Field(default_factory=list)
    """The requirement documents attached from the wallet (name, type, size, hash)."""
    standard_url: str


def period_bounds(start: date | None, end: date | None) -> tuple[str | None, str | None]:
    """The ``from``/``to`` days (inclusive, on the WIB calendar, as application numbers
    and survey periods count days) as UTC instants the stored ``submitted_at`` compares
    with: [start 00:00 WIB, the day after ``end`` 00:00 WIB)."""

    def instant(day: date) -> str:
        return datetime.combine(day, time(), WIB).astimezone(UTC).isoformat()

    return (
        instant(start) if start else None,
        instant(end + timedelta(days=1)) if end else None,
    )


class Riwayat:
    """Reads a citizen's applications; keeps the step names of each service version it
    has looked up (an export reads many applications of few services)."""

    def __init__(self, store: EventStore, models: ReadModels, settings: Settings) -> None:
        self.store = store
        self.models = models
        self.settings = settings
        self._step_names: dict[tuple[str, int], dict[str, str]] = {}

    def summaries(
        self,
        citizen: str,
        *,
        status: str | None = None,
        service_id: str | None = None,
        start: date | None = None,
        end: date | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> tuple[list[Summary], int]:
        since, before = period_bounds(start, end)
        states, total = self.models.citizen_applications(
            citizen,
            status=status,
            service_id=service_id,
            submitted_from=since,
            submitted_before=before,
            limit=limit,
            offset=offset,
        )
        return [summary(s) for s in states], total

    def of(self, citizen: str, application_id: str) -> Detail | None:
        """The citizen's application in full; None when it is not theirs (or unknown)."""
        s = self.models.application(application_id)
        if s is None or s.citizen != citizen:
            return None
        return self.detail(s)

    def detail(self, s: ApplicationState) -> Detail:
        names = self.step_names(s.service_id, s.service_version)
        events = self.store.read_stream(ev.application_stream(s.application_id), limit=MAX_TIMELINE)
        timeline = []
        for e in events:
            if e.position > s.position:
                break  # newer than the row: the status would not agree with it
            entry = words.entry(e.type, e.data, e.recorded_at, names)
            if entry is not None:
                timeline.append(entry)
        truncated = len(events) == MAX_TIMELINE and events[-1].position < s.position
        return Detail(
            **summary(s).model_dump(),
            service_version=s.service_version,
            data=form_data(events, s.position),
            waiting_for_you=_waiting_for_you(s),
            timeline=timeline,
            timeline_truncated=truncated,
            documents=[self.document(row) for row in self.models.documents_of(s.application_id)],
            payments=[
                PaymentView(
                    step=p.step,
                    step_name=names.get(p.step, p.step),
                    amount=p.amount,
                    amount_text=rupiah(p.amount),
                    status=p.status,
                    status_text=words.PAYMENT_WORDS.get(p.status, p.status),
                    payment_code=p.payment_code,
                    method=p.method,
                    reference=p.reference,
                )
                for p in s.payments
            ],
            face_check=s.face_check.get("outcome") if s.face_check else None,
            attachments=[a.model_dump(mode="json") for a in s.attachments],
            standard_url=f"/public/services/{s.service_id}/standard?version={s.service_version}",
        )

    def document(self, row: dict[str, Any]) -> DocumentView:
        return DocumentView(
            number=row["number"],
            title=row["title"],
            application_id=row["application_id"],
            service_name=row["service_name"],
            issued_at=row["issued_at"],
            sha256=row["sha256"],
            verify_url=verify_url(self.settings, row["number"]),
            download_url=download_url(self.settings, row["number"]),
        )

    def step_names(self, service_id: str, version: int) -> dict[str, str]:
        """Step id -> name in the version the application runs (empty when the
        catalogue has lost it: the timeline then shows the ids)."""
        key = (service_id, version)
        if key not in self._step_names:
            service = self.models.service(service_id)
            info = service.versions.get(version) if service else None
            steps = info.definition.steps if info else []
            self._step_names[key] = {step.id: step.name for step in steps}
        return self._step_names[key]


def summary(s: ApplicationState) -> Summary:
    return Summary(
        application_id=s.application_id,
        service_id=s.service_id,
        service_name=s.service_name,
        agency_code=s.agency_code,
        agency_name=s.agency_name,
        status=s.status,
        status_text=words.status_text(s.status),
        current_step=s.current_step,
        submitted_at=s.submitted_at,
        updated_at=s.updated_at,
        completed_at=s.completed_at,
        expected_completion=s.expected_completion,
        url=f"/me/applications/{s.application_id}",
        channel=s.channel,
    )


def _waiting_for_you(s: ApplicationState) -> list[dict[str, Any]]:
    asked = []
    for step, w in s.waiting.items():
        if w.get("kind") == "correction":
            asked.append(
                {
                    "step": step,
                    "kind": "correction",
                    "fields": w.get("fields", []),
                    "reason": w.get("reason"),
                    "due_at": w.get("due_at"),
                }
            )
        elif w.get("kind") == "payment":
            asked.append(
                {
                    "step": step,
                    "kind": "payment",
                    "amount": w.get("amount"),
                    "payment_code": w.get("payment_code"),
                }
            )
        elif w.get("kind") == "visit":
            asked.append(
                {
                    "step": step,
                    "kind": "visit",
                    "purpose": w.get("purpose"),
                    "locations": w.get("locations", []),
                    "due_at": w.get("due_at"),
                }
            )
    return asked
