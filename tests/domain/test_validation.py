"""Definition and application-data validation: every problem, with its exact path."""

import copy
import json
import time
from typing import Any

import pytest

from domain.definition import STEP_KINDS, FormField, ServiceDefinition
from domain.validation import (
    Problem,
    parse_definition,
    validate_application_data,
    validate_definition,
    validate_fields,
)

_IZIN_PRAKTIK: dict[str, Any] = {
    "id": "izin-praktik-nakes",
    "name": "Izin Praktik Tenaga Kesehatan",
    "agency": {"code": "DINKES", "name": "Dinas Kesehatan Kota"},
    "fields": [
        {"id": "full_name", "label": "Nama lengkap"},  # 0
        {"id": "nik", "label": "NIK", "type": "nik"},  # 1
        {
            "id": "profession",
            "label": "Profesi",
            "type": "choice",
            "choices": ["dokter", "dokter_gigi", "perawat", "bidan"],
        },  # 2
        {"id": "years_experience", "label": "Lama pengalaman (tahun)", "type": "number"},  # 3
        {"id": "birth_date", "label": "Tanggal lahir", "type": "date"},  # 4
        {"id": "str_document", "label": "Surat Tanda Registrasi", "type": "file"},  # 5
        {"id": "notes", "label": "Catatan", "required": False},  # 6
    ],
    "steps": [
        {"kind": "form", "id": "submit", "name": "Pengajuan", "next": "document_review"},
        {
            "kind": "review",
            "id": "document_review",
            "name": "Verifikasi dokumen",
            "role": "officer",
            "outcomes": {"approve": "profession_check", "reject": "end_rejected"},
        },
        {
            "kind": "decision",
            "id": "profession_check",
            "name": "Cek profesi",
            "branches": [
                {
                    "when": 'profession == "dokter" and years_experience >= 2',
                    "goto": "supervisor_review",
                },
                {
                    "when": 'document_review == "approve" and profession in ["perawat", "bidan"]',
                    "goto": "notify_approved",
                },
            ],
            "default": "supervisor_review",
        },
        {
            "kind": "review",
            "id": "supervisor_review",
            "name": "Persetujuan Kepala Bidang",
            "role": "supervisor",
            "outcomes": {"approve": "notify_approved", "reject": "end_rejected"},
        },
        {
            "kind": "notify",
            "id": "notify_approved",
            "name": "Pemberitahuan",
            "message": "Yth. {full_name}, izin praktik {profession} Anda disetujui.",
            "next": "end_approved",
        },
        {"kind": "end", "id": "end_approved", "name": "Izin terbit", "result": "approved"},
        {"kind": "end", "id": "end_rejected", "name": "Ditolak", "result": "rejected"},
    ],
}


@pytest.fixture
def raw() -> dict[str, Any]:
    return copy.deepcopy(_IZIN_PRAKTIK)


def problems_of(raw: dict[str, Any]) -> list[Problem]:
    definition, problems = parse_definition(raw)
    assert definition is not None, problems  # these tests are about semantic checks
    return problems


def step(raw: dict[str, Any], step_id: str) -> dict[str, Any]:
    return next(s for s in raw["steps"] if s["id"] == step_id)


# --- a valid definition ------------------------------------------------------------


def test_realistic_definition_has_no_problems(raw: dict[str, Any]) -> None:
    definition, problems = parse_definition(raw)
    assert problems == []
    assert isinstance(definition, ServiceDefinition)
    assert validate_definition(definition) == []


def test_loop_with_an_exit_is_fine(raw: dict[str, Any]) -> None:
    step(raw, "supervisor_review")["outcomes"]["revise"] = "document_review"
    assert problems_of(raw) == []


# --- one test per problem kind -------------------------------------------------------


def test_duplicate_field_id(raw: dict[str, Any]) -> None:
    raw["fields"].append({"id": "nik", "label": "NIK pasangan", "type": "nik"})
    assert problems_of(raw) == [Problem("fields[7].id", "duplicate field id 'nik' (see fields[1])")]


def test_duplicate_step_id(raw: dict[str, Any]) -> None:
    raw["steps"].append({"kind": "end", "id": "end_rejected", "name": "Lagi", "result": "rejected"})
    assert problems_of(raw) == [
        Problem("steps[7].id", "duplicate step id 'end_rejected' (see steps[6])")
    ]


def test_field_id_equal_to_step_id(raw: dict[str, Any]) -> None:
    raw["fields"][6]["id"] = "submit"
    assert problems_of(raw) == [
        Problem(
            "steps[0].id",
            "step id 'submit' is also a field id (fields[6]);"
            " names in conditions must be unambiguous",
        )
    ]


def test_reserved_literal_names_cannot_be_ids(raw: dict[str, Any]) -> None:
    raw["fields"][6]["id"] = "null"
    assert problems_of(raw) == [
        Problem("fields[6].id", "'null' is reserved in conditions (true, false, null)")
    ]


def test_unknown_start_step(raw: dict[str, Any]) -> None:
    raw["start"] = "begin"
    assert problems_of(raw) == [Problem("start", "start step 'begin' does not exist")]


def test_explicit_start_is_used_for_reachability(raw: dict[str, Any]) -> None:
    raw["start"] = "document_review"
    assert problems_of(raw) == [
        Problem("steps[0]", "step 'submit' is not reachable from the start step 'document_review'")
    ]


def test_unknown_outcome_target(raw: dict[str, Any]) -> None:
    step(raw, "document_review")["outcomes"]["reject"] = "end_rejectd"
    assert problems_of(raw) == [
        Problem("steps[1].outcomes.reject", "leads to unknown step 'end_rejectd'")
    ]


def test_unknown_branch_goto_and_default(raw: dict[str, Any]) -> None:
    decision = step(raw, "profession_check")
    decision["branches"][1]["goto"] = "kepala_dinas"
    decision["default"] = "nowhere"
    assert problems_of(raw) == [
        Problem("steps[2].branches[1].goto", "leads to unknown step 'kepala_dinas'"),
        Problem("steps[2].default", "leads to unknown step 'nowhere'"),
    ]


def test_unknown_next_also_explains_what_it_breaks(raw: dict[str, Any]) -> None:
    step(raw, "notify_approved")["next"] = "end_aproved"
    assert problems_of(raw) == [
        Problem("steps[4].next", "leads to unknown step 'end_aproved'"),
        Problem("steps[4]", "no path to an end step from step 'notify_approved'"),
        Problem("steps[5]", "step 'end_approved' is not reachable from the start step 'submit'"),
    ]


def test_unreachable_step(raw: dict[str, Any]) -> None:
    raw["steps"].append(
        {"kind": "end", "id": "end_cancelled", "name": "Batal", "result": "cancelled"}
    )
    assert problems_of(raw) == [
        Problem("steps[7]", "step 'end_cancelled' is not reachable from the start step 'submit'")
    ]


def test_loop_without_an_exit_is_reported_once(raw: dict[str, Any]) -> None:
    step(raw, "supervisor_review")["outcomes"]["revise"] = "revision_form"
    raw["steps"] += [
        {"kind": "form", "id": "revision_form", "name": "Perbaikan", "next": "revision_notice"},
        {
            "kind": "notify",
            "id": "revision_notice",
            "name": "Info",
            "message": "x",
            "next": "revision_form",
        },
    ]
    assert problems_of(raw) == [
        Problem(
            "steps[7]",
            "loop without an exit: steps 'revision_form', 'revision_notice'"
            " never reach an end step",
        )
    ]


def test_self_loop_without_an_exit(raw: dict[str, Any]) -> None:
    step(raw, "supervisor_review")["outcomes"]["hold"] = "on_hold"
    raw["steps"].append({"kind": "form", "id": "on_hold", "name": "Ditunda", "next": "on_hold"})
    assert problems_of(raw) == [
        Problem("steps[7]", "loop without an exit: step 'on_hold' never reaches an end step")
    ]


