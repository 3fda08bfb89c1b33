"""Versions of a service: who saved and published each, when; publish a draft (with
confirmation); what changed between two versions."""

from __future__ import annotations

from typing import Any

import streamlit as st

from designer import session
from designer.client import ApiError
from designer.i18n import _, iso_moment

st.title(_("Versions"))
user = session.require_login()
services = session.services_or_stop()
if not services:
    st.info(_("No services yet."))
    st.stop()
names = {s["service_id"]: s["name"] for s in services}
ids = list(names)
d = st.session_state.get("draft")
if d and d.get("id") in ids and "versions.service" not in st.session_state:
    st.session_state["versions.service"] = d["id"]
chosen = st.selectbox(_("Service"), ids, format_func=lambda i: f"{names[i]} ({i})",
                      key="versions.service")  # fmt: skip
try:
    detail = session.api().service(chosen, st.session_state.get("versions.min_position"))
except ApiError as e:
    session.show_error(e, _("Loading {service}").format(service=chosen))
    st.stop()
versions: list[dict[str, Any]] = sorted(detail.get("versions", []), key=lambda v: v["version"])
st.dataframe(
    [
        {
            _("version"): v["version"],
            _("status"): v["status"],
            _("saved by"): v.get("saved_by"),
            _("saved at"): iso_moment(v.get("saved_at")),
            _("published by"): v.get("published_by") or "",
            _("published at"): iso_moment(v.get("published_at")),
        }
        for v in versions
    ],
    hide_index=True,
    width="stretch",
)

drafts = [v for v in versions if v["status"] == "draft"]
if user["role"] == "agency_admin" and drafts:
    v = drafts[-1]["version"]
    st.subheader(_("Publish version {version}").format(version=v))
    st.caption(_("A published version never changes; new applications take it, running ones "
                 "keep theirs."))  # fmt: skip
    pending = st.session_state.get("versions.pending") == (chosen, v)
    if not pending:
        if st.button(
            _("Publish version {version}…").format(version=v),
            key="versions.publish",
            type="primary",
        ):
            st.session_state["versions.pending"] = (chosen, v)
            st.rerun()
    else:
        st.warning(_("Publish version {version} of {service}? Citizens can apply for it at once.")
                   .format(version=v, service=names[chosen]))  # fmt: skip
        c1, c2 = st.columns(2)
        if c1.button(_("Yes, publish"), key="versions.confirm", type="primary"):
            st.session_state.pop("versions.pending", None)
            try:
                done = session.api().publish(chosen, v)
            except ApiError as e:
                session.show_error(e, _("Publishing"))
            else:
                st.session_state["versions.min_position"] = done.get("position")
                published = _("Version {version} of {service} is published.")
                st.session_state["versions.flash"] = published.format(
                    version=v, service=names[chosen]
                )
                st.rerun()
        if c2.button(_("Cancel"), key="versions.cancel"):
            st.session_state.pop("versions.pending", None)
            st.rerun()
flash = st.session_state.pop("versions.flash", None)
if flash:
    st.success(flash)

if len(versions) >= 2:
    st.subheader(_("What changed"))
    numbers = [v["version"] for v in versions]
    c1, c2 = st.columns(2)
    a = c1.selectbox(_("From version"), numbers, index=len(numbers) - 2, key="versions.a")
    b = c2.selectbox(_("To version"), numbers, index=len(numbers) - 1, key="versions.b")
    try:
        answer = session.api().diff(chosen, a, b)
        changes: list[dict[str, Any]] = answer.get("changes", [])
    except ApiError as e:
        if not e.endpoint_missing:
            session.show_error(e, _("Comparing versions"))
            st.stop()
        st.caption(_("The API has no {endpoint} yet; compared here with the same domain rules.")
                   .format(endpoint=e.endpoint))  # fmt: skip
        from dataclasses import asdict

        from domain.definition import ServiceDefinition
        from domain.diff import diff

        by_number = {v["version"]: ServiceDefinition.model_validate(v["definition"])
                     for v in versions}  # fmt: skip
        changes = [asdict(c) for c in diff(by_number[a], by_number[b])]
    if not changes:
        st.info(_("No differences."))
    for c in changes:
        icon = {"added": "🟢", "removed": "🔴"}.get(c["kind"], "✏️")
        with st.expander(f"{icon} {c['path']} ({c['kind']})"):
            left, right = st.columns(2)
            left.caption(_("before"))
            left.json(c.get("before"))
            right.caption(_("after"))
            right.json(c.get("after"))
