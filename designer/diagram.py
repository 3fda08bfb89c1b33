"""The live diagram: Graphviz DOT of a (possibly broken) draft, with the step being
edited, the steps with problems and a simulated path highlighted."""

from __future__ import annotations

import itertools
from collections.abc import Collection, Sequence
from typing import Any

from pydantic import TypeAdapter, ValidationError

from designer.i18n import N_, _
from domain.definition import Step
from domain.steps import raw_exits, transitions

_STEP: TypeAdapter[Any] = TypeAdapter(Step)

_SHAPES = {
    "form": ("note", "#eef4ff"),
    "review": ("box", "#ffffff"),
    "decision": ("diamond", "#fff7e0"),
    "notify": ("cds", "#f3f0ff"),
    "end": ("box", "#f2f2f2"),
    "parallel": ("box3d", "#eefaf0"),
    "join": ("invtriangle", "#eefaf0"),
    "correction": ("box", "#fff0f0"),
    "payment": ("box", "#fffbe6"),
    "document": ("folder", "#eef4ff"),
    "external": ("box", "#f0fbff"),
    "subservice": ("component", "#f7f7f7"),
    "face_verify": ("hexagon", "#f7f0ff"),
    "appointment": ("house", "#eefaf4"),
}


_END_COLOURS = {
    "approved": ("#dafbe1", "#1a7f37"),
    "rejected": ("#ffebe9", "#cf222e"),
    "cancelled": ("#f2f2f2", "#57606a"),
}
_END_WORDS = {"approved": N_("✔ approved"), "rejected": N_("✖ rejected"),
              "cancelled": N_("— cancelled")}  # fmt: skip


def _q(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _short(text: str, limit: int = 28) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def edges(step: dict[str, Any]) -> list[tuple[str, str, bool]]:
    """(target, label, dashed) of a raw step: through its kind's exits when the step is
    well-formed, else read off the keys its kind keeps step ids in."""
    try:
        parsed = _STEP.validate_python(step)
    except ValidationError:
        return [(t, "" if k == "next" else k, False) for k, t in raw_exits(step)]
    return [(t.target, t.label, t.timer is not None) for t in transitions(parsed)]


def dot(
    definition: dict[str, Any],
    selected: str | None = None,
    problems: Collection[str] = (),
    path: Sequence[str] = (),
) -> str:
    """DOT text. ``problems``: ids of steps with problems (red); ``selected``: the step
    being edited (blue, bold); ``path``: steps a simulation walked (green)."""
    steps = [s for s in definition.get("steps", []) if isinstance(s, dict)]
    ids = {str(s.get("id")) for s in steps}
    walked = set(path)
    walked_edges = set(itertools.pairwise(path))
    lines = [
        "digraph flow {",
        '  graph [rankdir=TB, bgcolor="transparent", fontname="Helvetica", nodesep=0.35];',
        '  node [fontname="Helvetica", fontsize=11, style="rounded,filled", penwidth=1.2];',
        '  edge [fontname="Helvetica", fontsize=9, color="#666666"];',
        '  __start [shape=circle, label="", width=0.25, style=filled, fillcolor="#333333"];',
    ]
    start = definition.get("start") or (steps[0].get("id") if steps else None)
    if start:
        lines.append(f"  __start -> {_q(str(start))};")
    missing: set[str] = set()
    for s in steps:
        sid = str(s.get("id"))
        kind = str(s.get("kind", "?"))
        shape, fill = _SHAPES.get(kind, ("box", "#ffffff"))
        label = f"{_short(str(s.get('name') or sid))}\n({sid})"
        if kind == "review" and s.get("role"):
            label += f"\n[{s.get('role')}]"
        attrs = [f"label={_q(label)}", f"shape={shape}", f'fillcolor="{fill}"']
        if kind == "end":  # its result in colour and words: approved, rejected, ...
            result = str(s.get("result") or "approved")
            fill, border = _END_COLOURS.get(result, ("#f2f2f2", "#666666"))
            label += f"\n{_(_END_WORDS.get(result, result))}"
            attrs = [f"label={_q(label)}", "shape=box", f'fillcolor="{fill}"',
                     f'color="{border}"', "peripheries=2", f"tooltip={_q(result)}"]  # fmt: skip
        if sid in walked:
            attrs += ['color="#1a7f37"', "penwidth=2.5", 'fillcolor="#dafbe1"']
        if sid in problems:
            attrs += ['color="#cf222e"', "penwidth=2.5", 'fillcolor="#ffebe9"']
        if sid == selected:
            attrs += [
                'color="#0969da"',
                "penwidth=3.5",
                'fontcolor="#0969da"',
                'style="rounded,filled,bold"',
            ]
        lines.append(f"  {_q(sid)} [{', '.join(attrs)}];")
        for target, label, dashed in edges(s):
            if target not in ids:
                missing.add(target)
            eattrs = [f"label={_q(_short(label, 30))}"] if label else []
            if dashed:
                eattrs.append("style=dashed")
            if (sid, target) in walked_edges:
                eattrs += ['color="#1a7f37"', "penwidth=2.5"]
            lines.append(f"  {_q(sid)} -> {_q(target)} [{', '.join(eattrs)}];")
    for m in sorted(missing):
        label = _("missing: {step}").format(step=m)
        lines.append(
            f'  {_q(m)} [label={_q(label)}, shape=box, style="dashed,filled", '
            'fillcolor="#ffebe9", color="#cf222e", fontcolor="#cf222e"];'
        )
    lines.append("}")
    return "\n".join(lines)
