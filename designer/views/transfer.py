"""Import and export: the definition as JSON or YAML, the flow as BPMN 2.0 (with its
diagram) for Camunda Modeler or bpmn.io; import of any of them, with a clear list of
what a BPMN file held that Lincah does not read, and why."""

from __future__ import annotations

import json
from typing import Any

import streamlit as st
import yaml

from designer import checks, draft, session
from designer.client import ApiError
from designer.i18n import N_, _, ngettext

st.title(_("Import / export"))
user = session.require_login()

st.subheader(_("Export"))
sources: dict[str, dict[str, Any] | str] = {}
d = draft.current()
if d:
    sources[_("The draft in the editor: {name}").format(name=d.get("name"))] = d
try:
    for s in session.api().services():
        sources[f"{s['name']} ({s['service_id']})"] = s["service_id"]
except ApiError as e:
    session.show_error(e, _("Loading the catalogue"))
if sources:
    label = st.selectbox(_("Definition"), list(sources), key="xfer.source")
    chosen = sources[label]
    raw: dict[str, Any] | None = chosen if isinstance(chosen, dict) else None
    version: int | None = None
    if isinstance(chosen, str):
        try:
            v = session.latest_version(session.api().service(chosen))
            raw = v["definition"] if v else None
            version = int(v["version"]) if v else None
        except ApiError as e:
            session.show_error(e, _("Loading the service"))
    if raw is not None:
        base = str(raw.get("id", "service"))
        c1, c2, c3 = st.columns(3)
        c1.download_button(
            "JSON",
            json.dumps(raw, indent=2, ensure_ascii=False),
            file_name=f"{base}.json",
            mime="application/json",
            key="xfer.json",
        )
        c2.download_button(
            "YAML",
            yaml.safe_dump(raw, allow_unicode=True, sort_keys=False),
            file_name=f"{base}.yaml",
            mime="application/yaml",
            key="xfer.yaml",
        )
        try:
            xml = (
                session.api().version_bpmn(str(chosen), version)
                if isinstance(chosen, str) and version is not None
                else session.api().export_bpmn(raw)
            )
        except ApiError:
            c3.caption(_("BPMN needs a definition without structural problems."))
        else:
            c3.download_button("BPMN 2.0", xml, file_name=f"{base}.bpmn",
                               mime="application/xml", key="xfer.bpmn")  # fmt: skip
else:
    st.info(_("Nothing to export yet."))

st.subheader(_("Import"))
st.caption(_("A Lincah definition (JSON or YAML), or a BPMN 2.0 file from Camunda Modeler, "
             "bpmn.io or another tool."))  # fmt: skip
uploaded = st.file_uploader(_("File"), type=["json", "yaml", "yml", "bpmn", "xml"], key="xfer.file")
pasted = st.text_area(_("…or paste it here"), height=160, key="xfer.text")
content = uploaded.getvalue().decode("utf-8", "replace") if uploaded else pasted
if not content.strip():
    st.stop()

definition: dict[str, Any] | None = None
text = content.lstrip()
if text.startswith("<"):
    try:
        report = session.api().import_bpmn(content.encode("utf-8"))
    except ApiError as e:
        st.error(_("The BPMN file cannot be imported: {reason}").format(reason=e))
        st.stop()
    definition = report["definition"]
    st.success(_("Read process {process}: {count} steps.").format(
        process=report["process"], count=len(definition.get("steps", []))))  # fmt: skip
    if report["ignored"]:
        st.markdown(_("**Left out ({count})** — Lincah does not read these:").format(
            count=len(report["ignored"])))  # fmt: skip
        st.dataframe(
            [{_("Name"): i["name"] or "—", _("Type"): i["type"], _("Reason"): i["reason"],
              "id": i["element"]} for i in report["ignored"]],
            hide_index=True, width="stretch",
        )  # fmt: skip
    else:
        st.caption(_("Nothing in the file was left out."))
    for note in report["notes"]:
        st.info(note)
else:
    try:
        loaded = json.loads(content) if text.startswith("{") else yaml.safe_load(content)
    except (ValueError, yaml.YAMLError) as e:
        st.error(_("Neither JSON nor YAML: {reason}").format(reason=e))
        st.stop()
    if not isinstance(loaded, dict):
        st.error(_("The file must hold one definition (an object)."))
        st.stop()
    definition = loaded

found, source = checks.problems(definition)
if found:
    st.warning(
        ngettext(
            "{count} problem to fix in the editor ({source}):",
            "{count} problems to fix in the editor ({source}):",
            len(found),
        ).format(count=len(found), source=source)
    )
    for p in found:
        st.markdown(f"- {checks.plain(p, definition)}")
        st.caption(checks.technical(p))
if not isinstance(definition.get("steps"), list) or not definition["steps"]:
    st.error(_("The file has no steps to edit."))
    st.stop()
if st.button(_("Open in the flow editor"), key="xfer.open", type="primary"):
    draft.load(definition, N_("an imported file"))
    draft.keep_now()  # not on the server yet: the editor keeps it there at once
    st.switch_page("views/editor.py")
