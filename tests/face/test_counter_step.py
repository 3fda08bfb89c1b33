"""A service's face step may require a counter-verified enrolment: a field of the step
kind, checked by the definition validator."""

from __future__ import annotations

from typing import Any

from domain.steps.face_verify import FaceVerifyStep
from domain.validation import parse_definition, validate_definition


def definition(**face: Any) -> dict[str, Any]:
    return {
        "id": "izin-keramaian",
        "name": "Izin Keramaian",
        "agency": {"code": "BWI", "name": "Kabupaten Banyuwangi"},
        "fields": [{"id": "full_name", "label": "Nama lengkap"}],
        "steps": [
            {"kind": "form", "id": "submit", "name": "Pengajuan", "next": "wajah"},
            {"kind": "face_verify", "id": "wajah", "name": "Cek wajah", "on_match": "done",
             "on_mismatch": "loket", **face},
            {"kind": "review", "id": "loket", "name": "Cek KTP di loket", "role": "officer",
             "outcomes": {"approve": "done"}},
            {"kind": "end", "id": "done", "name": "Selesai", "result": "approved"},
        ],
    }  # fmt: skip


def problems(raw: dict[str, Any]) -> list[tuple[str, str]]:
    parsed, found = parse_definition(raw)
    if parsed is not None:
        found = validate_definition(parsed)
    return [(p.path, p.message) for p in found]


def test_require_counter_enrolment_is_a_checked_field_of_the_step():
    assert problems(definition()) == []
    assert problems(definition(require_counter_enrolment=True)) == []
    parsed, _ = parse_definition(definition(require_counter_enrolment=True))
    assert parsed is not None
    face = parsed.steps[1]
    assert isinstance(face, FaceVerifyStep) and face.require_counter_enrolment is True

    pointless = definition(require_counter_enrolment=True, on_mismatch="done")
    found = dict(problems(pointless))  # (the counter step is then unreachable, too)
    assert "on_mismatch" in found["steps[1].require_counter_enrolment"]
    assert "steps[1].require_counter_enrolment" not in dict(
        problems(definition(on_mismatch="done"))  # not asked for: no such problem
    )
    ((path, _),) = problems(definition(require_counter_enrolment="sometimes"))
    assert "require_counter_enrolment" in path
