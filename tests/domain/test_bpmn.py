"""BPMN 2.0 export (with BPMN DI) and import, on Lincah's own flows and on the OMG BPMN
MIWG reference models in shared/data/bpmn-miwg."""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

import pytest

from domain.bpmn import (
    BPMN,
    BPMNDI,
    DC,
    DI,
    LINCAH,
    BpmnError,
    from_bpmn,
    parse_xml,
    to_bpmn,
    transitions,
)
from domain.definition import ReviewStep, ServiceDefinition, successors
from domain.steps import raw_exits
from domain.validation import parse_definition
from lincah.demo import DOMISILI, IZIN_PRAKTIK

REPO = Path(__file__).resolve().parents[2]
MIWG = REPO.parent / "shared" / "data" / "bpmn-miwg"
AGENCY = {"code": "BWI", "name": "Kabupaten Banyuwangi"}

EVERY_KIND = {
    "id": "izin-reklame",
    "name": "Izin Reklame",
    "agency": AGENCY,
    "fields": [
        {"id": "nama", "label": "Nama"},
        {"id": "luas", "label": "Luas (m2)", "type": "number"},
    ],
    "time_limit": {"amount": 10, "unit": "working_days"},
    "cancellable_until": "bayar",
    "standard": {"requirements": ["KTP", "Desain reklame"], "fee": "Perda 5/2024"},
    "steps": [
        {"kind": "form", "id": "pengajuan", "name": "Pengajuan", "next": "wajah"},
        {"kind": "face_verify", "id": "wajah", "name": "Cek wajah", "on_match": "periksa",
         "on_mismatch": "perbaikan"},
        {"kind": "correction", "id": "perbaikan", "name": "Perbaikan berkas",
         "resume": "wajah", "on_abandon": "batal"},
        {"kind": "review", "id": "periksa", "name": "Periksa berkas", "role": "officer",
         "instructions": "Cek desain", "outcomes": {"lanjut": "cek_luas", "tolak": "ditolak",
                                                    "perbaiki": "perbaikan"},
         "deadline": {"within": {"amount": 3, "unit": "working_days"},
                      "escalate_to": "supervisor"}},
        {"kind": "decision", "id": "cek_luas", "name": "Cek luas",
         "branches": [{"when": "luas > 20", "goto": "serentak"}], "default": "bayar"},
        {"kind": "parallel", "id": "serentak", "name": "Serentak",
         "branches": ["survei", "izin_lingkungan"], "join": "gabung"},
        {"kind": "external", "id": "survei", "name": "Survei lapangan", "event": "survey_done",
         "fields": [{"id": "skor", "label": "Skor", "type": "number"}], "next": "gabung",
         "timeout": {"amount": 5, "unit": "days"}, "on_timeout": "gabung"},
        {"kind": "subservice", "id": "izin_lingkungan", "name": "Izin lingkungan",
         "service": "izin-lingkungan", "next": "gabung"},
        {"kind": "join", "id": "gabung", "name": "Gabung", "mode": "all", "next": "bayar"},
        {"kind": "payment", "id": "bayar", "name": "Bayar retribusi",
         "fee": {"amount": 100000, "rules": [{"when": "luas > 20", "amount": 500000}]},
         "next": "terbit", "deadline": {"within": {"amount": 7, "unit": "days"}},
         "on_unpaid": "batal"},
        {"kind": "document", "id": "terbit", "name": "Terbitkan izin", "next": "kabar",
         "template": {"code": "IRK", "title": "Izin Reklame", "body": "Diberikan kepada {nama}"}},
        {"kind": "notify", "id": "kabar", "name": "Kabari", "message": "Izin {nama} terbit",
         "next": "selesai"},
        {"kind": "end", "id": "selesai", "name": "Selesai", "result": "approved"},
        {"kind": "end", "id": "ditolak", "name": "Ditolak", "result": "rejected"},
        {"kind": "end", "id": "batal", "name": "Batal", "result": "cancelled"},
    ],
}  # fmt: skip


def _all(root, local: str, ns: str = BPMN):
    return list(root.iter(f"{{{ns}}}{local}"))


@pytest.mark.parametrize("raw", [DOMISILI, IZIN_PRAKTIK, EVERY_KIND], ids=lambda r: r["id"])
def test_export_then_import_gives_the_same_definition(raw):
    d = ServiceDefinition.model_validate(raw)
    assert parse_definition(raw)[1] == [] or raw is EVERY_KIND
    report = from_bpmn(to_bpmn(d))
    assert ServiceDefinition.model_validate(report.definition) == d
    assert report.ignored == []


