"""BPMN 2.0 export and import of service flows. Pure: text in, text or data out.

Export writes a process that Camunda Modeler and bpmn.io open, with its diagram
(BPMN DI): start event, tasks, exclusive and parallel gateways, sequence flows with
condition expressions (in Lincah's condition language), timer boundary events. Each
element also carries its Lincah step as JSON in ``extensionElements``, so a file
exported by Lincah imports back to the very same definition.

Import reads files from other tools too: the elements Lincah supports become steps,
with their meaning kept; everything else is listed in the report with its id, type and
the reason it was left out. Untrusted XML is parsed with expat directly: a DOCTYPE
(and with it every entity declaration, the door to "billion laughs" and external
entities) is refused, and so is a file over ``MAX_BYTES``.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET  # building trees only; parsing goes through expat
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from xml.parsers import expat

from domain.definition import (
    STAFF_ROLES,
    AnyStep,
    CorrectionStep,
    DecisionStep,
    DocumentStep,
    Duration,
    DurationUnit,
    EndStep,
    ExternalStep,
    FaceVerifyStep,
    FormStep,
    JoinStep,
    NotifyStep,
    ParallelStep,
    PaymentStep,
    ReviewStep,
    ServiceDefinition,
    SubserviceStep,
)

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
BPMNDI = "http://www.omg.org/spec/BPMN/20100524/DI"
DC = "http://www.omg.org/spec/DD/20100524/DC"
DI = "http://www.omg.org/spec/DD/20100524/DI"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
LINCAH = "urn:lincah:bpmn:1"
MAX_BYTES = 5_000_000

_PREFIXES = {"bpmn": BPMN, "bpmndi": BPMNDI, "dc": DC, "di": DI, "xsi": XSI, "lincah": LINCAH}


class BpmnError(ValueError):
    """A file that cannot be imported at all (not XML, no process, refused content)."""


# --- transitions ------------------------------------------------------------------


@dataclass(frozen=True)
class Transition:
    """One way out of a step, labelled for people (diagrams, BPMN flows)."""

    target: str
    label: str = ""
    condition: str | None = None
    """A Lincah condition that selects this way (decision branches, review outcomes)."""
    default: bool = False
    timer: Duration | None = None
    """Taken when this much time passes (time-outs, abandoned corrections, unpaid fees)."""


def transitions(step: AnyStep) -> list[Transition]:
    """Every way out of ``step``; the targets are ``definition.successors(step)``."""
    match step:
        case FormStep() | NotifyStep() | DocumentStep() | SubserviceStep() | JoinStep():
            return [Transition(step.next)]
        case ReviewStep():
            return [
                Transition(target, outcome, condition=f'{step.id} == "{outcome}"')
                for outcome, target in step.outcomes.items()
            ]
        case DecisionStep():
            found = [Transition(b.goto, b.when, condition=b.when) for b in step.branches]
            if step.default:
                found.append(Transition(step.default, "default", default=True))
            if step.on_error:
                found.append(Transition(step.on_error, "condition error"))
            return found
        case EndStep():
            return []
        case ParallelStep():
            return [Transition(b) for b in step.branches]
        case CorrectionStep():
            return [
                Transition(step.resume, "corrected"),
                Transition(
                    step.on_abandon,
                    f"abandoned ({_words(step.abandon_after)})",
                    timer=step.abandon_after,
                ),
            ]
        case PaymentStep():
            paid = [Transition(step.next, "paid")]
            if step.on_unpaid:
                within = step.deadline.within if step.deadline else None
                label = f"unpaid ({_words(within)})" if within else "unpaid"
                paid.append(Transition(step.on_unpaid, label, timer=within))
            return paid
        case ExternalStep():
            got = [Transition(step.next, f"{step.event} received")]
            if step.on_timeout:
                label = f"time-out ({_words(step.timeout)})" if step.timeout else "time-out"
                got.append(Transition(step.on_timeout, label, timer=step.timeout))
            return got
        case FaceVerifyStep():
            return [
                Transition(step.on_match, "match", condition=f'{step.id} == "match"'),
                Transition(step.on_mismatch, "mismatch", default=True),
            ]
    raise TypeError(f"unknown step {step!r}")


def _words(d: Duration | None) -> str:
    if d is None:
        return ""
    unit = {"working_days": "working day", "days": "day", "hours": "hour"}.get(
        d.unit.value, d.unit.value.rstrip("s")
    )
    return f"{d.amount:g} {unit}{'s' if d.amount != 1 else ''}"


# --- export -----------------------------------------------------------------------

_TAG = {
    "form": "userTask",
    "review": "userTask",
    "decision": "exclusiveGateway",
    "notify": "sendTask",
    "end": "endEvent",
    "parallel": "parallelGateway",
    "join": "parallelGateway",
    "correction": "userTask",
    "payment": "receiveTask",
    "document": "serviceTask",
    "external": "receiveTask",
    "subservice": "callActivity",
    "face_verify": "serviceTask",
}
_SIZE = {"task": (100.0, 80.0), "gateway": (50.0, 50.0), "event": (36.0, 36.0)}
_COL, _ROW, _X0, _Y0 = 170.0, 130.0, 80.0, 100.0


def _q(prefix: str, local: str) -> str:
    return f"{{{_PREFIXES[prefix]}}}{local}"


def _shape_kind(tag: str) -> str:
    if tag.endswith("Gateway"):
        return "gateway"
    return "event" if tag.endswith("Event") else "task"


@dataclass
class _Node:
    id: str
    tag: str
    name: str
    element: ET.Element
    host: str | None = None  # boundary events: the task they sit on


@dataclass
class _Flow:
    id: str
    source: str
    target: str
    name: str = ""
    condition: str | None = None


def to_bpmn(definition: ServiceDefinition) -> str:
    """The definition's flow as BPMN 2.0 XML with its diagram."""
    for prefix, uri in _PREFIXES.items():
        ET.register_namespace(prefix, uri)
    root = ET.Element(
        _q("bpmn", "definitions"),
        {
            "id": f"Definitions_{definition.id}",
            "targetNamespace": f"urn:lincah:service:{definition.id}",
            "exporter": "Lincah",
            "exporterVersion": "1",
        },
    )
    process_id = f"Process_{definition.id}"
    process = ET.SubElement(
        root,
        _q("bpmn", "process"),
        {"id": process_id, "name": definition.name, "isExecutable": "true"},
    )
    if definition.description:
        ET.SubElement(process, _q("bpmn", "documentation")).text = definition.description
    data = definition.model_dump(mode="json", exclude={"steps"})
    _lincah(process, "definition", data)

    nodes: dict[str, _Node] = {}
    flows: list[_Flow] = []

    def node(node_id: str, tag: str, name: str, **attrs: str) -> _Node:
        el = ET.SubElement(process, _q("bpmn", tag), {"id": node_id, "name": name, **attrs})
        nodes[node_id] = _Node(node_id, tag, name, el)
        return nodes[node_id]

    def flow(source: str, target: str, name: str = "", condition: str | None = None) -> _Flow:
        f = _Flow(f"Flow_{len(flows) + 1}", source, target, name, condition)
        flows.append(f)
        return f

    start = node(
        "StartEvent_1", "startEvent", "Permohonan diterima", **{_q("lincah", "aux"): "true"}
    )
    flow(start.id, definition.start_step)
    for step in definition.steps:
        tag = _TAG[step.kind]
        attrs: dict[str, str] = {_q("lincah", "kind"): step.kind}
        if isinstance(step, ParallelStep | JoinStep):
            attrs["gatewayDirection"] = (
                "Diverging" if isinstance(step, ParallelStep) else "Converging"
            )
        if isinstance(step, SubserviceStep):
            attrs["calledElement"] = step.service
        if isinstance(step, JoinStep) and step.mode == "first":
            tag = "complexGateway"
        n = node(step.id, tag, step.name, **attrs)
        doc = _documentation(step)
        if doc:
            ET.SubElement(n.element, _q("bpmn", "documentation")).text = doc
        _lincah(n.element, "step", step.model_dump(mode="json"))
        ways = transitions(step)
        choices = [t for t in ways if t.timer is None]
        timed = [t for t in ways if t.timer is not None]
        if isinstance(step, DecisionStep):
            for t in choices:
                f = flow(step.id, t.target, t.label, None if t.default else t.condition)
                if t.default:
                    n.element.set("default", f.id)
        elif len(choices) > 1 and not isinstance(step, ParallelStep):
            # A human's (or a check's) choice: the task, then a gateway on its answer.
            gw = node(
                f"Gateway_{step.id}",
                "exclusiveGateway",
                f"{step.name}?",
                gatewayDirection="Diverging",
                **{_q("lincah", "aux"): "true"},
            )
            flow(step.id, gw.id)
            for t in choices:
                f = flow(gw.id, t.target, t.label, None if t.default else t.condition)
                if t.default:
                    gw.element.set("default", f.id)
        else:
            for t in choices:
                flow(step.id, t.target, t.label)
        for k, t in enumerate(timed):
            assert t.timer is not None
            b = _boundary(process, nodes, step.id, k, t.timer, interrupting=True, name=t.label)
            flow(b.id, t.target, t.label)
        deadline = getattr(step, "deadline", None)
        if isinstance(step, ReviewStep) and deadline is not None:
            who = f"escalate to {deadline.escalate_to}" if deadline.escalate_to else "overdue"
            _boundary(
                process,
                nodes,
                step.id,
                len(timed),
                deadline.within,
                interrupting=False,
                name=f"{who} after {_words(deadline.within)}",
            )
    for f in flows:
        if f.source not in nodes or f.target not in nodes:
            continue  # a transition to a missing step: the validator reports it
        attrs = {"id": f.id, "sourceRef": f.source, "targetRef": f.target}
        if f.name:
            attrs["name"] = f.name
        el = ET.SubElement(process, _q("bpmn", "sequenceFlow"), attrs)
        if f.condition:
            cond = ET.SubElement(
                el, _q("bpmn", "conditionExpression"), {_q("xsi", "type"): "bpmn:tFormalExpression"}
            )
            cond.text = f.condition
        _insert_incoming_outgoing(nodes[f.source].element, "outgoing", f.id)
        _insert_incoming_outgoing(nodes[f.target].element, "incoming", f.id)
    flows = [f for f in flows if f.source in nodes and f.target in nodes]
    _diagram(root, process_id, nodes, flows, start.id)
    ET.indent(root)
    xml = ET.tostring(root, encoding="unicode")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + xml + "\n"


