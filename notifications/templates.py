"""The words of every message, in Bahasa Indonesia (the default) and English.

Each kind (``notifications.kinds``) has a subject and a body (the e-mail and the in-app
list) and a short text for SMS and WhatsApp that fits one SMS (160 characters) where the
agency's own words allow: a long free text (``{text}``) is shortened in the short form
only, which points to the full message in the app. Messages carry the application or
complaint number and what the message needs, never the citizen's name or NIK.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from notifications.kinds import Notice
from notifications.preferences import Language

SMS_CHARS: Final = 160


@dataclass(frozen=True)
class Template:
    subject: str
    body: str
    short: str


@dataclass(frozen=True)
class Rendered:
    subject: str
    body: str
    short: str
    email: str
    """The body with the greeting and the closing lines of an e-mail."""


T = Template
TEMPLATES: Final[dict[str, dict[str, Template]]] = {
    "submitted": {
        "id": T(
            "Permohonan {ref} telah diterima",
            "Permohonan {service} Anda telah kami terima dengan nomor {ref}. Simpan nomor "
            "ini untuk memantau status permohonan di MPP Digital.",
            "MPP Digital: permohonan {ref} ({service}) diterima. Pantau statusnya di "
            "aplikasi MPP Digital.",
        ),
        "en": T(
            "Application {ref} received",
            "We have received your application for {service} under number {ref}. Keep "
            "this number to follow its status in MPP Digital.",
            "MPP Digital: application {ref} ({service}) received. Follow its status in "
            "the MPP Digital app.",
        ),
    },
    "notice": {
        "id": T(
            "Informasi permohonan {ref}",
            "{text}",
            "MPP Digital {ref}: {text}",
        ),
        "en": T(
            "About your application {ref}",
            "{text}",
            "MPP Digital {ref}: {text}",
        ),
    },
    "correction": {
        "id": T(
            "Permohonan {ref} perlu diperbaiki",
            "Petugas mengembalikan permohonan {ref} untuk diperbaiki: {text}. Bagian yang "
            "perlu diperbaiki: {fields}. Kirim perbaikan paling lambat {due} melalui MPP "
            "Digital; setelah itu permohonan dapat dianggap batal.",
            "MPP Digital: permohonan {ref} perlu diperbaiki sebelum {due}: {text}",
        ),
        "en": T(
            "Application {ref} needs a correction",
            "The officer returned application {ref} for a correction: {text}. What to "
            "correct: {fields}. Send the correction through MPP Digital by {due}; after "
            "that the application may be closed.",
            "MPP Digital: application {ref} needs a correction by {due}: {text}",
        ),
    },
    "payment_due": {
        "id": T(
            "Pembayaran permohonan {ref}",
            "Permohonan {ref} menunggu pembayaran retribusi sebesar Rp {amount} dengan kode "
            "bayar {code}. Bayar di loket atau melalui kanal pembayaran yang tersedia.",
            "MPP Digital: bayar Rp {amount} untuk permohonan {ref}, kode bayar {code}.",
        ),
        "en": T(
            "Payment for application {ref}",
            "Application {ref} waits for the fee of Rp {amount}, payment code {code}. Pay "
            "at the counter or through one of the payment channels.",
            "MPP Digital: pay Rp {amount} for application {ref}, payment code {code}.",
        ),
    },
    "payment_received": {
        "id": T(
            "Pembayaran permohonan {ref} diterima",
            "Pembayaran Rp {amount} untuk permohonan {ref} telah kami terima. Permohonan "
            "Anda dilanjutkan.",
            "MPP Digital: pembayaran Rp {amount} untuk permohonan {ref} diterima.",
        ),
        "en": T(
            "Payment for application {ref} received",
            "We have received the payment of Rp {amount} for application {ref}. Your "
            "application continues.",
            "MPP Digital: payment of Rp {amount} for application {ref} received.",
        ),
    },
    "document_issued": {
        "id": T(
            "Dokumen {number} telah terbit",
            "Dokumen {title} nomor {number} untuk permohonan {ref} telah terbit. Unduh "
            "dari MPP Digital; keasliannya dapat diperiksa di {url}.",
            "MPP Digital: dokumen {number} untuk permohonan {ref} telah terbit. Unduh di "
            "aplikasi MPP Digital.",
        ),
        "en": T(
            "Document {number} issued",
            "The document {title} no. {number} for application {ref} has been issued. "
            "Download it from MPP Digital; anyone can check it at {url}.",
            "MPP Digital: document {number} for application {ref} issued. Download it in "
            "the MPP Digital app.",
        ),
    },
    "visit_requested": {
        "id": T(
            "Permohonan {ref}: silakan pilih jadwal kunjungan",
            "Permohonan {ref} perlu kehadiran Anda di lokasi layanan: {text}. Silakan "
            "pilih jadwal kunjungan di MPP Digital (atau datang langsung dan ambil nomor "
            "antrean) paling lambat {due}.",
            "MPP Digital: permohonan {ref} perlu kunjungan Anda ({text}). Pilih jadwal "
            "sebelum {due} di aplikasi.",
        ),
        "en": T(
            "Application {ref}: please choose a time to visit",
            "Application {ref} needs you in person at a service location: {text}. "
            "Please book a visit in MPP Digital (or come and take a queue number) by {due}.",
            "MPP Digital: application {ref} needs your visit ({text}). Book a time "
            "before {due} in the app.",
        ),
    },
    "approved": {
        "id": T(
            "Permohonan {ref} disetujui",
            "Permohonan {service} nomor {ref} telah selesai dan disetujui. Mohon isi survei "
            "kepuasan masyarakat di MPP Digital.",
            "MPP Digital: permohonan {ref} disetujui. Mohon isi survei kepuasan di aplikasi.",
        ),
        "en": T(
            "Application {ref} approved",
            "Your application for {service}, number {ref}, is complete and approved. Please "
            "answer the satisfaction survey in MPP Digital.",
            "MPP Digital: application {ref} approved. Please answer the survey in the app.",
        ),
    },
    "rejected": {
        "id": T(
            "Permohonan {ref} ditolak",
            "Permohonan {service} nomor {ref} ditolak. Alasannya dapat dilihat pada riwayat "
            "permohonan di MPP Digital. Anda dapat mengajukan pengaduan bila tidak sesuai.",
            "MPP Digital: permohonan {ref} ditolak. Lihat alasannya di aplikasi MPP Digital.",
        ),
        "en": T(
            "Application {ref} rejected",
            "Your application for {service}, number {ref}, was rejected. The reason is in "
            "its history in MPP Digital. You may file a complaint if you disagree.",
            "MPP Digital: application {ref} rejected. See why in the MPP Digital app.",
        ),
    },
    "cancelled": {
        "id": T(
            "Permohonan {ref} dibatalkan",
            "Permohonan {service} nomor {ref} telah dibatalkan. Bila sudah membayar, "
            "retribusi dikembalikan.",
            "MPP Digital: permohonan {ref} dibatalkan.",
        ),
        "en": T(
            "Application {ref} cancelled",
            "Your application for {service}, number {ref}, has been cancelled. A fee "
            "already paid is refunded.",
            "MPP Digital: application {ref} cancelled.",
        ),
    },
    "complaint_received": {
        "id": T(
            "Pengaduan {ref} diterima",
            "Pengaduan Anda telah kami terima dengan nomor {ref} dan akan diverifikasi "
            "dalam 3 hari kerja.",
            "MPP Digital: pengaduan {ref} diterima, diverifikasi dalam 3 hari kerja.",
        ),
        "en": T(
            "Complaint {ref} received",
            "We have received your complaint under number {ref}; it is verified within 3 "
            "working days.",
            "MPP Digital: complaint {ref} received, verified within 3 working days.",
        ),
    },
    "complaint_accepted": {
        "id": T(
            "Pengaduan {ref} diverifikasi",
            "Pengaduan {ref} telah diverifikasi dan sedang ditindaklanjuti (paling lama 5 "
            "hari kerja).",
            "MPP Digital: pengaduan {ref} diverifikasi dan sedang ditindaklanjuti.",
        ),
        "en": T(
            "Complaint {ref} verified",
            "Complaint {ref} has been verified and is being followed up (within 5 working days).",
            "MPP Digital: complaint {ref} verified and being followed up.",
        ),
    },
    "complaint_info_requested": {
        "id": T(
            "Pengaduan {ref} memerlukan informasi tambahan",
            "Petugas memerlukan informasi tambahan untuk pengaduan {ref}: {text}. Kirim "
            "melalui MPP Digital.",
            "MPP Digital: pengaduan {ref} perlu informasi tambahan: {text}",
        ),
        "en": T(
            "Complaint {ref} needs more information",
            "The officer needs more information about complaint {ref}: {text}. Send it "
            "through MPP Digital.",
            "MPP Digital: complaint {ref} needs more information: {text}",
        ),
    },
    "complaint_rejected": {
        "id": T(
            "Pengaduan {ref} tidak dapat diproses",
            "Pengaduan {ref} tidak dapat diproses: {text}.",
            "MPP Digital: pengaduan {ref} tidak dapat diproses: {text}",
        ),
        "en": T(
            "Complaint {ref} cannot be handled",
            "Complaint {ref} cannot be handled: {text}.",
            "MPP Digital: complaint {ref} cannot be handled: {text}",
        ),
    },
    "complaint_forwarded": {
        "id": T(
            "Pengaduan {ref} diteruskan",
            "Pengaduan {ref} diteruskan kepada instansi yang berwenang ({agency}) dan akan "
            "diverifikasi di sana.",
            "MPP Digital: pengaduan {ref} diteruskan ke instansi berwenang ({agency}).",
        ),
        "en": T(
            "Complaint {ref} forwarded",
            "Complaint {ref} has been forwarded to the competent agency ({agency}), which "
            "verifies it.",
            "MPP Digital: complaint {ref} forwarded to the competent agency ({agency}).",
        ),
    },
    "complaint_followed_up": {
        "id": T(
            "Tindak lanjut pengaduan {ref}",
            "Pengaduan {ref} telah ditindaklanjuti. Baca jawabannya di MPP Digital, lalu "
            "terima atau minta dibuka kembali dalam 10 hari kerja.",
            "MPP Digital: pengaduan {ref} telah ditindaklanjuti. Baca jawabannya di aplikasi.",
        ),
        "en": T(
            "Follow-up of complaint {ref}",
            "Complaint {ref} has been followed up. Read the answer in MPP Digital, then "
            "accept it or reopen the complaint within 10 working days.",
            "MPP Digital: complaint {ref} followed up. Read the answer in the app.",
        ),
    },
    "complaint_closed": {
        "id": T(
            "Pengaduan {ref} ditutup",
            "Pengaduan {ref} ditutup karena tidak ada tanggapan dalam 10 hari kerja. Anda "
            "masih dapat memberi penilaian di MPP Digital.",
            "MPP Digital: pengaduan {ref} ditutup. Beri penilaian di aplikasi.",
        ),
        "en": T(
            "Complaint {ref} closed",
            "Complaint {ref} was closed as there was no answer within 10 working days. You "
            "can still rate it in MPP Digital.",
            "MPP Digital: complaint {ref} closed. Rate it in the app.",
        ),
    },
    "appointment_held": {
        "id": T(
            "Jadwal kunjungan {when} menunggu konfirmasi",
            "Jadwal kunjungan untuk permohonan {ref} pada {when} kami simpan selama 10 "
            "menit. Konfirmasikan di MPP Digital agar jadwal tidak dilepas.",
            "MPP Digital: jadwal {when} untuk {ref} disimpan 10 menit. Konfirmasi di aplikasi.",
        ),
        "en": T(
            "Visit at {when} awaits your confirmation",
            "Your visit for application {ref} at {when} is held for 10 minutes. Confirm it "
            "in MPP Digital, or the slot is released.",
            "MPP Digital: visit at {when} for {ref} held 10 minutes. Confirm it in the app.",
        ),
    },
    "appointment_confirmed": {
        "id": T(
            "Jadwal kunjungan {when} terkonfirmasi",
            "Jadwal kunjungan untuk permohonan {ref} pada {when} telah terkonfirmasi. "
            "Tunjukkan tiket QR dari MPP Digital di loket; tidak perlu antre.",
            "MPP Digital: kunjungan {when} untuk {ref} terkonfirmasi. Tunjukkan tiket QR di loket.",
        ),
        "en": T(
            "Visit at {when} confirmed",
            "Your visit for application {ref} at {when} is confirmed. Show the QR ticket "
            "from MPP Digital at the counter; no queuing needed.",
            "MPP Digital: visit at {when} for {ref} confirmed. Show the QR ticket at the counter.",
        ),
    },
    "appointment_rescheduled": {
        "id": T(
            "Jadwal kunjungan dipindah ke {when}",
            "Jadwal kunjungan untuk permohonan {ref} dipindah ke {when}. Tiket QR yang "
            "baru ada di MPP Digital.",
            "MPP Digital: kunjungan {ref} dipindah ke {when}. Tiket QR baru ada di aplikasi.",
        ),
        "en": T(
            "Visit moved to {when}",
            "Your visit for application {ref} was moved to {when}. The new QR ticket is in "
            "MPP Digital.",
            "MPP Digital: visit for {ref} moved to {when}. New QR ticket in the app.",
        ),
    },
    "appointment_cancelled": {
        "id": T(
            "Jadwal kunjungan {when} dibatalkan",
            "Jadwal kunjungan untuk permohonan {ref} pada {when} telah dibatalkan. Pilih "
            "jadwal lain di MPP Digital bila masih diperlukan.",
            "MPP Digital: kunjungan {when} untuk {ref} dibatalkan.",
        ),
        "en": T(
            "Visit at {when} cancelled",
            "Your visit for application {ref} at {when} was cancelled. Book another slot in "
            "MPP Digital if you still need one.",
            "MPP Digital: visit at {when} for {ref} cancelled.",
        ),
    },
    "appointment_expired": {
        "id": T(
            "Jadwal kunjungan {when} dilepas",
            "Jadwal kunjungan untuk permohonan {ref} pada {when} tidak dikonfirmasi dalam "
            "10 menit sehingga dilepas. Pilih jadwal lagi di MPP Digital.",
            "MPP Digital: jadwal {when} untuk {ref} dilepas karena tidak dikonfirmasi.",
        ),
        "en": T(
            "Visit at {when} released",
            "Your visit for application {ref} at {when} was not confirmed within 10 minutes "
            "and was released. Book a slot again in MPP Digital.",
            "MPP Digital: visit at {when} for {ref} released: not confirmed in time.",
        ),
    },
    "appointment_reminded": {
        "id": T(
            "Pengingat: kunjungan {when}",
            "Pengingat: jadwal kunjungan untuk permohonan {ref} pada {when}. Datang tepat "
            "waktu dan tunjukkan tiket QR dari MPP Digital di loket.",
            "MPP Digital: pengingat kunjungan {when} untuk {ref}. Bawa tiket QR Anda.",
        ),
        "en": T(
            "Reminder: visit at {when}",
            "A reminder of your visit for application {ref} at {when}. Come on time and "
            "show the QR ticket from MPP Digital at the counter.",
            "MPP Digital: reminder of your visit at {when} for {ref}. Bring your QR ticket.",
        ),
    },
}

_GREETING: Final = {"id": "Yth. Bapak/Ibu,", "en": "Dear citizen,"}
_CLOSING: Final = {
    "id": "Salam,\nMPP Digital\n\nPesan ini dikirim otomatis; mohon tidak dibalas. Atur "
    "notifikasi Anda di MPP Digital.",
    "en": "Regards,\nMPP Digital\n\nThis message was sent automatically; please do not "
    "reply. Choose your notifications in MPP Digital.",
}


def render(notice: Notice, language: Language) -> Rendered:
    t = TEMPLATES[notice.kind][language]
    values = dict(notice.values)
    if "amount" in values:
        values["amount"] = _rupiah(int(values["amount"]), language)
    body = t.body.format(**values)
    email = f"{_GREETING[language]}\n\n{body}\n\n{_CLOSING[language]}\n"
    return Rendered(t.subject.format(**values), body, _short(t.short, values), email)


def _short(template: str, values: dict[str, str]) -> str:
    """The short text, its free ``{text}`` cut to fit one SMS where the rest allows."""
    text = template.format(**values)
    if len(text) <= SMS_CHARS or "{text}" not in template:
        return text
    room = SMS_CHARS - len(template.format(**{**values, "text": ""})) - 1
    if room < 20:  # the fixed part alone nearly fills an SMS: send it whole
        return text
    return template.format(**{**values, "text": values["text"][:room].rstrip() + "…"})


def _rupiah(amount: int, language: Language) -> str:
    text = f"{amount:,}"
    return text.replace(",", ".") if language == "id" else text