def test_every_kind_has_transitions_matching_successors():
    d = ServiceDefinition.model_validate(EVERY_KIND)
    assert {s.kind for s in d.steps} == {
        "form", "review", "decision", "notify", "end", "parallel", "join", "correction",
        "payment", "document", "external", "subservice", "face_verify",
    }  # fmt: skip
    for step in d.steps:
        assert [t.target for t in transitions(step)] == successors(step), step.id


def test_export_is_bpmn_with_gateways_conditions_timers_and_a_full_diagram():
    xml = to_bpmn(ServiceDefinition.model_validate(EVERY_KIND))
    root = parse_xml(xml)
    assert root.tag == f"{{{BPMN}}}definitions"
    (process,) = _all(root, "process")
    assert process.get("isExecutable") == "true"

    ids = [el.get("id") for el in root.iter() if el.get("id")]
    assert len(ids) == len(set(ids)), "element ids must be unique"
    nodes = {el.get("id"): el for el in process if el.tag.rsplit("}")[-1] != "sequenceFlow"}
    nodes = {k: v for k, v in nodes.items() if k}
    flows = _all(process, "sequenceFlow")
    for f in flows:
        assert f.get("sourceRef") in nodes and f.get("targetRef") in nodes, f.get("id")

    # Decision: an exclusive gateway whose default is one of its own flows, and the
    # branch condition written as a formal expression in Lincah's syntax.
    gateway = nodes["cek_luas"]
    assert gateway.tag == f"{{{BPMN}}}exclusiveGateway"
    default = [f for f in flows if f.get("id") == gateway.get("default")]
    assert default and default[0].get("sourceRef") == "cek_luas"
    conditions = {
        c.text for c in _all(process, "conditionExpression")
        if c.get("{http://www.w3.org/2001/XMLSchema-instance}type") == "bpmn:tFormalExpression"
    }  # fmt: skip
    assert {"luas > 20", 'periksa == "lanjut"', 'periksa == "tolak"', 'wajah == "match"'} <= (
        conditions
    )
    # A review with three outcomes: the task, then an exclusive gateway on its answer.
    outcome_flows = [f for f in flows if f.get("sourceRef") == "Gateway_periksa"]
    assert sorted(f.get("name") for f in outcome_flows) == ["lanjut", "perbaiki", "tolak"]
    # Parallel split and join.
    assert nodes["serentak"].tag == nodes["gabung"].tag == f"{{{BPMN}}}parallelGateway"
    assert nodes["serentak"].get("gatewayDirection") == "Diverging"
    # Timer boundary events: the review deadline (non-interrupting), the time-out, the
    # unpaid fee and the abandoned correction (interrupting, each with its flow).
    timers = {
        b.get("attachedToRef"): b
        for b in _all(process, "boundaryEvent")
        if b.find(f"{{{BPMN}}}timerEventDefinition") is not None
    }
    assert set(timers) == {"periksa", "survei", "bayar", "perbaikan"}
    assert timers["periksa"].get("cancelActivity") == "false"
    assert timers["survei"].get("cancelActivity") == "true"
    durations = {k: b.find(f".//{{{BPMN}}}timeDuration").text for k, b in timers.items()}
    assert durations == {"periksa": "P3D", "survei": "P5D", "bayar": "P7D", "perbaikan": "P14D"}
    assert timers["periksa"].get(f"{{{LINCAH}}}unit") == "working_days"
    by_source = {f.get("sourceRef"): f.get("targetRef") for f in flows}
    assert by_source[timers["bayar"].get("id")] == "batal"

    # BPMN DI: one plane for the process, a shape with bounds for every node, an edge
    # with at least two waypoints for every flow; boundary events on their task's edge.
    (plane,) = _all(root, "BPMNPlane", BPMNDI)
    assert plane.get("bpmnElement") == process.get("id")
    shapes = {s.get("bpmnElement"): s for s in _all(plane, "BPMNShape", BPMNDI)}
    assert set(shapes) == set(nodes)
    edges = {e.get("bpmnElement"): e for e in _all(plane, "BPMNEdge", BPMNDI)}
    assert set(edges) == {f.get("id") for f in flows}
    assert all(len(_all(e, "waypoint", DI)) >= 2 for e in edges.values())

    def box(node_id):
        b = shapes[node_id].find(f"{{{DC}}}Bounds")
        return [float(b.get(k)) for k in ("x", "y", "width", "height")]

    tx, ty, tw, th = box("periksa")
    bx, by, bw, bh = box(timers["periksa"].get("id"))
    assert tx <= bx <= tx + tw and by + bh / 2 == pytest.approx(ty + th)
    assert box("pengajuan")[0] < box("periksa")[0] < box("selesai")[0]  # left to right


