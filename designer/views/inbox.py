"""Officer inbox: the open tasks of the caller's role and agency; claim one, complete it
with an outcome and a comment."""

from __future__ import annotations

from typing import Any

import streamlit as st

from designer import session
from designer.client import ApiError
from designer.i18n import _, iso_moment


def _field_labels(service_id: str, version: Any) -> dict[str, str]:
    """The form's labels by field id, from the version the application runs on: the
    officer reads "Nama lengkap", not ``full_name``."""
    try:
        detail = session.api().service(service_id)
    except ApiError:
        return {}
    for v in detail.get("versions", []):
        if version is None or v.get("version") == version:
            return {str(f["id"]): str(f.get("label") or f["id"])
                    for f in v["definition"].get("fields", [])}  # fmt: skip
    return {}


def _shown(value: Any) -> str:
    """A value as a person reads it: yes/no, lists joined, nothing as a dash."""
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if value is None or value == "":
        return "—"
    if isinstance(value, list):
        return ", ".join(_shown(v) for v in value)
    return str(value)


st.title(_("Inbox"))
user = session.require_login()
api = session.api()
try:
    tasks = api.tasks(st.session_state.get("inbox.min_position"))
except ApiError as e:
    session.show_error(e, _("Loading the inbox"))
    st.stop()
flash = st.session_state.pop("inbox.flash", None)
if flash:
    st.success(flash)
if not tasks:
    st.info(_("No open tasks for {role} at {agency}.").format(role=user["role"],
                                                            agency=user.get("agency")))  # fmt: skip
    st.stop()
st.dataframe(
    [
        {
            _("application"): t["application_id"],
            _("service"): t.get("service_name"),
            _("step"): t.get("step_name"),
            _("since"): iso_moment(t.get("assigned_at")),
            _("claimed by"): t.get("claimed_by") or "",
        }
        for t in tasks
    ],
    hide_index=True,
    width="stretch",
)
by_id = {t["task_id"]: t for t in tasks}
task_id = st.selectbox(
    _("Task"), list(by_id), key="inbox.task",
    format_func=lambda i: f"{by_id[i]['application_id']} — {by_id[i].get('step_name')}",
)  # fmt: skip
task = by_id[task_id]
left, right = st.columns([3, 2])
with left:
    try:
        # The task is the reason for the citizen's access log (README "Access log").
        app = api.application(task["application_id"], reason=f"inbox task {task_id}")
    except ApiError as e:
        session.show_error(e, _("Loading the application"))
        app = {}
    # The form's labels, read once for the data shown and the fields to fix.
    labels = (
        _field_labels(str(app.get("service_id")), app.get("service_version")) if app else {}
    )
    if app:
        st.markdown(_("**{service}** · {citizen} · status `{status}`").format(
            service=app.get("service_name"), citizen=app.get("citizen"),
            status=app.get("status")))  # fmt: skip
        data = app.get("data", {})
        st.dataframe(
            [{_("Field"): labels.get(k, k), _("Value"): _shown(v)} for k, v in data.items()],
            hide_index=True, width="stretch",
        )  # fmt: skip
        with st.expander(_("Timeline")):
            for entry in app.get("timeline", []):
                st.markdown(f"- {iso_moment(entry.get('at'))} — {entry.get('summary')}")
with right:
    if st.button(
        _("Claim"), key="inbox.claim", help=_("Take the task so colleagues see it is yours")
    ):
        try:
            api.claim(task_id)
        except ApiError as e:
            session.show_error(e, _("Claiming"))
        else:
            st.success(_("You hold {task}.").format(task=task_id))
    with st.form("inbox.complete"):
        outcome = st.selectbox(_("Outcome"), task.get("outcomes", []), key="inbox.outcome")
        comment = st.text_area(_("Comment"), key="inbox.comment")
        fix = st.multiselect(
            _("Fields the citizen must fix (when the outcome returns the application)"),
            sorted(app.get("data", {})), key="inbox.fields",
            format_func=lambda k: labels.get(k, k),
        )  # fmt: skip
        done = st.form_submit_button(_("Complete task"), type="primary")
    if done:
        try:
            result = api.complete(task_id, str(outcome), comment, fix)

        except ApiError as e:
            session.show_error(e, _("Completing the task"))
        else:
            st.session_state["inbox.min_position"] = result.get("position")
            st.session_state["inbox.flash"] = _(
                "{application}: '{outcome}' recorded; the application is now {status}."
            ).format(application=task["application_id"], outcome=outcome,
                     status=result.get("status"))  # fmt: skip
            st.rerun()
