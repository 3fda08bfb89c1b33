"""Import and export: the definition as JSON or YAML, the flow as BPMN 2.0 (with its
diagram) for Camunda Modeler or bpmn.io; import of any of them, with a clear list of
what a BPMN file held that Lincah does not read, and why."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

import streamlit as st
import yaml

from designer import checks, draft, session
from designer.client import ApiError
from domain.bpmn import BpmnError, from_bpmn, to_bpmn

st.title("Import / export")
user = session.require_login()

st.subheader("Export")
sources: dict[str, dict[str, Any] | str] = {}
d = draft.current()
if d:
    sources[f"The draft in the editor: {d.get('name')}"] = d
try:
    for s in session.api().services():
        sources[f"{s['name']} ({s['service_id']})"] = s["service_id"]
except ApiError as e:
    session.show_error(e, "Loading the catalogue")
if sources:
    label = st.selectbox("Definition", list(sources), key="xfer.source")
    chosen = sources[label]
    raw: dict[str, Any] | None = chosen if isinstance(chosen, dict) else None
    if isinstance(chosen, str):
        try:
            v = session.latest_version(session.api().service(chosen))
            raw = v["definition"] if v else None
        except ApiError as e:
            session.show_error(e, "Loading the service")
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
        parsed = checks.parsed(raw)
        if parsed is None:
            c3.caption("BPMN needs a definition without structural problems.")
        else:
            c3.download_button("BPMN 2.0", to_bpmn(parsed), file_name=f"{base}.bpmn",
                               mime="application/xml", key="xfer.bpmn")  # fmt: skip
else:
    st.info("Nothing to export yet.")

st.subheader("Import")
st.caption("A Lincah definition (JSON or YAML), or a BPMN 2.0 file from Camunda Modeler, "
           "bpmn.io or another tool.")  # fmt: skip
uploaded = st.file_uploader("File", type=["json", "yaml", "yml", "bpmn", "xml"], key="xfer.file")
pasted = st.text_area("…or paste it here", height=160, key="xfer.text")
content = uploaded.getvalue().decode("utf-8", "replace") if uploaded else pasted
if not content.strip():
    st.stop()

agency = {"code": str(user.get("agency") or "XXX"), "name": str(user.get("agency") or "Agency")}
definition: dict[str, Any] | None = None
text = content.lstrip()
if text.startswith("<"):
    try:
        report = from_bpmn(content, agency=agency)
    except BpmnError as e:
        st.error(f"The BPMN file cannot be imported: {e}")
        st.stop()
    definition = report.definition
    st.success(f"Read process {report.process}: {len(definition.get('steps', []))} steps.")
    if report.ignored:
        st.markdown(f"**Left out ({len(report.ignored)})** — Lincah does not read these:")
        st.dataframe([asdict(i) for i in report.ignored], hide_index=True, width="stretch")
    else:
        st.caption("Nothing in the file was left out.")
    for note in report.notes:
        st.info(note)
else:
    try:
        loaded = json.loads(content) if text.startswith("{") else yaml.safe_load(content)
    except (ValueError, yaml.YAMLError) as e:
        st.error(f"Neither JSON nor YAML: {e}")
        st.stop()
    if not isinstance(loaded, dict):
        st.error("The file must hold one definition (an object).")
        st.stop()
    definition = loaded

found, source = checks.problems(definition)
if found:
    st.warning(f"{len(found)} problem(s) to fix in the editor ({source}):")
    for p in found:
        st.markdown(f"- **{checks.where(p, definition)}**: {p['message']}")
if not isinstance(definition.get("steps"), list) or not definition["steps"]:
    st.error("The file has no steps to edit.")
    st.stop()
if st.button("Open in the flow editor", key="xfer.open", type="primary"):
    draft.load(definition, "an imported file")
    st.switch_page("views/editor.py")
