"""Service catalogue: list, create, clone, archive; open one in the editor."""

from __future__ import annotations

import re

import streamlit as st

from designer import draft, session
from designer.client import ApiError
from designer.i18n import _

st.title(_("Service catalogue"))
user = session.require_login()
services = session.services_or_stop()
admin = user["role"] == "agency_admin"

if services:
    st.dataframe(
        [
            {
                _("service"): s["name"],
                _("id"): s["service_id"],
                _("agency"): s["agency_code"],
                _("published"): str(s.get("latest_published_version") or "—"),
                _("draft"): str(s.get("draft_version") or "—"),
                _("archived"): _("yes") if s.get("archived") else "",
            }
            for s in services
        ],
        hide_index=True,
        width="stretch",
    )
else:
    st.info(_("No services yet. Create the first one below.") if admin else _("No services yet."))

ids = [s["service_id"] for s in services]
names = {s["service_id"]: s["name"] for s in services}
if services:
    chosen = st.selectbox(
        _("Service"), ids, format_func=lambda i: f"{names[i]} ({i})", key="cat.service"
    )
    a, b, c = st.columns(3)
    if admin and a.button(_("Open in the flow editor"), key="cat.open", type="primary"):
        session.open_in_editor(chosen)
    if b.button(_("Public page (Standar Pelayanan)"), key="cat.public"):
        st.session_state["standard.service"] = chosen
        st.switch_page("views/standard.py")
    if admin and c.button(_("Archive…"), key="cat.archive",
                          help=_("No new applications; running ones finish")):  # fmt: skip
        st.session_state["cat.archiving"] = chosen
    # Archiving cannot be taken back from the designer: ask first, naming the service.
    if admin and st.session_state.get("cat.archiving") == chosen:
        st.warning(_(
            "Archive {service}? Citizens can no longer apply for it; applications already "
            "running finish as they are. It cannot be undone here."
        ).format(service=names[chosen]))  # fmt: skip
        yes, no = st.columns(2)
        if yes.button(_("Yes, archive"), key="cat.archive.yes", type="primary"):
            st.session_state.pop("cat.archiving", None)
            try:
                session.api().archive(chosen)
            except ApiError as e:
                session.show_error(e, _("Archiving {service}").format(service=chosen))
            else:
                st.success(_("{service} is archived: it takes no new applications.").format(
                    service=names[chosen]))  # fmt: skip
        if no.button(_("Cancel"), key="cat.archive.no"):
            st.session_state.pop("cat.archiving", None)
            st.rerun()

if not admin:
    st.stop()

session.offer_unsaved_work()

st.subheader(_("New service"))
with st.form("cat.new"):
    name = st.text_input(_("Name"), placeholder="Surat Keterangan Usaha", key="cat.new.name")
    sid = st.text_input(
        _("Service id"), placeholder="surat-keterangan-usaha", key="cat.new.id",
        help=_("lower-case letters, digits and '-'; left empty: made from the name"),
    )  # fmt: skip
    description = st.text_area(_("Description"), key="cat.new.description")
    create = st.form_submit_button(_("Create the service"))
if create:
    service_id = sid.strip() or re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    agency = {"code": str(user.get("agency")), "name": str(user.get("agency"))}
    if services:  # keep the agency's proper name when the catalogue knows it
        try:
            known = session.api().service(services[0]["service_id"])
            mine = [v for v in known.get("versions", []) if v["definition"]["agency"]["code"]
                    == user.get("agency")]  # fmt: skip
            if mine:
                agency = mine[0]["definition"]["agency"]
        except ApiError:
            pass
    definition = draft.skeleton(service_id, name.strip(), agency, description)
    try:
        saved = session.api().save_draft(definition, new=True)
    except ApiError as e:
        session.show_error(e, _("Creating the service"))
    else:
        draft.load(definition, f"{service_id} v{saved['version']} (draft)")
        st.session_state["flash"] = _(
            "Created {name} (draft version {version}): a form and an end step. Add the "
            "steps in between."
        ).format(name=name, version=saved["version"])
        st.switch_page("views/editor.py")

if services:
    st.subheader(_("Clone a service"))
    with st.form("cat.clone"):
        source = st.selectbox(
            _("Copy"), ids, format_func=lambda i: f"{names[i]} ({i})", key="cat.clone.source"
        )
        new_id = st.text_input(_("New service id"), key="cat.clone.id")
        new_name = st.text_input(_("New name"), key="cat.clone.name")
        clone = st.form_submit_button(_("Clone as a new draft"))
    if clone:
        try:
            detail = session.api().service(source)
            v = session.latest_version(detail)
            if v is None:
                raise ApiError(404, _("{service} has no version to copy").format(service=source))
            copy = {**v["definition"], "id": new_id.strip(), "name": new_name.strip() or
                    _("{name} (copy)").format(name=v["definition"]["name"])}  # fmt: skip
            copy.pop("version", None)
            saved = session.api().save_draft(copy, new=True)
        except ApiError as e:
            session.show_error(e, _("Cloning"))
        else:
            st.success(_("Cloned {source} as {service} (draft version {version}).").format(
                source=source, service=copy["id"], version=saved["version"]))  # fmt: skip
