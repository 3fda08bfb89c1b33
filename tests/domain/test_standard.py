"""The Standar Pelayanan generated from the flow: each component, the refusals that stop
publication, the old flat shape, and the printable page."""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime
from typing import Any

import pytest

from domain.definition import ServiceDefinition, ServiceStandard
from domain.services import ServiceState, VersionInfo
from domain.standard import (
    DELIVERY,
    FREE,
    MANAGEMENT,
    Standard,
    add_months,
    generate,
    html_page,
    markdown,
    publish_problems,
    reviews,
)
from domain.validation import Problem, parse_definition

PUBLISHED = datetime(2026, 1, 31, 3, 0, tzinfo=UTC)

REKLAME: dict[str, Any] = {
    "id": "izin-reklame",
    "name": "Izin Reklame",
    "agency": {"code": "BWI", "name": "Kabupaten Banyuwangi"},
    "description": "Izin pemasangan reklame.",
    "time_limit": {"amount": 14, "unit": "working_days"},
    "fields": [
        {"id": "nik", "label": "NIK", "type": "nik"},
        {"id": "nama", "label": "Nama pemohon"},
        {"id": "catatan", "label": "Catatan", "required": False},
        {"id": "luas", "label": "Luas reklame (m2)", "type": "number"},
        {"id": "desain", "label": "Desain reklame", "type": "file"},
        {"id": "sewa", "label": "Perjanjian sewa lahan", "type": "file", "required": False},
    ],
    "standard": {
        "delivery": {"requirements": ["Surat pernyataan bermeterai"], "fee": "Sesuai Perda 5/2024"},
        "management": {"legal_basis": ["Perda Kabupaten Banyuwangi Nomor 5 Tahun 2024"]},
        "complaint_channel": "WhatsApp 0811-3000-123",
    },
    # Listed out of flow order on purpose: the procedure follows the flow.
    "steps": [
        {"kind": "end", "id": "selesai", "name": "Selesai", "result": "approved"},
        {"kind": "form", "id": "pengajuan", "name": "Pengajuan", "next": "periksa"},
        {
            "kind": "payment",
            "id": "bayar",
            "name": "Pembayaran retribusi",
            "fee": {"amount": 150000, "rules": [{"when": "luas > 20", "amount": 750000}]},
            "next": "terbit",
        },
        {
            "kind": "review",
            "id": "periksa",
            "name": "Pemeriksaan berkas",
            "role": "officer",
            "outcomes": {"setuju": "putus", "perbaiki": "perbaikan", "tolak": "ditolak"},
            "deadline": {"within": {"amount": 3, "unit": "working_days"}},
        },
        {
            "kind": "correction",
            "id": "perbaikan",
            "name": "Perbaikan berkas",
            "resume": "periksa",
            "on_abandon": "ditolak",
        },
        {
            "kind": "review",
            "id": "putus",
            "name": "Persetujuan Kepala Bidang",
            "role": "supervisor",
            "outcomes": {"setuju": "bayar", "tolak": "ditolak"},
        },
        {
            "kind": "document",
            "id": "terbit",
            "name": "Penerbitan izin",
            "template": {"code": "REK", "title": "Surat Izin Reklame", "body": "Izin {nama}"},
            "next": "selesai",
        },
        {"kind": "end", "id": "ditolak", "name": "Ditolak", "result": "rejected"},
    ],
    "start": "pengajuan",
}


def parse(raw: dict[str, Any]) -> ServiceDefinition:
    definition, problems = parse_definition(raw)
    assert definition is not None and problems == [], problems
    return definition


def edited(**changes: Any) -> dict[str, Any]:
    raw = copy.deepcopy(REKLAME)
    raw.update(changes)
    return raw


def component(s: Standard, key: str) -> tuple[list[str], list[str]]:
    (c,) = [c for c in s.components if c.key == key]
    return list(c.generated), list(c.explanation)


def test_components_are_in_the_regulations_two_groups_and_order() -> None:
    s = generate(parse(REKLAME), PUBLISHED)
    assert [(c.group, c.number, c.title) for c in s.components] == [
        *(("delivery", n, t) for n, (_, t) in enumerate(DELIVERY, 1)),
        *(("management", n, t) for n, (_, t) in enumerate(MANAGEMENT, 1)),
    ]
    assert [t for _, t in DELIVERY] == [
        "Persyaratan",
        "Sistem, mekanisme dan prosedur",
        "Jangka waktu penyelesaian",
        "Biaya/tarif",
        "Produk pelayanan",
        "Penanganan pengaduan, saran dan masukan",
    ]
    assert [k for k, _ in MANAGEMENT] == [
        "legal_basis",
        "facilities",
        "staff_competence",
        "supervision",
        "staff_count",
        "guarantee",
        "security",
        "evaluation",
    ]


