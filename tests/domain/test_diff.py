"""Semantic diff between two versions of a service definition."""

import copy
import json

from domain.definition import ServiceDefinition
from domain.diff import Change, diff
from lincah.demo import DOMISILI, IZIN_PRAKTIK


def parse(raw) -> ServiceDefinition:
    return ServiceDefinition.model_validate(raw)


def edited(raw, edit) -> ServiceDefinition:
    raw = copy.deepcopy(raw)
    edit(raw)
    return parse(raw)


def step(raw, step_id):
    return next(s for s in raw["steps"] if s["id"] == step_id)


def test_identical_definitions_have_no_changes():
    assert diff(parse(DOMISILI), parse(DOMISILI)) == []
    assert diff(parse(IZIN_PRAKTIK), parse(IZIN_PRAKTIK)) == []


def test_version_and_schema_version_are_ignored():
    assert diff(parse(DOMISILI), edited(DOMISILI, lambda r: r.update(version=7))) == []


def test_rename_a_step():
    b = edited(DOMISILI, lambda r: step(r, "verify_residence").update(name="Cek alamat"))
    assert diff(parse(DOMISILI), b) == [
        Change("steps.verify_residence.name", "changed", "Verifikasi domisili", "Cek alamat")
    ]


def test_add_and_remove_fields():
    def edit(r):
        r["fields"] = [f for f in r["fields"] if f["id"] != "purpose"]
        r["fields"].insert(1, {"id": "phone", "label": "Nomor HP", "required": False})

    b = edited(DOMISILI, edit)
    assert diff(parse(DOMISILI), b) == [
        Change(
            "fields.phone",
            "added",
            None,
            {
                "id": "phone",
                "label": "Nomor HP",
                "type": "text",
                "required": False,
                "choices": [],
                "help": "",
                "min": None,
                "max": None,
                "prefill": None,
                "kinds": [],
            },
        ),
        Change(
            "fields.purpose",
            "removed",
            {
                "id": "purpose",
                "label": "Keperluan",
                "type": "text",
                "required": True,
                "choices": [],
                "help": "",
                "min": None,
                "max": None,
                "prefill": None,
                "kinds": [],
            },
            None,
        ),
    ]
    # And the other way round.
    assert diff(b, parse(DOMISILI)) == [
        Change("fields.purpose", "added", None, diff(parse(DOMISILI), b)[1].before),
        Change("fields.phone", "removed", diff(parse(DOMISILI), b)[0].after, None),
    ]


def test_change_an_outcome_target_and_add_an_outcome():
    def edit(r):
        outcomes = step(r, "document_review")["outcomes"]
        outcomes["approve"] = "head_approval"
        outcomes["return"] = "notify_refused"

    b = edited(IZIN_PRAKTIK, edit)
    assert diff(parse(IZIN_PRAKTIK), b) == [
        Change(
            "steps.document_review.outcomes.approve", "changed", "experience_check", "head_approval"
        ),
        Change("steps.document_review.outcomes.return", "added", None, "notify_refused"),
    ]


def test_change_a_decision_condition():
    def edit(r):
        step(r, "experience_check")["branches"][0]["when"] = "years_experience < 3"

    b = edited(IZIN_PRAKTIK, edit)
    assert diff(parse(IZIN_PRAKTIK), b) == [
        Change(
            "steps.experience_check.branches[0].when",
            "changed",
            "years_experience < 2",
            "years_experience < 3",
        )
    ]


def test_add_a_decision_branch_and_change_the_default():
    def edit(r):
        s = step(r, "experience_check")
        s["branches"].append({"when": 'profession == "apoteker"', "goto": "head_approval"})
        s["default"] = "site_verification"

    b = edited(IZIN_PRAKTIK, edit)
    assert diff(parse(IZIN_PRAKTIK), b) == [
        Change(
            "steps.experience_check.branches[1]",
            "added",
            None,
            {"when": 'profession == "apoteker"', "goto": "head_approval"},
        ),
        Change("steps.experience_check.default", "changed", "head_approval", "site_verification"),
    ]


