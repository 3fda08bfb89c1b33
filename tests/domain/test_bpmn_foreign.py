"""Import of what Camunda Modeler and other tools write that Lincah's own exports never
contain: JUEL and FEEL conditions, inclusive gateways, error ends, message boundary
events, event sub-processes, a branch straight into its join, comments and groups."""

from __future__ import annotations

import copy

import pytest

from domain.bpmn import from_bpmn
from domain.bpmn.conditions import translate
from domain.definition import DecisionStep, EndStep, JoinStep, ParallelStep, ReviewStep
from domain.validation import parse_definition

AGENCY = {"code": "BWI", "name": "Kabupaten Banyuwangi"}
NS = (
    'xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
)


def _process(body: str) -> str:
    return f'<bpmn:definitions {NS} id="d"><bpmn:process id="p" name="Izin">{body}' + (
        "</bpmn:process></bpmn:definitions>"
    )


def _cond(text: str) -> str:
    return f'<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">{text}' + (
        "</bpmn:conditionExpression>"
    )


@pytest.mark.parametrize(
    ("text", "lincah"),
    [
        ("${luas > 20 &amp;&amp; jenis == 'toko'}", "luas > 20 and jenis == 'toko'"),
        ("${!setuju}", "not setuju"),
        ("${umur ge 17 || wali != null}", "umur >= 17 or wali != null"),
        ('= status = "lengkap"', 'status == "lengkap"'),
        ("#{jumlah lt 5}", "jumlah < 5"),
        ("${x eq 'a &amp;&amp; b'}", "x == 'a && b'"),
    ],
)
def test_common_juel_and_feel_comparisons_translate(text, lincah):
    import html

    assert translate(html.unescape(text)) == lincah


@pytest.mark.parametrize(
    "text", ["${execution.getVariable('x') > 1}", "${empty dokumen}", "${fn:length(a) > 2}"]
)
def test_what_cannot_be_translated_is_not_guessed(text):
    assert translate(text) is None


XML = _process(
    """
  <bpmn:startEvent id="s" name="Masuk"/>
  <bpmn:userTask id="t1" name="Periksa berkas"/>
  <bpmn:boundaryEvent id="b1" name="Pemohon menarik" attachedToRef="t1">
    <bpmn:messageEventDefinition/>
  </bpmn:boundaryEvent>
  <bpmn:exclusiveGateway id="g1" name="Cek luas" default="f_small"/>
  <bpmn:inclusiveGateway id="i1" name="Pemeriksaan"/>
  <bpmn:userTask id="t2" name="Survei lokasi"/>
  <bpmn:userTask id="t3" name="Cek lingkungan"/>
  <bpmn:inclusiveGateway id="i2" name="Gabung"/>
  <bpmn:parallelGateway id="p1" name="Serentak"/>
  <bpmn:userTask id="t4" name="Tanda tangan"/>
  <bpmn:userTask id="t5" name="Arsip"/>
  <bpmn:parallelGateway id="p2" name="Selesai serentak"/>
  <bpmn:endEvent id="e1" name="Terbit"/>
  <bpmn:endEvent id="e2" name="Gagal"><bpmn:errorEventDefinition/></bpmn:endEvent>
  <bpmn:endEvent id="e3" name="Ditarik"/>
  <bpmn:subProcess id="ev" name="Batal kapan saja" triggeredByEvent="true">
    <bpmn:startEvent id="evs" name="Pembatalan"><bpmn:messageEventDefinition/></bpmn:startEvent>
  </bpmn:subProcess>
  <bpmn:textAnnotation id="note"><bpmn:text>Cek KTP asli</bpmn:text></bpmn:textAnnotation>
  <bpmn:association id="assoc" sourceRef="note" targetRef="t1"/>
  <bpmn:group id="grp" categoryValueRef="cv"/>
  <bpmn:sequenceFlow id="f0" sourceRef="s" targetRef="t1"/>
  <bpmn:sequenceFlow id="f1" sourceRef="t1" targetRef="g1"/>
  <bpmn:sequenceFlow id="fb" sourceRef="b1" targetRef="e3"/>
  <bpmn:sequenceFlow id="f_big" sourceRef="g1" targetRef="i1">"""
    + _cond("${luas &gt; 20}")
    + """</bpmn:sequenceFlow>
  <bpmn:sequenceFlow id="f_odd" sourceRef="g1" targetRef="e2">"""
    + _cond("${execution.getVariable('ditolak')}")
    + """</bpmn:sequenceFlow>
  <bpmn:sequenceFlow id="f_small" sourceRef="g1" targetRef="p1"/>
  <bpmn:sequenceFlow id="f_i1" sourceRef="i1" targetRef="t2">"""
    + _cond("${jenis == 'toko'}")
    + """</bpmn:sequenceFlow>
  <bpmn:sequenceFlow id="f_i2" sourceRef="i1" targetRef="t3">"""
    + _cond("${luas &gt; 100}")
    + """</bpmn:sequenceFlow>
  <bpmn:sequenceFlow id="f_t2" sourceRef="t2" targetRef="i2"/>
  <bpmn:sequenceFlow id="f_t3" sourceRef="t3" targetRef="i2"/>
  <bpmn:sequenceFlow id="f_i3" sourceRef="i2" targetRef="p1"/>
  <bpmn:sequenceFlow id="f_p1" sourceRef="p1" targetRef="t4"/>
  <bpmn:sequenceFlow id="f_p2" sourceRef="p1" targetRef="t5"/>
  <bpmn:sequenceFlow id="f_p3" sourceRef="p1" targetRef="p2"/>
  <bpmn:sequenceFlow id="f_t4" sourceRef="t4" targetRef="p2"/>
  <bpmn:sequenceFlow id="f_t5" sourceRef="t5" targetRef="p2"/>
  <bpmn:sequenceFlow id="f_end" sourceRef="p2" targetRef="e1"/>
"""
)


