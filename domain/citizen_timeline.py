"""An application's history as its citizen reads it (riwayat): each event worded in
Bahasa Indonesia, with who acted named by their part ("Anda", "Petugas", "Kasir"),
never by a staff account id, and the engine's own bookkeeping (decisions, parallel
branches, reminders to officers) left out.

Pure: it words an event from its stored type and payload, so the citizen's history and
the export of their data (``projections.riwayat``) say the same thing.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

from pydantic import BaseModel

from domain import events as ev
from domain.wording import ROLES, rupiah

YOU: Final = "Anda"
SYSTEM: Final = "Sistem"
STAFF: Final = "Petugas"

STATUS_WORDS: Final[Mapping[str, str]] = {
    "submitted": "Diajukan",
    "in_review": "Sedang diproses",
    "in_progress": "Sedang diproses",
    "awaiting_correction": "Menunggu perbaikan dari Anda",
    "awaiting_payment": "Menunggu pembayaran",
    "awaiting_event": "Menunggu instansi terkait",
    "awaiting_subservice": "Menunggu layanan terkait",
    "awaiting_visit": "Menunggu kedatangan Anda di lokasi layanan",
    "incident": "Tertunda karena gangguan teknis; petugas menanganinya",
    "approved": "Disetujui",
    "rejected": "Ditolak",
    "cancelled": "Dibatalkan",
}
"""Each application status in words; an unknown one is shown as it is."""

OUTCOME_WORDS: Final[Mapping[str, str]] = {
    "approve": "disetujui",
    "approved": "disetujui",
    "reject": "ditolak",
    "rejected": "ditolak",
    "cancelled": "dibatalkan",
    "return": "dikembalikan untuk diperbaiki",
    "ok": "sesuai",
}
PAYMENT_WORDS: Final[Mapping[str, str]] = {
    "requested": "menunggu pembayaran",
    "paid": "lunas",
    "refunded": "dikembalikan",
}
FACE_WORDS: Final[Mapping[str, str]] = {
    "match": "wajah cocok dengan data Anda",
    "mismatch": "wajah tidak cocok; identitas diperiksa di loket",
    "unusable": "foto tidak dapat digunakan; identitas diperiksa di loket",
}

HIDDEN: Final = frozenset(
    {
        ev.DECISION_TAKEN,
        ev.BRANCHES_STARTED,
        ev.BRANCHES_JOINED,
        ev.REMINDER_SENT,
        ev.TASK_CANCELLED,
    }
)
"""The engine's bookkeeping: how the flow routes itself and nudges its officers. The
citizen sees where it leads (the next task, the result), not the routing."""


class CitizenEntry(BaseModel):
    at: datetime
    type: str
    """The stored event type, for a program that reads the history."""
    step: str | None = None
    step_name: str | None = None
    actor: str
    """Who acted, in words: ``Anda``, ``Petugas``, ``Kasir``, ``Sistem``."""
    text: str
    note: str | None = None
    """What an officer wrote with a decision, where they wrote something."""


def status_text(status: str) -> str:
    return STATUS_WORDS.get(status, status)


def outcome_text(outcome: str) -> str:
    return OUTCOME_WORDS.get(outcome, outcome.replace("_", " "))


def role_text(role: str | None) -> str:
    """A role as the citizen reads it (``officer`` -> ``Petugas``)."""
    if role == "citizen":
        return YOU
    if role == "payment_provider":
        return "Penyedia pembayaran"
    word = ROLES.get(role or "", "petugas")
    return word[:1].upper() + word[1:]


def entry(
    event_type: str,
    data: dict[str, Any],
    at: datetime,
    step_names: Mapping[str, str],
) -> CitizenEntry | None:
    """The event in the citizen's words; None for the engine's bookkeeping (``HIDDEN``).
    ``step_names``: step id -> its name in the service definition."""
    if event_type in HIDDEN:
        return None
    e = ev.parse(event_type, data)
    step: str | None = data.get("step") if isinstance(data.get("step"), str) else None
    name = step_names.get(step, step) if step else None
    actor, text, note = _words(e, name or "", data)
    return CitizenEntry(
        at=at, type=event_type, step=step, step_name=name, actor=actor, text=text, note=note
    )


def _words(e: ev.Event | None, name: str, data: dict[str, Any]) -> tuple[str, str, str | None]:
    """(actor, text, note) of one event; ``name`` is its step's name, ``data`` its
    payload as stored."""
    match e:
        case ev.ApplicationSubmitted():
            return _submitted(e, data)
        case ev.TaskAssigned():
            who = role_text(e.role).lower()
            return SYSTEM, f"{e.step_name}: berkas diteruskan ke {who} untuk diperiksa", None
        case ev.TaskClaimed():
            return STAFF, f"{name}: petugas mulai memeriksa berkas Anda", None
        case ev.TaskReassigned():
            to = role_text(e.to_role).lower()
            return SYSTEM, f"{name}: batas waktu terlewati, diteruskan ke {to}", None
        case ev.TaskCompleted():
            who = role_text(e.actor.role)
            return who, f"{e.step_name or name}: {outcome_text(e.outcome)}", e.comment or None
        case ev.CitizenNotified():
            return SYSTEM, f"Pemberitahuan: {e.message}", None
        case ev.ApplicationCompleted():
            return SYSTEM, f"Permohonan selesai: {outcome_text(e.result)}", None
        case ev.DeadlineSet() if e.scope == "service":
            moved = " (bergeser karena menunggu perbaikan)" if e.reason else ""
            return SYSTEM, f"Perkiraan selesai: {e.due_at[:10]}{moved}", None
        case ev.DeadlineSet():
            return SYSTEM, f"{name}: batas waktu {e.due_at[:10]}", None
        case ev.SlaBreached():
            what = "jangka waktu layanan" if e.scope == "service" else f"batas waktu {name}"
            return SYSTEM, f"Terlambat: {what} sudah lewat", None
        case ev.CorrectionRequested():
            fields = ", ".join(e.fields)
            return (
                STAFF,
                f"Berkas dikembalikan untuk diperbaiki ({fields}), paling lambat {e.due_at[:10]}",
                e.reason,
            )
        case ev.CorrectionSubmitted():
            return YOU, f"Perbaikan dikirim: {', '.join(e.fields)}", None
        case ev.CorrectionAbandoned():
            return SYSTEM, "Perbaikan tidak dikirim dalam waktu yang ditentukan", None
        case ev.PaymentRequested():
            amount = rupiah(e.amount)
            return SYSTEM, f"Tagihan {amount} untuk {name} (kode bayar {e.payment_code})", None
        case ev.PaymentReceived():
            where = "secara daring" if e.method == "online" else "di loket"
            who = role_text("payment_provider") if e.method == "online" else "Kasir"
            return who, f"Pembayaran {rupiah(e.amount)} diterima {where}", None
        case ev.PaymentWaived():
            return SYSTEM, f"{name}: tidak ada biaya", None
        case ev.RefundRecorded():
            return SYSTEM, f"Pengembalian dana {rupiah(e.amount)} dicatat", e.reason or None
        case ev.DocumentIssued():
            return SYSTEM, f"Dokumen terbit: {e.title} nomor {e.number}", None
        case ev.WaitingForEvent():
            return SYSTEM, f"{name}: menunggu hasil dari instansi terkait", None
        case ev.ExternalEventReceived():
            return STAFF, f"{name}: hasil diterima", None
        case ev.ExternalEventTimedOut():
            return SYSTEM, f"{name}: hasil tidak datang dalam waktu yang ditentukan", None
        case ev.AppointmentRequested():
            by = e.due_at[:10]
            return (
                SYSTEM,
                f"{name}: silakan datang ke lokasi layanan ({e.purpose}) sebelum {by}",
                None,
            )
        case ev.VisitRecorded() if e.outcome == "served":
            return STAFF, f"{name}: Anda telah dilayani di lokasi layanan", e.note or None
        case ev.VisitRecorded():
            return STAFF, f"{name}: petugas mencatat Anda tidak hadir", e.note or None
        case ev.VisitMissed():
            return SYSTEM, f"{name}: Anda tidak datang dalam waktu yang ditentukan", None
        case ev.SubserviceStarted():
            return SYSTEM, f"{name}: permohonan terkait {e.child_application_id} dimulai", None
        case ev.SubserviceCompleted():
            result = outcome_text(e.result)
            return SYSTEM, f"Permohonan terkait {e.child_application_id} selesai: {result}", None
        case ev.FaceVerified():
            return SYSTEM, f"Verifikasi wajah: {FACE_WORDS.get(e.outcome, e.outcome)}", None
        case ev.CancellationRequested():
            return role_text(e.role), "Pembatalan diminta", e.reason or None
        case ev.IncidentRaised():
            # The error names the engine's internals; the citizen needs to know it is held
            # up and that someone is on it.
            return SYSTEM, "Proses tertunda karena gangguan teknis; petugas menanganinya", None
        case ev.IncidentResolved():
            return SYSTEM, "Gangguan teknis teratasi; proses dilanjutkan", None
    # A type this code does not know (newer), or one without its own words: said plainly,
    # quoting nothing of a payload that may name staff.
    return SYSTEM, "Permohonan diperbarui", None


CHANNEL_WORDS: Final[Mapping[str, str]] = {
    "online": "secara daring",
    "counter": "di loket MPP",
    "kiosk": "di anjungan mandiri",
    "mobile": "di layanan keliling",
}


def _submitted(e: ev.ApplicationSubmitted, data: dict[str, Any]) -> tuple[str, str, None]:
    # ``channel`` and ``filed_by`` (an officer filing for a walk-in citizen) are read
    # from the stored payload, so the wording holds for submissions with and without.
    channel = CHANNEL_WORDS.get(str(data.get("channel")))
    where = f" {channel}" if channel else ""
    if data.get("filed_by"):
        return STAFF, f"Permohonan {e.service.name} diajukan{where} atas nama Anda", None
    return YOU, f"Permohonan {e.service.name} diajukan{where}", None