def _documentation(step: AnyStep) -> str:
    match step:
        case ReviewStep():
            return f"Role: {step.role}. {step.instructions}".strip()
        case NotifyStep():
            return step.message
        case DocumentStep():
            return (
                f"{step.template.title} ({step.template.code}), signed by {step.template.signatory}"
            )
        case PaymentStep():
            return f"Fee: Rp {step.fee.amount}" + (" (rules apply)" if step.fee.rules else "")
        case ExternalStep():
            return f"Waits for event '{step.event}'"
    return ""


def _lincah(parent: ET.Element, local: str, data: dict[str, Any]) -> None:
    ext = parent.find(_q("bpmn", "extensionElements"))
    if ext is None:
        ext = ET.SubElement(parent, _q("bpmn", "extensionElements"))
    ET.SubElement(ext, _q("lincah", local)).text = json.dumps(
        data, ensure_ascii=False, sort_keys=True
    )


def _insert_incoming_outgoing(el: ET.Element, local: str, flow_id: str) -> None:
    ET.SubElement(el, _q("bpmn", local)).text = flow_id


def _boundary(
    process: ET.Element,
    nodes: dict[str, _Node],
    host: str,
    index: int,
    duration: Duration,
    interrupting: bool,
    name: str,
) -> _Node:
    node_id = f"Timer_{host}_{index + 1}"
    el = ET.SubElement(
        process,
        _q("bpmn", "boundaryEvent"),
        {
            "id": node_id,
            "name": name,
            "attachedToRef": host,
            "cancelActivity": "true" if interrupting else "false",
            _q("lincah", "aux"): "true",
        },
    )
    timer = ET.SubElement(el, _q("bpmn", "timerEventDefinition"))
    iso = ET.SubElement(
        timer, _q("bpmn", "timeDuration"), {_q("xsi", "type"): "bpmn:tFormalExpression"}
    )
    iso.text = _iso_duration(duration)
    el.set(_q("lincah", "unit"), duration.unit.value)
    nodes[node_id] = _Node(node_id, "boundaryEvent", name, el, host=host)
    return nodes[node_id]