def test_steps_leading_into_a_dead_loop_have_no_path_to_an_end(raw: dict[str, Any]) -> None:
    step(raw, "supervisor_review")["outcomes"]["hold"] = "hold_intro"
    raw["steps"] += [
        {"kind": "form", "id": "hold_intro", "name": "Tunda", "next": "hold_a"},
        {"kind": "form", "id": "hold_a", "name": "A", "next": "hold_b"},
        {"kind": "form", "id": "hold_b", "name": "B", "next": "hold_a"},
    ]
    assert problems_of(raw) == [
        Problem("steps[7]", "no path to an end step from step 'hold_intro'"),
        Problem(
            "steps[8]", "loop without an exit: steps 'hold_a', 'hold_b' never reach an end step"
        ),
    ]


def test_decision_without_default(raw: dict[str, Any]) -> None:
    del step(raw, "profession_check")["default"]
    assert problems_of(raw) == [
        Problem("steps[2].default", "decision has no default step (used when no branch matches)")
    ]


@pytest.mark.parametrize(
    ("condition", "message"),
    [
        ("profession.upper() == 'DOKTER'", "function calls are not allowed"),
        ("profession.__class__", "attribute access is not allowed: '.'"),
        ("years_experience >=", "invalid syntax"),
        ("years_experience ** 1000 > 1", "exponent too large (max 64)"),
        ("x" * 501, "expression too long (max 500 characters)"),
    ],
)
def test_condition_that_does_not_parse(raw: dict[str, Any], condition: str, message: str) -> None:
    step(raw, "profession_check")["branches"][1]["when"] = condition
    assert problems_of(raw) == [Problem("steps[2].branches[1].when", message)]


UNKNOWN_NAME = (
    "not a declared field id, external-step field or review/sub-service/face-check step id"
)


def test_condition_names_must_be_fields_or_review_steps(raw: dict[str, Any]) -> None:
    step(raw, "profession_check")["branches"][0]["when"] = (
        "license_years >= 2 and submit == 1 and document_review == 'approve'"
    )
    assert problems_of(raw) == [
        Problem("steps[2].branches[0].when", f"unknown name 'license_years': {UNKNOWN_NAME}"),
        Problem("steps[2].branches[0].when", f"unknown name 'submit': {UNKNOWN_NAME}"),
    ]


def test_notify_placeholders_must_be_declared_fields(raw: dict[str, Any]) -> None:
    step(raw, "notify_approved")["message"] = "Yth. {full_name}, nomor izin {permit_no} {permit_no}"
    assert problems_of(raw) == [
        Problem("steps[4].message", "placeholder '{permit_no}' is not a declared field id")
    ]


def test_unknown_role(raw: dict[str, Any]) -> None:
    step(raw, "supervisor_review")["role"] = "citizen"
    assert problems_of(raw) == [
        Problem(
            "steps[3].role", "unknown role 'citizen'; allowed: agency_admin, officer, supervisor"
        )
    ]


def test_choice_field_without_choices(raw: dict[str, Any]) -> None:
    raw["fields"][2]["choices"] = []
    assert problems_of(raw) == [
        Problem("fields[2].choices", "a choice field needs at least one choice")
    ]


def test_choices_on_a_non_choice_field(raw: dict[str, Any]) -> None:
    raw["fields"][0]["choices"] = ["a", "b"]
    assert problems_of(raw) == [
        Problem("fields[0].choices", "only choice fields have choices (type is 'text')")
    ]


def test_no_end_step_at_all() -> None:
    raw = {
        "id": "loket",
        "name": "Loket",
        "agency": {"code": "DPMPTSP", "name": "Dinas"} | {"code": "MPP"},
        "steps": [{"kind": "form", "id": "submit", "name": "Isi", "next": "submit"}],
    }
    assert problems_of(raw) == [
        Problem("steps", "definition has no end step; add a step of kind 'end'")
    ]


def test_several_problems_are_all_reported_in_definition_order(raw: dict[str, Any]) -> None:
    raw["fields"].append({"id": "profession", "label": "Lagi"})
    raw["start"] = "mulai"
    step(raw, "document_review")["role"] = "kepala"
    step(raw, "document_review")["outcomes"]["reject"] = "tolak"
    del step(raw, "profession_check")["default"]
    step(raw, "profession_check")["branches"][0]["when"] = "open('x')"
    step(raw, "notify_approved")["message"] = "{ghost}"
    assert problems_of(raw) == [
        Problem("fields[7].id", "duplicate field id 'profession' (see fields[2])"),
        Problem("start", "start step 'mulai' does not exist"),
        Problem(
            "steps[1].role", "unknown role 'kepala'; allowed: agency_admin, officer, supervisor"
        ),
        Problem("steps[1].outcomes.reject", "leads to unknown step 'tolak'"),
        Problem("steps[2].branches[0].when", "function calls are not allowed"),
        Problem("steps[2].default", "decision has no default step (used when no branch matches)"),
        Problem("steps[4].message", "placeholder '{ghost}' is not a declared field id"),
    ]


# --- structural (pydantic) errors ------------------------------------------------------


def test_schema_errors_have_document_paths_without_the_kind_tag(raw: dict[str, Any]) -> None:
    del step(raw, "supervisor_review")["role"]
    raw["steps"][0]["kind"] = "survey"
    step(raw, "document_review")["outcomes"]["Approve"] = "end_approved"
    raw["steps"][2]["branches"][0]["when"] = ""
    raw["fields"][0]["id"] = "Full Name"
    raw["owner"] = "someone"
    definition, problems = parse_definition(raw)
    assert definition is None
    kinds = (
        "form, review, decision, notify, end, parallel, join, correction, payment, document,"
        " external, subservice, face_verify, appointment"
    )
    assert problems == [
        Problem("fields[0].id", "must be a lower-case id: a letter, then letters, digits or '_'"),
        Problem("steps[0]", f"unknown step kind 'survey'; expected one of {kinds}"),
        Problem(
            "steps[1].outcomes.Approve",
            "key must be a lower-case id: a letter, then letters, digits or '_'",
        ),
        Problem(
            "steps[2].branches[0].when",
            "the condition is empty: write one with the condition builder",
        ),
        Problem("steps[3].role", "is required"),
        Problem("owner", "unknown property"),
    ]


def test_step_without_kind(raw: dict[str, Any]) -> None:
    del raw["steps"][0]["kind"]
    assert parse_definition(raw) == (
        None,
        [Problem("steps[0]", f"step needs a 'kind': one of {', '.join(STEP_KINDS)}")],
    )


def test_definition_must_be_an_object() -> None:
    not_a_mapping: Any = ["not", "a", "mapping"]
    assert parse_definition(not_a_mapping) == (
        None,
        [Problem("", "definition must be a JSON object")],
    )


# --- application data ------------------------------------------------------------------

VALID_NIK = "3510151508900001"


@pytest.fixture
def definition(raw: dict[str, Any]) -> ServiceDefinition:
    parsed, problems = parse_definition(raw)
    assert parsed is not None and problems == []
    return parsed


@pytest.fixture
def data() -> dict[str, Any]:
    return {
        "full_name": "dr. Siti Rahmawati",
        "nik": VALID_NIK,
        "profession": "dokter",
        "years_experience": 4,
        "birth_date": "1990-08-15",
        "str_document": "files/2024/06/str-7f3a.pdf",
    }


def test_valid_application_data(definition: ServiceDefinition, data: dict[str, Any]) -> None:
    assert validate_application_data(definition, data) == []
    assert validate_application_data(definition, data | {"notes": None}) == []
    assert validate_application_data(definition, data | {"notes": ""}) == []
    assert validate_application_data(definition, data | {"years_experience": 2.5}) == []