def test_persyaratan_from_required_fields_and_uploads_with_the_agencys_wording() -> None:
    generated, explanation = component(generate(parse(REKLAME)), "requirements")
    assert generated == [
        "Data pemohon: NIK, Nama pemohon, Luas reklame (m2)",  # not the optional Catatan
        "Dokumen: Desain reklame",
        "Dokumen: Perjanjian sewa lahan (bila ada)",
    ]
    assert explanation == ["Surat pernyataan bermeterai"]


def test_procedure_follows_the_flow_with_who_is_responsible() -> None:
    generated, _ = component(generate(parse(REKLAME)), "procedure")
    assert generated == [
        "Pengajuan (pemohon mengisi formulir dan mengunggah persyaratan)",
        "Pemeriksaan berkas (petugas), paling lama 3 hari kerja",
        "Persetujuan Kepala Bidang (supervisor)",
        "Perbaikan berkas (pemohon memperbaiki berkas bila diminta)",
        "Pembayaran retribusi (pemohon membayar)",
        "Penerbitan izin (sistem menerbitkan Surat Izin Reklame)",
    ]


def test_jangka_waktu_from_the_time_limit_and_step_deadlines() -> None:
    generated, _ = component(generate(parse(REKLAME)), "time_limit")
    assert generated == [
        "14 hari kerja sejak permohonan diterima "
        "(waktu perbaikan berkas oleh pemohon tidak dihitung)",
        "Pemeriksaan berkas: paling lama 3 hari kerja",
    ]


def test_changing_the_time_limit_changes_the_standard() -> None:
    before = generate(parse(REKLAME))
    after = generate(parse(edited(time_limit={"amount": 5, "unit": "working_days"})))
    assert component(before, "time_limit")[0][0].startswith("14 hari kerja")
    assert component(after, "time_limit")[0][0].startswith("5 hari kerja")


def test_biaya_from_the_payment_rules_with_the_agencys_explanation() -> None:
    generated, explanation = component(generate(parse(REKLAME)), "fee")
    assert generated == ["Pembayaran retribusi: Rp 750.000 bila luas > 20; selain itu Rp 150.000"]
    assert explanation == ["Sesuai Perda 5/2024"]


def test_biaya_is_gratis_without_a_payment_step_or_with_a_zero_fee() -> None:
    raw = edited()
    bayar = next(s for s in raw["steps"] if s["id"] == "bayar")
    bayar["fee"] = {"amount": 0}
    assert component(generate(parse(raw)), "fee")[0] == [FREE]
    raw["steps"] = [s for s in raw["steps"] if s["id"] != "bayar"]
    next(s for s in raw["steps"] if s["id"] == "putus")["outcomes"]["setuju"] = "terbit"
    assert component(generate(parse(raw)), "fee")[0] == [FREE]


def test_produk_from_the_document_step_and_pengaduan_from_the_channel() -> None:
    s = generate(parse(REKLAME))
    assert component(s, "product")[0] == [
        "Surat Izin Reklame (dokumen elektronik bertanda tangan, dengan kode QR)"
    ]
    assert component(s, "complaints")[0] == ["Saluran pengaduan: WhatsApp 0811-3000-123"]


def test_management_components_are_the_agencys_text_and_reported_missing() -> None:
    s = generate(parse(REKLAME), PUBLISHED)
    assert component(s, "legal_basis") == ([], ["Perda Kabupaten Banyuwangi Nomor 5 Tahun 2024"])
    assert [c.key for c in s.missing] == [k for k, _ in MANAGEMENT][1:]
    assert s.as_json()["missing"] == [k for k, _ in MANAGEMENT][1:]
    assert publish_problems(parse(REKLAME)) == []  # management never stops publication