def test_foreign_style_import_reads_the_meaning_without_lincah_data():
    """Strip Lincah's embedded data: what is left is plain BPMN, as another tool would
    write it, and the importer must still recover outcomes, conditions and timers."""
    xml = to_bpmn(ServiceDefinition.model_validate(IZIN_PRAKTIK))
    plain = re.sub(r"<bpmn:extensionElements>.*?</bpmn:extensionElements>", "", xml, flags=re.S)
    report = from_bpmn(plain, service_id="izin-impor", agency=AGENCY)
    d = report.definition
    assert d["id"] == "izin-impor" and d["agency"] == AGENCY
    steps = {s["name"]: s for s in d["steps"]}
    review = steps["Pemeriksaan berkas"]
    assert review["kind"] == "review" and set(review["outcomes"]) == {"approve", "reject"}
    decision = steps["Cek pengalaman"]
    assert decision["kind"] == "decision"
    assert decision["branches"][0]["when"] == "years_experience < 2"
    assert decision["default"] == steps["Persetujuan Kepala Dinas"]["id"]
    assert steps["SIP terbit"]["kind"] == "notify"
    assert "{full_name}" in steps["SIP terbit"]["message"]
    assert {steps["Selesai - terbit"]["result"], steps["Selesai - ditolak"]["result"]} == {
        "approved",
        "rejected",
    }
    parsed, problems = parse_definition({**d, "fields": IZIN_PRAKTIK["fields"]})
    assert parsed is not None and problems == []


def test_foreign_timer_on_a_task_becomes_a_deadline_and_on_a_receive_task_a_timeout():
    xml = f"""<?xml version="1.0"?>
<definitions xmlns="{BPMN}" id="d" targetNamespace="x">
  <process id="p" name="Izin Usaha">
    <startEvent id="s"/>
    <userTask id="t" name="Verifikasi"/>
    <boundaryEvent id="b" attachedToRef="t" cancelActivity="false">
      <timerEventDefinition><timeDuration>PT36H</timeDuration></timerEventDefinition>
    </boundaryEvent>
    <receiveTask id="r" name="Hasil survei"/>
    <boundaryEvent id="b2" attachedToRef="r">
      <timerEventDefinition><timeDuration>P1W</timeDuration></timerEventDefinition>
    </boundaryEvent>
    <endEvent id="ok" name="Selesai"/>
    <endEvent id="no" name="Dibatalkan"/>
    <sequenceFlow id="f1" sourceRef="s" targetRef="t"/>
    <sequenceFlow id="f2" sourceRef="t" targetRef="r"/>
    <sequenceFlow id="f3" sourceRef="r" targetRef="ok"/>
    <sequenceFlow id="f4" sourceRef="b2" targetRef="no"/>
  </process>
</definitions>"""
    d = from_bpmn(xml, agency=AGENCY).definition
    steps = {s["id"]: s for s in d["steps"]}
    assert d["id"] == "izin-usaha"
    assert steps["verifikasi"]["deadline"] == {"within": {"amount": 36, "unit": "hours"}}
    assert steps["hasil_survei"]["timeout"] == {"amount": 7, "unit": "days"}
    assert steps["hasil_survei"]["on_timeout"] == "dibatalkan"
    assert steps["dibatalkan"]["result"] == "cancelled"
    assert parse_definition(d)[1] == []


@pytest.mark.parametrize(
    "xml, message",
    [
        (
            '<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]>'
            f'<definitions xmlns="{BPMN}"><process id="p" name="&b;"/></definitions>',
            "DOCTYPE",
        ),
        (
            '<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
            f'<definitions xmlns="{BPMN}"><process id="p" name="&x;"/></definitions>',
            "DOCTYPE",
        ),
        ("this is not xml", "not well-formed"),
        ('<definitions xmlns="urn:other"><process id="p"/></definitions>', "not a BPMN 2.0"),
        (f'<definitions xmlns="{BPMN}"/>', "no process"),
        ("<a>" + "x" * 5_000_001 + "</a>", "larger than"),
    ],
    ids=["billion-laughs", "external-entity", "not-xml", "not-bpmn", "empty", "too-big"],
)
def test_refused_files(xml, message):
    with pytest.raises(BpmnError, match=message):
        from_bpmn(xml)


