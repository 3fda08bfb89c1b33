"""BPMN 2.0 export of a service flow, with its diagram.

The process opens in Camunda Modeler and bpmn.io: start event, tasks, exclusive and
parallel gateways, sequence flows with condition expressions (in Lincah's condition
language), timer boundary events. Each element also carries its Lincah step as JSON in
``extensionElements``, so a file exported by Lincah imports back to the very same
definition. Which element a step becomes is its kind's (``domain.steps``).
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from typing import Any

from domain.bpmn.layout import Flow, Node, diagram
from domain.bpmn.xml import PREFIXES, q
from domain.definition import Duration, DurationUnit, ServiceDefinition
from domain.steps import kind_of, transitions
from domain.steps.kind import words


def to_bpmn(definition: ServiceDefinition) -> str:
    """The definition's flow as BPMN 2.0 XML with its diagram."""
    for prefix, uri in PREFIXES.items():
        ET.register_namespace(prefix, uri)
    root = ET.Element(
        q("bpmn", "definitions"),
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
        q("bpmn", "process"),
        {"id": process_id, "name": definition.name, "isExecutable": "true"},
    )
    if definition.description:
        ET.SubElement(process, q("bpmn", "documentation")).text = definition.description
    data = definition.model_dump(mode="json", exclude={"steps"})
    _lincah(process, "definition", data)

    nodes: dict[str, Node] = {}
    flows: list[Flow] = []

    def node(node_id: str, tag: str, name: str, **attrs: str) -> Node:
        el = ET.SubElement(process, q("bpmn", tag), {"id": node_id, "name": name, **attrs})
        nodes[node_id] = Node(node_id, tag, name, el)
        return nodes[node_id]

    def flow(source: str, target: str, name: str = "", condition: str | None = None) -> Flow:
        f = Flow(f"Flow_{len(flows) + 1}", source, target, name, condition)
        flows.append(f)
        return f

    start = node(
        "StartEvent_1", "startEvent", "Permohonan diterima", **{q("lincah", "aux"): "true"}
    )
    flow(start.id, definition.start_step)
    for step in definition.steps:
        element = kind_of(step).bpmn(step)
        attrs = {q("lincah", "kind"): step.kind, **element.attributes}
        n = node(step.id, element.tag, step.name, **attrs)
        if element.documentation:
            ET.SubElement(n.element, q("bpmn", "documentation")).text = element.documentation
        _lincah(n.element, "step", step.model_dump(mode="json"))
        ways = transitions(step)
        choices = [t for t in ways if t.timer is None]
        timed = [t for t in ways if t.timer is not None]
        if element.gateway == "exclusive":  # the step itself chooses: conditions on its flows
            for t in choices:
                f = flow(step.id, t.target, t.label, None if t.default else t.condition)
                if t.default:
                    n.element.set("default", f.id)
        elif len(choices) > 1 and element.gateway is None:
            # A human's (or a check's) choice: the task, then a gateway on its answer.
            gw = node(
                f"Gateway_{step.id}",
                "exclusiveGateway",
                f"{step.name}?",
                gatewayDirection="Diverging",
                **{q("lincah", "aux"): "true"},
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
        deadline = element.escalation
        if deadline is not None:
            who = f"escalate to {deadline.escalate_to}" if deadline.escalate_to else "overdue"
            _boundary(
                process,
                nodes,
                step.id,
                len(timed),
                deadline.within,
                interrupting=False,
                name=f"{who} after {words(deadline.within)}",
            )
    for f in flows:
        if f.source not in nodes or f.target not in nodes:
            continue  # a transition to a missing step: the validator reports it
        attrs = {"id": f.id, "sourceRef": f.source, "targetRef": f.target}
        if f.name:
            attrs["name"] = f.name
        el = ET.SubElement(process, q("bpmn", "sequenceFlow"), attrs)
        if f.condition:
            cond = ET.SubElement(
                el, q("bpmn", "conditionExpression"), {q("xsi", "type"): "bpmn:tFormalExpression"}
            )
            cond.text = f.condition
        _insert_incoming_outgoing(nodes[f.source].element, "outgoing", f.id)
        _insert_incoming_outgoing(nodes[f.target].element, "incoming", f.id)
    flows = [f for f in flows if f.source in nodes and f.target in nodes]
    diagram(root, process_id, nodes, flows, start.id)
    ET.indent(root)
    xml = ET.tostring(root, encoding="unicode")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + xml + "\n"


def _lincah(parent: ET.Element, local: str, data: dict[str, Any]) -> None:
    ext = parent.find(q("bpmn", "extensionElements"))
    if ext is None:
        ext = ET.SubElement(parent, q("bpmn", "extensionElements"))
    ET.SubElement(ext, q("lincah", local)).text = json.dumps(
        data, ensure_ascii=False, sort_keys=True
    )


def _insert_incoming_outgoing(el: ET.Element, local: str, flow_id: str) -> None:
    ET.SubElement(el, q("bpmn", local)).text = flow_id


def _boundary(
    process: ET.Element,
    nodes: dict[str, Node],
    host: str,
    index: int,
    duration: Duration,
    interrupting: bool,
    name: str,
) -> Node:
    node_id = f"Timer_{host}_{index + 1}"
    el = ET.SubElement(
        process,
        q("bpmn", "boundaryEvent"),
        {
            "id": node_id,
            "name": name,
            "attachedToRef": host,
            "cancelActivity": "true" if interrupting else "false",
            q("lincah", "aux"): "true",
        },
    )
    timer = ET.SubElement(el, q("bpmn", "timerEventDefinition"))
    iso = ET.SubElement(
        timer, q("bpmn", "timeDuration"), {q("xsi", "type"): "bpmn:tFormalExpression"}
    )
    iso.text = _iso_duration(duration)
    el.set(q("lincah", "unit"), duration.unit.value)
    nodes[node_id] = Node(node_id, "boundaryEvent", name, el, host=host)
    return nodes[node_id]


def _iso_duration(d: Duration) -> str:
    amount = f"{d.amount:g}"
    if d.unit == DurationUnit.HOURS:
        return f"PT{amount}H"
    if d.unit.value == "minutes":
        return f"PT{amount}M"
    return f"P{amount}D"