def test_required_fields_missing_or_empty(
    definition: ServiceDefinition, data: dict[str, Any]
) -> None:
    del data["full_name"]
    data["profession"] = "   "
    data["nik"] = None
    assert validate_application_data(definition, data) == [
        Problem("data.full_name", "required field is missing"),
        Problem("data.nik", "required field is missing"),
        Problem("data.profession", "required field is empty"),
    ]


def test_unknown_fields_are_refused(definition: ServiceDefinition, data: dict[str, Any]) -> None:
    data["is_admin"] = True
    assert validate_application_data(definition, data) == [
        Problem("data.is_admin", "unknown field 'is_admin'")
    ]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("full_name", 42, "must be text"),
        ("full_name", "x" * 2001, "must be at most 2000 characters"),
        ("notes", ["a"], "must be text"),
        ("years_experience", "4", "must be a number"),
        ("years_experience", True, "must be a number"),
        ("years_experience", float("nan"), "must be a number"),
        ("years_experience", float("inf"), "must be a number"),
        ("birth_date", "15-08-1990", "must be a date in YYYY-MM-DD format"),
        ("birth_date", "19900815", "must be a date in YYYY-MM-DD format"),
        ("birth_date", 19900815, "must be a date in YYYY-MM-DD format"),
        ("birth_date", "1990-02-30", "is not a real calendar date"),
        ("profession", "dukun", "must be one of: dokter, dokter_gigi, perawat, bidan"),
        ("profession", 1, "must be one of: dokter, dokter_gigi, perawat, bidan"),
        ("nik", "1234", "NIK must have exactly 16 digits"),
        ("nik", 3510151508900001, "NIK must have exactly 16 digits"),
        ("nik", "9910151508900000", "NIK serial number (last 4 digits) must not be all zeros"),
        ("str_document", 7, "must be a file reference (text, at most 500 characters)"),
        ("str_document", "f" * 501, "must be a file reference (text, at most 500 characters)"),
    ],
)
def test_field_types_are_checked(
    definition: ServiceDefinition, data: dict[str, Any], field: str, value: object, message: str
) -> None:
    data[field] = value
    assert validate_application_data(definition, data) == [Problem(f"data.{field}", message)]


def test_nik_problems_never_echo_the_nik(
    definition: ServiceDefinition, data: dict[str, Any]
) -> None:
    data["nik"] = "3510153208900001"  # day 32
    problems = validate_application_data(definition, data)
    assert problems == [
        Problem("data.nik", "NIK birth date (digits 7-12, DDMMYY) is not a real calendar date")
    ]
    assert "3510153208900001" not in repr(problems)


def test_application_data_must_be_an_object(definition: ServiceDefinition) -> None:
    not_a_mapping: Any = ["x"]
    assert validate_application_data(definition, not_a_mapping) == [
        Problem("data", "application data must be an object")
    ]


def test_loop_of_automatic_steps_is_refused_even_with_an_exit():
    raw = {
        "id": "loop-svc",
        "name": "Loop",
        "agency": {"code": "BWI", "name": "Kabupaten Banyuwangi"},
        "fields": [{"id": "amount", "label": "Amount", "type": "number"}],
        "steps": [
            {
                "kind": "decision",
                "id": "check",
                "name": "Check",
                "branches": [{"when": "amount > 10", "goto": "done"}],
                "default": "again",
            },
            {"kind": "notify", "id": "again", "name": "Again", "message": "x", "next": "check"},
            {"kind": "end", "id": "done", "name": "Done", "result": "approved"},
        ],
    }
    _, problems = parse_definition(raw)
    assert [(p.path, p.message) for p in problems] == [
        (
            "steps[0]",
            "loop without a human step: 'check', 'again' would repeat for ever on "
            "the same data; put a review step in the loop",
        )
    ]


def test_loop_through_a_review_step_is_allowed():
    raw = {
        "id": "loop-svc",
        "name": "Loop",
        "agency": {"code": "BWI", "name": "Kabupaten Banyuwangi"},
        "steps": [
            {
                "kind": "review",
                "id": "check",
                "name": "Check",
                "role": "officer",
                "outcomes": {"approve": "done", "return": "again"},
            },
            {"kind": "notify", "id": "again", "name": "Again", "message": "x", "next": "check"},
            {"kind": "end", "id": "done", "name": "Done", "result": "approved"},
        ],
    }
    assert parse_definition(raw)[1] == []


# --- every step kind: Persetujuan Bangunan Gedung (PBG) -----------------------------

