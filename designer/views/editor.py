"""Flow editor: steps of every kind, the citizen's form fields, the service's standard;
live checks pointing at the step or field concerned; a live diagram; undo."""

from __future__ import annotations

import copy
import json
from typing import Any

import streamlit as st

from designer import checks, draft, forms, session
from designer.client import ApiError
from designer.diagram import dot
from designer.i18n import _, iso_moment, ngettext
from designer.standard import COMPONENTS, standard_groups
from domain.interpreter import condition_names
from domain.steps.face_verify import VALUES as FACE_VALUES

st.title(_("Flow editor"))
user = session.require_login()
if user["role"] != "agency_admin":
    st.warning(_("Only agency admins edit service flows."))
    st.stop()
flash = st.session_state.pop("flash", None)
if flash:
    st.success(flash)

d = draft.current()
if d is None:
    st.info(_("Open a service to edit, or create one in the Service catalogue."))
    session.offer_unsaved_work()
    services = session.services_or_stop()
    if services:
        names = {s["service_id"]: s["name"] for s in services}
        chosen = st.selectbox(_("Service"), list(names), format_func=lambda i: f"{names[i]} ({i})",
                              key="editor.open")  # fmt: skip
        if st.button(_("Open in the editor"), key="editor.open.go", type="primary"):
            session.open_in_editor(chosen)
    st.stop()
assert d is not None

steps: list[dict[str, Any]] = d.setdefault("steps", [])
ids = [str(s.get("id")) for s in steps]
if st.session_state.get("selected") not in ids:
    st.session_state["selected"] = ids[0] if ids else None
selected: str | None = st.session_state.get("selected")


def select(step_id: str | None) -> None:
    st.session_state["selected"] = step_id
    st.session_state["sel_gen"] = st.session_state.get("sel_gen", 0) + 1


# --- header: undo, save -----------------------------------------------------------
found, source = checks.problems(d)
bad_steps = checks.problem_steps(found, d)
top = st.columns([3, 1, 1, 1])
origin = st.session_state.get("draft_origin") or _("a new draft")
top[0].caption(_("Editing **{name}** (`{service}`) — from {origin}").format(
    name=d.get("name"), service=d.get("id"), origin=_(origin)))  # fmt: skip
last = draft.last_change()
undo_help = _("Undo: {change}").format(change=last) if last else _("Nothing to undo")
top[1].button(_("↶ Undo"), key="editor.undo", on_click=draft.undo, disabled=last is None,
              help=undo_help)  # fmt: skip
if top[2].button(_("Save draft"), key="editor.save", type="primary"):
    try:
        saved = session.api().save_draft(d)
        # Saved as a version: the work in progress has become it.
        session.api().discard_work(str(d["id"]), why="saved")
    except ApiError as e:
        session.show_error(e, _("Saving the draft"))
    else:
        st.session_state["autosaved"] = copy.deepcopy(d)
        st.session_state.pop("autosaved_at", None)
        st.session_state["draft_origin"] = _("{service} v{version} (draft, saved)").format(
            service=d["id"], version=saved["version"]
        )
        st.session_state["saved_version"] = saved["version"]
        st.success(_("Saved as draft version {version}. Publish it on the Versions page.").format(
            version=saved["version"]))  # fmt: skip
if top[3].button(_("Close"), key="editor.close"):
    st.session_state.pop("draft", None)
    st.rerun()

try:
    kept_at = draft.autosave()
except ApiError as e:
    st.warning(_("Your latest changes could not be kept on the server ({reason}); keep this "
                 "tab open and try again with Save draft.").format(reason=e))  # fmt: skip
else:
    if kept_at:
        below = st.columns([4, 1])
        below[0].caption(_("Changes kept on the server at {time}: closing this tab loses "
                           "nothing. Save draft makes them a version.").format(
            time=iso_moment(kept_at)))  # fmt: skip
        if below[1].button(_("Discard changes…"), key="editor.discard"):
            st.session_state["editor.discarding"] = True
        if st.session_state.get("editor.discarding"):
            st.warning(_("Discard every change since the last saved draft of {name}?").format(
                name=d.get("name")))  # fmt: skip
            yes, no = st.columns(2)
            if yes.button(_("Yes, discard"), key="editor.discard.yes"):
                st.session_state.pop("editor.discarding", None)
                try:
                    session.api().discard_work(str(d["id"]))
                except ApiError as e:
                    session.show_error(e, _("Discarding the changes"))
                else:
                    st.session_state.pop("draft", None)
                    session.open_in_editor(str(d["id"]), quiet=True)
                    st.rerun()
            if no.button(_("Cancel"), key="editor.discard.no"):
                st.session_state.pop("editor.discarding", None)
                st.rerun()