def _iso_duration(d: Duration) -> str:
    amount = f"{d.amount:g}"
    if d.unit == DurationUnit.HOURS:
        return f"PT{amount}H"
    if d.unit.value == "minutes":
        return f"PT{amount}M"
    return f"P{amount}D"


def _diagram(
    root: ET.Element, process_id: str, nodes: dict[str, _Node], flows: list[_Flow], start: str
) -> None:
    """A left-to-right layered layout: each node's column is its distance from the
    start; boundary events sit on their task's lower edge."""
    out: dict[str, list[str]] = {n: [] for n in nodes}
    for f in flows:
        src = nodes[f.source].host or f.source
        out[src].append(f.target)
    column: dict[str, int] = {start: 0}
    queue = deque([start])
    while queue:
        current = queue.popleft()
        for m in out[current]:
            if m not in column:
                column[m] = column[current] + 1
                queue.append(m)
    last = max(column.values(), default=0)
    for n in nodes.values():  # unreachable nodes: a column of their own at the end
        if n.host is None and n.id not in column:
            column[n.id] = last + 1
    rows: dict[int, int] = {}
    bounds: dict[str, tuple[float, float, float, float]] = {}
    for n in nodes.values():
        if n.host is not None:
            continue
        col = column[n.id]
        row = rows.get(col, 0)
        rows[col] = row + 1
        w, h = _SIZE[_shape_kind(n.tag)]
        cx, cy = _X0 + col * _COL + 50, _Y0 + row * _ROW + 40
        bounds[n.id] = (cx - w / 2, cy - h / 2, w, h)
    per_host: dict[str, int] = {}
    for n in nodes.values():
        if n.host is not None:
            hx, hy, hw, hh = bounds[n.host]
            k = per_host.get(n.host, 0)
            per_host[n.host] = k + 1
            bounds[n.id] = (hx + hw - 36 - 40 * k, hy + hh - 18, 36, 36)
    bottom = max((y + h for _, y, _, h in bounds.values()), default=0) + 40

    diagram = ET.SubElement(root, _q("bpmndi", "BPMNDiagram"), {"id": "BPMNDiagram_1"})
    plane = ET.SubElement(
        diagram, _q("bpmndi", "BPMNPlane"), {"id": "BPMNPlane_1", "bpmnElement": process_id}
    )
    for n in nodes.values():
        x, y, w, h = bounds[n.id]
        attrs = {"id": f"{n.id}_di", "bpmnElement": n.id}
        if n.tag == "exclusiveGateway":
            attrs["isMarkerVisible"] = "true"
        shape = ET.SubElement(plane, _q("bpmndi", "BPMNShape"), attrs)
        ET.SubElement(shape, _q("dc", "Bounds"), _num(x=x, y=y, width=w, height=h))
    for f in flows:
        sx, sy, sw, sh = bounds[f.source]
        tx, ty, tw, th = bounds[f.target]
        if nodes[f.source].host is not None:  # leave a boundary event downwards
            start_pt = (sx + sw / 2, sy + sh)
            points = [start_pt, (start_pt[0], ty + th / 2), (tx, ty + th / 2)]
            if tx <= start_pt[0]:
                points = [
                    start_pt,
                    (start_pt[0], bottom),
                    (tx + tw / 2, bottom),
                    (tx + tw / 2, ty + th),
                ]
        elif tx > sx + sw:  # forwards
            a, b = (sx + sw, sy + sh / 2), (tx, ty + th / 2)
            mid = (a[0] + b[0]) / 2
            points = [a, b] if a[1] == b[1] else [a, (mid, a[1]), (mid, b[1]), b]
        else:  # backwards (a loop): go round underneath
            a, b = (sx + sw / 2, sy + sh), (tx + tw / 2, ty + th)
            points = [a, (a[0], bottom), (b[0], bottom), b]
        edge = ET.SubElement(
            plane, _q("bpmndi", "BPMNEdge"), {"id": f"{f.id}_di", "bpmnElement": f.id}
        )
        for px, py in points:
            ET.SubElement(edge, _q("di", "waypoint"), _num(x=px, y=py))