_PBG: dict[str, Any] = {
    "id": "persetujuan-bangunan-gedung",
    "name": "Persetujuan Bangunan Gedung (PBG)",
    "agency": {"code": "PTSP", "name": "Dinas Penanaman Modal dan PTSP"},
    "time_limit": {"amount": 28, "unit": "working_days"},
    "cancellable_until": "retribution",
    "standard": {
        "legal_basis": ["PP 16/2021 tentang Peraturan Pelaksanaan UU Bangunan Gedung"],
        "requirements": ["KTP pemohon", "Sertifikat tanah", "Gambar rencana teknis"],
        "fee": "Retribusi PBG sesuai Perda",
        "product": "Surat Persetujuan Bangunan Gedung",
    },
    "fields": [
        {"id": "applicant_name", "label": "Nama pemohon"},  # 0
        {"id": "nik", "label": "NIK pemohon", "type": "nik"},  # 1
        {
            "id": "building_function",
            "label": "Fungsi bangunan",
            "type": "choice",
            "choices": ["hunian", "usaha", "sosial_budaya"],
        },  # 2
        {"id": "building_area", "label": "Luas bangunan (m2)", "type": "number"},  # 3
        {"id": "floors", "label": "Jumlah lantai", "type": "number"},  # 4
        {"id": "site_address", "label": "Alamat lokasi"},  # 5
        {"id": "site_plan", "label": "Gambar rencana teknis", "type": "file"},  # 6
        {"id": "land_certificate", "label": "Sertifikat tanah", "type": "file"},  # 7
    ],
    "steps": [
        {"kind": "form", "id": "submit", "name": "Pengajuan", "next": "split"},  # 0
        {
            "kind": "parallel",
            "id": "split",
            "name": "Pemeriksaan teknis dan legal",
            "branches": ["technical_review", "legal_review"],
            "join": "reviews_done",
        },  # 1
        {
            "kind": "review",
            "id": "technical_review",
            "name": "Pemeriksaan teknis (TPA)",
            "role": "officer",
            "outcomes": {
                "approve": "reviews_done",
                "return": "reviews_done",
                "reject": "reviews_done",
            },
            "deadline": {
                "within": {"amount": 5, "unit": "working_days"},
                "remind_before": {"amount": 1, "unit": "working_days"},
                "escalate_to": "supervisor",
            },
        },  # 2
        {
            "kind": "review",
            "id": "legal_review",
            "name": "Pemeriksaan dokumen legal",
            "role": "officer",
            "outcomes": {
                "approve": "reviews_done",
                "return": "reviews_done",
                "reject": "reviews_done",
            },
            "deadline": {"within": {"amount": 5, "unit": "working_days"}},
        },  # 3
        {"kind": "join", "id": "reviews_done", "name": "Hasil pemeriksaan", "next": "assess"},  # 4
        {
            "kind": "decision",
            "id": "assess",
            "name": "Penilaian",
            "branches": [
                {
                    "when": 'technical_review == "reject" or legal_review == "reject"',
                    "goto": "end_rejected",
                },
                {
                    "when": 'technical_review == "approve" and legal_review == "approve"',
                    "goto": "retribution",
                },
            ],
            "default": "head_review",
        },  # 5
        {
            "kind": "review",
            "id": "head_review",
            "name": "Keputusan Kepala Bidang",
            "role": "supervisor",
            "outcomes": {
                "approve": "retribution",
                "return": "fix_documents",
                "reject": "end_rejected",
            },
            "deadline": {
                "within": {"amount": 3, "unit": "working_days"},
                "remind_before": {"amount": 1, "unit": "days"},
                "escalate_to": "agency_admin",
            },
        },  # 6
        {
            "kind": "correction",
            "id": "fix_documents",
            "name": "Perbaikan berkas",
            "resume": "head_review",
            "abandon_after": {"amount": 14, "unit": "days"},
            "on_abandon": "end_cancelled",
        },  # 7
        {
            "kind": "payment",
            "id": "retribution",
            "name": "Pembayaran retribusi PBG",
            "fee": {
                "amount": 250000,
                "rules": [
                    {"when": "building_area > 500", "amount": 7500000},
                    {
                        "when": 'building_function == "usaha" and building_area > 100',
                        "amount": 2500000,
                    },
                ],
            },
            "deadline": {
                "within": {"amount": 14, "unit": "days"},
                "remind_before": {"amount": 3, "unit": "days"},
            },
            "on_unpaid": "end_cancelled",
            "next": "inspection",
        },  # 8
        {
            "kind": "external",
            "id": "inspection",
            "name": "Pemeriksaan lapangan",
            "event": "inspection_result",
            "fields": [
                {
                    "id": "inspection_passed",
                    "label": "Lolos pemeriksaan",
                    "type": "choice",
                    "choices": ["yes", "no"],
                },
                {"id": "inspection_notes", "label": "Catatan pemeriksa", "required": False},
            ],
            "timeout": {"amount": 10, "unit": "working_days"},
            "on_timeout": "inspection_late",
            "next": "inspection_check",
        },  # 9
        {
            "kind": "notify",
            "id": "inspection_late",
            "name": "Pemeriksaan tertunda",
            "message": "Yth. {applicant_name}, pemeriksaan lapangan di {site_address} tertunda.",
            "next": "inspection",
        },  # 10
        {
            "kind": "decision",
            "id": "inspection_check",
            "name": "Hasil pemeriksaan lapangan",
            "branches": [{"when": 'inspection_passed == "yes"', "goto": "fire_recommendation"}],
            "default": "end_rejected",
        },  # 11
        {
            "kind": "subservice",
            "id": "fire_recommendation",
            "name": "Rekomendasi Dinas Pemadam Kebakaran",
            "service": "rekomendasi-damkar",
            "inputs": {"owner_nik": "nik", "area": "building_area", "notes": "inspection_notes"},
            "next": "recommendation_check",
        },  # 12
        {
            "kind": "decision",
            "id": "recommendation_check",
            "name": "Cek rekomendasi",
            "branches": [{"when": 'fire_recommendation == "approved"', "goto": "face_check"}],
            "default": "end_rejected",
        },  # 13
        {
            "kind": "face_verify",
            "id": "face_check",
            "name": "Verifikasi wajah pemohon",
            "on_match": "issue_permit",
            "on_mismatch": "counter_check",
        },  # 14
        {
            "kind": "review",
            "id": "counter_check",
            "name": "Verifikasi identitas di loket",
            "role": "officer",
            "outcomes": {"confirmed": "issue_permit", "refused": "end_rejected"},
        },  # 15
        {
            "kind": "document",
            "id": "issue_permit",
            "name": "Penerbitan PBG",
            "template": {
                "code": "PBG",
                "title": "Persetujuan Bangunan Gedung",
                "body": (
                    "Nomor {document_number}, tanggal {issued_date}.\n"
                    "{service_name} diberikan kepada {applicant_name} ({citizen}) untuk"
                    " bangunan {building_function} seluas {building_area} m2 di {site_address}."
                    "\nCatatan pemeriksaan lapangan: {inspection_notes}. Permohonan"
                    " {application_id}."
                ),
            },
            "next": "notify_issued",
        },  # 16
        {
            "kind": "notify",
            "id": "notify_issued",
            "name": "PBG terbit",
            "message": "Yth. {applicant_name}, PBG Anda terbit ({inspection_passed}).",
            "next": "end_approved",
        },  # 17
        {"kind": "end", "id": "end_approved", "name": "PBG terbit", "result": "approved"},  # 18
        {"kind": "end", "id": "end_rejected", "name": "Ditolak", "result": "rejected"},  # 19
        {"kind": "end", "id": "end_cancelled", "name": "Dibatalkan", "result": "cancelled"},  # 20
    ],
}


@pytest.fixture
def pbg() -> dict[str, Any]:
    return copy.deepcopy(_PBG)


def test_pbg_definition_using_every_step_kind_has_no_problems(pbg: dict[str, Any]) -> None:
    # The kind added after the fixture's indices were fixed: collecting the permit in person.
    step(pbg, "notify_issued")["next"] = "collect_permit"
    pbg["steps"].append(
        {"kind": "appointment", "id": "collect_permit", "name": "Pengambilan PBG",
         "purpose": "Mengambil dokumen PBG asli", "deadline": {"amount": 10},
         "next": "end_approved", "no_show": "end_approved"}
    )  # fmt: skip
    definition, problems = parse_definition(pbg)
    assert problems == []
    assert definition is not None
    assert {s.kind for s in definition.steps} == set(STEP_KINDS)


# --- conditions and names -------------------------------------------------------------


def test_fee_rule_conditions_use_known_names(pbg: dict[str, Any]) -> None:
    rules = step(pbg, "retribution")["fee"]["rules"]
    rules[0]["when"] = "luas_bangunan > 500"
    rules[1]["when"] = "building_area >"
    assert problems_of(pbg) == [
        Problem("steps[8].fee.rules[0].when", f"unknown name 'luas_bangunan': {UNKNOWN_NAME}"),
        Problem("steps[8].fee.rules[1].when", "invalid syntax"),
    ]


def test_conditions_may_use_external_fields_and_value_steps(pbg: dict[str, Any]) -> None:
    step(pbg, "recommendation_check")["branches"][0]["when"] = (
        'fire_recommendation == "approved" and inspection_passed == "yes"'
        ' and face_check != "mismatch" and head_review != "reject"'
    )
    assert problems_of(pbg) == []


def test_steps_without_a_value_are_not_names(pbg: dict[str, Any]) -> None:
    step(pbg, "inspection_check")["branches"][0]["when"] = (
        'inspection == "done" or retribution == "paid" or issue_permit'
    )
    path = "steps[11].branches[0].when"
    assert problems_of(pbg) == [
        Problem(path, f"unknown name 'inspection': {UNKNOWN_NAME}"),
        Problem(path, f"unknown name 'issue_permit': {UNKNOWN_NAME}"),
        Problem(path, f"unknown name 'retribution': {UNKNOWN_NAME}"),
    ]


def test_external_field_ids_must_be_unique(pbg: dict[str, Any]) -> None:
    fields = step(pbg, "inspection")["fields"]
    fields += [
        {"id": "building_area", "label": "Luas terukur", "type": "number"},  # 2
        {"id": "inspection_notes", "label": "Catatan lagi"},  # 3
        {"id": "assess", "label": "Penilaian lapangan"},  # 4
    ]
    assert problems_of(pbg) == [
        Problem("steps[9].fields[2].id", "duplicate field id 'building_area' (see fields[3])"),
        Problem(
            "steps[9].fields[3].id",
            "duplicate field id 'inspection_notes' (see steps[9].fields[1])",
        ),
        Problem(
            "steps[9].fields[4].id",
            "field id 'assess' is also a step id (steps[5]);"
            " names in conditions must be unambiguous",
        ),
    ]


