"""Lincah designer (first page): the service catalogue as the API sees it.

The full role-based designer (flow editor, simulation, publishing) grows from here;
it talks to the API only, with the caller's token, never to a database."""

from __future__ import annotations

import os
from typing import Any

import httpx
import streamlit as st

API_URL = os.environ.get("LINCAH_API_URL", "http://127.0.0.1:8000")
ROLES = ["agency_admin", "officer", "supervisor", "auditor", "citizen"]


def api(method: str, path: str, token: str | None = None, **kw: Any) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.request(method, f"{API_URL}{path}", headers=headers, timeout=10, **kw)


def detail(r: httpx.Response) -> str:
    """The API's reason, whatever its shape (text, or FastAPI's list of problems)."""
    try:
        body = r.json()
    except ValueError:
        return f"{r.status_code}: {r.text[:200]}"
    d = body.get("detail", body) if isinstance(body, dict) else body
    if isinstance(d, list):
        return "; ".join(f"{'.'.join(map(str, p.get('loc', [])))}: {p.get('msg')}" for p in d)
    return str(d)


st.set_page_config(page_title="Lincah designer", page_icon="🏛️", layout="wide")
st.title("Lincah — MPP Digital service designer")

with st.sidebar:
    st.subheader("Development login")
    subject = st.text_input("Subject", value="admin@banyuwangikab.go.id")
    role = st.selectbox("Role", ROLES)
    agency = st.text_input("Agency code", value="BWI")
    if st.button("Log in"):
        body = {
            "subject": subject,
            "role": role,
            "agency": agency or None if role != "citizen" else None,
        }
        try:
            r = api("POST", "/auth/dev-token", json=body)
        except httpx.HTTPError as e:
            st.error(f"The API at {API_URL} is not reachable: {e}")
        else:
            if r.status_code == 200:
                st.session_state["token"] = r.json()["access_token"]
                st.session_state["who"] = f"{subject} ({role})"
            else:
                st.error(detail(r))
    if "who" in st.session_state:
        st.caption(f"Logged in as {st.session_state['who']}")

token = st.session_state.get("token")
if token is None:
    st.info("Log in from the sidebar to see the service catalogue.")
    st.stop()

try:
    response = api("GET", "/services", token)
except httpx.HTTPError as e:
    st.error(f"The API at {API_URL} is not reachable: {e}")
    st.stop()
if response.status_code != 200:
    st.error(detail(response))
    st.stop()

services = response.json()
st.subheader(f"Service catalogue ({len(services)})")
if not services:
    st.write("No services yet.")
for s in services:
    with st.expander(f"{s['name']} — {s['agency_code']}"):
        detail = api("GET", f"/services/{s['service_id']}", token).json()
        st.write(
            f"Latest published version: {s['latest_published_version'] or '—'}; "
            f"draft: {s['draft_version'] or '—'}"
        )
        for v in detail.get("versions", []):
            d = v["definition"]
            st.markdown(f"**Version {v['version']}** ({v['status']}, saved by {v['saved_by']})")
            lines = ["digraph { rankdir=LR; node [shape=box, style=rounded];"]
            for step in d["steps"]:
                targets = (
                    [step["next"]]
                    if "next" in step
                    else list(step.get("outcomes", {}).values())
                    + [b["goto"] for b in step.get("branches", [])]
                    + ([step["default"]] if step.get("default") else [])
                )
                shape = {"decision": "diamond", "end": "doublecircle"}.get(step["kind"], "box")
                lines.append(f'"{step["id"]}" [label="{step["name"]}", shape={shape}];')
                lines += [f'"{step["id"]}" -> "{t}";' for t in targets]
            lines.append("}")
            st.graphviz_chart("\n".join(lines))