def test_reorder_steps():
    def edit(r):
        r["steps"][-2], r["steps"][-1] = r["steps"][-1], r["steps"][-2]

    b = edited(DOMISILI, edit)
    assert diff(parse(DOMISILI), b) == [
        Change(
            "steps (order)",
            "changed",
            [
                "submission",
                "verify_residence",
                "notify_issued",
                "notify_refused",
                "issued",
                "refused",
            ],
            [
                "submission",
                "verify_residence",
                "notify_issued",
                "notify_refused",
                "refused",
                "issued",
            ],
        )
    ]


def test_appending_does_not_count_as_reordering():
    def edit(r):
        r["fields"].append({"id": "email", "label": "Email"})

    changes = diff(parse(DOMISILI), edited(DOMISILI, edit))
    assert [(c.path, c.kind) for c in changes] == [("fields.email", "added")]


def test_change_a_field_type():
    b = edited(IZIN_PRAKTIK, lambda r: r["fields"][6].update(type="text"))
    assert diff(parse(IZIN_PRAKTIK), b) == [
        Change("fields.years_experience.type", "changed", "number", "text")
    ]


def test_change_field_choices_is_one_change():
    b = edited(DOMISILI, lambda r: r["fields"][3]["choices"].append("Temenggungan"))
    changes = diff(parse(DOMISILI), b)
    assert [(c.path, c.kind) for c in changes] == [("fields.kelurahan.choices", "changed")]
    assert changes[0].after[-1] == "Temenggungan"
    assert changes[0].before == DOMISILI["fields"][3]["choices"]


def test_change_the_kind_of_a_step():
    decision = {
        "kind": "decision",
        "id": "verify_residence",
        "name": "Verifikasi otomatis",
        "branches": [{"when": 'kelurahan == "Sobo"', "goto": "notify_refused"}],
        "default": "notify_issued",
    }

    def edit(r):
        r["steps"][1] = decision

    b = edited(DOMISILI, edit)
    assert diff(parse(DOMISILI), b) == [
        Change(
            "steps.verify_residence.kind",
            "changed",
            {
                "kind": "review",
                "id": "verify_residence",
                "name": "Verifikasi domisili",
                "role": "officer",
                "instructions": "Check the address against the Kartu Keluarga.",
                "outcomes": {"approve": "notify_issued", "reject": "notify_refused"},
                "deadline": None,
            },
            {**decision, "on_error": None},
        )
    ]


def test_top_level_attributes():
    def edit(r):
        r["name"] = "Surat Keterangan Domisili (SKD)"
        r["time_limit"] = {"amount": 3, "unit": "working_days"}
        r["cancellable_until"] = "verify_residence"
        r["standard"]["delivery"].update(requirements=["KTP", "KK"], fee="Gratis")
        r["agency"] = {"code": "BWI", "name": "Pemerintah Kabupaten Banyuwangi"}
        step(r, "verify_residence")["role"] = "supervisor"

    a = parse(DOMISILI)
    b = edited(DOMISILI, edit)
    assert diff(a, b) == [
        Change("name", "changed", "Surat Keterangan Domisili", "Surat Keterangan Domisili (SKD)"),
        Change("agency.name", "changed", "Kabupaten Banyuwangi", "Pemerintah Kabupaten Banyuwangi"),
        Change("time_limit", "changed", None, {"amount": 3, "unit": "working_days"}),
        Change("cancellable_until", "changed", None, "verify_residence"),
        Change(
            "standard.delivery.requirements", "changed", ["Surat pengantar RT/RW"], ["KTP", "KK"]
        ),
        Change("standard.delivery.fee", "changed", "", "Gratis"),
        Change("steps.verify_residence.role", "changed", "officer", "supervisor"),
    ]
    c = edited(DOMISILI, lambda r: (edit(r), r.update(time_limit={"amount": 5})))
    assert diff(b, c) == [Change("time_limit.amount", "changed", 3, 5)]


