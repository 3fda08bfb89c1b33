"""``lincah demo``: seed agency Kabupaten Banyuwangi with two realistic services through
the API, and print the curl commands that walk one application to its end."""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from typing import Any

import httpx

from accounts.mail import Mailer
from accounts.registry import Registry
from commands import profile
from config.settings import Settings
from eventstore.factory import open_store
from eventstore.port import EventStore

AGENCY = {"code": "BWI", "name": "Kabupaten Banyuwangi"}
ADMIN = {"subject": "admin@banyuwangikab.go.id", "role": "agency_admin", "agency": "BWI"}

# Standar Pelayanan parts the flow cannot say (the rest is generated from it: see
# domain/standard.py). The demo flows have no time limit or document step, to keep the
# walkthrough short, so jangka waktu and produk are the agency's explanation here.
MANAGEMENT_STANDARD = {
    "facilities": "Ruang tunggu ber-AC, loket prioritas untuk lansia dan difabel, "
    "komputer layanan mandiri di MPP Banyuwangi",
    "staff_competence": "Petugas berpendidikan minimal SMA/sederajat dan telah mengikuti "
    "pelatihan pelayanan prima",
    "supervision": "Kepala bidang dan Inspektorat Kabupaten Banyuwangi",
    "guarantee": "Pelayanan diberikan sesuai standar ini; bila tidak, pemohon dapat "
    "mengadu melalui saluran pengaduan",
    "security": "Data pemohon dijaga kerahasiaannya; dokumen hanya diserahkan kepada "
    "pemohon atau kuasanya",
    "evaluation": "Kinerja pelaksana dievaluasi setiap tahun oleh Kepala Dinas",
}
COMPLAINTS = "SP4N-LAPOR! (www.lapor.go.id), WhatsApp 0811-3000-123, loket pengaduan MPP"

KELURAHAN = [
    "Kepatihan",
    "Penganjuran",
    "Tukangkayu",
    "Singonegaran",
    "Panderejo",
    "Sobo",
    "Kertosari",
    "Pakis",
]

DOMISILI: dict[str, Any] = {
    "id": "surat-keterangan-domisili",
    "name": "Surat Keterangan Domisili",
    "agency": AGENCY,
    "description": "Certificate of residence for residents of Kecamatan Banyuwangi, "
    "issued after the kelurahan officer verifies the address.",
    "fields": [
        # Prefilled from the citizen's profile (GET /services/{id}/form?prefill=true).
        {"id": "nik", "label": "NIK", "type": "nik", "prefill": "profile.nik"},
        {
            "id": "full_name",
            "label": "Nama lengkap",
            "type": "text",
            "prefill": "profile.full_name",
        },
        {
            "id": "address",
            "label": "Alamat (jalan, nomor, RT/RW)",
            "type": "text",
            "prefill": "profile.address",
        },
        {
            "id": "kelurahan",
            "label": "Kelurahan",
            "type": "choice",
            "choices": KELURAHAN,
            "prefill": "profile.address.kelurahan_desa",
        },
        {"id": "purpose", "label": "Keperluan", "type": "text"},
        {
            "id": "kk_scan",
            "label": "Scan Kartu Keluarga",
            "type": "file",
            "required": False,
            "kinds": ["kk"],  # attached from the citizen's wallet (POST /me/documents)
        },
    ],
    "standard": {
        "delivery": {
            "requirements": ["Surat pengantar RT/RW"],
            "time_limit": "Paling lama 3 hari kerja sejak berkas lengkap",
            "product": "Surat Keterangan Domisili",
            "complaints": "Pengaduan dijawab paling lama 5 hari kerja",
        },
        "management": {
            "legal_basis": [
                "Undang-Undang Nomor 25 Tahun 2009 tentang Pelayanan Publik",
                "Undang-Undang Nomor 24 Tahun 2013 tentang Administrasi Kependudukan",
            ],
            **MANAGEMENT_STANDARD,
            "staff_count": "2 petugas verifikasi per kelurahan",
        },
        "complaint_channel": COMPLAINTS,
        "review_interval_months": 12,
    },
    "steps": [
        {"kind": "form", "id": "submission", "name": "Pengajuan", "next": "verify_residence"},
        {
            "kind": "review",
            "id": "verify_residence",
            "name": "Verifikasi domisili",
            "role": "officer",
            "instructions": "Check the address against the Kartu Keluarga.",
            "outcomes": {"approve": "notify_issued", "reject": "notify_refused"},
        },
        {
            "kind": "notify",
            "id": "notify_issued",
            "name": "Surat terbit",
            "message": "Surat Keterangan Domisili for {full_name} has been issued; collect it "
            "at MPP Banyuwangi or download it from the app.",
            "next": "issued",
        },
        {
            "kind": "notify",
            "id": "notify_refused",
            "name": "Permohonan ditolak",
            "message": "Your application for a Surat Keterangan Domisili was refused; see the "
            "officer's comment in the timeline.",
            "next": "refused",
        },
        {"kind": "end", "id": "issued", "name": "Selesai - terbit", "result": "approved"},
        {"kind": "end", "id": "refused", "name": "Selesai - ditolak", "result": "rejected"},
    ],
}

