"""Who is logged in, and small helpers every page shares."""

from __future__ import annotations

import contextlib
from typing import Any

import streamlit as st

from designer.client import Api, ApiError
from designer.i18n import KEY as LANGUAGE_KEY
from designer.i18n import N_, _, iso_moment, language
from domain.wording.problems import explain

STAFF = ("officer", "supervisor", "cashier", "agency_admin")


def user() -> dict[str, Any] | None:
    found: dict[str, Any] | None = st.session_state.get("user")
    return found


def role() -> str | None:
    u = user()
    return str(u["role"]) if u else None


def api() -> Api:
    return Api(st.session_state.get("token"), renew=_renew)


def _renew() -> str | None:
    """A fresh access token from the sign-in's refresh token (which rotates)."""
    refresh = st.session_state.get("refresh_token")
    if not refresh:
        return None
    try:
        tokens = Api().refresh(refresh)
    except ApiError:
        st.session_state.pop("refresh_token", None)
        return None
    st.session_state["token"] = tokens["access_token"]
    st.session_state["refresh_token"] = tokens["refresh_token"]
    return str(tokens["access_token"])


KEEP = frozenset({LANGUAGE_KEY})
"""Session keys a new login keeps: the language, and the login form's own fields."""


def forget() -> None:
    """Everything the previous identity left in the session: its tokens, the citizen
    demo's token, the draft and every page's state. A login starts from nothing, so
    nothing is done in the name of whoever was logged in before."""
    for key in list(st.session_state):
        if str(key) in KEEP or str(key).startswith("login."):
            continue
        del st.session_state[key]


def sign_in(login: str, password: str) -> None:
    """Log in with an account (e-mail or NIK, and password)."""
    tokens = Api().login(login, password)
    me = Api(tokens["access_token"]).me()
    forget()
    st.session_state["token"] = tokens["access_token"]
    st.session_state["refresh_token"] = tokens["refresh_token"]
    st.session_state["user"] = {
        "subject": me["account_id"],
        "role": me["role"],
        "agency": me.get("agency"),
        "name": me.get("full_name") or me["account_id"],
    }


def citizen_api() -> Api | None:
    """The citizen demo's own token (or the user's, when the user is a citizen)."""
    if role() == "citizen":
        return api()
    token = st.session_state.get("citizen_token")
    return Api(token) if token else None


def log_in(subject: str, role_name: str, agency: str | None) -> None:
    agency = agency if role_name in STAFF or role_name == "auditor" else None
    if role_name == "auditor":
        agency = None
    token = Api().dev_token(subject, role_name, agency)
    forget()
    st.session_state["token"] = token
    st.session_state["user"] = {"subject": subject, "role": role_name, "agency": agency}


def log_out() -> None:
    refresh = st.session_state.get("refresh_token")
    if refresh:
        with contextlib.suppress(ApiError):  # it ends with its tokens' lifetime anyway
            Api().logout(refresh)
    forget()


def show_error(e: ApiError, doing: str = "") -> None:
    """The API's reason, with every problem it listed."""
    prefix = f"{doing}: " if doing else ""
    if e.endpoint_missing:
        st.warning(
            prefix
            + _(
                "the API has no endpoint {endpoint} yet (it answered {status}); this part of "
                "the designer works once the API offers it."
            ).format(endpoint=e.endpoint, status=e.status)
        )
        return
    lines = [f"{prefix}{e.message}"]
    lines += [f"- {explain(p['path'], p['message'], language())}" for p in e.problems]
    st.error("\n".join(lines))
    if e.problems:  # as the API words them, for a programmer or support
        st.caption("  \n".join(f"`{p['path'] or _('(definition)')}`: {p['message']}"
                                for p in e.problems))  # fmt: skip


def services_or_stop() -> list[dict[str, Any]]:
    """The catalogue, or an error and the end of the page."""
    try:
        return api().services()
    except ApiError as e:
        show_error(e, _("Loading the service catalogue"))
        st.stop()
    raise AssertionError("unreachable")  # st.stop() raises


def offer_unsaved_work() -> None:
    """The agency's services with changes kept on the server but not saved as a draft,
    each to continue in the editor."""
    try:
        works = api().works()
    except ApiError as e:
        show_error(e, _("Loading the unsaved changes"))
        return
    if not works:
        return
    st.subheader(_("Unsaved changes"))
    labels = {
        w["service_id"]: _("{name} ({service}) — kept {when} by {who}, {count} problem(s)").format(
            name=w["name"], service=w["service_id"], when=iso_moment(w["saved_at"]),
            who=w["saved_by"], count=w["problems"])
        for w in works
    }  # fmt: skip
    chosen = st.selectbox(_("Continue with"), list(labels), format_func=labels.__getitem__,
                          key="work.service")  # fmt: skip
    if st.button(_("Continue editing"), key="work.open", type="primary"):
        open_in_editor(chosen)


def require_login() -> dict[str, Any]:
    u = user()
    if u is None:
        st.info(_("Log in from the sidebar first."))
        st.stop()
    assert u is not None
    return u


def latest_version(detail: dict[str, Any]) -> dict[str, Any] | None:
    """The version to edit: the open draft, else the latest published one."""
    versions = sorted(detail.get("versions", []), key=lambda v: v["version"])
    drafts = [v for v in versions if v["status"] == "draft"]
    found = drafts[-1] if drafts else (versions[-1] if versions else None)
    return found


def open_in_editor(service_id: str, quiet: bool = False) -> None:
    """Load a service into the editor and go there: the work in progress the server kept
    for it (what the administrator was doing when the tab closed), else its latest
    version. ``quiet``: no error when it has neither (discarded work on a new service)."""
    from designer import draft

    try:
        work = api().work(service_id)
        if work is not None:
            draft.load(work["definition"], N_("changes kept on the server, not saved as a draft"))
            st.session_state["autosaved_at"] = work["saved_at"]
            st.session_state["flash"] = _(
                "Your unsaved changes of {when} are back. Save draft makes them a version; "
                "Discard changes goes back to the last saved draft."
            ).format(when=iso_moment(work["saved_at"]))
            st.switch_page("views/editor.py")
            return
        detail = api().service(service_id)
    except ApiError as e:
        if not (quiet and e.status == 404):
            show_error(e, _("Loading {service}").format(service=service_id))
        return
    v = latest_version(detail)
    if v is None:
        st.error(_("Service {service} has no version you may see.").format(service=service_id))
        return
    draft.load(v["definition"], f"{service_id} v{v['version']} ({v['status']})")
    st.switch_page("views/editor.py")