def _num(**values: float) -> dict[str, str]:
    return {k: f"{v:g}" for k, v in values.items()}


# --- safe parsing -----------------------------------------------------------------


def parse_xml(data: str | bytes) -> ET.Element:
    """Parse untrusted XML into an ElementTree element with expat, refusing any DOCTYPE
    (so no entity can be declared or fetched) and files over ``MAX_BYTES``."""
    if len(data) > MAX_BYTES:
        raise BpmnError(f"the file is larger than {MAX_BYTES // 1_000_000} MB")
    builder = ET.TreeBuilder()
    parser = expat.ParserCreate(
        encoding="utf-8" if isinstance(data, str) else None, namespace_separator="}"
    )

    def name(raw: str) -> str:
        return "{" + raw if "}" in raw else raw

    def refuse_doctype(*_: object) -> int:
        raise BpmnError("the file has a DOCTYPE; BPMN files need none, so it is refused")

    def start(tag: str, attrs: dict[str, str]) -> None:
        builder.start(name(tag), {name(k): v for k, v in attrs.items()})

    parser.StartDoctypeDeclHandler = refuse_doctype
    parser.EntityDeclHandler = refuse_doctype
    parser.ExternalEntityRefHandler = refuse_doctype
    parser.StartElementHandler = start
    parser.EndElementHandler = lambda tag: builder.end(name(tag))
    parser.CharacterDataHandler = builder.data
    try:
        parser.Parse(data, True)
    except expat.ExpatError as e:
        raise BpmnError(f"not well-formed XML: {e}") from None
    return builder.close()


# --- import -----------------------------------------------------------------------


@dataclass(frozen=True)
class Ignored:
    element: str
    type: str
    name: str
    reason: str


@dataclass
class BpmnImport:
    definition: dict[str, Any]
    """Raw definition JSON: check it with ``domain.validation.parse_definition``."""
    process: str
    processes: list[str]
    ignored: list[Ignored] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    mapped: dict[str, str] = field(default_factory=dict)
    """BPMN element id -> the Lincah step it became (or became part of)."""


_FLOW_NODES = {
    "task", "userTask", "manualTask", "sendTask", "receiveTask", "serviceTask", "scriptTask",
    "businessRuleTask", "callActivity", "subProcess", "transaction", "adHocSubProcess",
    "startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent",
    "boundaryEvent", "exclusiveGateway", "parallelGateway", "inclusiveGateway",
    "complexGateway", "eventBasedGateway",
}  # fmt: skip
_HUMAN = {"task", "userTask", "manualTask"}
_PASS_THROUGH = {
    "serviceTask": "Lincah runs no automatic calls; the flow passes straight through it",
    "scriptTask": "Lincah runs no scripts; the flow passes straight through it",
    "businessRuleTask": "Lincah has no rule tasks (use a decision step's conditions); "
    "the flow passes straight through it",
    "subProcess": "embedded sub-processes are not supported (make it a service of its own "
    "and call it with a subservice step); the flow passes straight through it",
    "transaction": "transactions are not supported; the flow passes straight through it",
    "adHocSubProcess": "ad-hoc sub-processes are not supported; the flow passes through it",
    "intermediateCatchEvent": "Lincah has no wait-for-a-time or signal step here; the flow "
    "passes straight through it",
    "intermediateThrowEvent": "Lincah throws no events; the flow passes straight through it",
}
_DOCUMENTATION_ONLY = {
    "dataObject", "dataObjectReference", "dataStoreReference", "textAnnotation",
    "association", "group", "category", "ioSpecification", "property",
}  # fmt: skip
_OUTCOME_CONDITION = re.compile(r"""^\s*([A-Za-z_][\w.-]*)\s*==\s*["']([^"']+)["']\s*$""")
_EXPRESSION_WRAPPER = re.compile(r"^\s*[$#]\{(.*)\}\s*$", re.S)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _ns(tag: str) -> str:
    return tag[1:].split("}", 1)[0] if tag.startswith("{") else ""


def slug(text: str, sep: str = "_", limit: int = 63) -> str:
    """A Lincah id from any text: lower case letters, digits and ``sep``."""
    s = re.sub(r"[^a-z0-9]+", sep, text.lower()).strip(sep)
    if s and not s[0].isalpha():
        s = f"s{sep}{s}"
    return s[:limit].rstrip(sep)