def test_external_fields_of_different_steps_must_not_collide(pbg: dict[str, Any]) -> None:
    step(pbg, "inspection")["next"] = "reinspection"
    pbg["steps"].insert(
        10,
        {
            "kind": "external",
            "id": "reinspection",
            "name": "Pemeriksaan ulang",
            "event": "reinspection_result",
            "fields": [{"id": "inspection_passed", "label": "Lolos", "type": "choice"}],
            "next": "inspection_check",
        },
    )
    assert problems_of(pbg) == [
        Problem(
            "steps[10].fields[0].id",
            "duplicate field id 'inspection_passed' (see steps[9].fields[0])",
        ),
        Problem("steps[10].fields[0].choices", "a choice field needs at least one choice"),
    ]


def test_external_fields_get_the_form_field_checks(pbg: dict[str, Any]) -> None:
    step(pbg, "inspection")["fields"] += [
        {"id": "true", "label": "Benar"},
        {"id": "score", "label": "Nilai", "type": "number", "choices": ["1", "2"]},
    ]
    assert problems_of(pbg) == [
        Problem("steps[9].fields[2].id", "'true' is reserved in conditions (true, false, null)"),
        Problem("steps[9].fields[3].choices", "only choice fields have choices (type is 'number')"),
    ]


def test_notify_placeholders_may_use_external_fields(pbg: dict[str, Any]) -> None:
    step(pbg, "notify_issued")["message"] = (
        "{applicant_name}: {inspection_passed} {inspection_notes} {document_number}"
    )
    assert problems_of(pbg) == [
        Problem("steps[17].message", "placeholder '{document_number}' is not a declared field id")
    ]


def test_cancellable_until_must_be_a_step(pbg: dict[str, Any]) -> None:
    pbg["cancellable_until"] = "payment"
    assert problems_of(pbg) == [Problem("cancellable_until", "step 'payment' does not exist")]


# --- deadlines --------------------------------------------------------------------------


def test_deadline_escalates_to_a_staff_role(pbg: dict[str, Any]) -> None:
    step(pbg, "technical_review")["deadline"]["escalate_to"] = "kepala_dinas"
    step(pbg, "retribution")["deadline"]["escalate_to"] = "citizen"
    allowed = "allowed: agency_admin, officer, supervisor"
    assert problems_of(pbg) == [
        Problem("steps[2].deadline.escalate_to", f"unknown role 'kepala_dinas'; {allowed}"),
        Problem("steps[8].deadline.escalate_to", f"unknown role 'citizen'; {allowed}"),
    ]


@pytest.mark.parametrize(
    ("within", "remind_before", "message"),
    [
        (
            (5, "working_days"),
            (5, "working_days"),
            "within (5 working days), but is 5 working days",
        ),
        ((2, "days"), (3, "days"), "within (2 days), but is 3 days"),
        ((1, "hours"), (1, "hours"), "within (1 hour), but is 1 hour"),
        ((2, "days"), (48, "hours"), "within (2 days), but is 48 hours"),
        (
            (1, "days"),
            (1, "working_days"),
            "within (1 day, counting a working day as 24 hours), but is 1 working day",
        ),
        (
            (3, "working_days"),
            (72, "hours"),
            "within (3 working days, counting a working day as 24 hours), but is 72 hours",
        ),
        (
            (2, "working_days"),
            (3, "days"),
            "within (2 working days, counting a working day as 24 hours), but is 3 days",
        ),
    ],
)
def test_reminder_must_come_before_the_deadline(
    pbg: dict[str, Any],
    within: tuple[int, str],
    remind_before: tuple[int, str],
    message: str,
) -> None:
    deadline = step(pbg, "technical_review")["deadline"]
    deadline["within"] = {"amount": within[0], "unit": within[1]}
    deadline["remind_before"] = {"amount": remind_before[0], "unit": remind_before[1]}
    assert problems_of(pbg) == [
        Problem("steps[2].deadline.remind_before", f"must be shorter than {message}")
    ]


@pytest.mark.parametrize(
    ("within", "remind_before"),
    [
        ((5, "working_days"), (4, "working_days")),
        ((3, "working_days"), (71, "hours")),
        ((3, "working_days"), (2, "days")),
        ((2, "days"), (1, "working_days")),
        ((1, "days"), (23, "hours")),
    ],
)
def test_reminder_shorter_than_the_deadline_is_fine(
    pbg: dict[str, Any], within: tuple[int, str], remind_before: tuple[int, str]
) -> None:
    deadline = step(pbg, "retribution")["deadline"]
    deadline["within"] = {"amount": within[0], "unit": within[1]}
    deadline["remind_before"] = {"amount": remind_before[0], "unit": remind_before[1]}
    assert problems_of(pbg) == []


# --- parallel and join ------------------------------------------------------------------


def test_parallel_branch_and_join_must_exist(pbg: dict[str, Any]) -> None:
    split = step(pbg, "split")
    split["branches"].append("fire_safety_review")
    split["join"] = "reviews_finished"
    assert problems_of(pbg) == [
        Problem("steps[1].branches[2]", "leads to unknown step 'fire_safety_review'"),
        Problem("steps[1].join", "join step 'reviews_finished' does not exist"),
        Problem("steps[4]", "join step 'reviews_done' is not the join of any parallel step"),
    ]


def test_parallel_join_must_be_a_join_step(pbg: dict[str, Any]) -> None:
    step(pbg, "split")["join"] = "assess"
    assert problems_of(pbg) == [
        Problem("steps[1].join", "step 'assess' is a decision step, not a join step"),
        Problem("steps[4]", "join step 'reviews_done' is not the join of any parallel step"),
    ]


def test_parallel_branch_listed_twice_or_being_the_join(pbg: dict[str, Any]) -> None:
    step(pbg, "split")["branches"] += ["legal_review", "reviews_done"]
    assert problems_of(pbg) == [
        Problem("steps[1].branches[2]", "branch 'legal_review' is listed twice (see branches[1])"),
        Problem(
            "steps[1].branches[3]",
            "branch 'reviews_done' of parallel 'split' is its join step;"
            " a branch needs a step of its own",
        ),
    ]


def test_join_belongs_to_exactly_one_parallel(pbg: dict[str, Any]) -> None:
    step(pbg, "head_review")["outcomes"]["recheck"] = "recheck"
    pbg["steps"] += [
        {
            "kind": "parallel",
            "id": "recheck",
            "name": "Pemeriksaan ulang",
            "branches": ["recheck_technical", "recheck_legal"],
            "join": "reviews_done",
        },  # 21
        {
            "kind": "review",
            "id": "recheck_technical",
            "name": "Teknis ulang",
            "role": "officer",
            "outcomes": {"approve": "reviews_done"},
        },  # 22
        {
            "kind": "review",
            "id": "recheck_legal",
            "name": "Legal ulang",
            "role": "officer",
            "outcomes": {"approve": "reviews_done"},
        },  # 23
    ]
    outside = "from outside the branches of parallel 'split'"
    assert problems_of(pbg) == [
        Problem(
            "steps[21].join",
            "join 'reviews_done' already belongs to parallel 'split' (steps[1]);"
            " each parallel needs its own join step",
        ),
        Problem("steps[22]", f"step 'recheck_technical' leads to join 'reviews_done' {outside}"),
        Problem("steps[23]", f"step 'recheck_legal' leads to join 'reviews_done' {outside}"),
    ]


def test_join_without_a_parallel(pbg: dict[str, Any]) -> None:
    step(pbg, "notify_issued")["next"] = "archive"
    pbg["steps"].insert(
        18, {"kind": "join", "id": "archive", "name": "Arsip", "next": "end_approved"}
    )
    assert problems_of(pbg) == [
        Problem("steps[18]", "join step 'archive' is not the join of any parallel step")
    ]


def test_join_next_must_exist(pbg: dict[str, Any]) -> None:
    step(pbg, "reviews_done")["next"] = "asses"
    problems = problems_of(pbg)  # and everything after the join becomes unreachable
    assert Problem("steps[4].next", "leads to unknown step 'asses'") in problems


