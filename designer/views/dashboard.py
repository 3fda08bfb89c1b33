"""Dashboard: applications by status, by service and by channel (online, counter, kiosk,
mobile), SLA breaches, median processing time per service."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pandas as pd
import streamlit as st

from designer import session
from designer.client import ApiError
from designer.dashboard import ALL_SERVICES, from_applications, queue_rows
from designer.i18n import _, iso_day

st.title(_("Dashboard"))
session.require_login()
api = session.api()
stats: dict[str, Any]
try:
    stats = api.stats()
except ApiError as e:
    if not e.endpoint_missing:
        session.show_error(e, _("Loading the statistics"))
        st.stop()
    st.warning(
        _(
            "The API has no statistics endpoint yet ({endpoint} answered {status}): the "
            "figures below are computed from the latest 500 applications, without SLA breaches."
        ).format(endpoint=e.endpoint, status=e.status)
    )
    try:
        stats = from_applications(api.applications(limit=500))
    except ApiError as e2:
        session.show_error(e2, _("Loading the applications"))
        st.stop()

by_status: dict[str, int] = stats.get("by_status") or {}
by_service: list[dict[str, Any]] = stats.get("by_service") or []
total = sum(by_status.values())
c1, c2, c3 = st.columns(3)
c1.metric(_("Applications"), total)
c2.metric(_("Open"), sum(v for k, v in by_status.items() if k not in ("approved", "rejected",
          "cancelled")))  # fmt: skip
breaches = stats.get("sla_breaches")
c3.metric(_("SLA breaches"), "—" if breaches is None else len(breaches))
try:
    overdue = [r for r in api.standard_reviews() if r["overdue"]]
except ApiError:
    overdue = []  # an API without the endpoint: nothing to show
if overdue:
    st.warning(_("Standar Pelayanan due for review (evaluasi): {services}").format(
        services=", ".join(_("{service} (since {date})").format(
            service=r["service_name"], date=iso_day(r["due"])) for r in overdue)))  # fmt: skip
st.subheader(_("Counter queue (antrean), the last 7 days"))
today = date.today()
try:
    queue = api.queue_stats((today - timedelta(days=6)).isoformat(), today.isoformat())
except ApiError as e:
    st.caption(_("No queue figures: {reason}").format(reason=e))
else:
    if queue["figures"]["total"]["called"]:
        st.caption(_("Waiting target {minutes} minutes; locations: {locations}").format(
            minutes=queue["target_minutes"], locations=", ".join(queue["locations"])))  # fmt: skip
        rows = [
            {_(k): _(v) if k == "service" and v == ALL_SERVICES else v for k, v in r.items()}
            for r in queue_rows(queue["figures"])
        ]
        st.dataframe(rows, hide_index=True, width="stretch")
    else:
        st.caption(_("No number was called at your locations in the last 7 days."))
if not total:
    st.info(_("No applications yet."))
    st.stop()
left, right = st.columns(2)
with left:
    st.subheader(_("By status"))
    st.bar_chart(pd.DataFrame({_("applications"): by_status}), horizontal=True)
with right:
    st.subheader(_("By service"))
    frame = pd.DataFrame(by_service).set_index("service_name")
    st.bar_chart(frame[["total"]], horizontal=True)
st.subheader(_("By channel"))
by_channel: list[dict[str, Any]] = stats.get("by_channel") or []
if by_channel:
    channels = pd.DataFrame(by_channel).set_index("channel")
    st.bar_chart(channels[["total", "open"]], horizontal=True, stack=False)
    st.dataframe(channels, width="stretch")
else:
    st.caption(_("The API does not break its figures down by channel yet."))
st.subheader(_("Median processing time per service (hours, finished applications)"))
medians = frame["median_processing_hours"].dropna() if "median_processing_hours" in frame else []
if len(medians):
    st.bar_chart(medians)
else:
    st.caption(_("No finished applications yet."))
st.subheader(_("SLA breaches"))
if breaches is None:
    st.caption(_("Not available until the API offers its statistics endpoint."))
elif not breaches:
    st.success(_("No SLA breaches."))
else:
    st.dataframe(breaches, hide_index=True, width="stretch")
