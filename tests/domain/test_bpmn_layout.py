"""The exported diagram is readable: every edge runs in horizontal and vertical
segments around the shapes (it crosses none), and no label overlaps a shape or another
label, on the demo's services, every step kind, and the MIWG models read back."""

from __future__ import annotations

import itertools
from collections import defaultdict
from pathlib import Path

import pytest

from domain.bpmn import BPMNDI, DC, DI, from_bpmn, parse_xml, to_bpmn
from domain.definition import ServiceDefinition
from lincah.demo import SERVICES
from tests.domain.test_bpmn import AGENCY, EVERY_KIND

MIWG = Path(__file__).resolve().parents[3] / "shared" / "data" / "bpmn-miwg"

Box = tuple[float, float, float, float]


def _definitions() -> dict[str, ServiceDefinition]:
    found = {raw["id"]: ServiceDefinition.model_validate(raw) for raw in SERVICES}
    found["every-kind"] = ServiceDefinition.model_validate(EVERY_KIND)
    for path in sorted(MIWG.glob("*.bpmn")):
        raw = from_bpmn(path.read_bytes(), agency=AGENCY, service_id="miwg").definition
        for step in raw["steps"]:  # the conditions the file leaves to fill in
            for b in step.get("branches", []):
                if isinstance(b, dict) and not b["when"]:
                    b["when"] = "true"
            if step["kind"] == "decision" and "default" not in step:
                step["default"] = step["branches"][-1]["goto"]
        found[path.stem] = ServiceDefinition.model_validate(raw)
    return found


DEFINITIONS = _definitions()


def _bounds(el) -> Box:
    b = el.find(f"{{{DC}}}Bounds")
    return tuple(float(b.get(k)) for k in ("x", "y", "width", "height"))  # type: ignore[return-value]


def _diagram(definition: ServiceDefinition):
    root = parse_xml(to_bpmn(definition))
    shapes = {s.get("bpmnElement"): _bounds(s) for s in root.iter(f"{{{BPMNDI}}}BPMNShape")}
    flows = {
        f.get("id"): (f.get("sourceRef"), f.get("targetRef"))
        for f in root.iter()
        if f.tag.endswith("}sequenceFlow")
    }
    edges, labels = {}, {}
    for e in root.iter(f"{{{BPMNDI}}}BPMNEdge"):
        edges[e.get("bpmnElement")] = [
            (float(w.get("x", "")), float(w.get("y", ""))) for w in e.iter(f"{{{DI}}}waypoint")
        ]
        label = e.find(f"{{{BPMNDI}}}BPMNLabel")
        if label is not None:
            labels[e.get("bpmnElement")] = _bounds(label)
    return shapes, flows, edges, labels


def _crosses(a, b, box: Box) -> bool:
    """Whether the segment a-b passes through the inside of ``box`` (touching its border,
    as an edge does where it leaves or enters a shape, is not crossing)."""
    x, y, w, h = box
    (x0, y0), (x1, y1) = a, b
    if y0 == y1:
        return y < y0 < y + h and min(x0, x1) < x + w and max(x0, x1) > x
    return x < x0 < x + w and min(y0, y1) < y + h and max(y0, y1) > y


def _overlap(a: Box, b: Box) -> bool:
    return a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]


@pytest.mark.parametrize("name", sorted(DEFINITIONS))
def test_edges_go_around_shapes_and_labels_do_not_overlap(name):
    shapes, flows, edges, labels = _diagram(DEFINITIONS[name])
    assert set(edges) == set(flows)
    for fid, points in edges.items():
        assert len(points) >= 2
        for a, b in itertools.pairwise(points):
            assert a[0] == b[0] or a[1] == b[1], f"{fid}: {a} to {b} is not orthogonal"
            for node, box in shapes.items():
                assert not _crosses(a, b, box), f"{fid} crosses {node} at {a} to {b}"
        source, target = flows[fid]
        sx, sy, sw, sh = shapes[source]
        tx, ty, tw, th = shapes[target]
        # It starts on its source's border and ends on its target's.
        assert sx <= points[0][0] <= sx + sw and sy <= points[0][1] <= sy + sh
        assert tx <= points[-1][0] <= tx + tw and ty <= points[-1][1] <= ty + th
    boxes = list(labels.values())
    for a, b in itertools.combinations(boxes, 2):
        assert not _overlap(a, b), f"labels overlap: {a} {b}"
    for label in boxes:
        for node, box in shapes.items():
            assert not _overlap(label, box), f"a label overlaps {node}"


def test_named_flows_have_labels_and_parallel_edges_their_own_tracks():
    shapes, flows, edges, labels = _diagram(DEFINITIONS["every-kind"])
    root = parse_xml(to_bpmn(DEFINITIONS["every-kind"]))
    named = {f.get("id") for f in root.iter() if f.tag.endswith("}sequenceFlow") and f.get("name")}
    assert named and named <= set(labels)
    # No two edges draw the same vertical stretch in a gap (except where they share
    # their start or end point: fanning out of one shape, converging into one).
    verticals = defaultdict(list)
    for fid, points in edges.items():
        for a, b in itertools.pairwise(points):
            if a[0] == b[0] and a[1] != b[1]:
                verticals[a[0]].append((min(a[1], b[1]), max(a[1], b[1]), fid))
    for spans in verticals.values():
        for (a0, a1, fa), (b0, b1, fb) in itertools.combinations(spans, 2):
            if fa != fb and flows[fa][0] != flows[fb][0] and flows[fa][1] != flows[fb][1]:
                assert a1 <= b0 or b1 <= a0, f"{fa} and {fb} share a vertical track"


def test_the_flow_reads_left_to_right():
    shapes, *_ = _diagram(DEFINITIONS["surat-keterangan-domisili"])
    d = DEFINITIONS["surat-keterangan-domisili"]
    first, last = d.start_step, d.steps[-1].id
    assert shapes["StartEvent_1"][0] < shapes[first][0] <= shapes[last][0]
