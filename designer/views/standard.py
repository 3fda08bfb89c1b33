"""The public page of a service's Standar Pelayanan, printable."""

from __future__ import annotations

import streamlit as st

from designer import session, standard
from designer.client import ApiError

st.title("Standar Pelayanan")
session.require_login()
services = session.services_or_stop()
if not services:
    st.info("No service is published yet.")
    st.stop()
names = {s["service_id"]: s["name"] for s in services}
ids = list(names)
if st.session_state.get("standard.service") not in ids:
    st.session_state["standard.service"] = ids[0]
chosen = st.selectbox("Service", ids, format_func=lambda i: f"{names[i]} ({i})",
                      key="standard.service")  # fmt: skip
try:
    detail = session.api().service(chosen)
except ApiError as e:
    session.show_error(e, f"Loading {chosen}")
    st.stop()
published = [v for v in detail.get("versions", []) if v["status"] == "published"]
version = published[-1] if published else session.latest_version(detail)
if version is None:
    st.info("This service has no version you may see.")
    st.stop()
if version["status"] != "published":
    st.warning(f"Not published yet: showing draft version {version['version']}.")
definition = version["definition"]
published_at = version.get("published_at")
st.markdown(standard.markdown(definition, published_at))
st.caption(f"Version {version['version']}" + (f", published {published_at[:10]}"
           if published_at else "") + f". Public, without login: /public/services/{chosen}"
           f"/standard?version={version['version']}&format=html")  # fmt: skip
try:
    page = standard.page_html(definition, published_at)
except ValueError:
    st.stop()  # the markdown above already says the definition does not parse
st.download_button(
    "Printable page (HTML)",
    page,
    file_name=f"standar-pelayanan-{chosen}-v{version['version']}.html",
    mime="text/html",
    key="standard.print",
)
