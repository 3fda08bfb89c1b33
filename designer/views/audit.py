"""The auditor's page: find an application in the auditor's scope, read its timeline
(who did what, when, with each event's hash and whether the chain verifies up to it),
see it as it stood at a chosen time, replay its Temporal history against today's
workflow code, and check the whole log against the last signed checkpoint. Every figure
comes from the API's audit endpoints."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Any

import streamlit as st

from designer import session
from designer.client import ApiError
from designer.i18n import ZONES, _, iso_moment, zone_name

st.title(_("Audit trail"))
session.require_login()
api = session.api()

try:
    applications: list[dict[str, Any]] = api.applications(limit=500)
except ApiError as e:
    session.show_error(e, _("Loading the applications"))
    st.stop()

found = st.text_input(_("Search (number, service or status)"), key="audit.search").strip().lower()
shown = [
    a for a in applications
    if not found or any(found in str(a.get(k, "")).lower()
                        for k in ("application_id", "service_name", "service_id", "status"))
]  # fmt: skip
if not shown:
    st.info(_("No application matches.") if found else _("No applications in your scope yet."))
    st.stop()
labels = {
    a["application_id"]: f"{a['application_id']} — {a.get('service_name', a.get('service_id'))}"
    f" ({a.get('status')})"
    for a in shown
}
chosen = st.selectbox(_("Application"), list(labels), format_func=labels.__getitem__,
                      key="audit.application")  # fmt: skip

try:
    trail = api.audit_events(chosen)
except ApiError as e:
    session.show_error(e, _("Loading the audit trail"))
    st.stop()
events = trail["events"]
if trail["chain_intact"]:
    st.success(_("Hash chain intact: all {count} events verify.").format(count=len(events)))
else:
    st.error(_("The hash chain is broken: {reason}").format(reason=trail["first_break"]))

st.subheader(_("Timeline"))
st.dataframe(
    [
        {
            _("time"): iso_moment(e["recorded_at"]),
            _("who"): e.get("actor") or _("(the system)"),
            _("what"): e["summary"] or e["type"],
            _("event"): e["type"],
            _("position"): e["position"],
            _("hash"): e["hash"][:16] + "…",
            _("verified"): "✔" if e["verified"] else "✖",
        }
        for e in events
    ],
    hide_index=True,
    width="stretch",
)

st.subheader(_("As it stood at a time"))
zone = zone_name()
local = timezone(timedelta(hours=ZONES.get(zone, 7)), zone)
# By default the minute after submission (the time inputs count whole minutes).
first = (
    (datetime.fromisoformat(events[0]["recorded_at"]) + timedelta(minutes=1)).astimezone(local)
    if events
    else None
)
a, b = st.columns(2)
on = a.date_input(_("Date ({zone})").format(zone=zone), value=first.date() if first else
                  date.today(), key="audit.date")  # fmt: skip
at_time = b.time_input(_("Time ({zone})").format(zone=zone),
                       value=first.time().replace(second=0, microsecond=0) if first else time(9),
                       key="audit.time")  # fmt: skip
moment = datetime.combine(on, at_time, tzinfo=local).astimezone(UTC)
try:
    replayed = api.audit_state(chosen, moment.isoformat())
except ApiError as e:
    session.show_error(e, _("Replaying the application"))
else:
    state = replayed.get("state")
    if state is None:
        st.info(_("The application had not been submitted yet at that time."))
    else:
        c1, c2, c3 = st.columns(3)
        c1.metric(_("Status"), state["status"])
        c2.metric(_("Step"), state.get("current_step") or "—")
        c3.metric(_("Events applied"), replayed["events_applied"])
        tasks = [f"{t.get('step')} ({t.get('role')})" for t in state.get("open_tasks", [])]
        st.caption(_("Open tasks: {tasks}").format(tasks=", ".join(tasks) or "—"))

st.subheader(_("The workflow in Temporal"))
st.caption(_("Replays the application's recorded Temporal history against the workflow code "
             "the server runs today: a change of the code that would break this application "
             "shows here, before it reaches it."))  # fmt: skip
if st.button(_("Check the workflow replays against today's code"), key="audit.replay"):
    try:
        replay = api.audit_replay(chosen)
    except ApiError as e:
        session.show_error(e, _("Replaying the workflow"))
    else:
        if replay["replayed"]:
            st.success(_("Today's workflow code replays all {events} events of the Temporal "
                         "history of {application}: it runs this application exactly as "
                         "recorded.").format(events=replay["events"],
                                             application=chosen))  # fmt: skip
        else:
            st.error(_("Today's workflow code does not replay the Temporal history of "
                       "{application} ({events} events): {failure}. The application would "
                       "stop where the code changed; tell the developers before this code "
                       "is deployed.").format(application=chosen, events=replay["events"],
                                              failure=replay["failure"]))  # fmt: skip
        st.caption(_("Workflow {workflow}, run {run}.").format(
            workflow=replay["workflow_id"], run=replay["run_id"]))  # fmt: skip

st.subheader(_("The whole log"))
if st.button(_("Check every hash chain against the last signed checkpoint"),
             key="audit.verify"):  # fmt: skip
    try:
        result = api.audit_verification()
    except ApiError as e:
        session.show_error(e, _("Checking the log"))
    else:
        if (
            result["chains_intact"]
            and not result["bad_checkpoints"]
            and result["anchored"] is not False
        ):
            st.success(_("The log verifies: {events} events in {streams} streams.").format(
                events=result["events"], streams=result["streams"]))  # fmt: skip
        else:
            st.error(_("The log does not verify: see the details below."))
        st.json(result, expanded=False)
