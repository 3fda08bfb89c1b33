"""Lincah designer: the entry file `lincah designer` runs.

It logs in with an account (e-mail or NIK and password; in development also through the
API's development token, any subject and role) and builds the
navigation by role: agency admins design services, officers work their inbox, auditors
watch, and a citizen demo applies. Every page talks to the API only, with the caller's
token, never to a database."""

from __future__ import annotations

import streamlit as st

from designer import navigation, session
from designer.client import ApiError, api_url
from designer.i18n import KEY as LANGUAGE_KEY
from designer.i18n import LANGUAGES, N_, _

ROLES = ["agency_admin", "officer", "supervisor", "cashier", "auditor", "citizen"]
ROLE_LABELS = {
    "agency_admin": N_("Agency admin (designs services)"),
    "officer": N_("Officer"),
    "supervisor": N_("Supervisor"),
    "cashier": N_("Cashier"),
    "auditor": N_("Auditor"),
    "citizen": N_("Citizen"),
}

# Whom the development login acts as for each role: switching the role switches the
# person, so an officer's claim is never recorded under the administrator's name. (A
# comment, not a docstring: Streamlit would print a bare string on the page.)
DEMO_SUBJECTS = {
    "agency_admin": "admin@banyuwangikab.go.id",
    "officer": "budi@banyuwangikab.go.id",
    "supervisor": "kadis@banyuwangikab.go.id",
    "cashier": "kasir@banyuwangikab.go.id",
    "auditor": "auditor@inspektorat.banyuwangikab.go.id",
    "citizen": "siti@example.id",
}



def _subject_follows_role() -> None:
    st.session_state["login.subject"] = DEMO_SUBJECTS[st.session_state["login.role"]]


st.set_page_config(
    page_title=_("Lincah designer"), page_icon=":material/account_balance:", layout="wide"
)


def pages_for(role: str | None) -> dict[str, list[st.Page]]:
    return {
        _(section): [
            st.Page(p.path, title=_(p.title), icon=p.icon, default=p is navigation.HOME)
            for p in specs
        ]
        for section, specs in navigation.sections(role).items()
    }


with st.sidebar:
    # First, so every text below (and the pages) is in the language chosen. A link may
    # choose it (?lang=en); after that the session remembers the selector's choice.
    if LANGUAGE_KEY not in st.session_state and st.query_params.get("lang") in LANGUAGES:
        st.session_state[LANGUAGE_KEY] = st.query_params["lang"]
    st.selectbox("Bahasa / Language", list(LANGUAGES), format_func=LANGUAGES.__getitem__,
                 key=LANGUAGE_KEY)  # fmt: skip
    user = session.user()
    if user is None:
        st.subheader(_("Your account"))
        login_name = st.text_input(_("E-mail (or NIK)"), key="login.email")
        password = st.text_input(_("Password"), type="password", key="login.password")
        if st.button(_("Sign in"), key="login.account", type="primary"):
            try:
                session.sign_in(login_name.strip(), password)
            except ApiError as e:
                session.show_error(e, _("Log in"))
            else:
                st.rerun()
        st.subheader(_("Development login"))
        st.caption(_("Any subject and role; only where the API runs in development."))
        # Translated now: AppTest calls format functions outside the script run.
        role_labels = {r: _(ROLE_LABELS[r]) for r in ROLES}
        role = st.selectbox(_("Role"), ROLES, key="login.role", format_func=role_labels.__getitem__,
                            on_change=_subject_follows_role)  # fmt: skip
        st.session_state.setdefault("login.subject", DEMO_SUBJECTS["agency_admin"])
        subject = st.text_input(_("Subject"), key="login.subject")
        agency = st.text_input(_("Agency code"), value="BWI", key="login.agency")
        if st.button(_("Log in"), key="login.go"):
            try:
                session.log_in(subject.strip(), role, agency.strip() or None)
            except ApiError as e:
                session.show_error(e, _("Log in"))
            else:
                st.rerun()
        st.caption(f"API: {api_url()}")
    else:
        who = user.get("name", user["subject"])
        if user.get("agency"):
            st.caption(_("Logged in as {name} ({role}, {agency})").format(
                name=who, role=user["role"], agency=user["agency"]))  # fmt: skip
        else:
            st.caption(_("Logged in as {name} ({role})").format(name=who, role=user["role"]))
        if st.button(_("Log out"), key="logout"):
            session.log_out()
            st.rerun()

st.navigation(pages_for(session.role())).run()
