"""BPMN 2.0 import: Lincah's own exports back to the same definition, other tools'
files as far as Lincah can follow them.

The elements Lincah supports become steps, with their meaning kept; everything else is
listed in the report with its id, type and the reason it was left out.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from domain.bpmn.conditions import translate
from domain.bpmn.xml import BPMN, BPMNDI, LINCAH, BpmnError, local, ns, parse_xml
from domain.definition import STAFF_ROLES
from domain.steps import raw_exits


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
    "transaction": "transactions are not supported; the flow passes straight through it",
    "adHocSubProcess": "ad-hoc sub-processes are not supported; the flow passes through it",
    "intermediateCatchEvent": "Lincah has no wait-for-a-time or signal step here; the flow "
    "passes straight through it",
    "intermediateThrowEvent": "Lincah throws no events; the flow passes straight through it",
}
_DATA = "data only; Lincah keeps the citizen's input as the form's fields"
_NOT_FLOW = {  # elements that draw or describe, and why each is left out
    "dataObject": _DATA,
    "dataObjectReference": _DATA,
    "dataStoreReference": _DATA,
    "ioSpecification": _DATA,
    "property": _DATA,
    "textAnnotation": "a comment on the diagram, not a part of the flow (put what it says "
    "in a step's instructions if officers need it)",
    "association": "links a comment or data to an element on the diagram; it does not "
    "change the flow",
    "group": "a box drawn around elements; it does not change the flow",
    "category": "the label of a group on the diagram; it does not change the flow",
}
_OUTCOME_CONDITION = re.compile(r"""^\s*([A-Za-z_][\w.-]*)\s*==\s*["']([^"']+)["']\s*$""")
_EXPRESSION_WRAPPER = re.compile(r"^\s*[$#]\{(.*)\}\s*$", re.S)
_EVENT_KINDS = ("message", "escalation", "error", "signal", "conditional", "compensate")


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
        self.parent: dict[str, str] = {}
        """Element -> the expanded sub-process it sits in (flattened into the flow)."""
        self.expanded: dict[str, ET.Element] = {}
        self.collapsed: set[str] = set()
        """Sub-processes drawn closed, with nothing inside: one piece of work."""
        self.joins: set[str] = set()
        """Converging gateways that close a parallel or inclusive split."""
        self.extra: list[dict[str, Any]] = []
        """Steps the import adds: the checks in front of an inclusive split's branches."""

    def ignore(self, el: ET.Element, reason: str) -> None:
        self.report.ignored.append(Ignored(el.get("id", "?"), local(el.tag), _name(el), reason))

    def label(self, eid: str | None) -> str:
        """How the report names an element: by its name, as the modeller sees it."""
        el = self.elements.get(eid or "")
        if el is None:
            return f"'{eid}'"
        name = _name(el)
        return f"'{name}'" if name else f"the unnamed {local(el.tag)} ({eid})"

    # Reading ----------------------------------------------------------------
    def read(self) -> None:
        self._read(self.process, None)
        for fid, f in self.flows.items():
            src, tgt = f["source"], f["target"]
            if src not in self.elements or tgt not in self.elements:
                name = f" '{f['name']}'" if f["name"] else ""
                self.report.notes.append(
                    f"a sequence flow{name} ({fid}) joins elements that are not in this "
                    "process; left out"
                )
                continue
            self.out.setdefault(str(src), []).append(fid)
            self.incoming.setdefault(str(tgt), []).append(fid)

    def _read(self, container: ET.Element, inside: str | None) -> None:
        for el in container:
            kind = local(el.tag)
            if ns(el.tag) != BPMN:
                continue
            eid = el.get("id", "")
            if kind == "sequenceFlow":
                self._flow(el)
            elif kind == "subProcess" and el.get("triggeredByEvent") == "true":
                self.ignore(
                    el,
                    "an event sub-process starts when an event happens anywhere in the "
                    "process; Lincah flows have no such events",
                )
                for inner in el.iter():
                    if inner is not el and local(inner.tag) in _FLOW_NODES:
                        self.ignore(inner, f"inside the event sub-process '{_name(el)}'")
            elif kind in _FLOW_NODES:
                self.elements[eid] = el
                if inside is not None:
                    self.parent[eid] = inside
                if kind == "subProcess":
                    if any(local(c.tag) in _FLOW_NODES for c in el):
                        self.expanded[eid] = el
                        self._read(el, eid)
                    else:
                        self.collapsed.add(eid)
                elif kind in {"transaction", "adHocSubProcess"}:
                    for inner in el.iter():
                        if inner is not el and local(inner.tag) in _FLOW_NODES:
                            self.ignore(inner, f"inside {self.label(eid)} ({kind}), left out")
            elif kind == "laneSet":
                self._lanes(el)
            elif kind in _NOT_FLOW:
                self.ignore(el, _NOT_FLOW[kind])
            elif kind not in _REFERENCES:
                self.ignore(el, f"{kind} is not a BPMN element Lincah reads")

    def _flow(self, el: ET.Element) -> None:
        cond_el = el.find(f"{{{BPMN}}}conditionExpression")
        raw = (cond_el.text or "").strip() if cond_el is not None else ""
        wrapped = _EXPRESSION_WRAPPER.match(raw)
        unwrapped = wrapped.group(1).strip() if wrapped else raw
        cond = translate(raw) if raw else None
        self.flows[el.get("id", "")] = {
            "source": el.get("sourceRef"),
            "target": el.get("targetRef"),
            "name": " ".join((el.get("name") or "").split()),
            "condition": cond,
            "raw": unwrapped or None,
            "untranslated": raw if raw and cond is None else None,
        }

    def _lanes(self, lane_set: ET.Element) -> None:
        for lane in lane_set.iter(f"{{{BPMN}}}lane"):
            name = _name(lane)
            role = slug(name)
            if role not in STAFF_ROLES:
                self.report.notes.append(
                    f"lane '{name}' is not a Lincah role "
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
            self.ids[element_id] = self.fresh(base)
        return self.ids[element_id]

    def fresh(self, base: str) -> str:
        sid, n = base, 2
        while sid in self.taken:
            sid, n = f"{base[:58]}_{n}", n + 1
        self.taken.add(sid)
        return sid

    def kind(self, eid: str) -> str:
        return local(self.elements[eid].tag)

    def outs(self, eid: str) -> list[str]:
        return self.out.get(eid, [])

    def target(self, flow_id: str) -> str | None:
        """The element a flow leads to, past elements that are passed through."""
        return self.resolve(self.flows[flow_id]["target"])

    def resolve(self, eid: str | None) -> str | None:
        seen: set[str] = set()
        while eid is not None and eid in self.bridge:
            if eid in seen:
                return None
            seen.add(eid)
            eid = self.bridge[eid]
        return eid

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

    def after(self, sub_process: str) -> str | None:
        """What follows a flattened sub-process: its outgoing flow's target, or what
        follows the sub-process it sits in."""
        outs = self.outs(sub_process)
        if len(outs) > 1:
            self.report.notes.append(
                f"the sub-process {self.label(sub_process)} has {len(outs)} outgoing flows; "
                "its end leads to the first"
            )
        if outs:
            return self.flows[outs[0]]["target"]
        parent = self.parent.get(sub_process)
        return self.after(parent) if parent is not None else None

    def plan_joins(self) -> None:
        for eid in self.elements:
            if (
                self.kind(eid) in {"parallelGateway", "inclusiveGateway"}
                and len(self.outs(eid)) > 1
            ):
                join = self.join_of(eid)
                if join is not None:
                    self.joins.add(join)

    def plan_bridges(self) -> None:
        """Elements Lincah passes through: flattened sub-processes, their start and end
        events, elements it cannot run, and converging gateways (merges)."""
        for sp in self.expanded:
            starts = [c.get("id", "") for c in self.expanded[sp] if local(c.tag) == "startEvent"]
            self.bridge[sp] = starts[0] if starts else self.after(sp)
            self.report.notes.append(
                f"the sub-process {self.label(sp)} is flattened: its steps run in the "
                "flow in its place"
            )
        for eid, el in self.elements.items():
            kind = self.kind(eid)
            outs = self.outs(eid)
            inside = self.parent.get(eid)
            if inside is not None and kind == "startEvent":
                self.bridge[eid] = self.flows[outs[0]]["target"] if outs else self.after(inside)
                continue
            if inside is not None and kind == "endEvent" and _end_kind(el) is None:
                then = self.after(inside)
                if then is not None:  # the sub-process ends; the flow goes on after it
                    self.bridge[eid] = then
                    continue
            merge = (
                kind in {"exclusiveGateway", "inclusiveGateway", "complexGateway"}
                and len(outs) <= 1
                and eid not in self.joins
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
                        f"the gateway {self.label(eid)} only merges paths; Lincah steps "
                        "take any number of incoming paths, so it needs no step"
                    )

    def build(self) -> tuple[list[dict[str, Any]], str | None]:
        self.plan_joins()
        self.plan_bridges()
        boundaries: dict[str, list[ET.Element]] = {}
        for eid, el in self.elements.items():
            if self.kind(eid) == "boundaryEvent":
                boundaries.setdefault(el.get("attachedToRef", ""), []).append(el)
        starts = [e for e in self.elements if self.kind(e) == "startEvent" and e not in self.parent]
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
        for eid in self.bridge:  # passed through: accounted for by where they lead
            if eid in self.expanded or eid in self.parent or self.kind(eid) in _GATEWAYS:
                then = self.resolve(eid)
                self.report.mapped[eid] = (
                    self.step_id(then) if then is not None else self.implicit_end()
                )
        for host, events in boundaries.items():
            for b in events:
                if b.get("id") not in self.used_boundaries:
                    self.ignore(b, self.boundary_left_out(host, host in steps))
        start: str | None = None
        if starts:
            outs = self.outs(starts[0])
            if outs:
                start = self.target_step(outs[0])
                self.report.mapped[starts[0]] = start
        result = [steps[e] for e in order if e not in self.folded] + self.extra
        if "__end__" in self.ids:
            result.append(
                {"kind": "end", "id": self.ids["__end__"], "name": "Selesai", "result": "approved"}
            )
        return result, start

    def boundary_left_out(self, host: str, host_is_step: bool) -> str:
        if host in self.expanded:
            return (
                f"it sits on the sub-process {self.label(host)}, which is flattened into the "
                "flow, and nothing can interrupt a part of a Lincah flow; if officers record "
                "this event, give one of its review steps an outcome for it"
            )
        if not host_is_step:
            return f"the element it sits on, {self.label(host)}, is left out"
        return (
            f"on {self.label(host)} only a timer becomes part of the flow (a timeout); "
            "other events there are not supported"
        )

    def map_element(
        self, eid: str, el: ET.Element, boundaries: list[ET.Element]
    ) -> dict[str, Any] | None:
        if eid in self.folded:
            return None
        kind = self.kind(eid)
        sid = self.step_id(eid)
        name = _name(el) or sid
        outs = self.outs(eid)
        base: dict[str, Any] = {"id": sid, "name": name}
        doc = el.find(f"{{{BPMN}}}documentation")
        doc_text = (doc.text or "").strip() if doc is not None else ""
        if kind == "endEvent":
            end_kind = _end_kind(el)
            if end_kind == "error":
                self.report.notes.append(
                    f"the error end event {self.label(eid)} became an end step with the "
                    "result 'rejected'"
                )
                return {"kind": "end", **base, "result": "rejected"}
            return {"kind": "end", **base, "result": _end_result(name)}
        if kind in _HUMAN or eid in self.collapsed:
            step: dict[str, Any] = {
                "kind": "review",
                **base,
                "role": self.lanes.get(eid, "officer"),
                "outcomes": self.outcomes(eid, outs),
            }
            if eid in self.collapsed:
                self.report.notes.append(
                    f"the collapsed sub-process {self.label(eid)} shows nothing of what it "
                    "holds; it became a review step, done by an officer"
                )
            if doc_text:
                step["instructions"] = doc_text
            for b in boundaries:
                self.boundary_on_review(step, b)
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
                f"the call activity {self.label(eid)} calls service '{called}': check it "
                "is a published Lincah service id"
            )
            return {"kind": "subservice", **base, "service": called, "next": self.one(eid)}
        if kind in {"parallelGateway", "inclusiveGateway"} and len(outs) > 1:
            return self.split(eid, el, base, outs)
        if eid in self.joins or kind == "parallelGateway":
            mode = "first" if kind == "complexGateway" else "all"
            return {"kind": "join", **base, "mode": mode, "next": self.one(eid)}
        if kind in {"exclusiveGateway", "inclusiveGateway", "complexGateway", "eventBasedGateway"}:
            if kind != "exclusiveGateway":
                self.report.notes.append(
                    f"the {kind} {self.label(eid)} became an exclusive decision: Lincah "
                    "takes the first branch whose condition holds"
                )
            return self.decision(eid, el, base, outs)
        self.ignore(el, f"{kind} is not supported")
        return None

    def boundary_on_review(self, step: dict[str, Any], b: ET.Element) -> None:
        bid = b.get("id", "")
        b_outs = self.outs(bid)
        timer = _timer(b)
        if timer is not None:
            if "deadline" in step:
                return
            step["deadline"] = {"within": timer}
            self.used_boundaries.add(bid)
            self.report.mapped[bid] = step["id"]
            if b_outs:
                self.report.notes.append(
                    f"the timer '{_name(b) or bid}' on '{step['name']}' became the review's "
                    "deadline; a Lincah deadline escalates the task, so its outgoing flow "
                    "is left out"
                )
            return
        if not b_outs:
            return
        event = next((k for k in _EVENT_KINDS if _has(b, k)), "event")
        base = slug(_name(b)) or event
        outcome, n = base, 2
        while outcome in step["outcomes"]:
            outcome, n = f"{base[:58]}_{n}", n + 1
        step["outcomes"][outcome] = self.target_step(b_outs[0])
        self.used_boundaries.add(bid)
        self.report.mapped[bid] = step["id"]
        how = (
            "BPMN would interrupt the task"
            if b.get("cancelActivity", "true") != "false"
            else "BPMN would let the task go on beside it"
        )
        self.report.notes.append(
            f"the {event} event '{_name(b) or bid}' on '{step['name']}' became its outcome "
            f"'{outcome}': the officer records that it happened ({how})"
        )

    def split(
        self, eid: str, el: ET.Element, base: dict[str, Any], outs: list[str]
    ) -> dict[str, Any]:
        """A parallel split; an inclusive one checks each branch's condition first."""
        join_el = self.join_of(eid)
        if join_el is None:
            self.report.notes.append(
                f"the gateway {self.label(eid)} has no converging gateway that all its "
                "branches reach; choose the join step in the editor"
            )
        join = self.step_id(join_el) if join_el is not None else "join_missing"
        inclusive = self.kind(eid) == "inclusiveGateway"
        default_flow = el.get("default")
        conditions = [
            str(self.flows[f]["condition"])
            for f in outs
            if f != default_flow and self.flows[f]["condition"]
        ]
        branches: list[str] = []
        for fid in outs:
            f = self.flows[fid]
            if join_el is not None and self.target(fid) == join_el:
                self.report.notes.append(
                    f"a branch of {self.label(eid)} goes straight to its join "
                    f"{self.label(join_el)}; it does nothing, so it is left out"
                )
                continue
            when: str | None = None
            if inclusive and fid == default_flow:
                # Taken only when no other branch is: so its check is "none of them".
                ok = len(conditions) == sum(1 for g in outs if g != default_flow)
                when = " and ".join(f"not ({c})" for c in conditions) if ok else ""
            elif inclusive and (f["condition"] or f["untranslated"]):
                when = str(f["condition"] or "")
                if f["untranslated"]:
                    self.untranslated(eid, fid)
            if when is None:
                branches.append(self.target_step(fid))
                continue
            target = self.target(fid)
            guard = self.fresh(f"{base['id'][:50]}_cek")
            self.extra.append(
                {
                    "kind": "decision",
                    "id": guard,
                    "name": f"{base['name']}: {self.label(target).strip(chr(39))}?"[:120],
                    "branches": [{"when": when, "goto": self.target_step(fid)}],
                    "default": join,
                }
            )
            branches.append(guard)
        if inclusive:
            self.report.notes.append(
                f"the inclusive gateway {self.label(eid)} became a parallel step whose "
                "branches each check their condition first; a branch whose condition does "
                "not hold goes straight to the join"
            )
        return {"kind": "parallel", **base, "branches": branches, "join": join}

    def untranslated(self, eid: str, fid: str) -> None:
        f = self.flows[fid]
        self.report.notes.append(
            f"the condition {f['untranslated']!r} on the flow from {self.label(eid)} to "
            f"{self.label(self.target(fid))} could not be translated into Lincah's "
            "conditions; write it again with the condition builder"
        )

    def one(self, eid: str) -> str:
        outs = self.outs(eid)
        if len(outs) > 1:
            self.report.notes.append(
                f"{self.label(eid)} has {len(outs)} outgoing flows; Lincah follows the "
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
                    f"the gateway {self.label(nxt)} chooses on the answer of "
                    f"{self.label(eid)}: it became that task's outcomes"
                )
                outs = self.outs(nxt)
                default = self.elements[nxt].get("default")
                return self.named(outs, default)
        if not outs:
            return {"done": self.implicit_end()}
        if len(outs) > 1 and not any(self.flows[f]["raw"] for f in outs):
            self.report.notes.append(
                f"{self.label(eid)} has {len(outs)} outgoing flows without conditions: BPMN "
                "takes them all at once, Lincah made them the task's outcomes (the officer "
                "picks one); use a parallel step to run paths at once"
            )
        return self.named(outs, None)

    def is_choice_on(self, gateway: str, task: str) -> bool:
        """An exclusive gateway right after a task whose conditions all test the
        task's answer (``task == "approve"``)."""
        if self.kind(gateway) != "exclusiveGateway" or len(self.outs(gateway)) < 2:
            return False
        if len(self.incoming.get(gateway, [])) != 1:
            return False
        default = self.elements[gateway].get("default")
        tested = False
        for fid in self.outs(gateway):
            raw = self.flows[fid]["raw"]
            if fid == default:
                continue
            m = _OUTCOME_CONDITION.match(raw) if raw else None
            if m is None or m.group(1) not in {task, self.step_id(task)}:
                return False
            tested = True
        return tested

    def named(self, outs: list[str], default: str | None) -> dict[str, str]:
        found: dict[str, str] = {}
        for fid in outs:
            f = self.flows[fid]
            raw = f["raw"]
            m = _OUTCOME_CONDITION.match(raw) if raw else None
            target = self.target(fid)
            label = (
                m.group(2) if m else f["name"] or (_name(self.elements[target]) if target else "")
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
        to_fill: list[str] = []
        for fid in outs:
            f = self.flows[fid]
            if fid == default_flow:
                default = self.target_step(fid)
                continue
            if f["untranslated"]:
                self.untranslated(eid, fid)
            elif not f["condition"]:
                to_fill.append(self.label(self.target(fid)))
            branches.append({"when": str(f["condition"] or ""), "goto": self.target_step(fid)})
        if to_fill:
            self.report.notes.append(
                f"the gateway {self.label(eid)} has flows without a condition (to "
                f"{', '.join(to_fill)}); they became branches whose conditions are to be "
                "filled in with the condition builder"
            )
        step: dict[str, Any] = {"kind": "decision", **base, "branches": branches}
        if default is not None:
            step["default"] = default
        return step

    def join_of(self, split: str) -> str | None:
        """The nearest converging gateway every branch of a split reaches."""
        reach: list[dict[str, int]] = []
        for fid in self.outs(split):
            dist: dict[str, int] = {}
            queue: deque[tuple[str | None, int]] = deque([(self.target(fid), 0)])
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
                and self.kind(n) in {"parallelGateway", "inclusiveGateway", "complexGateway"}
                and len(self.outs(n)) <= 1
            ]
            if reach
            else []
        )
        if not common:
            return None
        return min(common, key=lambda n: max(r[n] for r in reach))


