"""Definition and application-data validation: every problem, with its exact path."""

import copy
from typing import Any

import pytest

from domain.definition import ServiceDefinition
from domain.validation import (
    Problem,
    parse_definition,
    validate_application_data,
    validate_definition,
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


def test_condition_names_must_be_fields_or_review_steps(raw: dict[str, Any]) -> None:
    step(raw, "profession_check")["branches"][0]["when"] = (
        "license_years >= 2 and submit == 1 and document_review == 'approve'"
    )
    assert problems_of(raw) == [
        Problem(
            "steps[2].branches[0].when",
            "unknown name 'license_years': not a declared field id or review step id",
        ),
        Problem(
            "steps[2].branches[0].when",
            "unknown name 'submit': not a declared field id or review step id",
        ),
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
    kinds = "form, review, decision, notify, end"
    assert problems == [
        Problem("fields[0].id", "must be a lower-case id: a letter, then letters, digits or '_'"),
        Problem("steps[0]", f"unknown step kind 'survey'; expected one of {kinds}"),
        Problem(
            "steps[1].outcomes.Approve",
            "key must be a lower-case id: a letter, then letters, digits or '_'",
        ),
        Problem("steps[2].branches[0].when", "String should have at least 1 character"),
        Problem("steps[3].role", "is required"),
        Problem("owner", "unknown property"),
    ]


def test_step_without_kind(raw: dict[str, Any]) -> None:
    del raw["steps"][0]["kind"]
    assert parse_definition(raw) == (
        None,
        [Problem("steps[0]", "step needs a 'kind': one of form, review, decision, notify, end")],
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
        (
            "nik",
            "9910151508900001",
            "NIK province code (first 2 digits) is not a known Indonesian province",
        ),
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