class _Importer:
    def __init__(self, process: ET.Element, report: BpmnImport) -> None:
        self.process = process
        self.report = report
        self.elements: dict[str, ET.Element] = {}
        self.flows: dict[str, dict[str, str | None]] = {}
        self.out: dict[str, list[str]] = {}
        self.incoming: dict[str, list[str]] = {}
        self.lanes: dict[str, str] = {}
        self.ids: dict[str, str] = {}
        self.taken: set[str] = {"true", "false", "null"}
        self.bridge: dict[str, str | None] = {}
        self.folded: set[str] = set()
        self.used_boundaries: set[str] = set()

    def ignore(self, el: ET.Element, reason: str) -> None:
        self.report.ignored.append(
            Ignored(el.get("id", "?"), _local(el.tag), el.get("name", ""), reason)
        )

    # Reading ----------------------------------------------------------------
    def read(self) -> None:
        for el in self.process:
            kind = _local(el.tag)
            if _ns(el.tag) != BPMN:
                continue
            if kind == "sequenceFlow":
                self._flow(el)
            elif kind in _FLOW_NODES:
                self.elements[el.get("id", "")] = el
                if kind == "subProcess" or kind in {"transaction", "adHocSubProcess"}:
                    for inner in el.iter():
                        if inner is not el and _local(inner.tag) in _FLOW_NODES:
                            self.ignore(inner, f"inside {kind} {el.get('id')}, which is left out")
            elif kind == "laneSet":
                self._lanes(el)
            elif kind in _DOCUMENTATION_ONLY:
                self.ignore(
                    el,
                    "documentation or data only; Lincah keeps the citizen's "
                    "input as the form's fields",
                )
            elif kind not in {"documentation", "extensionElements"}:
                self.ignore(el, f"{kind} is not a BPMN element Lincah reads")
        for fid, f in self.flows.items():
            src, tgt = f["source"], f["target"]
            if src not in self.elements or tgt not in self.elements:
                self.report.notes.append(f"sequence flow {fid} joins unknown elements; left out")
                continue
            self.out.setdefault(str(src), []).append(fid)
            self.incoming.setdefault(str(tgt), []).append(fid)

    def _flow(self, el: ET.Element) -> None:
        cond_el = el.find(f"{{{BPMN}}}conditionExpression")
        cond = (cond_el.text or "").strip() if cond_el is not None else ""
        wrapped = _EXPRESSION_WRAPPER.match(cond)
        if wrapped:
            cond = wrapped.group(1).strip()
        self.flows[el.get("id", "")] = {
            "source": el.get("sourceRef"),
            "target": el.get("targetRef"),
            "name": (el.get("name") or "").strip(),
            "condition": cond or None,
        }

    def _lanes(self, lane_set: ET.Element) -> None:
        for lane in lane_set.iter(f"{{{BPMN}}}lane"):
            name = lane.get("name", "")
            role = slug(name)
            if role not in STAFF_ROLES:
                self.report.notes.append(
                    f"lane {lane.get('id')} ('{name}') is not a Lincah role "
                    f"({', '.join(sorted(STAFF_ROLES))}); its tasks go to 'officer'"
                )
                role = "officer"
            for ref in lane.iter(f"{{{BPMN}}}flowNodeRef"):
                self.lanes[(ref.text or "").strip()] = role

    # Mapping ----------------------------------------------------------------
    def step_id(self, element_id: str) -> str:
        if element_id not in self.ids:
            el = self.elements[element_id]
            base = slug(el.get("name", "")) or slug(element_id) or "step"
            sid, n = base, 2
            while sid in self.taken:
                sid, n = f"{base[:58]}_{n}", n + 1
            self.taken.add(sid)
            self.ids[element_id] = sid
        return self.ids[element_id]

    def kind(self, eid: str) -> str:
        return _local(self.elements[eid].tag)

    def outs(self, eid: str) -> list[str]:
        return self.out.get(eid, [])

    def target(self, flow_id: str) -> str | None:
        """The element a flow leads to, past elements that are passed through."""
        seen: set[str] = set()
        t = self.flows[flow_id]["target"]
        while t is not None and t in self.bridge:
            if t in seen:
                return None
            seen.add(t)
            t = self.bridge[t]
        return t

    def target_step(self, flow_id: str) -> str:
        t = self.target(flow_id)
        return self.step_id(t) if t is not None else self.implicit_end()

    def implicit_end(self) -> str:
        if "__end__" not in self.ids:
            self.ids["__end__"] = "selesai" if "selesai" not in self.taken else "selesai_end"
            self.taken.add(self.ids["__end__"])
            self.report.notes.append(
                f"paths that stop without an end event lead to a new end step "
                f"'{self.ids['__end__']}' (approved)"
            )
        return self.ids["__end__"]

    def plan_bridges(self) -> None:
        """Elements Lincah passes through, and converging gateways (merges)."""
        for eid, el in self.elements.items():
            kind = self.kind(eid)
            outs = self.outs(eid)
            merge = (
                kind in {"exclusiveGateway", "inclusiveGateway", "complexGateway"}
                and len(outs) <= 1
            )
            if kind in _PASS_THROUGH or merge:
                self.bridge[eid] = self.flows[outs[0]]["target"] if outs else None
                if kind in _PASS_THROUGH:
                    reason = _PASS_THROUGH[kind]
                    if len(outs) > 1:
                        reason += "; only its first outgoing flow is kept"
                    self.ignore(el, reason)
                else:
                    self.report.notes.append(
                        f"{kind} {eid} only merges paths; Lincah steps take any number "
                        "of incoming paths, so it needs no step"
                    )

    def build(self) -> tuple[list[dict[str, Any]], str | None]:
        self.plan_bridges()
        boundaries: dict[str, list[ET.Element]] = {}
        for eid, el in self.elements.items():
            if self.kind(eid) == "boundaryEvent":
                boundaries.setdefault(el.get("attachedToRef", ""), []).append(el)
        starts = [e for e in self.elements if self.kind(e) == "startEvent"]
        for extra in starts[1:]:
            self.ignore(self.elements[extra], "a Lincah service has one start; the first is used")
        steps: dict[str, dict[str, Any]] = {}
        order: list[str] = []
        for eid, el in self.elements.items():
            kind = self.kind(eid)
            if eid in self.bridge or kind in {"startEvent", "boundaryEvent"}:
                continue
            step = self.map_element(eid, el, boundaries.get(eid, []))
            if step is not None:
                steps[eid] = step
                order.append(eid)
                self.report.mapped[eid] = step["id"]
        for host, events in boundaries.items():
            for b in events:
                if b.get("id") not in self.used_boundaries:
                    why = (
                        "its task is left out"
                        if host not in steps
                        else "only timer events on tasks and receive tasks are supported"
                    )
                    self.ignore(b, why)
        start: str | None = None
        if starts:
            outs = self.outs(starts[0])
            if outs:
                start = self.target_step(outs[0])
                self.report.mapped[starts[0]] = start
        result = [steps[e] for e in order if e not in self.folded]
        if "__end__" in self.ids:
            result.append(
                {"kind": "end", "id": self.ids["__end__"], "name": "Selesai", "result": "approved"}
            )
        return result, start

    def map_element(
        self, eid: str, el: ET.Element, boundaries: list[ET.Element]
    ) -> dict[str, Any] | None:
        if eid in self.folded:
            return None
        kind = self.kind(eid)
        sid = self.step_id(eid)
        name = (el.get("name") or "").strip() or sid
        outs = self.outs(eid)
        base: dict[str, Any] = {"id": sid, "name": name}
        doc = el.find(f"{{{BPMN}}}documentation")
        doc_text = (doc.text or "").strip() if doc is not None else ""
        if kind == "endEvent":
            return {"kind": "end", **base, "result": _end_result(name)}
        if kind in _HUMAN:
            step: dict[str, Any] = {
                "kind": "review",
                **base,
                "role": self.lanes.get(eid, "officer"),
                "outcomes": self.outcomes(eid, outs),
            }
            if doc_text:
                step["instructions"] = doc_text
            for b in boundaries:
                timer = _timer(b)
                if timer is not None and "deadline" not in step:
                    step["deadline"] = {"within": timer}
                    self.used_boundaries.add(b.get("id", ""))
                    self.report.mapped[b.get("id", "")] = sid
                    if self.outs(b.get("id", "")):
                        self.report.notes.append(
                            f"timer {b.get('id')} on '{name}' became the review's deadline; a "
                            "Lincah deadline escalates the task, so its outgoing flow is left out"
                        )
            return step
        if kind == "sendTask" or (kind == "intermediateThrowEvent" and _has(el, "message")):
            return {"kind": "notify", **base, "message": doc_text or name, "next": self.one(eid)}
        if kind == "receiveTask":
            step = {
                "kind": "external",
                **base,
                "event": slug(name) or "event",
                "next": self.one(eid),
            }
            for b in boundaries:
                timer = _timer(b)
                b_outs = self.outs(b.get("id", ""))
                if timer is not None and b_outs and "timeout" not in step:
                    step["timeout"] = timer
                    step["on_timeout"] = self.target_step(b_outs[0])
                    self.used_boundaries.add(b.get("id", ""))
                    self.report.mapped[b.get("id", "")] = sid
            return step
        if kind == "callActivity":
            called = slug(el.get("calledElement", "") or name, sep="-")
            if len(called) < 2:
                called = "service-to-choose"
            self.report.notes.append(
                f"call activity {eid} calls service '{called}': check it is a published "
                "Lincah service id"
            )
            return {"kind": "subservice", **base, "service": called, "next": self.one(eid)}
        if kind == "parallelGateway":
            if len(outs) > 1:
                return {
                    "kind": "parallel",
                    **base,
                    "branches": [self.target_step(f) for f in outs],
                    "join": self.find_join(eid),
                }
            return {"kind": "join", **base, "mode": "all", "next": self.one(eid)}
        if kind in {"exclusiveGateway", "inclusiveGateway", "complexGateway", "eventBasedGateway"}:
            if kind != "exclusiveGateway":
                self.report.notes.append(
                    f"{kind} {eid} became an exclusive decision: Lincah takes the first "
                    "branch whose condition holds"
                )
            return self.decision(eid, el, base, outs)
        self.ignore(el, f"{kind} is not supported")
        return None

    def one(self, eid: str) -> str:
        outs = self.outs(eid)
        if len(outs) > 1:
            el = self.elements[eid]
            self.report.notes.append(
                f"{_local(el.tag)} {eid} has {len(outs)} outgoing flows; Lincah follows the "
                "first (use a parallel step to run paths at once)"
            )
        return self.target_step(outs[0]) if outs else self.implicit_end()

    def outcomes(self, eid: str, outs: list[str]) -> dict[str, str]:
        """A human task's outcomes: its outgoing flows, or the flows of the exclusive
        gateway right after it that chooses on the task's answer."""
        if len(outs) == 1:
            nxt = self.target(outs[0])
            if nxt is not None and self.is_choice_on(nxt, eid):
                self.folded.add(nxt)
                self.report.mapped[nxt] = self.step_id(eid)
                self.report.notes.append(
                    f"exclusive gateway {nxt} became the outcomes of task {eid}"
                )
                outs = self.outs(nxt)
                default = self.elements[nxt].get("default")
                return self.named(outs, default)
        if not outs:
            return {"done": self.implicit_end()}
        if len(outs) > 1 and not any(self.flows[f]["condition"] for f in outs):
            self.report.notes.append(
                f"task {eid} has {len(outs)} outgoing flows without conditions: BPMN takes "
                "them all at once, Lincah made them the task's outcomes (the officer picks "
                "one); use a parallel step to run paths at once"
            )
        return self.named(outs, None)

    def is_choice_on(self, gateway: str, task: str) -> bool:
        if self.kind(gateway) != "exclusiveGateway" or len(self.outs(gateway)) < 2:
            return False
        if len(self.incoming.get(gateway, [])) != 1:
            return False
        default = self.elements[gateway].get("default")
        for fid in self.outs(gateway):
            cond = self.flows[fid]["condition"]
            if fid == default or cond is None:
                continue
            m = _OUTCOME_CONDITION.match(cond)
            if m is None or m.group(1) not in {task, self.step_id(task)}:
                return False
        return True

    def named(self, outs: list[str], default: str | None) -> dict[str, str]:
        found: dict[str, str] = {}
        for fid in outs:
            f = self.flows[fid]
            cond = f["condition"]
            m = _OUTCOME_CONDITION.match(cond) if cond else None
            target = self.target(fid)
            label = (
                m.group(2)
                if m
                else f["name"] or (self.elements[target].get("name", "") if target else "")
            )
            if len(outs) == 1 and not f["name"]:
                label = "done"
            base = slug(str(label)) or ("other" if fid == default else "done")
            name, n = base, 2
            while name in found:
                name, n = f"{base}_{n}", n + 1
            found[name] = self.target_step(fid)
        return found

    def decision(
        self, eid: str, el: ET.Element, base: dict[str, Any], outs: list[str]
    ) -> dict[str, Any]:
        default_flow = el.get("default")
        branches: list[dict[str, str]] = []
        default: str | None = None
        for fid in outs:
            f = self.flows[fid]
            if fid == default_flow:
                default = self.target_step(fid)
            elif f["condition"]:
                branches.append({"when": str(f["condition"]), "goto": self.target_step(fid)})
            elif default is None and default_flow is None:
                default = self.target_step(fid)
                self.report.notes.append(
                    f"flow {fid} of {eid} has no condition; it became the decision's default"
                )
            else:
                self.report.notes.append(
                    f"flow {fid} of {eid} has no condition and is not the default; it is "
                    "left out (give it a condition in the editor)"
                )
        step: dict[str, Any] = {"kind": "decision", **base, "branches": branches}
        if default is not None:
            step["default"] = default
        return step

    def find_join(self, split: str) -> str:
        """The nearest converging parallel gateway every branch reaches."""
        reach: list[dict[str, int]] = []
        for fid in self.outs(split):
            dist: dict[str, int] = {}
            t = self.target(fid)
            queue: deque[tuple[str | None, int]] = deque([(t, 0)])
            while queue:
                n, d = queue.popleft()
                if n is None or n in dist:
                    continue
                dist[n] = d
                for f in self.outs(n):
                    queue.append((self.target(f), d + 1))
            reach.append(dist)
        common = (
            [
                n
                for n in reach[0]
                if all(n in r for r in reach[1:])
                and self.kind(n) == "parallelGateway"
                and len(self.outs(n)) <= 1
            ]
            if reach
            else []
        )
        if not common:
            self.report.notes.append(
                f"parallel gateway {split} has no converging parallel gateway that all its "
                "branches reach; choose the join step in the editor"
            )
            return "join_missing"
        return self.step_id(min(common, key=lambda n: max(r[n] for r in reach)))