IZIN_PRAKTIK: dict[str, Any] = {
    "id": "izin-praktik-nakes",
    "name": "Izin Praktik Tenaga Kesehatan",
    "agency": AGENCY,
    "description": "Surat Izin Praktik (SIP) for doctors, dentists, midwives, nurses and "
    "pharmacists practising in Kabupaten Banyuwangi.",
    "fields": [
        {"id": "nik", "label": "NIK", "type": "nik", "prefill": "profile.nik"},
        {
            "id": "full_name",
            "label": "Nama lengkap dan gelar",
            "type": "text",
            "prefill": "profile.full_name",
        },
        {
            "id": "profession",
            "label": "Profesi",
            "type": "choice",
            "choices": ["dokter", "dokter_gigi", "bidan", "perawat", "apoteker"],
        },
        {"id": "str_number", "label": "Nomor STR", "type": "text"},
        {"id": "str_document", "label": "Scan STR", "type": "file"},
        {"id": "practice_address", "label": "Alamat tempat praktik", "type": "text"},
        {"id": "years_experience", "label": "Lama pengalaman (tahun)", "type": "number"},
    ],
    "standard": {
        "delivery": {
            "time_limit": "Paling lama 10 hari kerja sejak berkas lengkap",
            "product": "Surat Izin Praktik (SIP)",
        },
        "management": {
            "legal_basis": [
                "Undang-Undang Nomor 17 Tahun 2023 tentang Kesehatan",
                "Peraturan Bupati Banyuwangi tentang Pelayanan Perizinan",
            ],
            **MANAGEMENT_STANDARD,
            "staff_count": "3 petugas dan 1 supervisor",
        },
        "complaint_channel": COMPLAINTS,
        "review_interval_months": 12,
    },
    "steps": [
        {"kind": "form", "id": "submission", "name": "Pengajuan", "next": "document_review"},
        {
            "kind": "review",
            "id": "document_review",
            "name": "Pemeriksaan berkas",
            "role": "officer",
            "instructions": "Check the STR is valid and matches the NIK.",
            "outcomes": {"approve": "experience_check", "reject": "notify_refused"},
        },
        {
            "kind": "decision",
            "id": "experience_check",
            "name": "Cek pengalaman",
            "branches": [{"when": "years_experience < 2", "goto": "site_verification"}],
            "default": "head_approval",
        },
        {
            "kind": "review",
            "id": "site_verification",
            "name": "Verifikasi tempat praktik",
            "role": "officer",
            "instructions": "New practitioners: verify the practice site before approval.",
            "outcomes": {"approve": "head_approval", "reject": "notify_refused"},
        },
        {
            "kind": "review",
            "id": "head_approval",
            "name": "Persetujuan Kepala Dinas",
            "role": "supervisor",
            "outcomes": {"approve": "notify_issued", "reject": "notify_refused"},
        },
        {
            "kind": "notify",
            "id": "notify_issued",
            "name": "SIP terbit",
            "message": "The Surat Izin Praktik for {full_name} ({profession}) has been issued.",
            "next": "issued",
        },
        {
            "kind": "notify",
            "id": "notify_refused",
            "name": "Permohonan ditolak",
            "message": "Your application for a Surat Izin Praktik was refused; see the "
            "timeline for the reason.",
            "next": "refused",
        },
        {"kind": "end", "id": "issued", "name": "Selesai - terbit", "result": "approved"},
        {"kind": "end", "id": "refused", "name": "Selesai - ditolak", "result": "rejected"},
    ],
}