if found:
    st.error(ngettext("{count} problem — {source}", "{count} problems — {source}",
                      len(found)).format(count=len(found), source=source))  # fmt: skip
else:
    st.success(_("No problems — {source}").format(source=source))

# --- context for the forms ----------------------------------------------------------
parsed = checks.parsed(d)
fields = [f for f in d.get("fields", []) if isinstance(f, dict)]
names_in_conditions = sorted(condition_names(parsed)) if parsed else sorted(
    [str(f.get("id")) for f in fields]
    + [str(s.get("id")) for s in steps if s.get("kind") in ("review", "subservice", "face_verify")]
)  # fmt: skip
numbers = {str(f.get("id")) for f in fields if f.get("type") == "number"}
try:
    catalogue_ids = [s["service_id"] for s in session.api().services()]
except ApiError:
    catalogue_ids = []


def context(i: int) -> forms.Context:
    # The condition builder shows each name by its label, with a value input of its kind.
    named = [*fields, *(f for s in steps if s.get("kind") == "external"
                        for f in s.get("fields") or [] if isinstance(f, dict))]  # fmt: skip
    labels = {str(f.get("id")): str(f.get("label") or f.get("id")) for f in named}
    kinds = {str(f.get("id")): str(f.get("type") or "text") for f in named}
    options = {str(f.get("id")): [str(c) for c in f.get("choices") or []] for f in named}
    results = {"subservice": ["approved", "rejected", "cancelled"],
               "face_verify": list(FACE_VALUES)}  # fmt: skip
    for s in steps:
        if s.get("kind") in ("review", *results):
            sid = str(s.get("id"))
            labels[sid], kinds[sid] = str(s.get("name") or sid), "outcome"
            found = results.get(str(s.get("kind")))
            options[sid] = found or [str(o) for o in s.get("outcomes") or {}]
    return forms.Context(
        index=i,
        step_ids=ids,
        step_names={str(s.get("id")): str(s.get("name") or s.get("id")) for s in steps},
        field_ids=[str(f.get("id")) for f in fields],
        condition_names=names_in_conditions,
        number_names=numbers,
        services=catalogue_ids,
        name_labels=labels,
        name_kinds=kinds,
        name_options=options,
    )


def commit(new: dict[str, Any], i: int, old: dict[str, Any]) -> None:
    def mutate(dd: dict[str, Any]) -> None:
        dd["steps"][i] = new
        if new.get("id") and new["id"] != old.get("id"):
            draft.rename_references(dd, str(old.get("id")), str(new["id"]))

    draft.change(mutate, _("edit step {step}").format(step=old.get("id")))
    if new.get("id") and new["id"] != old.get("id"):
        select(str(new["id"]))
    st.rerun()


# --- structural edits (button callbacks) --------------------------------------------
def add_step() -> None:
    kind = st.session_state.get("add.kind", "review")
    name = str(st.session_state.get("add.name", "")).strip()
    # The id is made from the name unless the administrator gave one: ids are for the
    # conditions and the API, names for people.
    raw_id = str(st.session_state.get("add.id", "")).strip() or name or kind
    new_id = draft.unique_id(raw_id, set(ids) | {str(f.get("id")) for f in fields})
    at = ids.index(selected) if selected in ids else len(ids) - 1
    current = steps[at] if steps else {}
    ends = [str(s.get("id")) for s in steps if s.get("kind") == "end"]
    # Splice into the chain: the new step takes over where the selected one led.
    fallback = (
        current.get("next")
        or next(iter((current.get("outcomes") or {}).values()), None)
        or current.get("default")
        or (ends[0] if ends else new_id)
    )

    def mutate(dd: dict[str, Any]) -> None:
        s = dd["steps"][at] if dd["steps"] else {}
        if kind != "end" and isinstance(s.get("next"), str):
            s["next"] = new_id
        elif kind != "end" and isinstance(s.get("outcomes"), dict) and s["outcomes"]:
            first = next(iter(s["outcomes"]))
            s["outcomes"][first] = new_id
        dd["steps"].insert(at + 1, draft.new_step(kind, new_id, name, str(fallback)))

    draft.change(mutate, _("add step {step}").format(step=new_id), reset=True)
    select(new_id)
    for key in ("add.id", "add.name"):
        st.session_state[key] = ""


def move(delta: int) -> None:
    at = ids.index(selected) if selected in ids else -1
    to = at + delta
    if at < 0 or not 0 <= to < len(ids):
        return

    def mutate(dd: dict[str, Any]) -> None:
        dd["steps"].insert(to, dd["steps"].pop(at))

    draft.change(mutate, _("move {step}").format(step=selected), reset=True)


