"""Citizen demo: apply for a published service with the form its designer made."""

from __future__ import annotations

from typing import Any

import streamlit as st

from designer import session
from designer.client import Api, ApiError
from designer.i18n import _
from domain.definition import FormField, ServiceDefinition

st.title(_("Apply for a service"))
session.require_login()
citizen = session.citizen_api()
if citizen is None:
    st.info(_("The citizen demo acts as a citizen, with a citizen's own token."))
    subject = st.text_input(_("Citizen"), value="siti@example.id", key="apply.subject")
    if st.button(_("Act as this citizen"), key="apply.login", type="primary"):
        try:
            st.session_state["citizen_token"] = Api().dev_token(subject, "citizen", None)
            st.session_state["citizen"] = subject
        except ApiError as e:
            session.show_error(e, _("Citizen login"))
        else:
            st.rerun()
    st.stop()
assert citizen is not None
me = session.user() or {}
st.caption(_("Acting as {citizen}").format(
    citizen=st.session_state.get("citizen") or me.get("name") or me.get("subject")))  # fmt: skip
try:
    services = [s for s in citizen.services() if s.get("latest_published_version")]
except ApiError as e:
    session.show_error(e, _("Loading the services"))
    st.stop()
services = [s for s in services if not s.get("archived")]
if not services:
    st.info(_("No service is open for applications yet."))
    st.stop()
names = {s["service_id"]: s["name"] for s in services}
chosen = st.selectbox(_("Service"), list(names), format_func=lambda i: f"{names[i]} ({i})",
                      key="apply.service")  # fmt: skip
try:
    detail = citizen.service(chosen)
except ApiError as e:
    session.show_error(e, _("Loading the service"))
    st.stop()
published = [v for v in detail.get("versions", []) if v["status"] == "published"]
definition = ServiceDefinition.model_validate(published[-1]["definition"])
if definition.description:
    st.caption(definition.description)


def widget(f: FormField, key: str) -> Any:
    label = f.label + ("" if f.required else " " + _("(optional)"))
    match f.type.value:
        case "number":
            # A count as a count ("300", not "300.00"), as on the simulation page.
            return st.number_input(label, value=None, step=1.0, format="%g", key=key,
                                   help=f.help or None)  # fmt: skip
        case "choice":
            return st.selectbox(label, f.choices, index=None, key=key, help=f.help or None)
        case "date":
            value = st.date_input(label, value=None, key=key, help=f.help or None)
            return value.isoformat() if value else None
    return st.text_input(label, key=key, help=f.help or None) or None


with st.form(f"apply.form.{chosen}"):
    data = {f.id: widget(f, f"apply.{chosen}.{f.id}") for f in definition.fields}
    sent = st.form_submit_button(_("Submit the application"), type="primary")
if sent:
    data = {k: (int(v) if isinstance(v, float) and v == int(v) else v) for k, v in data.items()
            if v is not None}  # fmt: skip
    try:
        done = citizen.submit(chosen, data)
    except ApiError as e:
        session.show_error(e, _("Submitting"))
    else:
        st.session_state["apply.last"] = done
        st.success(_("Application **{application}** submitted: status `{status}`.").format(
            application=done["application_id"], status=done["status"]))  # fmt: skip
