"""Home: what the designer does, and where to start for the role logged in."""

from __future__ import annotations

import streamlit as st

from designer import session
from designer.i18n import _

st.title(_("Lincah — MPP Digital service designer"))
user = session.user()
if user is None:
    st.info(_("Log in from the sidebar to start (development login: pick a role)."))
    st.markdown(
        _(
            "- **Agency admins** design a service: its Standar Pelayanan, the citizen's form and "
            "the flow of steps; they simulate it, then publish a version.\n"
            "- **Officers and supervisors** work the tasks in their inbox.\n"
            "- **Auditors** follow every service and application.\n"
            "- The **citizen demo** applies for a published service."
        )
    )
    st.stop()

role = user["role"]
st.success(_("Welcome, {name}.").format(name=user["subject"]))
if role == "agency_admin":
    st.markdown(
        _(
            "1. **Service catalogue**: create a service (or clone one).\n"
            "2. **Flow editor**: add steps and form fields; fix what the checks point at; "
            "save the draft.\n"
            "3. **Simulation**: walk the draft with sample data.\n"
            "4. **Versions**: publish the draft.\n"
            "5. **Citizen demo → Apply**: start an application of it."
        )
    )
elif role in ("officer", "supervisor"):
    st.markdown(_("Open **Inbox** for the tasks of your role, and **Dashboard** for the figures."))
elif role == "auditor":
    st.markdown(_("**Dashboard**, the **catalogue** and every service's **versions** are yours."))
else:
    st.markdown(_("Read a service's **Standar Pelayanan**, then **Apply**."))