def test_branch_must_not_reach_an_end_step_before_the_join(pbg: dict[str, Any]) -> None:
    step(pbg, "technical_review")["outcomes"]["reject"] = "end_rejected"
    assert problems_of(pbg) == [
        Problem(
            "steps[1].branches[0]",
            "branch 'technical_review' of parallel 'split' can reach end step 'end_rejected'"
            " without passing join 'reviews_done'",
        )
    ]


def test_branch_must_not_reach_another_branch(pbg: dict[str, Any]) -> None:
    step(pbg, "legal_review")["outcomes"]["technical"] = "technical_review"
    assert problems_of(pbg) == [
        Problem(
            "steps[1].branches[1]",
            "branch 'legal_review' of parallel 'split' can reach branch 'technical_review'"
            " before join 'reviews_done'; branches of a parallel must stay separate",
        )
    ]


def test_branches_must_not_share_steps(pbg: dict[str, Any]) -> None:
    for review in ("technical_review", "legal_review"):
        step(pbg, review)["outcomes"]["return"] = "site_visit"
    pbg["steps"].insert(
        4,
        {
            "kind": "review",
            "id": "site_visit",
            "name": "Kunjungan lokasi",
            "role": "officer",
            "outcomes": {"done": "reviews_done"},
        },
    )
    assert problems_of(pbg) == [
        Problem(
            "steps[1].branches[1]",
            "branches 'technical_review' and 'legal_review' of parallel 'split' share step"
            " 'site_visit' before join 'reviews_done'; branches of a parallel must stay separate",
        )
    ]


def test_branch_must_not_lead_back_to_its_parallel(pbg: dict[str, Any]) -> None:
    step(pbg, "technical_review")["outcomes"]["again"] = "split"
    assert problems_of(pbg) == [
        Problem(
            "steps[1].branches[0]",
            "branch 'technical_review' of parallel 'split' leads back to the parallel step"
            " before join 'reviews_done'",
        )
    ]


def test_join_must_not_be_entered_from_outside_the_branches(pbg: dict[str, Any]) -> None:
    step(pbg, "head_review")["outcomes"]["recheck"] = "reviews_done"
    assert problems_of(pbg) == [
        Problem(
            "steps[6]",
            "step 'head_review' leads to join 'reviews_done' from outside the branches"
            " of parallel 'split'",
        )
    ]


def test_branch_must_not_be_entered_from_outside(pbg: dict[str, Any]) -> None:
    step(pbg, "fix_documents")["resume"] = "legal_review"
    assert problems_of(pbg) == [
        Problem(
            "steps[7]",
            "step 'fix_documents' leads into branch 'legal_review' of parallel 'split'"
            " from outside it; only the parallel step starts its branches",
        )
    ]


def _nest_a_parallel_in_the_legal_branch(pbg: dict[str, Any]) -> None:
    step(pbg, "split")["branches"][1] = "legal_split"
    step(pbg, "legal_review")["outcomes"] = {"approve": "legal_done", "reject": "legal_done"}
    pbg["steps"][4:4] = [
        {
            "kind": "parallel",
            "id": "legal_split",
            "name": "Pemeriksaan legal",
            "branches": ["legal_review", "zoning_review"],
            "join": "legal_done",
        },  # 4
        {
            "kind": "review",
            "id": "zoning_review",
            "name": "Kesesuaian tata ruang (KKPR)",
            "role": "officer",
            "outcomes": {"approve": "legal_done", "reject": "legal_done"},
        },  # 5
        {"kind": "join", "id": "legal_done", "name": "Legal selesai", "next": "reviews_done"},  # 6
    ]


def test_nested_parallel_joined_inside_its_branch_is_fine(pbg: dict[str, Any]) -> None:
    _nest_a_parallel_in_the_legal_branch(pbg)
    assert problems_of(pbg) == []


def test_nested_parallel_must_be_joined_inside_its_branch(pbg: dict[str, Any]) -> None:
    _nest_a_parallel_in_the_legal_branch(pbg)
    step(pbg, "zoning_review")["outcomes"]["reject"] = "reviews_done"
    assert problems_of(pbg) == [
        Problem(
            "steps[4].branches[1]",
            "branch 'zoning_review' of parallel 'legal_split' can reach end step 'end_rejected'"
            " without passing join 'legal_done'",
        )
    ]


# --- correction, payment, document -------------------------------------------------------


def test_correction_must_not_resume_at_itself(pbg: dict[str, Any]) -> None:
    step(pbg, "fix_documents")["resume"] = "fix_documents"
    assert problems_of(pbg) == [
        Problem(
            "steps[7].resume",
            "a correction cannot resume at itself; resume at the step that checks"
            " the corrected data",
        )
    ]


def test_correction_targets_must_exist(pbg: dict[str, Any]) -> None:
    step(pbg, "fix_documents")["resume"] = "head_reveiw"
    step(pbg, "fix_documents")["on_abandon"] = "end_canceled"
    assert problems_of(pbg) == [
        Problem("steps[7].resume", "leads to unknown step 'head_reveiw'"),
        Problem("steps[7].on_abandon", "leads to unknown step 'end_canceled'"),
        Problem("steps[7]", "no path to an end step from step 'fix_documents'"),
    ]


def test_payment_on_unpaid_needs_a_deadline(pbg: dict[str, Any]) -> None:
    del step(pbg, "retribution")["deadline"]
    assert problems_of(pbg) == [
        Problem(
            "steps[8].on_unpaid",
            "on_unpaid needs a deadline: without one the payment is never overdue",
        )
    ]


def test_payment_targets(pbg: dict[str, Any]) -> None:
    step(pbg, "retribution")["on_unpaid"] = "cancelled"
    assert problems_of(pbg) == [Problem("steps[8].on_unpaid", "leads to unknown step 'cancelled'")]
    step(pbg, "retribution")["next"] = "inspect"
    assert problems_of(pbg)[:2] == [
        Problem("steps[8].next", "leads to unknown step 'inspect'"),
        Problem("steps[8].on_unpaid", "leads to unknown step 'cancelled'"),
    ]


def test_payment_without_on_unpaid_keeps_waiting(pbg: dict[str, Any]) -> None:
    del step(pbg, "retribution")["on_unpaid"]
    assert problems_of(pbg) == []


def test_negative_fees_are_refused_by_the_schema(pbg: dict[str, Any]) -> None:
    fee = step(pbg, "retribution")["fee"]
    fee["amount"] = -1
    fee["rules"][1]["amount"] = -5
    definition, problems = parse_definition(pbg)
    assert definition is None
    assert problems == [
        Problem("steps[8].fee.amount", "Input should be greater than or equal to 0"),
        Problem("steps[8].fee.rules[1].amount", "Input should be greater than or equal to 0"),
    ]


def test_document_placeholders(pbg: dict[str, Any]) -> None:
    step(pbg, "issue_permit")["template"]["body"] = (
        "{document_number} {nomor_surat} {applicant_name} {inspection_passed} {nomor_surat}"
        " {citizen} { applicant_name }"
    )
    builtins = "application_id, document_number, issued_date, service_name, citizen"
    unknown = f"is not a declared field id or a built-in ({builtins})"
    assert problems_of(pbg) == [
        Problem("steps[16].template.body", f"placeholder '{{nomor_surat}}' {unknown}"),
        Problem("steps[16].template.body", f"placeholder '{{ applicant_name }}' {unknown}"),
    ]


def test_document_code_pattern(pbg: dict[str, Any]) -> None:
    step(pbg, "issue_permit")["template"]["code"] = "pbg"
    assert parse_definition(pbg) == (
        None,
        [Problem("steps[16].template.code", "must be 2 to 10 upper-case letters")],
    )


# --- external, subservice, face_verify ----------------------------------------------------


