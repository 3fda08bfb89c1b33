"""The ``appointment`` step kind in the definition language: its rules (each problem at
its path, with a message that says what to do), its BPMN round trip, its dry run and its
line in the Standar Pelayanan."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from domain.bpmn import from_bpmn, to_bpmn
from domain.definition import AppointmentStep, ServiceDefinition
from domain.simulation import Scenario, simulate
from domain.standard import procedure
from domain.validation import parse_definition

AGENCY = {"code": "BWI", "name": "Kabupaten Banyuwangi"}
VISIT: dict[str, Any] = {
    "kind": "appointment",
    "id": "rekam",
    "name": "Perekaman biometrik",
    "purpose": "Perekaman sidik jari dan foto",
    "locations": ["mpp-banyuwangi", "keliling-genteng"],
    "deadline": {"amount": 10, "unit": "working_days"},
    "role": "officer",
    "next": "selesai",
    "no_show": "batal",
}
RAW: dict[str, Any] = {
    "id": "kartu-identitas-anak",
    "name": "Kartu Identitas Anak",
    "agency": AGENCY,
    "fields": [{"id": "nama", "label": "Nama"}],
    "steps": [
        {"kind": "form", "id": "pengajuan", "name": "Pengajuan", "next": "rekam"},
        VISIT,
        {"kind": "end", "id": "selesai", "name": "Selesai", "result": "approved"},
        {"kind": "end", "id": "batal", "name": "Batal", "result": "cancelled"},
    ],
}


def _with(**changes: Any) -> dict[str, Any]:
    raw = copy.deepcopy(RAW)
    raw["steps"][1] = {**raw["steps"][1], **changes}
    return raw


def _problems(raw: dict[str, Any]) -> dict[str, str]:
    _, problems = parse_definition(raw)
    return {p.path: p.message for p in problems}


def test_a_well_formed_appointment_step_is_valid() -> None:
    definition, problems = parse_definition(RAW)
    assert problems == [] and definition is not None
    step = definition.step("rekam")
    assert isinstance(step, AppointmentStep)
    assert step.locations == ["mpp-banyuwangi", "keliling-genteng"]


def test_locations_are_optional_and_the_role_defaults_to_officer() -> None:
    raw = _with(locations=[])
    del raw["steps"][1]["role"]
    definition, problems = parse_definition(raw)
    assert problems == [] and definition is not None
    step = definition.step("rekam")
    assert isinstance(step, AppointmentStep)
    assert (step.locations, step.role) == ([], "officer")


@pytest.mark.parametrize(
    ("changes", "path", "words"),
    [
        ({"no_show": "hilang"}, "steps[1].no_show", "hilang"),
        ({"next": "entah"}, "steps[1].next", "entah"),
        ({"role": "cashier"}, "steps[1].role", "officer or a supervisor"),
        ({"role": "lurah"}, "steps[1].role", "unknown role 'lurah'"),
        ({"locations": ["mpp-a", "mpp-a"]}, "steps[1].locations[1]", "listed twice"),
        ({"locations": ["MPP A"]}, "steps[1].locations[0]", "lower-case"),
        ({"purpose": "  "}, "steps[1].purpose", ""),
        ({"deadline": {"amount": 1.5, "unit": "working_days"}}, "steps[1].deadline", "whole"),
    ],
)
def test_each_problem_is_reported_at_its_path(
    changes: dict[str, Any], path: str, words: str
) -> None:
    problems = _problems(_with(**changes))
    found = {p: m for p, m in problems.items() if p.startswith(path)}
    assert found, problems
    assert any(words in m for m in found.values()), found


def test_a_missing_no_show_exit_is_a_problem() -> None:
    raw = copy.deepcopy(RAW)
    del raw["steps"][1]["no_show"]
    assert "steps[1].no_show" in " ".join(_problems(raw))


def test_bpmn_round_trip_keeps_the_step() -> None:
    definition, _ = parse_definition(RAW)
    assert definition is not None
    xml = to_bpmn(definition)
    assert 'lincah:kind="appointment"' in xml
    assert "userTask" in xml
    assert "Perekaman sidik jari dan foto" in xml
    assert "boundaryEvent" in xml  # the no-show exit is the deadline's timer
    back = from_bpmn(xml)
    again = ServiceDefinition.model_validate(back.definition)
    assert again.step("rekam") == definition.step("rekam")
    assert again == definition


def test_simulation_scripts_served_and_no_show() -> None:
    definition, _ = parse_definition(RAW)
    assert definition is not None
    served = simulate(definition)
    assert served.end_step == "selesai"
    assert "served" in next(v.detail for v in served.visits if v.step == "rekam")
    missed = simulate(definition, Scenario(outcomes={"rekam": "no_show"}))
    assert missed.end_step == "batal"
    wrong = simulate(definition, Scenario(outcomes={"rekam": "approve"}))
    assert wrong.stopped is not None and "served, no_show" in wrong.stopped


def test_the_procedure_tells_the_citizen_to_come_in_person() -> None:
    definition, _ = parse_definition(RAW)
    assert definition is not None
    line = next(p for p in procedure(definition) if "Perekaman biometrik" in p)
    assert "pemohon datang ke lokasi layanan (Perekaman sidik jari dan foto)" in line
    assert "petugas" in line and "10 hari kerja" in line
