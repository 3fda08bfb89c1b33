"""One form per step kind. Each form draws widgets initialised from the draft and
returns the step as the widgets now say; the editor page commits the difference as one
undoable change. Adding or removing rows (outcomes, branches, fee rules) are changes of
their own, made by button callbacks."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import streamlit as st

from designer import condition_form, draft
from designer.i18n import _
from domain.definition import STAFF_ROLES, DurationUnit, FieldType
from domain.profile import prefill_paths
from domain.wallet import DOCUMENT_KINDS

ROLES = sorted(STAFF_ROLES)
UNITS = [u.value for u in DurationUnit]
FIELD_TYPES = [t.value for t in FieldType]


@dataclass(frozen=True)
class Context:
    index: int
    step_ids: list[str]
    step_names: dict[str, str]
    field_ids: list[str]
    condition_names: list[str]
    number_names: set[str]
    services: list[str]
    # What the condition builder shows of each name in conditions: its label (a field's,
    # a step's name), its kind (a field type, or "outcome" for a step with a result) and
    # the values to pick from (a choice field's options, a step's results).
    name_labels: dict[str, str] = field(default_factory=dict)
    name_kinds: dict[str, str] = field(default_factory=dict)
    name_options: dict[str, list[str]] = field(default_factory=dict)

    def key(self, *parts: object) -> str:
        return draft.WIDGET_PREFIX + f"{self.index}." + ".".join(str(p) for p in parts)


def _init(key: str, value: Any) -> None:
    if key not in st.session_state:
        st.session_state[key] = value


def text(label: str, key: str, value: str, area: bool = False, **kw: Any) -> str:
    _init(key, value)
    widget = st.text_area if area else st.text_input
    return str(widget(label, key=key, **kw))


def number(label: str, key: str, value: float, **kw: Any) -> float | int:
    _init(key, float(value))
    v = float(st.number_input(label, key=key, **kw))
    return int(v) if v == int(v) else v


def optional_number(label: str, key: str, value: float | None, **kw: Any) -> float | int | None:
    """A number the designer may leave empty (None)."""
    _init(key, None if value is None else float(value))
    v = st.number_input(label, key=key, value=None, **kw)
    if v is None:
        return None
    return int(v) if v == int(v) else float(v)


def choose(label: str, key: str, options: list[str], value: str, **kw: Any) -> str:
    opts = list(options)
    if value not in opts:
        opts.append(value)
    _init(key, value)
    if st.session_state[key] not in opts:
        st.session_state[key] = value
    return str(st.selectbox(label, opts, key=key, **kw))


def check(label: str, key: str, value: bool, **kw: Any) -> bool:
    _init(key, value)
    return bool(st.checkbox(label, key=key, **kw))


def target(label: str, key: str, value: str, ctx: Context) -> str:
    # Translated now: format functions also run outside the script (AppTest), where the
    # session's language is not known.
    missing, choose_one = _("⚠ missing step: {step}"), _("— choose a step —")

    def show(sid: str) -> str:
        if sid not in ctx.step_names:
            return missing.format(step=sid) if sid else choose_one
        return f"{ctx.step_names[sid]} ({sid})"

    return choose(label, key, ctx.step_ids, value, format_func=show)


def optional_target(label: str, key: str, value: str | None, ctx: Context, **kw: Any) -> str | None:
    none = _("— none —")  # translated now, as in target()

    def show(sid: str) -> str:
        if not sid:
            return none
        return f"{ctx.step_names[sid]} ({sid})" if sid in ctx.step_names else f"⚠ {sid}"

    found = choose(label, key, ["", *ctx.step_ids], value or "", format_func=show, **kw)
    return found or None


def duration(label: str, key: str, value: dict[str, Any] | None) -> dict[str, Any]:
    value = value or {"amount": 1, "unit": "working_days"}
    a, b = st.columns([1, 1])
    with a:
        amount = number(label, f"{key}.amount", value.get("amount", 1), min_value=0.0, step=1.0)
    with b:
        unit = choose(_("unit"), f"{key}.unit", UNITS, str(value.get("unit", "working_days")))
    return {"amount": amount, "unit": unit}


def optional_duration(label: str, key: str, value: dict[str, Any] | None) -> dict[str, Any] | None:
    if not check(label, f"{key}.on", value is not None):
        return None
    return duration(_("amount"), key, value)


def deadline(key: str, value: dict[str, Any] | None) -> dict[str, Any] | None:
    if not check(_("Deadline"), f"{key}.on", value is not None):
        return None
    value = value or {"within": {"amount": 3, "unit": "working_days"}}
    out: dict[str, Any] = {"within": duration(_("within"), f"{key}.within", value.get("within"))}
    remind = optional_duration(_("Remind before"), f"{key}.remind", value.get("remind_before"))
    if remind:
        out["remind_before"] = remind
    escalate = choose(
        _("On breach, move the task to"),
        f"{key}.escalate",
        ["", *ROLES],
        value.get("escalate_to") or "",
        format_func=lambda r, keep=_("(keep the role)"): r or keep,
    )
    if escalate:
        out["escalate_to"] = escalate
    return out


def condition(label: str, key: str, value: str, ctx: Context) -> str:
    """A condition, written with the builder by default (``designer.condition_form``)."""
    return condition_form.condition(label, key, value, ctx)


def row_buttons(ctx: Context, name: str, add: Callable[[dict[str, Any]], None], label: str) -> None:
    st.button(
        label,
        key=ctx.key(name, "add"),
        on_click=draft.change,
        args=(add, label),
        kwargs={"reset": True},
    )


def _step_of(d: dict[str, Any], i: int) -> dict[str, Any]:
    step: dict[str, Any] = d["steps"][i]
    return step


def _remover(i: int, attr: str, k: int | str) -> Callable[[dict[str, Any]], None]:
    def mutate(d: dict[str, Any]) -> None:
        container = _step_of(d, i)
        for part in attr.split("."):
            container = container[part]
        if isinstance(container, dict):
            container.pop(str(k), None)
        elif isinstance(container, list) and isinstance(k, int) and k < len(container):
            container.pop(k)

    return mutate


# --- the forms --------------------------------------------------------------------


def edit_step(step: dict[str, Any], ctx: Context) -> dict[str, Any]:
    """Draw the form of ``step``; returns the step as the widgets say."""
    kind = str(step.get("kind"))
    c1, c2 = st.columns([1, 2])
    with c1:
        sid = text(_("Step id"), ctx.key("id"), str(step.get("id", "")),
                   help=_("lower_snake_case; conditions use review ids as names"))  # fmt: skip
    with c2:
        name = text(_("Name"), ctx.key("name"), str(step.get("name", "")))
    out: dict[str, Any] = {"kind": kind, "id": sid.strip(), "name": name}
    body = _FORMS[kind](step, ctx)
    out.update(body)
    # Keys this form does not edit stay as they were (e.g. from an imported file).
    return {**{k: v for k, v in step.items() if k not in out}, **out}


def _form(step: dict[str, Any], ctx: Context) -> dict[str, Any]:
    st.caption(_("The citizen's form (see the Form fields tab) is submitted here."))
    return {"next": target(_("Then"), ctx.key("next"), step.get("next", ""), ctx)}


def _outcome_words(outcome: str) -> str:
    """An outcome id as the words an administrator would type for it (tolak_permohonan:
    "Tolak permohonan"); the id itself where those words would not make it again."""
    words = outcome.replace("_", " ").capitalize()
    return words if draft.unique_id(words, set()) == outcome else outcome


def _review(step: dict[str, Any], ctx: Context) -> dict[str, Any]:
    i = ctx.index
    role = choose(
        _("Role that works the task"), ctx.key("role"), ROLES, step.get("role", "officer")
    )
    instructions = text(_("Instructions"), ctx.key("instructions"), step.get("instructions", ""),
                        area=True)  # fmt: skip
    st.markdown(_("**Outcomes** — what the officer can answer, and where each leads"))
    outcomes: dict[str, str] = {}
    before = dict(step.get("outcomes") or {})
    for k, (outcome, goto) in enumerate(before.items()):
        a, b, c = st.columns([2, 3, 1])
        with a:
            # Words in, an id out: "Tolak permohonan" is kept as tolak_permohonan (the
            # rule of step and field ids), which conditions name; an id reads back as
            # its words, and the same words give the same id back.
            words = text(_("Outcome {number}").format(number=k + 1), ctx.key("out", k, "name"),
                         _outcome_words(outcome),
                         placeholder=_("e.g. Tolak permohonan"))  # fmt: skip
            taken = set(outcomes) | (set(before) - {outcome})
            oid = draft.unique_id(words, taken) if words.strip() else ""
            if oid and oid != words.strip():
                st.caption(_("id `{id}`").format(id=oid))
        with b:
            otarget = target(_("leads to"), ctx.key("out", k, "target"), goto, ctx)
        with c:
            st.button("✕", key=ctx.key("out", k, "del"),
                      help=_("Remove outcome {outcome}").format(outcome=words or outcome),
                      on_click=draft.change, args=(_remover(i, "outcomes", outcome),
                      _("remove outcome {outcome}").format(outcome=outcome)),
                      kwargs={"reset": True})  # fmt: skip
        outcomes[oid] = otarget

    def add(d: dict[str, Any]) -> None:
        found = _step_of(d, i).setdefault("outcomes", {})
        # Unassigned until the administrator chooses: a default target would draw a
        # back-arrow to the first step that nobody asked for.
        found[draft.unique_id("outcome", set(found))] = ""

    row_buttons(ctx, "out", add, _("Add outcome"))
    out: dict[str, Any] = {"role": role, "instructions": instructions, "outcomes": outcomes}
    out["deadline"] = deadline(ctx.key("deadline"), step.get("deadline"))
    return out


def _decision(step: dict[str, Any], ctx: Context) -> dict[str, Any]:
    i = ctx.index
    st.markdown(_("**Branches** — the first whose condition holds is taken"))
    branches = []
    for k, b in enumerate(step.get("branches") or []):
        with st.container(border=True):
            when = condition(_("Condition {number}").format(number=k + 1),
                             ctx.key("br", k, "when"), b.get("when", ""), ctx)  # fmt: skip
            a, c = st.columns([4, 1])
            with a:
                goto = target(_("then go to"), ctx.key("br", k, "goto"), b.get("goto", ""), ctx)
            with c:
                st.button("✕", key=ctx.key("br", k, "del"), help=_("Remove this branch"),
                          on_click=draft.change, args=(_remover(i, "branches", k),
                          _("remove branch")), kwargs={"reset": True})  # fmt: skip
        branches.append({"when": when, "goto": goto})

    def add(d: dict[str, Any]) -> None:
        _step_of(d, i).setdefault("branches", []).append({"when": "", "goto": ""})

    row_buttons(ctx, "br", add, _("Add branch"))
    default = optional_target(
        _("Otherwise (default)"), ctx.key("default"), step.get("default"), ctx
    )
    on_error = optional_target(
        _("If a condition cannot be evaluated"),
        ctx.key("on_error"),
        step.get("on_error"),
        ctx,
        help=_(
            "e.g. a text compared with a number. None: the application goes into an"
            " incident for the administrator; it never counts as a branch that does not "
            "hold."
        ),
    )
    return {"branches": branches, "default": default, "on_error": on_error}


def _notify(step: dict[str, Any], ctx: Context) -> dict[str, Any]:
    names = ", ".join(f"{{{f}}}" for f in ctx.field_ids) or _("none yet")
    message = text(_("Message to the citizen"), ctx.key("message"), step.get("message", ""),
                   area=True, help=_("Placeholders: {names}").format(names=names))  # fmt: skip
    return {
        "message": message,
        "next": target(_("Then"), ctx.key("next"), step.get("next", ""), ctx),
    }


def _end(step: dict[str, Any], ctx: Context) -> dict[str, Any]:
    result = choose(_("Result"), ctx.key("result"), ["approved", "rejected", "cancelled"],
                    step.get("result", "approved"))  # fmt: skip
    return {"result": result}


def _parallel(step: dict[str, Any], ctx: Context) -> dict[str, Any]:
    key = ctx.key("branches")
    current = [b for b in step.get("branches") or [] if isinstance(b, str)]
    _init(key, [b for b in current if b in ctx.step_ids])
    branches = st.multiselect(_("Branches that start at once"), ctx.step_ids, key=key,
                              format_func=lambda sid: ctx.step_names.get(sid, sid),
                              placeholder=_("choose one or more"))  # fmt: skip
    join = target(_("They meet at (a join step)"), ctx.key("join"), step.get("join", ""), ctx)
    return {"branches": list(branches), "join": join}


def _join(step: dict[str, Any], ctx: Context) -> dict[str, Any]:
    modes = {"all": _("all branches"), "first": _("the first branch (the others are withdrawn)")}
    mode = choose(_("Wait for"), ctx.key("mode"), list(modes), step.get("mode", "all"),
                  format_func=modes.__getitem__)  # fmt: skip
    return {"mode": mode, "next": target(_("Then"), ctx.key("next"), step.get("next", ""), ctx)}


def _correction(step: dict[str, Any], ctx: Context) -> dict[str, Any]:
    return {
        "resume": target(_("After the correction, resume at"), ctx.key("resume"),
                         step.get("resume", ""), ctx),
        "abandon_after": duration(_("Abandoned after"), ctx.key("abandon"),
                                  step.get("abandon_after") or {"amount": 14, "unit": "days"}),
        "on_abandon": target(_("If abandoned, go to"), ctx.key("on_abandon"),
                             step.get("on_abandon", ""), ctx),
        "pause_clock": check(_("Pause the service time limit meanwhile"), ctx.key("pause"),
                             bool(step.get("pause_clock", True))),
    }  # fmt: skip


def _payment(step: dict[str, Any], ctx: Context) -> dict[str, Any]:
    i = ctx.index
    fee = step.get("fee") or {}
    amount = number(_("Fee (Rp)"), ctx.key("fee"), fee.get("amount", 0), min_value=0.0, step=1000.0)
    st.markdown(_("**Fee rules** — the first rule that holds sets the fee"))
    rules = []
    for k, r in enumerate(fee.get("rules") or []):
        with st.container(border=True):
            when = condition(_("Rule {number} applies when").format(number=k + 1),
                             ctx.key("rule", k, "when"), r.get("when", ""), ctx)  # fmt: skip
            a, c = st.columns([4, 1])
            with a:
                ramount = number(_("amount (Rp)"), ctx.key("rule", k, "amount"), r.get("amount", 0),
                                 min_value=0.0, step=1000.0)  # fmt: skip
            with c:
                st.button("✕", key=ctx.key("rule", k, "del"), help=_("Remove this rule"),
                          on_click=draft.change, args=(_remover(i, "fee.rules", k),
                          _("remove fee rule")), kwargs={"reset": True})  # fmt: skip
        rules.append({"when": when, "amount": int(ramount)})

    def add(d: dict[str, Any]) -> None:
        _step_of(d, i).setdefault("fee", {"amount": 0}).setdefault("rules", []).append(
            {"when": "", "amount": 0}
        )

    row_buttons(ctx, "rule", add, _("Add fee rule"))
    out: dict[str, Any] = {"fee": {"amount": int(amount), "rules": rules}}
    out["next"] = target(_("When paid, go to"), ctx.key("next"), step.get("next", ""), ctx)
    out["deadline"] = deadline(ctx.key("deadline"), step.get("deadline"))
    out["on_unpaid"] = optional_target(_("Unpaid at the deadline: go to"), ctx.key("unpaid"),
                                       step.get("on_unpaid"), ctx)  # fmt: skip
    return out


def _document(step: dict[str, Any], ctx: Context) -> dict[str, Any]:
    t = step.get("template") or {}
    names = ", ".join(f"{{{f}}}" for f in ctx.field_ids) or _("none yet")
    template = {
        "code": text(_("Number code (e.g. SKD)"), ctx.key("code"), t.get("code", "")),
        "title": text(_("Title"), ctx.key("title"), t.get("title", "")),
        "body": text(_("Body"), ctx.key("body"), t.get("body", ""), area=True,
                     help=_("Placeholders: {names}").format(names=names)),
        "signatory": text(_("Signed by"), ctx.key("signatory"), t.get("signatory", "Kepala Dinas")),
    }  # fmt: skip
    return {"template": template, "next": target(_("Then"), ctx.key("next"), step.get("next", ""),
                                                 ctx)}  # fmt: skip


def _external(step: dict[str, Any], ctx: Context) -> dict[str, Any]:
    event = text(
        _("Event id (posted by the other system)"), ctx.key("event"), step.get("event", "")
    )
    fields_json = json.dumps(step.get("fields") or [], ensure_ascii=False)
    raw = text(_("Fields it brings (JSON list of form fields)"), ctx.key("fields"), fields_json,
               area=True)  # fmt: skip
    try:
        fields = json.loads(raw) if raw.strip() else []
    except ValueError:
        st.error(_("The fields are not valid JSON; the last valid list is kept."))
        fields = step.get("fields") or []
    out: dict[str, Any] = {"event": event, "fields": fields}
    out["timeout"] = optional_duration(_("Time-out"), ctx.key("timeout"), step.get("timeout"))
    out["on_timeout"] = optional_target(_("On time-out go to"), ctx.key("on_timeout"),
                                        step.get("on_timeout"), ctx)  # fmt: skip
    out["next"] = target(_("When received, go to"), ctx.key("next"), step.get("next", ""), ctx)
    return out


def _subservice(step: dict[str, Any], ctx: Context) -> dict[str, Any]:
    service = choose(_("Service to run as a child application"), ctx.key("service"), ctx.services,
                     step.get("service", ""))  # fmt: skip
    lines = "\n".join(f"{k}={v}" for k, v in (step.get("inputs") or {}).items())
    raw = text(
        _("Inputs (child field=this field, one a line)"), ctx.key("inputs"), lines, area=True
    )
    inputs = {
        a.strip(): b.strip()
        for a, _, b in (line.partition("=") for line in raw.splitlines())
        if a.strip() and b.strip()
    }
    return {"service": service, "inputs": inputs,
            "next": target(_("Then"), ctx.key("next"), step.get("next", ""), ctx)}  # fmt: skip


def _face(step: dict[str, Any], ctx: Context) -> dict[str, Any]:
    return {
        "on_match": target(
            _("Face matches: go to"), ctx.key("match"), step.get("on_match", ""), ctx
        ),
        "on_mismatch": target(_("No match (or unusable): go to"), ctx.key("mismatch"),
                              step.get("on_mismatch", ""), ctx),
    }  # fmt: skip


def _appointment(step: dict[str, Any], ctx: Context) -> dict[str, Any]:
    raw = text(_("Locations (ids, comma-separated; empty: any of the agency's)"),
               ctx.key("locations"), ", ".join(step.get("locations") or []))  # fmt: skip
    return {
        "purpose": text(_("What the visit is for (shown to the citizen)"), ctx.key("purpose"),
                        step.get("purpose", "")),
        "locations": [x.strip() for x in raw.split(",") if x.strip()],
        "role": choose(_("Who serves the citizen"), ctx.key("role"), ["officer", "supervisor"],
                       step.get("role", "officer")),
        "deadline": duration(_("The citizen comes within"), ctx.key("deadline"),
                             step.get("deadline") or {"amount": 10, "unit": "working_days"}),
        "next": target(_("Served: go to"), ctx.key("next"), step.get("next", ""), ctx),
        "no_show": target(_("Did not come (or past the deadline): go to"), ctx.key("no_show"),
                          step.get("no_show", ""), ctx),
    }  # fmt: skip


_FORMS: dict[str, Callable[[dict[str, Any], Context], dict[str, Any]]] = {
    "form": _form,
    "review": _review,
    "decision": _decision,
    "notify": _notify,
    "end": _end,
    "parallel": _parallel,
    "join": _join,
    "correction": _correction,
    "payment": _payment,
    "document": _document,
    "external": _external,
    "subservice": _subservice,
    "face_verify": _face,
    "appointment": _appointment,
}
assert set(_FORMS) == set(draft.KIND_LABELS)


def drop_empty(step: dict[str, Any]) -> dict[str, Any]:
    """Optional settings switched off are left out rather than sent as null."""
    return {k: v for k, v in step.items() if v is not None}


# --- form fields ------------------------------------------------------------------


def edit_field(i: int, f: dict[str, Any]) -> dict[str, Any]:
    key = f"{draft.WIDGET_PREFIX}f{i}."
    a, b, c, d = st.columns([2, 3, 2, 1])
    with a:
        fid = text(_("Field id"), key + "id", str(f.get("id", "")))
    with b:
        label = text(_("Label"), key + "label", str(f.get("label", "")))
    with c:
        ftype = choose(_("Type"), key + "type", FIELD_TYPES, str(f.get("type", "text")))
    with d:
        required = check(_("Required"), key + "required", bool(f.get("required", True)))
    out: dict[str, Any] = {**f, "id": fid.strip(), "label": label, "type": ftype,
                           "required": required}  # fmt: skip
    if ftype == "choice" or f.get("choices"):
        raw = text(
            _("Choices (comma separated)"), key + "choices", ", ".join(f.get("choices") or [])
        )
        out["choices"] = [c.strip() for c in raw.split(",") if c.strip()]
    if ftype == "file" or f.get("kinds"):  # an upload requirement: which wallet documents
        known = [k for k in f.get("kinds") or [] if k in DOCUMENT_KINDS]
        out["kinds"] = st.multiselect(
            _("Document kinds it takes (empty: a typed file reference)"),
            list(DOCUMENT_KINDS),
            default=known,
            format_func=lambda k: f"{DOCUMENT_KINDS[k]} ({k})",
            placeholder=_("choose one or more"),
            key=key + "kinds",
        )
    out.pop("min", None)
    out.pop("max", None)
    if ftype == "number":  # limits apply to numbers only; empty: up to ±2^53
        lo, hi = st.columns(2)
        with lo:
            low = optional_number(_("Smallest value (min)"), key + "min", f.get("min"))
        with hi:
            high = optional_number(_("Largest value (max)"), key + "max", f.get("max"))
        out |= {k: v for k, v in (("min", low), ("max", high)) if v is not None}
    # Empty: the citizen types the value; else it comes from their profile, verified or not.
    source = choose(_("Prefill from the profile"), key + "prefill", ["", *prefill_paths()],
                    str(f.get("prefill") or ""),
                    format_func=lambda p: p or _("— not prefilled —"))  # fmt: skip
    out.pop("prefill", None)
    if source:
        out["prefill"] = source
    return out