def remove() -> None:
    if selected not in ids:
        return
    at = ids.index(selected)
    draft.change(
        lambda dd: dd["steps"].pop(at), _("remove {step}").format(step=selected), reset=True
    )
    select(ids[at - 1] if at > 0 else None)


# --- the diagram stays in view ------------------------------------------------------
# The container of the diagram and the problem list. Streamlit gives it the class
# st-key-editor-diagram: each character of the key outside [a-zA-Z0-9_-] becomes "-".
DIAGRAM_KEY = "editor.diagram"


def sticky_diagram() -> None:
    """CSS that keeps the diagram in view while the step's form on the left scrolls (the
    outcomes of a long review are far down). Sticky needs room to move in, and
    Streamlit (1.67) wraps the container in a ``stLayoutWrapper`` exactly its size: so
    the wrapper is what sticks, inside the column's block, which is stretched to the
    row's height (a column is as tall as its content otherwise). ``top`` clears
    Streamlit's header (3.75rem); a diagram taller than the window scrolls in its box."""
    st.html(
        """<style>
[data-testid="stColumn"]:has(.st-key-editor-diagram) > [data-testid="stVerticalBlock"] {
  height: 100%;
}
[data-testid="stLayoutWrapper"]:has(> .st-key-editor-diagram) {
  position: sticky; top: 4rem; z-index: 1;
}
.st-key-editor-diagram { max-height: calc(100vh - 8rem); overflow-y: auto; }
</style>"""
    )


# --- page -------------------------------------------------------------------------
# Keyed and tracked, so the tab chosen stays chosen when the page above it changes (the
# first autosave adds a line there, which would otherwise reopen the first tab).
tab_steps, tab_fields, tab_service, tab_json = st.tabs(
    [_("Steps"), _("Form fields"), _("Service & standard"), "JSON"], key="editor.tab",
    on_change="rerun",
)  # fmt: skip

with tab_steps:
    left, right = st.columns([5, 6])
    with left:

        def label(sid: str) -> str:
            s = steps[ids.index(sid)]
            mark = "⚠️ " if sid in bad_steps else ""
            return f"{mark}{s.get('name') or sid} ({sid}) · {s.get('kind')}"

        if ids:
            gen = st.session_state.get("sel_gen", 0)
            choice = st.selectbox(_("Step being edited"), ids, index=ids.index(selected)
                                  if selected in ids else 0, format_func=label,
                                  key=f"sel.{gen}")  # fmt: skip
            if choice != selected:
                st.session_state["selected"] = selected = choice
        b1, b2, b3 = st.columns(3)
        b1.button(_("↑ Move up"), key="editor.up", on_click=move, args=(-1,))
        b2.button(_("↓ Move down"), key="editor.down", on_click=move, args=(1,))
        b3.button(_("Remove step"), key="editor.remove", on_click=remove)
        with st.expander(_("Add a step after this one"), expanded=len(steps) <= 2):
            kinds = list(draft.KIND_LABELS)
            kind_labels = {k: _(label) for k, label in draft.KIND_LABELS.items()}
            st.selectbox(_("Kind"), kinds, format_func=kind_labels.__getitem__,
                         key="add.kind")  # fmt: skip
            st.text_input(_("Name"), key="add.name", placeholder=_("e.g. Verifikasi berkas"))
            st.text_input(_("Step id (optional: made from the name)"), key="add.id",
                          placeholder=_("e.g. verifikasi_berkas"))  # fmt: skip
            st.button(_("Add step"), key="add.go", on_click=add_step, type="primary")
        if selected in ids:
            i = ids.index(selected)
            step = steps[i]
            mine = [p for p in found if draft.step_index(p["path"]) == i]
            kind = str(step.get("kind"))
            st.subheader(_(draft.KIND_LABELS[kind]) if kind in draft.KIND_LABELS else kind)
            for p in mine:
                checks.show(p, d)
            new = forms.drop_empty(forms.edit_step(step, context(i)))
            if new != step:
                commit(new, i, step)
    with right:
        sticky_diagram()
        with st.container(key=DIAGRAM_KEY):
            st.graphviz_chart(dot(d, selected, bad_steps))
            st.caption(_("Blue: the step being edited. Red: steps with problems. Dashed: "
                         "time-outs."))  # fmt: skip
            if found:
                st.markdown(_("**Problems**"))
                for k, p in enumerate(found):
                    c1, c2 = st.columns([5, 1])
                    c1.markdown(f"- {checks.plain(p, d)}")
                    c1.caption(checks.technical(p))
                    si = draft.step_index(p["path"])
                    if si is not None and si < len(ids):
                        c2.button(_("Show"), key=f"problem.{k}", on_click=select,
                                  args=(ids[si],))  # fmt: skip