LEGALISIR: dict[str, Any] = {
    "id": "legalisir-dokumen-kependudukan",
    "name": "Legalisir Dokumen Kependudukan",
    "agency": AGENCY,
    "description": "Legalised copies of a Kartu Keluarga or an Akta Kelahiran: the officer "
    "checks the uploaded copy, then compares it with the original the citizen brings to "
    "the counter (booked or walk-in).",
    "fields": [
        {"id": "nik", "label": "NIK", "type": "nik", "prefill": "profile.nik"},
        {
            "id": "full_name",
            "label": "Nama lengkap",
            "type": "text",
            "prefill": "profile.full_name",
        },
        {
            "id": "document_kind",
            "label": "Dokumen",
            "type": "choice",
            "choices": ["kartu_keluarga", "akta_kelahiran"],
        },
        {"id": "copies", "label": "Jumlah salinan", "type": "number"},
    ],
    "standard": {
        "delivery": {
            "requirements": ["Dokumen asli", "Salinan dokumen"],
            "time_limit": "Paling lama 10 hari kerja sejak berkas lengkap",
            "product": "Salinan dokumen yang dilegalisir",
            "complaints": "Pengaduan dijawab paling lama 5 hari kerja",
        },
        "management": {
            "legal_basis": [
                "Undang-Undang Nomor 25 Tahun 2009 tentang Pelayanan Publik",
                "Undang-Undang Nomor 24 Tahun 2013 tentang Administrasi Kependudukan",
            ],
            **MANAGEMENT_STANDARD,
            "staff_count": "2 petugas loket",
        },
        "complaint_channel": COMPLAINTS,
        "review_interval_months": 12,
    },
    "steps": [
        {"kind": "form", "id": "submission", "name": "Pengajuan", "next": "check_copy"},
        {
            "kind": "review",
            "id": "check_copy",
            "name": "Pemeriksaan salinan",
            "role": "officer",
            "instructions": "Check the uploaded copy is legible and complete.",
            "outcomes": {"approve": "show_original", "reject": "notify_refused"},
        },
        {
            "kind": "appointment",
            "id": "show_original",
            "name": "Pencocokan dokumen asli",
            "purpose": "Membawa dokumen asli untuk dicocokkan dengan salinannya",
            "deadline": {"amount": 10, "unit": "working_days"},
            "next": "notify_issued",
            "no_show": "notify_no_show",
        },
        {
            "kind": "notify",
            "id": "notify_issued",
            "name": "Legalisir selesai",
            "message": "Salinan dokumen Anda telah dilegalisir dan dapat diambil di loket.",
            "next": "issued",
        },
        {
            "kind": "notify",
            "id": "notify_no_show",
            "name": "Tidak hadir",
            "message": "Anda tidak datang membawa dokumen asli dalam 10 hari kerja; "
            "permohonan ditutup. Silakan ajukan kembali bila masih diperlukan.",
            "next": "lapsed",
        },
        {
            "kind": "notify",
            "id": "notify_refused",
            "name": "Permohonan ditolak",
            "message": "Salinan dokumen tidak dapat diproses; lihat catatan petugas di riwayat.",
            "next": "refused",
        },
        {"kind": "end", "id": "issued", "name": "Selesai - dilegalisir", "result": "approved"},
        {"kind": "end", "id": "lapsed", "name": "Selesai - tidak hadir", "result": "cancelled"},
        {"kind": "end", "id": "refused", "name": "Selesai - ditolak", "result": "rejected"},
    ],
}

SERVICES = [DOMISILI, IZIN_PRAKTIK, LEGALISIR]

SAMPLE_APPLICATION = {
    "service_id": "surat-keterangan-domisili",
    "data": {
        "nik": "3510154808900003",
        "full_name": "Siti Aminah",
        "address": "Jl. Ahmad Yani No. 12, RT 02/RW 05",
        "kelurahan": "Penganjuran",
        "purpose": "Pembukaan rekening bank",
    },
}


REGION = {"code": "35.10", "name": "Kabupaten Banyuwangi"}