def _miwg(name: str) -> bytes:
    path = MIWG / name
    if not path.exists():
        pytest.skip(f"BPMN MIWG reference models not found at {MIWG} (shared/data is absent)")
    return path.read_bytes()


def _flow_node_ids(xml: bytes, process_id: str) -> set[str]:
    root = parse_xml(xml)
    process = next(p for p in root.iter(f"{{{BPMN}}}process") if p.get("id") == process_id)
    return {
        str(el.get("id"))
        for el in process.iter()
        if el is not process
        and el.get("id")
        and el.tag.rsplit("}")[-1] not in {"sequenceFlow", "laneSet", "lane"}
    }


@pytest.mark.parametrize("name", ["A.1.0.bpmn", "A.2.0.bpmn", "A.3.0.bpmn", "A.4.0.bpmn"])
def test_miwg_models_import_and_every_element_is_accounted_for(name):
    xml = _miwg(name)
    report = from_bpmn(xml, agency=AGENCY)
    assert report.definition["steps"]
    _, problems = parse_definition(report.definition)
    # The only problems left are what the file does not say: conditions and defaults.
    for p in problems:
        assert (p.path.endswith(".when") and "condition builder" in p.message) or (
            p.path.endswith(".default") and "no default" in p.message
        ), p
    ignored = {i.element for i in report.ignored}
    for eid in _flow_node_ids(xml, report.process):
        assert eid in report.mapped or eid in ignored, eid
    for i in report.ignored:
        assert i.element and i.type and i.reason
        assert i.type not in {"incoming", "outgoing"}  # references, not elements
    for note in report.notes:  # elements are named as the modeller named them
        assert not re.search(r"_[0-9a-f]{8}-[0-9a-f]{4}", note), note


def test_miwg_a1_is_three_tasks_in_a_row():
    report = from_bpmn(_miwg("A.1.0.bpmn"), agency=AGENCY)
    d, problems = parse_definition(report.definition)
    assert d is not None and problems == []
    assert [s.kind for s in d.steps] == ["review", "review", "review", "end"]
    assert [s.name for s in d.steps[:3]] == ["Task 1", "Task 2", "Task 3"]
    assert report.ignored == []


def _fill_conditions(raw: dict, conditions: dict[str, str]) -> dict:
    """What the administrator does after the import: write each empty condition, and
    choose where a decision goes when none holds."""
    for step in raw["steps"]:
        for b in step.get("branches", []):
            if isinstance(b, dict) and not b["when"]:
                b["when"] = conditions[b["goto"]]
        if step["kind"] == "decision" and "default" not in step:
            step["default"] = step["branches"][-1]["goto"]
    return raw


def test_miwg_a2_split_without_conditions_becomes_branches_to_fill_in():
    report = from_bpmn(_miwg("A.2.0.bpmn"), agency=AGENCY)
    _, problems = parse_definition(report.definition)
    assert [p.path for p in problems] == [f"steps[1].branches[{i}].when" for i in range(3)]
    steps = {s["name"]: s for s in report.definition["steps"]}
    split = steps["Gateway (Split Flow)"]
    assert split["kind"] == "decision" and "default" not in split
    assert [b["goto"] for b in split["branches"]] == ["task_2", "task_3", "task_4"]
    assert steps["Task 1"]["outcomes"] == {"done": split["id"]}
    assert any(
        "'Task 2', 'Task 3', 'Task 4'" in n and "condition builder" in n for n in report.notes
    )
    assert any("'Gateway (Merge Flows)' only merges" in n for n in report.notes)
    raw = _fill_conditions(
        report.definition,
        {"task_2": "jenis == 'a'", "task_3": "jenis == 'b'", "task_4": "jenis == 'c'"},
    )
    raw["fields"] = [{"id": "jenis", "label": "Jenis"}]
    d, problems = parse_definition(raw)
    assert d is not None and problems == []
    for t in ("task_2", "task_3", "task_4"):
        then = d.step(t)
        assert isinstance(then, ReviewStep) and then.outcomes == {"done": "end_event"}