def test_nested_step_attributes_and_external_fields_by_id():
    base = {
        "id": "izin-reklame",
        "name": "Izin Reklame",
        "agency": {"code": "BWI", "name": "Kabupaten Banyuwangi"},
        "steps": [
            {
                "kind": "external",
                "id": "inspect",
                "name": "Cek lapangan",
                "event": "inspection_done",
                "fields": [
                    {"id": "fit", "label": "Layak", "type": "choice", "choices": ["ya", "tidak"]},
                    {"id": "notes", "label": "Catatan", "required": False},
                ],
                "next": "pay",
            },
            {
                "kind": "payment",
                "id": "pay",
                "name": "Bayar retribusi",
                "fee": {"amount": 100000, "rules": [{"when": "fit == 'ya'", "amount": 50000}]},
                "next": "done",
            },
            {"kind": "end", "id": "done", "name": "Selesai", "result": "approved"},
        ],
    }

    def edit(r):
        r["steps"][0]["fields"].reverse()
        r["steps"][0]["fields"][0]["label"] = "Catatan petugas"
        r["steps"][1]["fee"]["amount"] = 150000
        r["steps"][1]["fee"]["rules"] = []
        r["steps"][1]["deadline"] = {"within": {"amount": 2}}

    changes = diff(parse(base), edited(base, edit))
    assert changes == [
        Change("steps.inspect.fields (order)", "changed", ["fit", "notes"], ["notes", "fit"]),
        Change("steps.inspect.fields.notes.label", "changed", "Catatan", "Catatan petugas"),
        Change("steps.pay.fee.amount", "changed", 100000, 150000),
        Change("steps.pay.fee.rules[0]", "removed", {"when": "fit == 'ya'", "amount": 50000}, None),
        Change(
            "steps.pay.deadline",
            "changed",
            None,
            {
                "within": {"amount": 2, "unit": "working_days"},
                "remind_before": None,
                "escalate_to": None,
            },
        ),
    ]


def test_order_of_changes_is_deterministic_and_json_serialisable():
    def edit(r):
        r["description"] = "Baru"
        r["fields"].insert(0, {"id": "email", "label": "Email"})
        r["fields"][1]["label"] = "Nomor Induk Kependudukan"  # nik
        r["fields"] = [f for f in r["fields"] if f["id"] != "purpose"]
        r["steps"] = [s for s in r["steps"] if s["id"] != "notify_refused"]
        step(r, "verify_residence")["outcomes"]["reject"] = "refused"
        r["steps"].insert(2, {"kind": "end", "id": "withdrawn", "name": "X", "result": "cancelled"})

    changes = diff(parse(DOMISILI), edited(DOMISILI, edit))
    assert [(c.path, c.kind) for c in changes] == [
        ("description", "changed"),
        ("fields.email", "added"),
        ("fields.nik.label", "changed"),
        ("fields.purpose", "removed"),
        ("steps.verify_residence.outcomes.reject", "changed"),
        ("steps.withdrawn", "added"),
        ("steps.notify_refused", "removed"),
    ]
    json.dumps([c.__dict__ for c in changes])


def test_renaming_a_step_id_is_a_removal_and_an_addition():
    def edit(r):
        step(r, "verify_residence")["id"] = "check_residence"
        step(r, "submission")["next"] = "check_residence"

    changes = diff(parse(DOMISILI), edited(DOMISILI, edit))
    assert [(c.path, c.kind) for c in changes] == [
        ("steps.submission.next", "changed"),
        ("steps.check_residence", "added"),
        ("steps.verify_residence", "removed"),
    ]
    assert changes[1].after["name"] == changes[2].before["name"] == "Verifikasi domisili"