with tab_fields:
    st.caption(_("What the citizen fills in when applying. Ids are names in conditions and "
                 "{placeholders} in messages."))  # fmt: skip
    field_problems = [p for p in found if draft.field_index(p["path"]) is not None]
    for p in field_problems:
        checks.show(p, d)
    for j, f in enumerate(fields):
        with st.container(border=True):
            new_field = forms.edit_field(j, f)
            c1, c2 = st.columns([1, 5])
            c1.button(_("Remove"), key=f"field.{j}.del", on_click=draft.change,
                      args=(lambda dd, j=j: dd["fields"].pop(j),
                            _("remove field {field}").format(field=f.get("id"))),
                      kwargs={"reset": True})  # fmt: skip
            if new_field != f:

                def set_field(dd: dict[str, Any], j: int = j, nf: dict[str, Any] = new_field
                              ) -> None:  # fmt: skip
                    dd["fields"][j] = nf

                draft.change(set_field, _("edit field {field}").format(field=f.get("id")))
                st.rerun()

    def add_field() -> None:
        taken = {str(f.get("id")) for f in fields} | set(ids)
        typed = str(st.session_state.get("field.new", "")).strip()
        fid = draft.unique_id(typed or "field", taken)
        # What the citizen reads is what was typed; the id is made from it.
        label = typed if typed and typed != fid else fid.replace("_", " ").capitalize()
        draft.change(
            lambda dd: dd.setdefault("fields", []).append(
                {"id": fid, "label": label, "type": "text"}
            ),
            _("add field {field}").format(field=fid),
            reset=True,
        )
        st.session_state["field.new"] = ""

    st.text_input(_("New field (its label; the id is made from it)"), key="field.new",
                  placeholder=_("e.g. Jumlah peserta"))  # fmt: skip
    st.button(_("Add field"), key="field.add", on_click=add_field)

with tab_service:
    key = draft.WIDGET_PREFIX + "svc."
    name = forms.text(_("Service name"), key + "name", str(d.get("name", "")))
    description = forms.text(_("Description"), key + "description", str(d.get("description", "")),
                             area=True)  # fmt: skip
    limit = forms.optional_duration(_("Time limit (jangka waktu, enforced)"), key + "limit",
                                    d.get("time_limit"))  # fmt: skip
    ctx0 = context(-1)
    cancellable = forms.optional_target(
        _("Citizen may cancel until the flow reaches"),
        key + "cancel",
        d.get("cancellable_until"),
        ctx0,
    )
    start = forms.optional_target(_("Start step (default: the first)"), key + "start",
                                  d.get("start"), ctx0)  # fmt: skip
    st.markdown(_("**Standar Pelayanan**: what the flow enforces is generated (see the "
                  "Standar Pelayanan page); write here only what it cannot say."))  # fmt: skip
    std = standard_groups(d.get("standard"))
    new_std: dict[str, Any] = {"delivery": {}, "management": {}}
    channel = forms.text(_("Complaint channel (pengaduan: phone, e-mail, URL, desk)"),
                         key + "std.complaint_channel",
                         str(std.get("complaint_channel", "")))  # fmt: skip
    new_std["complaint_channel"] = channel
    months = forms.number(_("Review the standard every ... months (0: not set)"),
                          key + "std.review_interval_months",
                          std.get("review_interval_months") or 0, min_value=0.0,
                          max_value=60.0, step=1.0)  # fmt: skip
    new_std["review_interval_months"] = int(months) or None
    for group, attr, label_text, is_list in COMPONENTS:
        old = (std.get(group) or {}).get(attr)
        if is_list:
            each_line = _("{component} (one a line)").format(component=label_text)
            raw = forms.text(each_line, key + "std." + attr, "\n".join(old or []), area=True)
            new_std[group][attr] = [line.strip() for line in raw.splitlines() if line.strip()]
        else:
            new_std[group][attr] = forms.text(label_text, key + "std." + attr, str(old or ""),
                                              area=True)  # fmt: skip
    updated = {**d, "name": name, "description": description, "time_limit": limit,
               "cancellable_until": cancellable, "start": start, "standard": new_std}  # fmt: skip
    updated = {k: v for k, v in updated.items() if v is not None}
    if updated != d:

        def set_service(dd: dict[str, Any]) -> None:
            dd.clear()
            dd.update(updated)

        draft.change(set_service, _("edit the service"))
        st.rerun()

with tab_json:
    st.code(json.dumps(d, indent=2, ensure_ascii=False), language="json")

draft.settle()
