"""Erasing a citizen's personal data (the right to erasure, UU 27/2022 art. 8 and 43):
crypto-shredding. Their data key is deleted (``crypto.data_keys``), so every personal
field of their events (``domain.personal_data``) reads as ``ERASED`` from then on; the
events stay in the log and the hash chain, which covers the ciphertext, still verifies.

Besides the key: the PDFs issued to them are deleted from disk (their verification then
answers "revoked: data erased"), so are the files of their wallet (requirement
documents); their face enrolment is forgotten, the messages sent to them lose their
texts and addresses (``notifications.outbox``), their account is suspended (it can no
longer sign in, and every token it holds stops working), and a ``CitizenDataErased``
event records who erased, when and why, without personal data; the projector re-folds
their applications and complaints from it, so the views say so.

Refused while an application or complaint of theirs is still running (the agency still
needs the data to serve them), and, when the citizen asks themself, while an application
is inside its retention period (``Settings.retention_days``: the archives law). An
administrator's erasure (a court order, a data-protection authority's decision) records
its reason and is not held by the retention period.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from commands import wallet
from config.settings import Settings
from documents.numbering import document_path
from documents.uploads import UploadStore
from domain import accounts as acc
from domain import complaints as c
from domain import personal_data as pd
from domain.refusals import Conflict, Invalid, NotFound
from eventstore.personal import PersonalDataStore
from eventstore.port import EventStore, NewEvent, WrongExpectedVersion
from face.store import FaceStore
from notifications.outbox import Outbox
from projections.readmodels import ReadModels

MAX_REASON = 500
SELF_SERVICE_REASON = "the citizen asked for the erasure of their data (DELETE /me)"
ACCOUNT_SUSPENSION_REASON = "personal data erased"


@dataclass(frozen=True)
class Erased:
    citizen: str
    position: int
    """Where the ``CitizenDataErased`` event was recorded."""
    keys: int
    documents: list[str]
    """Numbers of the documents whose files were deleted."""


def erase_citizen(
    store: EventStore,
    models: ReadModels,
    settings: Settings,
    citizen: str,
    *,
    reason: str,
    by: str,
    role: str,
    self_service: bool,
    now: datetime | None = None,
) -> Erased:
    """Erase ``citizen``; raises ``Conflict`` (what is running or kept, and until when)
    or ``Invalid`` (no reason)."""
    reason = reason.strip()
    if not reason:
        raise Invalid("give the reason for the erasure (its legal basis), without personal data")
    if len(reason) > MAX_REASON:
        raise Invalid(f"the reason is {len(reason)} characters; at most {MAX_REASON}")
    if not isinstance(store, PersonalDataStore):
        raise RuntimeError(
            "erasure needs the event store opened with eventstore.factory.open_store"
        )
    now = now or datetime.now(UTC)
    _check_erasable(store, models, citizen, self_service)
    _check_nothing_runs(models, settings, citizen, self_service, now)

    documents = [str(d["number"]) for d in models.documents_of_citizen(citizen, limit=100_000)]
    for number in documents:
        document_path(settings, number).unlink(missing_ok=True)
    FaceStore.from_settings(settings).forget(citizen)
    uploads = UploadStore.from_settings(settings)
    held = wallet.load(store, citizen)
    for document_id in {*held.documents, *held.attached}:
        uploads.delete(document_id)
    outbox = Outbox(settings.outbox_location)
    try:
        outbox.forget(citizen)
    finally:
        outbox.close()
    # The key first: it is the erasure itself. The event after it records what was done;
    # should its append fail, erasing again deletes nothing more and records it then.
    erasure = store.keys.erase(citizen, reason, by)
    result = store.append(
        pd.erasure_stream(citizen),
        [
            NewEvent(
                uuid.uuid4(),
                pd.CITIZEN_DATA_ERASED,
                {
                    "citizen": citizen,
                    "reason": reason,
                    "by": by,
                    "role": role,
                    "keys": erasure.keys,
                    "documents": documents,
                    "erased_at": erasure.erased_at.isoformat(),
                },
            )
        ],
    )
    _suspend_account(store, citizen, by)
    return Erased(citizen, result.last_position, erasure.keys, documents)


def _check_erasable(
    store: PersonalDataStore, models: ReadModels, citizen: str, self_service: bool
) -> None:
    if store.keys.has_key(citizen):
        return
    done = store.keys.erasures(citizen)
    if done:
        raise Conflict(
            f"the personal data of {citizen} was erased already, on "
            f"{done[-1].erased_at.date().isoformat()}; nothing of theirs is left to erase"
        )
    known = (
        store.read_stream(acc.account_stream(citizen), limit=1)
        or models.citizen_applications(citizen, limit=1)[0]
    )
    if not known and not self_service:  # the citizen asking is someone, whatever they hold
        raise NotFound(f"there is no citizen {citizen}")


def _check_nothing_runs(
    models: ReadModels, settings: Settings, citizen: str, self_service: bool, now: datetime
) -> None:
    states, _ = models.citizen_applications(citizen, limit=100_000)
    running = [s.application_id for s in states if s.completed_at is None]
    # The citizen is told which of theirs; an administrator how many (the refusal must
    # not tell them more about the citizen than the erasure would have).
    if running:
        which = ", ".join(running) if self_service else f"{len(running)} of them"
        raise Conflict(
            f"applications of this citizen are still running ({which}); their data can be "
            "erased once they have ended (or been cancelled)"
        )
    open_complaints = [
        v.complaint_id
        for v in models.complaints(complainant=citizen, limit=100_000)
        if v.status in c.OPEN_STATES
    ]
    if open_complaints:
        which = ", ".join(open_complaints) if self_service else f"{len(open_complaints)} of them"
        raise Conflict(
            f"complaints of this citizen are still being handled ({which}); their data can "
            "be erased once they are closed"
        )
    if not self_service:
        return
    kept = [
        (s.application_id, s.completed_at + timedelta(days=settings.retention_days(s.service_id)))
        for s in states
        if s.completed_at is not None
    ]
    held = sorted((until, app) for app, until in kept if until > now)
    if held:
        until, _ = held[-1]
        raise Conflict(
            f"the agency must keep the records of {', '.join(app for _, app in held)} until "
            f"{until.date().isoformat()} (its retention period under the archives law); "
            "ask for the erasure after that date, or ask the agency"
        )


def _suspend_account(store: EventStore, citizen: str, by: str) -> None:
    stream = acc.account_stream(citizen)
    for _ in range(3):  # a sign-in may append to the account meanwhile: read again
        events = store.read_stream(stream)
        account = acc.fold_account(events) if events else None
        if account is None or account.status == "suspended":
            return
        event = NewEvent(
            uuid.uuid4(),
            acc.ACCOUNT_SUSPENDED,
            {"reason": ACCOUNT_SUSPENSION_REASON, "by": by},
        )
        try:
            store.append(stream, [event], account.version)
            return
        except WrongExpectedVersion:
            continue
    raise Conflict("the account changed while it was being suspended; erase again to finish")
