"""The diagram (BPMN DI) of an exported flow: a left-to-right layered layout."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import deque
from dataclasses import dataclass

from domain.bpmn.xml import q

_SIZE = {"task": (100.0, 80.0), "gateway": (50.0, 50.0), "event": (36.0, 36.0)}
_COL, _ROW, _X0, _Y0 = 170.0, 130.0, 80.0, 100.0


def _shape_kind(tag: str) -> str:
    if tag.endswith("Gateway"):
        return "gateway"
    return "event" if tag.endswith("Event") else "task"


@dataclass
class Node:
    id: str
    tag: str
    name: str
    element: ET.Element
    host: str | None = None  # boundary events: the task they sit on


@dataclass
class Flow:
    id: str
    source: str
    target: str
    name: str = ""
    condition: str | None = None


def diagram(
    root: ET.Element, process_id: str, nodes: dict[str, Node], flows: list[Flow], start: str
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

    diagram = ET.SubElement(root, q("bpmndi", "BPMNDiagram"), {"id": "BPMNDiagram_1"})
    plane = ET.SubElement(
        diagram, q("bpmndi", "BPMNPlane"), {"id": "BPMNPlane_1", "bpmnElement": process_id}
    )
    for n in nodes.values():
        x, y, w, h = bounds[n.id]
        attrs = {"id": f"{n.id}_di", "bpmnElement": n.id}
        if n.tag == "exclusiveGateway":
            attrs["isMarkerVisible"] = "true"
        shape = ET.SubElement(plane, q("bpmndi", "BPMNShape"), attrs)
        ET.SubElement(shape, q("dc", "Bounds"), _num(x=x, y=y, width=w, height=h))
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
            plane, q("bpmndi", "BPMNEdge"), {"id": f"{f.id}_di", "bpmnElement": f.id}
        )
        for px, py in points:
            ET.SubElement(edge, q("di", "waypoint"), _num(x=px, y=py))


def _num(**values: float) -> dict[str, str]:
    return {k: f"{v:g}" for k, v in values.items()}