def test_miwg_a3_collapsed_subprocess_is_a_step_and_its_events_are_outcomes():
    report = from_bpmn(_miwg("A.3.0.bpmn"), agency=AGENCY)
    d, problems = parse_definition(report.definition)
    assert d is not None and problems == []
    assert report.ignored == []
    sub = next(s for s in d.steps if s.name == "Collapsed Sub-Process")
    assert isinstance(sub, ReviewStep)
    names = {s.id: s.name for s in d.steps}
    assert {names[t] for t in sub.outcomes.values()} == {"Task 2", "Task 3", "Task 4"}
    assert "Task 1" in [names[t] for t in successors(d.step(d.start_step))] + [
        d.step(d.start_step).name
    ]


def test_miwg_a4_flattens_the_expanded_subprocesses_of_the_larger_pool():
    report = from_bpmn(_miwg("A.4.0.bpmn"), agency=AGENCY)
    assert report.process == "WFP-6-2" and report.processes == ["WFP-6-1", "WFP-6-2"]
    types = {(i.element, i.type) for i in report.ignored}
    assert ("WFP-6-1", "process") in types
    assert {t for _, t in types} == {"process", "participant", "messageFlow", "message"}
    d, problems = parse_definition(report.definition)
    assert d is not None and problems == []
    names = {s.id: s.name for s in d.steps}
    walk = lambda sid: [names[t] for t in successors(d.step(sid))]  # noqa: E731
    assert sorted(walk("task_3")) == ["Task 4", "Task 6"]  # inside the two sub-processes
    assert walk("task_4") == ["Task 5"]  # the end of sub-process 1 goes on after it
    assert walk("task_6") == ["End Event 5"]
    other = from_bpmn(_miwg("A.4.0.bpmn"), process_id="WFP-6-1", agency=AGENCY)
    assert [s["name"] for s in other.definition["steps"]][:2] == ["Task 1", "Task 2"]
    with pytest.raises(BpmnError, match="WFP-6-1, WFP-6-2"):
        from_bpmn(_miwg("A.4.0.bpmn"), process_id="nope")


@pytest.mark.parametrize("name", ["A.1.0.bpmn", "A.2.0.bpmn", "A.3.0.bpmn", "A.4.0.bpmn"])
def test_miwg_import_exports_and_reimports_to_the_same_definition(name):
    report = from_bpmn(_miwg(name), agency=AGENCY, service_id="miwg")
    raw = _fill_conditions(report.definition, defaultdict(lambda: "jenis == 'x'"))
    raw["fields"] = [{"id": "jenis", "label": "Jenis"}]
    d, problems = parse_definition(raw)
    assert d is not None and problems == []
    xml = to_bpmn(d)
    assert ServiceDefinition.model_validate(from_bpmn(xml).definition) == d
    # Read as another tool's file (without Lincah's data in it), the flow is the same.
    foreign = re.sub(r"<bpmn:extensionElements>.*?</bpmn:extensionElements>", "", xml, flags=re.S)
    again = from_bpmn(foreign, agency=AGENCY, service_id="miwg").definition
    shape = lambda steps: sorted(  # noqa: E731
        (s["name"], s["kind"], sorted(t for _, t in raw_exits(s))) for s in steps
    )
    assert shape(again["steps"]) == shape(d.model_dump(mode="json")["steps"])


def test_on_error_and_number_limits_survive_the_round_trip():
    raw = {**IZIN_PRAKTIK, "fields": [dict(f) for f in IZIN_PRAKTIK["fields"]]}
    raw["steps"] = [dict(s) for s in IZIN_PRAKTIK["steps"]]
    decision = next(s for s in raw["steps"] if s["kind"] == "decision")
    decision["on_error"] = "notify_refused"
    years = next(f for f in raw["fields"] if f["type"] == "number")
    years |= {"min": 0, "max": 80}
    definition, problems = parse_definition(raw)
    assert definition is not None and problems == []
    step = definition.step(decision["id"])
    ways = transitions(step)
    assert [t.target for t in ways] == successors(step)
    assert (ways[-1].target, ways[-1].label) == ("notify_refused", "condition error")
    xml = to_bpmn(definition)
    back = ServiceDefinition.model_validate(from_bpmn(xml).definition)
    assert back.step(decision["id"]) == step
    assert back.field("years_experience").min == 0 and back.field("years_experience").max == 80