@pytest.fixture(scope="module")
def imported():
    report = from_bpmn(XML, agency=AGENCY)
    raw = report.definition
    raw["fields"] = [
        {"id": "luas", "label": "Luas", "type": "number"},
        {"id": "jenis", "label": "Jenis"},
    ]
    return report, raw


def _by_name(raw):
    return {s["name"]: s for s in raw["steps"]}


def test_conditions_translate_and_the_rest_are_branches_to_fill_in(imported):
    report, raw = imported
    gate = _by_name(raw)["Cek luas"]
    assert gate["kind"] == "decision"
    assert gate["branches"][0]["when"] == "luas > 20"
    assert gate["branches"][1] == {"when": "", "goto": _by_name(raw)["Gagal"]["id"]}
    assert gate["default"] == _by_name(raw)["Serentak"]["id"]
    assert any("execution.getVariable" in n and "'Gagal'" in n for n in report.notes)
    _, problems = parse_definition(raw)
    assert [p.message for p in problems] == [
        "the condition is empty: write one with the condition builder"
    ]


def test_inclusive_split_checks_each_branch_and_joins(imported):
    _, raw = imported
    raw = copy.deepcopy(raw)
    gate = next(s for s in raw["steps"] if s["name"] == "Cek luas")
    gate["branches"][1]["when"] = "luas < 0"
    d, problems = parse_definition(raw)
    assert d is not None and problems == []
    steps = {s.name: s for s in d.steps}
    split = steps["Pemeriksaan"]
    assert isinstance(split, ParallelStep)
    checks = [c for b in split.branches if isinstance(c := d.step(b), DecisionStep)]
    assert len(checks) == len(split.branches)
    assert [(c.branches[0].when, d.step(c.branches[0].goto).name) for c in checks] == [
        ("jenis == 'toko'", "Survei lokasi"),
        ("luas > 100", "Cek lingkungan"),
    ]
    join = d.step(split.join)
    assert isinstance(join, JoinStep) and join.name == "Gabung"
    assert all(c.default == join.id for c in checks)  # a branch not taken joins at once
    # The parallel split's branch that goes straight to its join is left out.
    par = steps["Serentak"]
    assert isinstance(par, ParallelStep)
    assert sorted(d.step(b).name for b in par.branches) == ["Arsip", "Tanda tangan"]
    assert d.step(par.join).name == "Selesai serentak"


def test_error_end_is_rejected_and_a_message_event_an_outcome(imported):
    report, raw = imported
    steps = _by_name(raw)
    assert steps["Gagal"]["result"] == "rejected" and steps["Terbit"]["result"] == "approved"
    review = steps["Periksa berkas"]
    assert review["outcomes"]["pemohon_menarik"] == steps["Ditarik"]["id"]
    assert any("'Pemohon menarik'" in n and "interrupt" in n for n in report.notes)


def test_left_out_elements_have_the_right_reason(imported):
    report, _ = imported
    why = {i.element: i.reason for i in report.ignored}
    assert "comment on the diagram" in why["note"]
    assert "does not change the flow" in why["assoc"]
    assert "box drawn around" in why["grp"]
    assert "event sub-process" in why["ev"]
    assert "inside the event sub-process 'Batal kapan saja'" in why["evs"]


def test_end_and_review_kinds(imported):
    _, raw = imported
    raw = copy.deepcopy(raw)
    next(s for s in raw["steps"] if s["name"] == "Cek luas")["branches"][1]["when"] = "false"
    d, _ = parse_definition(raw)
    assert d is not None
    assert isinstance(d.step(d.start_step), ReviewStep)
    assert {s.name for s in d.steps if isinstance(s, EndStep)} == {"Terbit", "Gagal", "Ditarik"}