def test_external_event_names_are_unique(pbg: dict[str, Any]) -> None:
    step(pbg, "inspection")["next"] = "reinspection"
    pbg["steps"].insert(
        10,
        {
            "kind": "external",
            "id": "reinspection",
            "name": "Pemeriksaan ulang",
            "event": "inspection_result",
            "next": "inspection_check",
        },
    )
    assert problems_of(pbg) == [
        Problem(
            "steps[10].event",
            "event 'inspection_result' is already awaited by step 'inspection' (steps[9]);"
            " each external step needs its own event name",
        )
    ]


def test_external_timeout_needs_on_timeout(pbg: dict[str, Any]) -> None:
    del step(pbg, "inspection")["on_timeout"]
    assert problems_of(pbg) == [
        Problem("steps[9].timeout", "timeout needs on_timeout: the step to go to when it passes"),
        Problem(
            "steps[10]", "step 'inspection_late' is not reachable from the start step 'submit'"
        ),
    ]


def test_external_on_timeout_needs_a_timeout(pbg: dict[str, Any]) -> None:
    del step(pbg, "inspection")["timeout"]
    assert problems_of(pbg) == [Problem("steps[9].on_timeout", "on_timeout needs a timeout")]


def test_external_targets(pbg: dict[str, Any]) -> None:
    step(pbg, "inspection")["on_timeout"] = "late"
    assert problems_of(pbg) == [
        Problem("steps[9].on_timeout", "leads to unknown step 'late'"),
        Problem(
            "steps[10]", "step 'inspection_late' is not reachable from the start step 'submit'"
        ),
    ]
    step(pbg, "inspection")["next"] = "inspection_chek"
    assert problems_of(pbg)[:2] == [
        Problem("steps[9].next", "leads to unknown step 'inspection_chek'"),
        Problem("steps[9].on_timeout", "leads to unknown step 'late'"),
    ]


def test_subservice_checks(pbg: dict[str, Any]) -> None:
    subservice = step(pbg, "fire_recommendation")
    subservice["service"] = "persetujuan-bangunan-gedung"
    subservice["inputs"]["height"] = "building_height"
    assert problems_of(pbg) == [
        Problem(
            "steps[12].service",
            "service 'persetujuan-bangunan-gedung' cannot run itself as a sub-service",
        ),
        Problem(
            "steps[12].inputs.height",
            "'building_height' is not a declared field id (form or external-step field)",
        ),
    ]


def test_subservice_next_must_exist(pbg: dict[str, Any]) -> None:
    step(pbg, "fire_recommendation")["next"] = "recommendation"
    problems = problems_of(pbg)  # and what follows becomes unreachable
    assert problems[0] == Problem("steps[12].next", "leads to unknown step 'recommendation'")


def test_face_verify_targets(pbg: dict[str, Any]) -> None:
    step(pbg, "face_check")["on_mismatch"] = "counter"
    assert problems_of(pbg) == [
        Problem("steps[14].on_mismatch", "leads to unknown step 'counter'"),
        Problem("steps[15]", "step 'counter_check' is not reachable from the start step 'submit'"),
    ]
    step(pbg, "face_check")["on_match"] = "issue"
    assert problems_of(pbg)[:2] == [
        Problem("steps[14].on_match", "leads to unknown step 'issue'"),
        Problem("steps[14].on_mismatch", "leads to unknown step 'counter'"),
    ]


def _loop(waiting_step: dict[str, Any]) -> dict[str, Any]:
    """submit -> wait (the given step) -> check -> back to wait, or done."""
    return {
        "id": "loop-svc",
        "name": "Loop",
        "agency": {"code": "BWI", "name": "Kabupaten Banyuwangi"},
        "fields": [{"id": "amount", "label": "Amount", "type": "number"}],
        "steps": [
            {"kind": "form", "id": "submit", "name": "Isi", "next": "wait"},
            {"id": "wait", "name": "Tunggu"} | waiting_step,
            {
                "kind": "decision",
                "id": "check",
                "name": "Cek",
                "branches": [{"when": "amount > 10", "goto": "done"}],
                "default": "wait",
            },
            {"kind": "end", "id": "done", "name": "Selesai", "result": "approved"},
            {"kind": "end", "id": "gone", "name": "Batal", "result": "cancelled"},
        ],
    }


@pytest.mark.parametrize(
    "waiting_step",
    [
        {"kind": "review", "role": "officer", "outcomes": {"ok": "check", "drop": "gone"}},
        {"kind": "correction", "resume": "check", "on_abandon": "gone"},
        {"kind": "payment", "fee": {"amount": 10000}, "next": "check"},
        {
            "kind": "payment",
            "fee": {"rules": [{"when": "amount > 5", "amount": 1}]},
            "next": "check",
        },
        {"kind": "external", "event": "checked", "next": "check"},
        {"kind": "subservice", "service": "other-svc", "next": "check"},
    ],
    ids=["review", "correction", "payment", "payment-rule", "external", "subservice"],
)
def test_loop_through_a_waiting_step_is_fine(waiting_step: dict[str, Any]) -> None:
    raw = _loop(waiting_step)
    if waiting_step["kind"] != "review" and waiting_step["kind"] != "correction":
        raw["steps"].pop()  # "gone" is only used by the review and correction variants
    assert problems_of(raw) == []


@pytest.mark.parametrize(
    "automatic_step",
    [
        {"kind": "face_verify", "on_match": "check", "on_mismatch": "check"},
        {"kind": "payment", "fee": {"amount": 0}, "next": "check"},
        {
            "kind": "document",
            "template": {"code": "SKD", "title": "Surat", "body": "{amount}"},
            "next": "check",
        },
    ],
    ids=["face_verify", "free-payment", "document"],
)
def test_loop_of_automatic_steps_is_refused(automatic_step: dict[str, Any]) -> None:
    raw = _loop(automatic_step)
    raw["steps"].pop()
    assert problems_of(raw) == [
        Problem(
            "steps[1]",
            "loop without a human step: 'wait', 'check' would repeat for ever on the same data;"
            " put a review step in the loop",
        )
    ]


# --- field values: events and corrections ------------------------------------------------

_INSPECTION_FIELDS = [FormField.model_validate(f) for f in _PBG["steps"][9]["fields"]]


def test_validate_fields_checks_an_external_event_payload() -> None:
    assert validate_fields(_INSPECTION_FIELDS, {"inspection_passed": "yes"}, "payload") == []
    assert validate_fields(
        _INSPECTION_FIELDS, {"inspection_passed": "ya", "inspector": "Budi"}, "payload"
    ) == [
        Problem("payload.inspection_passed", "must be one of: yes, no"),
        Problem("payload.inspector", "unknown field 'inspector'"),
    ]
    assert validate_fields(_INSPECTION_FIELDS, {}, "payload") == [
        Problem("payload.inspection_passed", "required field is missing")
    ]
    not_a_mapping: Any = "yes"
    assert validate_fields(_INSPECTION_FIELDS, not_a_mapping, "payload") == [
        Problem("payload", "must be an object")
    ]


def test_validate_fields_partial_for_a_correction(definition: ServiceDefinition) -> None:
    fields = definition.fields
    assert validate_fields(fields, {"str_document": "files/str-baru.pdf"}, partial=True) == []
    assert validate_fields(
        fields, {"full_name": " ", "birth_date": "1990-13-01", "x": 1}, partial=True
    ) == [
        Problem("data.full_name", "required field is empty"),
        Problem("data.birth_date", "is not a real calendar date"),
        Problem("data.x", "unknown field 'x'"),
    ]
    assert validate_fields(fields, {"nik": None}, "correction", partial=True) == [
        Problem("correction.nik", "required field is missing")
    ]


# --- bounded conditions and input (issue 9) -----------------------------------------

HOSTILE = "[[[1]*10000]*10000]*100 == [[[1]*10000]*10000]*100"


