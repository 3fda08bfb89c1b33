"""The diagram (BPMN DI) of an exported flow: a layered left-to-right layout whose
edges run around shapes, and labels that overlap neither a shape nor each other.

Nodes sit on a grid: a column per layer (the longest path from the start, loops set
aside) and rows ordered to keep edges short. Between two columns is a gap no shape
stands in, and between two rows a corridor no shape reaches into, so an edge can always
go right into the gap after its source, along a gap to a corridor, along the corridor
to the gap before its target, and into the target's left side: it crosses no shape.
Each edge has its own track in every gap and corridor it uses, so parallel edges do not
draw over each other. Boundary events sit on their task's lower edge; their flows leave
downwards into the corridor below.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import deque
from dataclasses import dataclass, field
from itertools import pairwise

from domain.bpmn.xml import q

_SIZE = {"task": (100.0, 80.0), "gateway": (50.0, 50.0), "event": (36.0, 36.0)}
_COL, _ROW, _X0, _Y0 = 240.0, 180.0, 80.0, 100.0
_GAP = _COL - 100.0
"""Width of the gap between two columns (a task is 100 wide)."""
_TRACK = 10.0
_GAP_TRACKS, _CORRIDOR_TRACKS = 13, 9
"""Tracks that fit in a gap (140 wide) and a corridor (the 82 between a boundary event's
lower edge and the next row); more edges than that share tracks, still crossing no shape."""
_LABEL_CHARS, _LABEL_LINE = 24, 14.0

Box = tuple[float, float, float, float]
Point = tuple[float, float]


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


@dataclass
class _Tracks:
    """Tracks handed out in one gap or corridor, centred on its middle."""

    size: int
    used: dict[int, int] = field(default_factory=dict)

    def take(self, lane: int) -> float:
        k = self.used.get(lane, 0)
        self.used[lane] = k + 1
        k %= self.size
        # 0, +1, -1, +2, -2, ... tracks from the middle
        return (k + 1) // 2 * (1 if k % 2 else -1) * _TRACK


def diagram(
    root: ET.Element, process_id: str, nodes: dict[str, Node], flows: list[Flow], start: str
) -> None:
    """Lay the flow out and write its BPMN DI into ``root``."""
    main = [n for n in nodes.values() if n.host is None]
    out: dict[str, list[str]] = {n.id: [] for n in main}
    for f in flows:
        out[nodes[f.source].host or f.source].append(f.target)
    column = _layers(start, [n.id for n in main], out)
    row = _rows(column, out)

    bounds: dict[str, Box] = {}
    for n in main:
        w, h = _SIZE[_shape_kind(n.tag)]
        cx, cy = _X0 + column[n.id] * _COL + 50, _Y0 + row[n.id] * _ROW + 40
        bounds[n.id] = (cx - w / 2, cy - h / 2, w, h)
    per_host: dict[str, int] = {}
    for n in nodes.values():
        if n.host is not None:
            hx, hy, hw, hh = bounds[n.host]
            k = per_host.get(n.host, 0)
            per_host[n.host] = k + 1
            bounds[n.id] = (hx + hw - 36 - 40 * k, hy + hh - 18, 36, 36)

    gaps, corridors = _Tracks(_GAP_TRACKS), _Tracks(_CORRIDOR_TRACKS)
    routes = {f.id: _route(f, nodes, bounds, column, row, gaps, corridors) for f in flows}
    labels = _labels(flows, routes, list(bounds.values()))

    diagram_el = ET.SubElement(root, q("bpmndi", "BPMNDiagram"), {"id": "BPMNDiagram_1"})
    plane = ET.SubElement(
        diagram_el, q("bpmndi", "BPMNPlane"), {"id": "BPMNPlane_1", "bpmnElement": process_id}
    )
    for n in nodes.values():
        x, y, w, h = bounds[n.id]
        attrs = {"id": f"{n.id}_di", "bpmnElement": n.id}
        if n.tag == "exclusiveGateway":
            attrs["isMarkerVisible"] = "true"
        shape = ET.SubElement(plane, q("bpmndi", "BPMNShape"), attrs)
        ET.SubElement(shape, q("dc", "Bounds"), _num(x=x, y=y, width=w, height=h))
    for f in flows:
        edge = ET.SubElement(
            plane, q("bpmndi", "BPMNEdge"), {"id": f"{f.id}_di", "bpmnElement": f.id}
        )
        for px, py in routes[f.id]:
            ET.SubElement(edge, q("di", "waypoint"), _num(x=px, y=py))
        if f.id in labels:
            x, y, w, h = labels[f.id]
            label = ET.SubElement(edge, q("bpmndi", "BPMNLabel"))
            ET.SubElement(label, q("dc", "Bounds"), _num(x=x, y=y, width=w, height=h))


def _layers(start: str, ids: list[str], out: dict[str, list[str]]) -> dict[str, int]:
    """Each node's column: the longest path to it from the start, with the edges that
    close a loop set aside (found by a depth-first walk). Nodes the start does not reach
    get columns after the rest, in the same way."""
    back: set[tuple[str, str]] = set()
    state: dict[str, int] = {}  # 1: on the walk's path, 2: done
    for root in [start, *ids]:
        if root in state:
            continue
        stack: list[tuple[str, int]] = [(root, 0)]
        state[root] = 1
        while stack:
            node, i = stack.pop()
            if i < len(out[node]):
                stack.append((node, i + 1))
                m = out[node][i]
                if state.get(m) == 1:
                    back.add((node, m))
                elif m not in state:
                    state[m] = 1
                    stack.append((m, 0))
            else:
                state[node] = 2
    indegree = {n: 0 for n in ids}
    for n in ids:
        for m in out[n]:
            if (n, m) not in back:
                indegree[m] += 1
    layer = {n: 0 for n in ids}
    reached = _reach(start, out)
    queue = deque(n for n in ids if indegree[n] == 0)
    while queue:
        n = queue.popleft()
        for m in out[n]:
            if (n, m) in back:
                continue
            layer[m] = max(layer[m], layer[n] + 1)
            indegree[m] -= 1
            if indegree[m] == 0:
                queue.append(m)
    last = max((layer[n] for n in reached), default=0)
    for n in ids:  # unreachable nodes: columns of their own after the flow
        if n not in reached:
            layer[n] += last + 1
    return layer


def _reach(start: str, out: dict[str, list[str]]) -> set[str]:
    seen = {start}
    queue = deque([start])
    while queue:
        for m in out[queue.popleft()]:
            if m not in seen:
                seen.add(m)
                queue.append(m)
    return seen


def _rows(column: dict[str, int], out: dict[str, list[str]]) -> dict[str, int]:
    """Rows within each column, ordered by the mean row of each node's predecessors
    (the barycentre heuristic), so that edges run as straight as they can."""
    preds: dict[str, list[str]] = {n: [] for n in column}
    for n, targets in out.items():
        for m in targets:
            if column[n] < column[m]:
                preds[m].append(n)
    by_column: dict[int, list[str]] = {}
    for n in column:  # insertion order: the flow's own order breaks ties
        by_column.setdefault(column[n], []).append(n)
    row: dict[str, int] = {}
    for c in sorted(by_column):
        placed = by_column[c]

        def centre(n: str) -> float:
            rows = [row[p] for p in preds[n] if p in row]
            return sum(rows) / len(rows) if rows else float("inf")

        placed.sort(key=centre)
        for i, n in enumerate(placed):
            row[n] = i
    return row


def _route(
    f: Flow,
    nodes: dict[str, Node],
    bounds: dict[str, Box],
    column: dict[str, int],
    row: dict[str, int],
    gaps: _Tracks,
    corridors: _Tracks,
) -> list[Point]:
    sx, sy, sw, sh = bounds[f.source]
    tx, ty, _, th = bounds[f.target]
    enter: Point = (tx, ty + th / 2)
    ct = column[f.target]
    host = nodes[f.source].host
    # The gap before the target's column: the last turn before entering it.
    x_in = _gap(ct) + gaps.take(ct)
    if host is not None:  # a boundary event: down into the corridor below its task
        down = (sx + sw / 2, sy + sh)
        y = _corridor(row[host]) + corridors.take(row[host])
        return _clean([down, (down[0], y), (x_in, y), (x_in, enter[1]), enter])
    cs = column[f.source]
    leave: Point = (sx + sw, sy + sh / 2)
    if ct == cs + 1:  # next column: one turn in the gap between them
        return _clean([leave, (x_in, leave[1]), (x_in, enter[1]), enter])
    x_out = _gap(cs + 1) + gaps.take(cs + 1)
    if ct > cs:
        # Forwards over other columns: along the source's or target's row if nothing
        # stands there, else along the corridor between them.
        for level in (leave[1], enter[1]):
            if not _blocked(level, x_out, x_in, bounds):
                return _clean([leave, (x_out, leave[1]), (x_out, level), (x_in, level),
                               (x_in, enter[1]), enter])  # fmt: skip
    lane = row[f.source] if ct <= cs or row[f.target] >= row[f.source] else row[f.target]
    y = _corridor(lane) + corridors.take(lane)
    return _clean([leave, (x_out, leave[1]), (x_out, y), (x_in, y), (x_in, enter[1]), enter])


def _gap(g: int) -> float:
    """The middle of gap ``g``: between columns ``g - 1`` and ``g``."""
    return _X0 + g * _COL - _GAP / 2


def _corridor(r: int) -> float:
    """The middle of the corridor below row ``r``: between its boundary events' lower
    edge (18 below the row's tasks) and the next row's tasks."""
    centre = _Y0 + r * _ROW + 40
    return centre + (58 + _ROW - 40) / 2


def _blocked(y: float, x0: float, x1: float, bounds: dict[str, Box]) -> bool:
    lo, hi = min(x0, x1), max(x0, x1)
    for bx, by, bw, bh in bounds.values():
        if by - 4 <= y <= by + bh + 4 and bx < hi and bx + bw > lo:
            return True
    return False


def _clean(points: list[Point]) -> list[Point]:
    """Without repeated points and points in the middle of a straight line."""
    result: list[Point] = []
    for p in points:
        if result and p == result[-1]:
            continue
        if len(result) >= 2:
            a, b = result[-2], result[-1]
            if (a[0] == b[0] == p[0]) or (a[1] == b[1] == p[1]):
                result[-1] = p
                continue
        result.append(p)
    return result


def _labels(flows: list[Flow], routes: dict[str, list[Point]], shapes: list[Box]) -> dict[str, Box]:
    """A place for each named flow's label beside one of its segments, overlapping no
    shape and no other label; failing that, a row of its own under the diagram."""
    taken = list(shapes)
    placed: dict[str, Box] = {}
    bottom = max((y + h for _, y, _, h in shapes), default=0.0) + 60
    for f in flows:
        if not f.name:
            continue
        lines = max(1, -(-len(f.name) // _LABEL_CHARS))
        w = min(len(f.name), _LABEL_CHARS) * 6.0 + 8
        h = min(lines, 4) * _LABEL_LINE
        spot = next(
            (b for b in _candidates(routes[f.id], w, h) if not any(_overlap(b, t) for t in taken)),
            None,
        )
        if spot is None:
            spot = (_X0, bottom, w, h)
            bottom += h + 8
        taken.append(spot)
        placed[f.id] = spot
    return placed


def _candidates(points: list[Point], w: float, h: float) -> list[Box]:
    found: list[Box] = []
    for (ax, ay), (bx, by) in pairwise(points):
        for t in (0.5, 0.25, 0.75, 0.1, 0.9):
            mx, my = ax + (bx - ax) * t, ay + (by - ay) * t
            if ay == by:  # horizontal: above, then below
                found += [(mx - w / 2, my - h - 3, w, h), (mx - w / 2, my + 3, w, h)]
            else:  # vertical: right, then left
                found += [(mx + 4, my - h / 2, w, h), (mx - w - 4, my - h / 2, w, h)]
    return found


def _overlap(a: Box, b: Box) -> bool:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    return ax < bx + bw + 2 and bx < ax + aw + 2 and ay < by + bh + 2 and by < ay + ah + 2


def _num(**values: float) -> dict[str, str]:
    return {k: f"{v:g}" for k, v in values.items()}
