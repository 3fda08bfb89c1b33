"""Citizen demo: my applications, their status and timeline."""

from __future__ import annotations

import streamlit as st

from designer import session
from designer.client import ApiError

st.title("My applications")
session.require_login()
citizen = session.citizen_api()
if citizen is None:
    st.info("Open Apply first to act as a citizen.")
    st.stop()
assert citizen is not None
try:
    apps = citizen.applications()
except ApiError as e:
    session.show_error(e, "Loading your applications")
    st.stop()
if not apps:
    st.info("No applications yet.")
    st.stop()
st.dataframe(
    [
        {
            "application": a["application_id"],
            "service": a["service_id"],
            "status": a["status"],
            "submitted": str(a.get("submitted_at", ""))[:16].replace("T", " "),
        }
        for a in apps
    ],
    hide_index=True,
    width="stretch",
)
chosen = st.selectbox("Application", [a["application_id"] for a in apps], key="mine.app")
try:
    app = citizen.application(chosen)
except ApiError as e:
    session.show_error(e, "Loading the application")
    st.stop()
st.markdown(f"**{app.get('service_name')}** — status `{app.get('status')}`")
for entry in app.get("timeline", []):
    st.markdown(f"- {str(entry.get('at', ''))[:16].replace('T', ' ')} — {entry.get('summary')}")