@dataclass(frozen=True)
class DemoAccount:
    login: str
    password: str
    role: str
    full_name: str
    nik: str | None = None


# Fixed and printed: development only, where POST /auth/dev-token already lets anyone act
# as anyone; production refuses to run the demo.
DEMO_ADMIN = DemoAccount("admin@banyuwangikab.go.id", "demo-admin-2026", "agency_admin", "Ratna")
DEMO_OFFICER = DemoAccount("budi@banyuwangikab.go.id", "demo-budi-2026", "officer", "Budi")
DEMO_CITIZEN = DemoAccount(
    "siti@example.id", "demo-siti-2026", "citizen", "Siti Aminah", nik="3510154808900003"
)
DEMO_ACCOUNTS = (DEMO_ADMIN, DEMO_OFFICER, DEMO_CITIZEN)
DEMO_PROFILE = {
    "nik": "3510154808900003",
    "full_name": "Siti Aminah",
    "birth_place": "Banyuwangi",
    "birth_date": "1990-08-08",
    "sex": "P",
    "address.street": "Jl. Ahmad Yani No. 12",
    "address.rt": "2",
    "address.rw": "5",
    "address.kelurahan_desa": "Penganjuran",
    "address.kecamatan": "Banyuwangi",
    "address.kabupaten_kota": "Kabupaten Banyuwangi",
    "address.province": "Jawa Timur",
    "religion": "Islam",
    "marital_status": "Kawin",
    "occupation": "Wiraswasta",
}
"""Siti's profile: declared by her, its identity checked by Budi at the counter (the
address stays self-declared), so the demo forms come prefilled."""


class _Capture(Mailer):
    """Keeps the codes the demo's own accounts are sent, instead of mailing them."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self.last: dict[str, str] = {}

    def send(self, to: str, subject: str, body: str) -> None:
        self.last[to] = body


def create_accounts(settings: Settings) -> list[DemoAccount]:
    """Region, agency and the demo's accounts, each unless it exists; returns those made.
    Straight on the event store with the registry's own commands, as `lincah admin`."""
    if settings.environment != "development":
        raise RuntimeError("the demo's accounts have published passwords: development only")
    store = open_store(settings)
    mail = _Capture(settings)
    registry = Registry(store, settings, mail)
    by = "lincah demo"
    made = []
    try:
        if registry.region(REGION["code"]) is None:
            registry.create_region(REGION["code"], REGION["name"], by)
        if registry.agency(AGENCY["code"]) is None:
            registry.create_agency(AGENCY["code"], AGENCY["name"], REGION["code"], by)
        for a in DEMO_ACCOUNTS:
            if registry.for_login(a.login) is not None:
                continue
            if a.nik is None:
                inv = registry.invite(None, by, a.login, a.full_name, a.role, AGENCY["code"])
                registry.accept_invitation(a.login, inv.code, a.password)
            else:
                r = registry.register(a.nik, a.full_name, a.login, None, a.password)
                code = re.search(r"code: (\d{6})", mail.last[a.login])
                assert code is not None
                registry.confirm(r.account_id, code.group(1))
                _seed_profile(store, settings, registry, r.account_id)
            made.append(a)
    finally:
        store.close()
    return made


def _seed_profile(store: EventStore, settings: Settings, registry: Registry, citizen: str) -> None:
    officer = registry.for_login(DEMO_OFFICER.login)
    assert officer is not None  # made before the citizen
    profile.declare(store, settings, citizen, DEMO_PROFILE, citizen)
    identity = ["nik", "full_name", "birth_place", "birth_date", "sex"]
    profile.verify(store, settings, citizen, identity, "counter", officer.account_id)


def token(client: httpx.Client, account: DemoAccount | None) -> str:
    """An access token: the account's login, or (``None``, development) a dev token of the
    demo agency's administrator."""
    if account is None:
        r = client.post("/auth/dev-token", json=ADMIN)
    else:
        r = client.post("/auth/login", json={"login": account.login, "password": account.password})
    r.raise_for_status()
    access: str = r.json()["access_token"]
    return access


