"""The public page of a service's Standar Pelayanan, printable."""

from __future__ import annotations

import streamlit as st

from designer import session, standard
from designer.client import ApiError
from designer.i18n import _, iso_day

st.title(_("Standar Pelayanan"))
session.require_login()
services = session.services_or_stop()
if not services:
    st.info(_("No service is published yet."))
    st.stop()
names = {s["service_id"]: s["name"] for s in services}
ids = list(names)
if st.session_state.get("standard.service") not in ids:
    st.session_state["standard.service"] = ids[0]
chosen = st.selectbox(_("Service"), ids, format_func=lambda i: f"{names[i]} ({i})",
                      key="standard.service")  # fmt: skip
try:
    detail = session.api().service(chosen)
except ApiError as e:
    session.show_error(e, _("Loading {service}").format(service=chosen))
    st.stop()
published = [v for v in detail.get("versions", []) if v["status"] == "published"]
version = published[-1] if published else session.latest_version(detail)
if version is None:
    st.info(_("This service has no version you may see."))
    st.stop()
if version["status"] != "published":
    st.warning(_("Not published yet: showing draft version {version}.").format(
        version=version["version"]))  # fmt: skip
definition = version["definition"]
published_at = version.get("published_at")
st.markdown(standard.markdown(definition, published_at))
public = f"/public/services/{chosen}/standard?version={version['version']}&format=html"
if published_at:
    st.caption(_("Version {version}, published {date}. Public, without login: {url}").format(
        version=version["version"], date=iso_day(published_at), url=public))  # fmt: skip
else:
    st.caption(_("Version {version}. Public, without login: {url}").format(
        version=version["version"], url=public))  # fmt: skip
try:
    page = standard.page_html(definition, published_at)
except ValueError:
    st.stop()  # the markdown above already says the definition does not parse
st.download_button(
    _("Printable page (HTML)"),
    page,
    file_name=f"standar-pelayanan-{chosen}-v{version['version']}.html",
    mime="text/html",
    key="standard.print",
)
