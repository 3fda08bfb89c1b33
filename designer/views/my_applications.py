"""Citizen demo: my applications, their status and timeline."""

from __future__ import annotations

import streamlit as st

from designer import session
from designer.client import ApiError
from designer.i18n import _, iso_moment

st.title(_("My applications"))
session.require_login()
citizen = session.citizen_api()
if citizen is None:
    st.info(_("Open Apply first to act as a citizen."))
    st.stop()
assert citizen is not None
try:
    apps = citizen.applications()
except ApiError as e:
    session.show_error(e, _("Loading your applications"))
    st.stop()
if not apps:
    st.info(_("No applications yet."))
    st.stop()
st.dataframe(
    [
        {
            _("application"): a["application_id"],
            _("service"): a["service_id"],
            _("status"): a["status"],
            _("submitted"): iso_moment(a.get("submitted_at")),
        }
        for a in apps
    ],
    hide_index=True,
    width="stretch",
)
chosen = st.selectbox(_("Application"), [a["application_id"] for a in apps], key="mine.app")
try:
    app = citizen.application(chosen)
except ApiError as e:
    session.show_error(e, _("Loading the application"))
    st.stop()
st.markdown(_("**{service}** — status `{status}`").format(
    service=app.get("service_name"), status=app.get("status")))  # fmt: skip
for entry in app.get("timeline", []):
    st.markdown(f"- {iso_moment(entry.get('at'))} — {entry.get('summary')}")