def seed(api_url: str, admin: DemoAccount | None = None) -> list[str]:
    """Create and publish every demo service that is not there yet; returns those made."""
    made = []
    with httpx.Client(base_url=api_url, timeout=30) as client:
        headers = {"Authorization": f"Bearer {token(client, admin)}"}
        # Read the catalogue once it includes every event stored so far, so a lagging
        # projection can never make us publish a demo service twice.
        head = client.get("/health").raise_for_status().json()["eventstore"]["head_position"]
        catalogue = client.get("/services", params={"min_position": head}, headers=headers)
        existing = {s["service_id"] for s in catalogue.raise_for_status().json()}
        for service in SERVICES:
            if service["id"] in existing:
                continue
            r = client.post("/services", json=service, headers=headers)
            if r.status_code != 201:
                raise RuntimeError(f"creating {service['id']} failed: {r.status_code} {r.text}")
            version = r.json()["version"]
            client.post(
                f"/services/{service['id']}/versions/{version}/publish", headers=headers
            ).raise_for_status()
            made.append(service["id"])
    return made


def describe(accounts: tuple[DemoAccount, ...] | list[DemoAccount]) -> str:
    lines = ["Demo accounts (development only; log in with POST /auth/login):"]
    lines += [f"  {a.role:<13} {a.login:<27} password {a.password}" for a in accounts]
    return "\n".join(lines)


def seed_if_empty(settings: Settings) -> None:
    if settings.environment != "development":
        return
    accounts = create_accounts(settings)
    made = seed(settings.api_base_url, DEMO_ADMIN)
    if accounts:
        print(describe(accounts))
    if made:
        print(f"Seeded demo services for {AGENCY['name']}: {', '.join(made)}")


WALKTHROUGH = r"""
# Walk one application to its end (bash; needs curl and python3):
API={api}
field() {{ python3 -c "import sys, json; print(json.load(sys.stdin)['$1'])"; }}
login() {{ curl -s -X POST $API/auth/login -H 'content-type: application/json' \
  -d "{{\"login\": \"$1\", \"password\": \"$2\"}}" | field access_token; }}
CITIZEN=$(login siti@example.id demo-siti-2026)
OFFICER=$(login budi@banyuwangikab.go.id demo-budi-2026)

# 1. The citizen applies for a Surat Keterangan Domisili:
SUBMITTED=$(curl -s -X POST $API/applications -H "Authorization: Bearer $CITIZEN" \
  -H 'content-type: application/json' -d '{sample}')
echo "$SUBMITTED"   # {{"application_id":"BWI-2026-000001","status":"in_review","position":7}}
APP=$(echo "$SUBMITTED" | field application_id)
POS=$(echo "$SUBMITTED" | field position)

# 2. The officer's inbox (min_position waits until the read models include the write):
curl -s "$API/tasks?min_position=$POS" -H "Authorization: Bearer $OFFICER"

# 3. The officer approves the task; the answer comes once the flow has moved on:
DONE=$(curl -s -X POST $API/tasks/$APP.verify_residence.1/complete \
  -H "Authorization: Bearer $OFFICER" -H 'content-type: application/json' \
  -d '{{"outcome": "approve", "comment": "Alamat sesuai KK"}}')
echo "$DONE"        # {{"application_id":"BWI-2026-000001","position":10,"status":"approved"}}

# 4. The citizen sees status "approved" and the timeline:
curl -s "$API/applications/$APP?min_position=$(echo "$DONE" | field position)" \
  -H "Authorization: Bearer $CITIZEN"
"""


def main(settings: Settings, api_url: str | None = None) -> int:
    import json

    url = api_url or settings.api_base_url
    if settings.environment != "development":
        print(
            "lincah demo: the demo has published passwords and runs in development only; "
            "in production create accounts with `lincah admin`",
            file=sys.stderr,
        )
        return 2
    try:
        create_accounts(settings)
        made = seed(url, DEMO_ADMIN)
    except httpx.HTTPError as e:
        print(
            f"lincah demo: the API at {url} is not reachable ({e}); start it with `lincah up`",
            file=sys.stderr,
        )
        return 2
    print(
        f"Demo agency: {AGENCY['name']} ({AGENCY['code']}); services created now: "
        f"{', '.join(made) or 'none (already there)'}"
    )
    print(describe(DEMO_ACCOUNTS))
    print(WALKTHROUGH.format(api=url, sample=json.dumps(SAMPLE_APPLICATION)))
    return 0
