"""Simulation: a dry run of the draft (or a published version) on sample inputs, with
the engine's own rules and no Temporal: the path taken, each step met, the expected
duration against the time limit, and the steps no input can reach."""

from __future__ import annotations

from datetime import datetime, time, timedelta, timezone
from typing import Any

import streamlit as st

from designer import checks, session
from designer.client import ApiError
from designer.diagram import dot
from designer.standard import duration_text, rupiah
from domain.calendar import DEMO_CALENDAR, WorkingCalendar
from domain.definition import ExternalStep, FormField, ServiceDefinition
from domain.simulation import Scenario, choices, simulate

WIB = timezone(timedelta(hours=7), "WIB")

st.title("Simulation")
session.require_login()
services = session.services_or_stop()

sources: dict[str, dict[str, Any]] = {}
d = st.session_state.get("draft")
if d:
    sources[f"The draft in the editor: {d.get('name')}"] = d
names = {s["service_id"]: s["name"] for s in services}
for sid in names:
    sources[f"Published: {names[sid]} ({sid})"] = {"service": sid}
if not sources:
    st.info("Nothing to simulate yet: create a service first.")
    st.stop()
label = st.selectbox("Simulate", list(sources), key="sim.source")
raw = sources[label]
if "service" in raw:
    try:
        detail = session.api().service(raw["service"])
    except ApiError as e:
        session.show_error(e, "Loading the service")
        st.stop()
    published = [v for v in detail.get("versions", []) if v["status"] == "published"]
    if not published:
        st.info("This service has no published version; open its draft in the editor.")
        st.stop()
    raw = published[-1]["definition"]
definition = checks.parsed(raw)
if definition is None:
    st.error("The draft does not parse yet; fix the problems the editor shows first.")
    st.stop()
assert isinstance(definition, ServiceDefinition)


def sample(f: FormField, key: str) -> Any:
    match f.type.value:
        case "number":
            return st.number_input(f.label, value=0.0, key=key)
        case "choice":
            return st.selectbox(f.label, f.choices or [""], key=key)
        case "date":
            return st.date_input(f.label, key=key).isoformat()
        case "nik":
            return st.text_input(f.label, value="3510154808900003", key=key)
    return st.text_input(f.label, value=f"contoh {f.label}", key=key)


def calendar(agency: str) -> tuple[WorkingCalendar, str]:
    try:
        return WorkingCalendar.model_validate(
            session.api().calendar(agency)
        ), f"{agency}'s calendar"
    except (ApiError, ValueError):
        return DEMO_CALENDAR, "demo calendar (weekends and 2026 national holidays)"


left, right = st.columns([4, 5])
with left:
    st.subheader("Sample inputs")
    data: dict[str, Any] = {}
    for f in definition.fields:
        data[f.id] = sample(f, f"sim.f.{definition.id}.{f.id}")
    for s in definition.steps:
        if isinstance(s, ExternalStep):
            for f in s.fields:
                data[f.id] = sample(f, f"sim.x.{definition.id}.{f.id}")
    st.subheader("Answers of the steps that wait")
    outcomes: dict[str, str] = {}
    for s in definition.steps:
        options = choices(s)
        if options:
            outcomes[s.id] = st.selectbox(f"{s.name} ({s.kind})", options,
                                          key=f"sim.o.{definition.id}.{s.id}")  # fmt: skip
    day = st.date_input("Submitted on", value=datetime(2026, 1, 5).date(), key="sim.day")
    cal, cal_name = calendar(definition.agency.code)
    st.caption(f"Working days counted on the {cal_name}.")

start = datetime.combine(day, time(9, 0), tzinfo=WIB)
run = simulate(definition, Scenario(data=data, outcomes=outcomes, start=start, calendar=cal))
with right:
    if run.result:
        st.success(f"Ends **{run.result}** at '{run.end_step}' after {len(run.visits)} steps.")
    else:
        st.error(f"Stopped: {run.stopped}")
    m1, m2, m3 = st.columns(3)
    m1.metric("Expected duration", f"{run.working_days} working days")
    limit = duration_text(definition.time_limit) or "none"
    if run.within_time_limit is None:
        m2.metric("Time limit", limit)
    else:
        m2.metric("Time limit", limit, "within" if run.within_time_limit else "breached",
                  delta_color="normal" if run.within_time_limit else "inverse")  # fmt: skip
    m3.metric("Fee paid", rupiah(run.fee))
    if run.deadline:
        st.caption(f"Finishes by {run.finished.astimezone(WIB):%a %d %b %Y %H:%M} WIB; the time "
                   f"limit ends {run.deadline.astimezone(WIB):%a %d %b %Y %H:%M} WIB.")  # fmt: skip
    st.graphviz_chart(dot(raw, None, set(run.unreachable), run.path), width="stretch")
st.subheader("Path taken")
st.dataframe(
    [
        {
            "step": f"{v.name} ({v.step})",
            "kind": v.kind,
            "what happened": v.detail,
            "then": v.target or "",
            "allowed": duration_text(v.allowed) + (" (clock paused)" if v.paused else ""),
            "from": f"{v.started.astimezone(WIB):%d %b %H:%M}",
            "until": f"{v.finished.astimezone(WIB):%d %b %H:%M}",
            "branch": v.lane,
        }
        for v in run.visits
    ],
    hide_index=True,
    width="stretch",
)
for w in run.warnings:
    st.warning(f"Condition not evaluated: {w}")
for message in run.notifications:
    st.info(f"✉️ To the citizen: {message}")
if run.unreachable:
    st.warning("No input can reach: " + ", ".join(f"'{s}'" for s in run.unreachable))
else:
    st.caption("Every step can be reached by some input.")