def test_a_condition_building_huge_nested_lists_is_refused_in_milliseconds(
    raw: dict[str, Any],
) -> None:
    # It used to be evaluated in full while validating: 15-19 s, then "valid".
    started = time.perf_counter()
    step(raw, "profession_check")["branches"][0]["when"] = HOSTILE
    assert problems_of(raw) == [
        Problem("steps[2].branches[0].when", "result too large (max 10000 characters or items)")
    ]
    assert time.perf_counter() - started < 1.0


@pytest.mark.parametrize("name", ["years_experience", "full_name", "document_review"])
def test_the_same_condition_over_a_field_is_refused_with_a_reason(
    raw: dict[str, Any], name: str
) -> None:
    # Published, each application reaching it froze the worker for minutes.
    step(raw, "profession_check")["branches"][0]["when"] = HOSTILE.replace("[1]", f"[{name}]")
    [problem] = problems_of(raw)
    assert problem.path == "steps[2].branches[0].when"
    assert problem.message.startswith("'*' can build a text or list of up to ")
    assert "with the largest values its fields allow (max 10,000)" in problem.message


def test_repeating_by_a_number_field_is_bounded_by_its_max(raw: dict[str, Any]) -> None:
    step(raw, "profession_check")["branches"][0]["when"] = "'*' * years_experience == 'x'"
    [problem] = problems_of(raw)
    assert "up to about 10^15 characters or items" in problem.message
    assert "a 'min' and 'max' closer to 0" in problem.message
    raw["fields"][3]["max"] = 60
    assert len(problems_of(raw)) == 1  # -2**53 is as far from 0
    raw["fields"][3]["min"] = 0
    assert problems_of(raw) == []


def test_a_condition_that_can_take_too_many_steps_is_refused(raw: dict[str, Any]) -> None:
    step(raw, "profession_check")["branches"][0]["when"] = " == ".join(
        ["[years_experience] * 10000"] * 5
    )
    [problem] = problems_of(raw)
    assert problem.message.startswith(
        "condition can take up to 130,030 steps to evaluate (max 100,000)"
    )


def test_fee_rules_get_the_same_bounds(pbg: dict[str, Any]) -> None:
    pay = next(s for s in pbg["steps"] if s["kind"] == "payment")
    index = pbg["steps"].index(pay)
    pay["fee"]["rules"][0]["when"] = HOSTILE
    assert Problem(
        f"steps[{index}].fee.rules[0].when", "result too large (max 10000 characters or items)"
    ) in problems_of(pbg)


def test_on_error_must_lead_to_a_step(raw: dict[str, Any]) -> None:
    step(raw, "profession_check")["on_error"] = "end_rejected"
    assert problems_of(raw) == []
    step(raw, "profession_check")["on_error"] = "nowhere"
    assert problems_of(raw) == [Problem("steps[2].on_error", "leads to unknown step 'nowhere'")]


def test_on_error_alone_makes_a_step_reachable(raw: dict[str, Any]) -> None:
    raw["steps"].append(
        {"kind": "end", "id": "end_incident", "name": "Diperiksa manual", "result": "cancelled"}
    )
    assert problems_of(raw) == [
        Problem("steps[7]", "step 'end_incident' is not reachable from the start step 'submit'")
    ]
    step(raw, "profession_check")["on_error"] = "end_incident"
    assert problems_of(raw) == []


def test_number_field_limits(raw: dict[str, Any]) -> None:
    raw["fields"][3] |= {"min": 0, "max": 60}
    assert problems_of(raw) == []
    raw["fields"][3] |= {"min": 61}
    raw["fields"][0] |= {"max": 5}
    raw["fields"][4] |= {"min": 2**60}
    assert problems_of(raw) == [
        Problem("fields[0].max", "only number fields have a max (type is 'text')"),
        Problem("fields[3].max", "max (60) must not be less than min (61)"),
        Problem("fields[4].min", "only number fields have a min (type is 'date')"),
    ]
    raw["fields"][3] |= {"min": -(2**60), "max": float("inf")}
    assert problems_of(raw) == [
        Problem("fields[0].max", "only number fields have a max (type is 'text')"),
        Problem(
            "fields[3].min",
            "must be between -9,007,199,254,740,992 and 9,007,199,254,740,992",
        ),
        Problem(
            "fields[3].max",
            "must be between -9,007,199,254,740,992 and 9,007,199,254,740,992",
        ),
        Problem("fields[4].min", "only number fields have a min (type is 'date')"),
    ]


BEYOND = "must be between -9,007,199,254,740,992 and 9,007,199,254,740,992"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (2**64, BEYOND),  # gave 201, then an incident no retry could clear
        (18446744073709551616, BEYOND),
        (10**400, BEYOND),  # a 400-digit number: 500 (OverflowError in math.isfinite)
        (-(10**400), BEYOND),
        (2**53 + 1, BEYOND),
        (1e200, BEYOND),  # passed a ">= 1000" rejection rule whose arithmetic overflowed
        (-1e16, BEYOND),
        (float("-inf"), "must be a number"),
    ],
)
def test_numbers_beyond_2_to_the_53_are_refused(
    definition: ServiceDefinition, data: dict[str, Any], value: object, message: str
) -> None:
    data["years_experience"] = value
    assert validate_application_data(definition, data) == [
        Problem("data.years_experience", message)
    ]


def test_the_largest_numbers_within_2_to_the_53_are_accepted(
    definition: ServiceDefinition, data: dict[str, Any]
) -> None:
    for value in (2**53, -(2**53), 9.007199254740992e15, 0, 0.5):
        assert validate_application_data(definition, data | {"years_experience": value}) == []


def test_declared_min_and_max_are_enforced(raw: dict[str, Any], data: dict[str, Any]) -> None:
    raw["fields"][3] |= {"min": 0, "max": 60.5}
    definition, problems = parse_definition(raw)
    assert definition is not None and problems == []
    check = validate_application_data
    assert check(definition, data | {"years_experience": 60.5}) == []
    assert check(definition, data | {"years_experience": 0}) == []
    assert check(definition, data | {"years_experience": -1}) == [
        Problem("data.years_experience", "must be at least 0")
    ]
    assert check(definition, data | {"years_experience": 61}) == [
        Problem("data.years_experience", "must be at most 60.5")
    ]


LONE = "must be valid Unicode text (it contains a lone surrogate code point)"


@pytest.mark.parametrize(
    "field", ["full_name", "nik", "profession", "birth_date", "str_document", "notes"]
)
def test_lone_surrogates_are_refused_in_every_text_field(
    definition: ServiceDefinition, data: dict[str, Any], field: str
) -> None:
    # JSON "\ud800" decodes to a str no UTF-8 encoder (the event store's) accepts.
    data[field] = json.loads('"Siti \\ud800"')
    problems = validate_application_data(definition, data)
    assert problems == [Problem(f"data.{field}", LONE)]
    json.dumps([p.__dict__ for p in problems], ensure_ascii=False).encode("utf-8")


def test_an_unknown_key_with_a_lone_surrogate_is_reported_encodably(
    definition: ServiceDefinition, data: dict[str, Any]
) -> None:
    data[json.loads('"x\\udc00"')] = 1
    assert validate_application_data(definition, data) == [
        Problem("data.x\\udc00", "unknown field 'x\\udc00'")
    ]


def test_valid_unicode_beyond_the_basic_plane_is_fine(
    definition: ServiceDefinition, data: dict[str, Any]
) -> None:
    data["full_name"] = json.loads('"Siti \\ud83d\\ude00 Aminah"')  # a proper pair: 😀
    assert validate_application_data(definition, data) == []


def test_corrections_and_external_events_get_the_same_checks() -> None:
    fields = [FormField(id="luas", label="Luas", type="number", max=1000)]
    assert validate_fields(fields, {"luas": 2**64}, "payload") == [Problem("payload.luas", BEYOND)]
    assert validate_fields(fields, {"luas": 1001}, partial=True) == [
        Problem("data.luas", "must be at most 1,000")
    ]