def test_the_old_flat_shape_is_read_into_the_two_groups() -> None:
    old = {
        "legal_basis": ["Perbup 1/2024"],
        "requirements": ["KTP"],
        "procedure": "Datang ke MPP",
        "time_limit": "5 hari",
        "fee": "Gratis",
        "product": "Surat",
        "complaints": "SP4N-LAPOR!",
        "facilities": "Ruang tunggu",
        "staff_competence": "SMA",
        "supervision": "Inspektorat",
        "staff_count": "2",
        "guarantee": "Tepat waktu",
        "security": "Aman",
        "evaluation": "Tahunan",
    }
    std = ServiceStandard.model_validate(old)
    assert std.delivery.model_dump() == {
        k: old[k]
        for k in ("requirements", "procedure", "time_limit", "fee", "product", "complaints")
    }
    assert std.management.legal_basis == ["Perbup 1/2024"]
    assert std.management.evaluation == "Tahunan"
    assert std.complaint_channel == "" and std.review_interval_months is None
    # What is written now is the grouped shape, and it reads back the same.
    assert ServiceStandard.model_validate(std.model_dump(mode="json")) == std
    assert ServiceStandard.model_validate({}) == ServiceStandard()


def test_an_old_flat_definition_still_parses() -> None:
    raw = edited(standard={"requirements": ["KTP"], "fee": "Perda 5/2024"})
    d = parse(raw)
    assert d.standard.delivery.requirements == ["KTP"]
    assert d.standard.delivery.fee == "Perda 5/2024"


# --- refusals ------------------------------------------------------------------------


def without_delivery() -> dict[str, Any]:
    """A definition whose every refusable delivery component is empty."""
    return {
        "id": "layanan-kosong",
        "name": "Layanan kosong",
        "agency": {"code": "BWI", "name": "Kabupaten Banyuwangi"},
        "fields": [{"id": "catatan", "label": "Catatan", "required": False}],
        "steps": [
            {"kind": "form", "id": "isi", "name": "Pengajuan", "next": "periksa"},
            {
                "kind": "review",
                "id": "periksa",
                "name": "Periksa",
                "role": "officer",
                "outcomes": {"ok": "selesai"},
            },
            {"kind": "end", "id": "selesai", "name": "Selesai", "result": "approved"},
        ],
    }


def test_each_missing_delivery_component_refuses_publication_with_its_message() -> None:
    problems = publish_problems(parse(without_delivery()))
    assert problems == [
        Problem(
            "standard.delivery.requirements",
            "Persyaratan is empty: the form has no required field or upload. Add one, or "
            "list the requirements in standard.delivery.requirements.",
        ),
        Problem(
            "standard.delivery.time_limit",
            "Jangka waktu penyelesaian is missing: set the service's time limit "
            "(time_limit) or a deadline on a step, or explain it in "
            "standard.delivery.time_limit.",
        ),
        Problem(
            "standard.delivery.product",
            "Produk pelayanan is missing: add a document step, or name what the citizen "
            "receives in standard.delivery.product.",
        ),
        Problem(
            "standard.delivery.complaints",
            "Penanganan pengaduan, saran dan masukan is missing: set "
            "standard.complaint_channel (a phone number, e-mail address, web address or "
            "desk where citizens complain).",
        ),
    ]


@pytest.mark.parametrize(
    ("fix", "solved"),
    [
        ({"delivery": {"requirements": ["KTP"]}}, "requirements"),
        ({"delivery": {"time_limit": "Selesai pada hari yang sama"}}, "time_limit"),
        ({"delivery": {"product": "Surat keterangan"}}, "product"),
        ({"complaint_channel": "pengaduan@banyuwangikab.go.id"}, "complaints"),
    ],
)
def test_an_explanation_or_a_channel_fills_a_missing_component(
    fix: dict[str, Any], solved: str
) -> None:
    raw = without_delivery()
    raw["standard"] = fix
    paths = [p.path for p in publish_problems(parse(raw))]
    assert f"standard.delivery.{solved}" not in paths and len(paths) == 3


def test_the_flow_fills_them_too() -> None:
    raw = without_delivery()
    raw["fields"][0]["required"] = True
    raw["time_limit"] = {"amount": 1, "unit": "days"}
    raw["steps"][1]["outcomes"]["ok"] = "terbit"
    raw["steps"].insert(
        2,
        {
            "kind": "document",
            "id": "terbit",
            "name": "Terbit",
            "template": {"code": "SK", "title": "Surat Keterangan", "body": "Isi"},
            "next": "selesai",
        },
    )
    raw["standard"] = {"complaint_channel": "Loket pengaduan MPP"}
    assert publish_problems(parse(raw)) == []


