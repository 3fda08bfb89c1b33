"""Citizen demo: apply for a published service with the form its designer made."""

from __future__ import annotations

from typing import Any

import streamlit as st

from designer import session
from designer.client import Api, ApiError
from domain.definition import FormField, ServiceDefinition

st.title("Apply for a service")
session.require_login()
citizen = session.citizen_api()
if citizen is None:
    st.info("The citizen demo acts as a citizen, with a citizen's own token.")
    subject = st.text_input("Citizen", value="siti@example.id", key="apply.subject")
    if st.button("Act as this citizen", key="apply.login", type="primary"):
        try:
            st.session_state["citizen_token"] = Api().dev_token(subject, "citizen", None)
            st.session_state["citizen"] = subject
        except ApiError as e:
            session.show_error(e, "Citizen login")
        else:
            st.rerun()
    st.stop()
assert citizen is not None
st.caption(f"Acting as {st.session_state.get('citizen') or session.user()}")
try:
    services = [s for s in citizen.services() if s.get("latest_published_version")]
except ApiError as e:
    session.show_error(e, "Loading the services")
    st.stop()
services = [s for s in services if not s.get("archived")]
if not services:
    st.info("No service is open for applications yet.")
    st.stop()
names = {s["service_id"]: s["name"] for s in services}
chosen = st.selectbox("Service", list(names), format_func=lambda i: f"{names[i]} ({i})",
                      key="apply.service")  # fmt: skip
try:
    detail = citizen.service(chosen)
except ApiError as e:
    session.show_error(e, "Loading the service")
    st.stop()
published = [v for v in detail.get("versions", []) if v["status"] == "published"]
definition = ServiceDefinition.model_validate(published[-1]["definition"])
if definition.description:
    st.caption(definition.description)


def widget(f: FormField, key: str) -> Any:
    label = f.label + ("" if f.required else " (optional)")
    match f.type.value:
        case "number":
            return st.number_input(label, value=None, key=key, help=f.help or None)
        case "choice":
            return st.selectbox(label, f.choices, index=None, key=key, help=f.help or None)
        case "date":
            value = st.date_input(label, value=None, key=key, help=f.help or None)
            return value.isoformat() if value else None
    return st.text_input(label, key=key, help=f.help or None) or None


with st.form(f"apply.form.{chosen}"):
    data = {f.id: widget(f, f"apply.{chosen}.{f.id}") for f in definition.fields}
    sent = st.form_submit_button("Submit the application", type="primary")
if sent:
    data = {k: (int(v) if isinstance(v, float) and v == int(v) else v) for k, v in data.items()
            if v is not None}  # fmt: skip
    try:
        done = citizen.submit(chosen, data)
    except ApiError as e:
        session.show_error(e, "Submitting")
    else:
        st.session_state["apply.last"] = done
        st.success(f"Application **{done['application_id']}** submitted: status "
                   f"`{done['status']}`.")  # fmt: skip