def _has(el: ET.Element, definition: str) -> bool:
    return el.find(f"{{{BPMN}}}{definition}EventDefinition") is not None


def _end_result(name: str) -> str:
    low = name.lower()
    if any(w in low for w in ("tolak", "reject", "refus", "denied", "decline")):
        return "rejected"
    if any(w in low for w in ("batal", "cancel", "abort", "withdraw")):
        return "cancelled"
    return "approved"


_ISO = re.compile(r"^P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+(?:\.\d+)?)H)?(?:(\d+)M)?)?$")


def _timer(b: ET.Element) -> dict[str, Any] | None:
    timer = b.find(f"{{{BPMN}}}timerEventDefinition")
    if timer is None:
        return None
    el = timer.find(f"{{{BPMN}}}timeDuration")
    text = (el.text or "").strip() if el is not None else ""
    m = _ISO.match(text)
    if not m or not any(m.groups()):
        return None
    weeks, days, hours, minutes = (float(g) if g else 0.0 for g in m.groups())
    unit = b.get(f"{{{LINCAH}}}unit")
    if minutes and not (weeks or days or hours):
        return {"amount": _whole(minutes), "unit": "minutes"}
    if hours or minutes:
        return {"amount": _whole((weeks * 7 + days) * 24 + hours + minutes / 60), "unit": "hours"}
    amount = _whole(weeks * 7 + days)
    return {"amount": amount, "unit": unit if unit in {"working_days", "days"} else "days"}


