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

ROLES = ["agency_admin", "officer", "supervisor", "cashier", "auditor", "citizen"]
ROLE_LABELS = {
    "agency_admin": "Agency admin (designs services)",
    "officer": "Officer",
    "supervisor": "Supervisor",
    "cashier": "Cashier",
    "auditor": "Auditor",
    "citizen": "Citizen",
}

st.set_page_config(
    page_title="Lincah designer", page_icon=":material/account_balance:", layout="wide"
)


def pages_for(role: str | None) -> dict[str, list[st.Page]]:
    return {
        section: [
            st.Page(p.path, title=p.title, icon=p.icon, default=p is navigation.HOME) for p in specs
        ]
        for section, specs in navigation.sections(role).items()
    }


with st.sidebar:
    user = session.user()
    if user is None:
        st.subheader("Your account")
        login_name = st.text_input("E-mail (or NIK)", key="login.email")
        password = st.text_input("Password", type="password", key="login.password")
        if st.button("Sign in", key="login.account", type="primary"):
            try:
                session.sign_in(login_name.strip(), password)
            except ApiError as e:
                session.show_error(e, "Log in")
            else:
                st.rerun()
        st.subheader("Development login")
        st.caption("Any subject and role; only where the API runs in development.")
        subject = st.text_input("Subject", value="admin@banyuwangikab.go.id", key="login.subject")
        role = st.selectbox(
            "Role", ROLES, key="login.role", format_func=lambda r: ROLE_LABELS.get(r, r)
        )
        agency = st.text_input("Agency code", value="BWI", key="login.agency")
        if st.button("Log in", key="login.go"):
            try:
                session.log_in(subject.strip(), role, agency.strip() or None)
            except ApiError as e:
                session.show_error(e, "Log in")
            else:
                st.rerun()
        st.caption(f"API: {api_url()}")
    else:
        st.caption(f"Logged in as {user.get('name', user['subject'])} ({user['role']}"
                   + (f", {user['agency']})" if user.get("agency") else ")"))  # fmt: skip
        if st.button("Log out", key="logout"):
            session.log_out()
            st.rerun()

st.navigation(pages_for(session.role())).run()
