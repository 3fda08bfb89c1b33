"""Officer inbox: the open tasks of the caller's role and agency; claim one, complete it
with an outcome and a comment."""

from __future__ import annotations

import streamlit as st

from designer import session
from designer.client import ApiError

st.title("Inbox")
user = session.require_login()
api = session.api()
try:
    tasks = api.tasks(st.session_state.get("inbox.min_position"))
except ApiError as e:
    session.show_error(e, "Loading the inbox")
    st.stop()
flash = st.session_state.pop("inbox.flash", None)
if flash:
    st.success(flash)
if not tasks:
    st.info(f"No open tasks for {user['role']} at {user.get('agency')}.")
    st.stop()
st.dataframe(
    [
        {
            "application": t["application_id"],
            "service": t.get("service_name"),
            "step": t.get("step_name"),
            "since": str(t.get("assigned_at", ""))[:16].replace("T", " "),
            "claimed by": t.get("claimed_by") or "",
        }
        for t in tasks
    ],
    hide_index=True,
    width="stretch",
)
by_id = {t["task_id"]: t for t in tasks}
task_id = st.selectbox(
    "Task", list(by_id), key="inbox.task",
    format_func=lambda i: f"{by_id[i]['application_id']} — {by_id[i].get('step_name')}",
)  # fmt: skip
task = by_id[task_id]
left, right = st.columns([3, 2])
with left:
    try:
        app = api.application(task["application_id"])
    except ApiError as e:
        session.show_error(e, "Loading the application")
        app = {}
    if app:
        st.markdown(f"**{app.get('service_name')}** · {app.get('citizen')} · "
                    f"status `{app.get('status')}`")  # fmt: skip
        st.json(app.get("data", {}), expanded=True)
        with st.expander("Timeline"):
            for entry in app.get("timeline", []):
                st.markdown(f"- {str(entry.get('at', ''))[:16]} — {entry.get('summary')}")
with right:
    if st.button("Claim", key="inbox.claim", help="Take the task so colleagues see it is yours"):
        try:
            api.claim(task_id)
        except ApiError as e:
            session.show_error(e, "Claiming")
        else:
            st.success(f"You hold {task_id}.")
    with st.form("inbox.complete"):
        outcome = st.selectbox("Outcome", task.get("outcomes", []), key="inbox.outcome")
        comment = st.text_area("Comment", key="inbox.comment")
        fix = st.multiselect(
            "Fields the citizen must fix (when the outcome returns the application)",
            sorted(app.get("data", {})), key="inbox.fields",
        )  # fmt: skip
        done = st.form_submit_button("Complete task", type="primary")
    if done:
        try:
            result = api.complete(task_id, str(outcome), comment, fix)

        except ApiError as e:
            session.show_error(e, "Completing the task")
        else:
            st.session_state["inbox.min_position"] = result.get("position")
            st.session_state["inbox.flash"] = (
                f"{task['application_id']}: '{outcome}' recorded; the application is now "
                f"{result.get('status')}."
            )
            st.rerun()