def _whole(x: float) -> float | int:
    return int(x) if x == int(x) else round(x, 4)


def _embedded(el: ET.Element, local: str) -> dict[str, Any] | None:
    ext = el.find(f"{{{BPMN}}}extensionElements")
    item = ext.find(f"{{{LINCAH}}}{local}") if ext is not None else None
    if item is None or not item.text:
        return None
    try:
        data = json.loads(item.text)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def from_bpmn(
    data: str | bytes,
    *,
    process_id: str | None = None,
    service_id: str | None = None,
    agency: dict[str, str] | None = None,
) -> BpmnImport:
    """Read a BPMN 2.0 file into a raw Lincah definition and a report of what was left
    out and why. ``process_id`` picks one process of several (default: the largest);
    ``service_id`` and ``agency`` fill what a foreign file cannot say."""
    root = parse_xml(data)
    if _local(root.tag) != "definitions" or _ns(root.tag) != BPMN:
        raise BpmnError("not a BPMN 2.0 file: the root element is not bpmn:definitions")
    processes = [el for el in root if el.tag == f"{{{BPMN}}}process"]
    if not processes:
        raise BpmnError("the file has no process")

    def size(p: ET.Element) -> int:
        return sum(1 for el in p if _local(el.tag) in _FLOW_NODES)

    if process_id is not None:
        chosen = next((p for p in processes if p.get("id") == process_id), None)
        if chosen is None:
            known = ", ".join(str(p.get("id")) for p in processes)
            raise BpmnError(f"there is no process {process_id!r}; the file has: {known}")
    else:
        chosen = max(processes, key=size)
    report = BpmnImport(
        definition={}, process=chosen.get("id", ""), processes=[str(p.get("id")) for p in processes]
    )
    for p in processes:
        if p is not chosen:
            report.ignored.append(
                Ignored(
                    p.get("id", "?"),
                    "process",
                    p.get("name", ""),
                    "a Lincah service is one process; import this one on its own",
                )
            )
    for el in root:
        kind = _local(el.tag)
        if kind in {"process", "BPMNDiagram", "documentation", "extensionElements"}:
            continue
        if kind == "collaboration":
            for part in el:
                report.ignored.append(
                    Ignored(
                        part.get("id", "?"),
                        _local(part.tag),
                        part.get("name", ""),
                        "pools and message flows between them are not part of a Lincah flow",
                    )
                )
            continue
        report.ignored.append(
            Ignored(el.get("id", "?"), kind, el.get("name", ""), "not used by a Lincah flow")
        )
    embedded = _embedded(chosen, "definition")
    if embedded is not None:
        _from_lincah(chosen, embedded, report)
    else:
        _from_foreign(root, chosen, report, service_id, agency)
    if root.find(f"{{{BPMNDI}}}BPMNDiagram") is not None:
        report.notes.append("the diagram layout (BPMN DI) is not kept; Lincah lays flows out")
    return report