def test_an_explanation_cannot_contradict_the_enforced_time_limit() -> None:
    raw = edited(standard={"delivery": {"time_limit": "Selesai dalam 5 hari kerja"}})
    raw["standard"]["complaint_channel"] = "Loket"
    (p,) = publish_problems(parse(raw))
    assert p.path == "standard.delivery.time_limit"
    assert p.message == (
        "the explanation says '5 hari kerja', but the flow enforces 14 hari kerja, "
        "3 hari kerja; change the time limit or the explanation"
    )
    raw["standard"]["delivery"]["time_limit"] = "Paling lama 14 hari kerja, tanpa libur"
    assert publish_problems(parse(raw)) == []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "Rp 100.000 per m2",
            "the explanation names 'Rp 100.000', which no payment rule charges "
            "(Rp 150.000, Rp 750.000); change the payment step or the explanation",
        ),
        (
            "Gratis",
            "the explanation says the service is free (gratis), but a payment step "
            "charges a fee; change the payment step or the explanation",
        ),
    ],
)
def test_an_explanation_cannot_contradict_the_payment_rules(text: str, message: str) -> None:
    raw = edited()
    raw["standard"]["delivery"]["fee"] = text
    assert publish_problems(parse(raw)) == [Problem("standard.delivery.fee", message)]
    raw["standard"]["delivery"]["fee"] = "Rp 150.000, atau Rp 750.000 di atas 20 m2"
    assert publish_problems(parse(raw)) == []


# --- review date and the printed page --------------------------------------------------


@pytest.mark.parametrize(
    ("day", "months", "due"),
    [
        (date(2026, 1, 31), 1, date(2026, 2, 28)),
        (date(2024, 1, 31), 1, date(2024, 2, 29)),
        (date(2026, 11, 15), 3, date(2027, 2, 15)),
        (date(2026, 5, 31), 12, date(2027, 5, 31)),
    ],
)
def test_review_due_date(day: date, months: int, due: date) -> None:
    assert add_months(day, months) == due


def test_the_review_falls_due_an_interval_after_publication() -> None:
    raw = edited()
    raw["standard"]["review_interval_months"] = 6
    s = generate(parse(raw), PUBLISHED)
    assert s.review_due == date(2026, 7, 31)
    assert s.as_json()["review"] == {"interval_months": 6, "due": "2026-07-31"}
    assert generate(parse(raw)).review_due is None  # a draft is not published yet


def test_the_printable_page_names_agency_version_and_date_and_lists_what_is_missing() -> None:
    raw = edited(name="<script>alert(1)</script>")
    page = html_page(generate(parse(raw).model_copy(update={"version": 3}), PUBLISHED), "Kami siap")
    assert "Kabupaten Banyuwangi" in page
    assert "versi 3 · diterbitkan 31 Januari 2026" in page
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "Komponen standar pelayanan yang terkait dengan proses penyampaian" in page
    assert "Keterangan: Sesuai Perda 5/2024" in page
    assert "<b>Komponen yang belum dilengkapi:</b> Sarana dan prasarana" in page
    assert "Maklumat Pelayanan</h2><p>Kami siap" in page
    assert "@page" in page and "<script" not in page.replace("&lt;script", "")
    text = markdown(generate(parse(REKLAME), PUBLISHED))
    assert "1. Pengajuan (pemohon" in text and "*Belum diisi*" in text


def test_overdue_reviews_come_first_and_a_new_version_starts_the_interval_again() -> None:
    def service(sid: str, published: datetime, months: int | None, **kw: Any) -> ServiceState:
        raw = edited(id=sid, name=sid.title())
        raw["standard"]["review_interval_months"] = months
        info = VersionInfo(
            version=1,
            status="published",
            definition=parse(raw),
            saved_at=published,
            saved_by="admin",
            published_at=published,
            published_by="admin",
        )
        return ServiceState(
            service_id=sid, agency_code="BWI", name=sid.title(), versions={1: info}, **kw
        )

    today = date(2026, 11, 29)
    rows = reviews(
        [
            service("baru", datetime(2026, 6, 1, tzinfo=UTC), 12),
            service("lama", datetime(2025, 5, 1, tzinfo=UTC), 6),
            service("tanpa-interval", datetime(2020, 1, 1, tzinfo=UTC), None),
            service("diarsipkan", datetime(2020, 1, 1, tzinfo=UTC), 6, archived=True),
        ],
        today,
    )
    assert [(r["service_id"], r["due"], r["overdue"]) for r in rows] == [
        ("lama", date(2025, 11, 1), True),
        ("baru", date(2027, 6, 1), False),
    ]