_REFERENCES = {"documentation", "extensionElements", "incoming", "outgoing"}
"""Children that describe their parent (a sub-process read as a container has them)."""
_GATEWAYS = {
    "exclusiveGateway", "inclusiveGateway", "complexGateway", "parallelGateway",
    "eventBasedGateway",
}  # fmt: skip


def _name(el: ET.Element) -> str:
    return " ".join((el.get("name") or "").split())


def _end_kind(el: ET.Element) -> str | None:
    """The kind of an end event's definition (error, terminate, ...), None for a plain end."""
    for child in el:
        tag = local(child.tag)
        if tag.endswith("EventDefinition"):
            return tag.removesuffix("EventDefinition")
    return None


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
    if local(root.tag) != "definitions" or ns(root.tag) != BPMN:
        raise BpmnError("not a BPMN 2.0 file: the root element is not bpmn:definitions")
    processes = [el for el in root if el.tag == f"{{{BPMN}}}process"]
    if not processes:
        raise BpmnError("the file has no process")

    def size(p: ET.Element) -> int:
        return sum(1 for el in p if local(el.tag) in _FLOW_NODES)

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
        kind = local(el.tag)
        if kind in {"process", "BPMNDiagram", "documentation", "extensionElements"}:
            continue
        if kind == "collaboration":
            for part in el:
                report.ignored.append(
                    Ignored(
                        part.get("id", "?"),
                        local(part.tag),
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
        kind = local(el.tag)
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
        queue.extend(target for _, target in raw_exits(by_id[sid]))
    order += [s["id"] for s in steps if s["id"] not in order]
    return [by_id[s] for s in order]


def element_counts(xml: str | bytes) -> dict[str, int]:
    """How many of each BPMN element a file holds (for tests and the import page)."""
    counts: dict[str, int] = {}
    for el in parse_xml(xml).iter():
        if ns(el.tag) == BPMN:
            counts[local(el.tag)] = counts.get(local(el.tag), 0) + 1
    return counts