def _from_lincah(process: ET.Element, base: dict[str, Any], report: BpmnImport) -> None:
    steps: list[dict[str, Any]] = []
    for el in process:
        step = _embedded(el, "step")
        kind = _local(el.tag)
        if step is not None:
            name = (el.get("name") or "").strip()
            if name and name != step.get("name"):
                report.notes.append(f"step {el.get('id')} renamed to '{name}' in the file")
                step["name"] = name
            steps.append(step)
        elif el.get(f"{{{LINCAH}}}aux") == "true" or kind in {
            "sequenceFlow", "documentation", "extensionElements", "laneSet",
        }:  # fmt: skip
            continue
        elif kind in _FLOW_NODES:
            report.ignored.append(
                Ignored(
                    el.get("id", "?"),
                    kind,
                    el.get("name", ""),
                    "added outside Lincah to a Lincah export; add the step in the designer",
                )
            )
    report.definition = {**base, "steps": steps}
    report.notes.append(f"{len(steps)} steps read from the Lincah data in the file")


def _from_foreign(
    root: ET.Element,
    process: ET.Element,
    report: BpmnImport,
    service_id: str | None,
    agency: dict[str, str] | None,
) -> None:
    imp = _Importer(process, report)
    imp.read()
    steps, start = imp.build()
    if start is None and steps:
        report.notes.append("the process has no start event; the first step is the start")
    name = (process.get("name") or root.get("name") or process.get("id") or "Imported").strip()
    sid = service_id or slug(name, sep="-") or "imported-service"
    if len(sid) < 2:
        sid = f"{sid}-service"
    ordered = _reachable_first(steps, start)
    definition: dict[str, Any] = {
        "id": sid,
        "name": name,
        "agency": agency or {"code": "XXX", "name": "Agency"},
        "description": f"Imported from BPMN process {process.get('id')}",
        "fields": [],
        "steps": ordered,
    }
    if start is not None and ordered and ordered[0]["id"] != start:
        definition["start"] = start
    report.definition = definition


def _reachable_first(steps: list[dict[str, Any]], start: str | None) -> list[dict[str, Any]]:
    """Steps in walking order from the start, the others after them."""
    by_id = {s["id"]: s for s in steps}
    order: list[str] = []
    queue = deque([start] if start else [])
    while queue:
        sid = queue.popleft()
        if sid in order or sid not in by_id:
            continue
        order.append(sid)
        queue.extend(_targets(by_id[sid]))
    order += [s["id"] for s in steps if s["id"] not in order]
    return [by_id[s] for s in order]


def _targets(step: dict[str, Any]) -> Iterator[str]:
    for key in ("next", "default", "join", "on_timeout", "resume", "on_abandon"):
        if isinstance(step.get(key), str):
            yield step[key]
    yield from (step.get("outcomes") or {}).values()
    yield from (b["goto"] for b in step.get("branches") or [] if isinstance(b, dict))
    yield from (b for b in step.get("branches") or [] if isinstance(b, str))


def element_counts(xml: str | bytes) -> dict[str, int]:
    """How many of each BPMN element a file holds (for tests and the import page)."""
    counts: dict[str, int] = {}
    for el in parse_xml(xml).iter():
        if _ns(el.tag) == BPMN:
            counts[_local(el.tag)] = counts.get(_local(el.tag), 0) + 1
    return counts
