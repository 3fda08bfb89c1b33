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
from designer.i18n import _, moment, ngettext, rupiah
from designer.standard import duration_text
from domain.calendar import DEMO_CALENDAR, WorkingCalendar
from domain.definition import ExternalStep, FormField, ServiceDefinition
from domain.simulation import Scenario, choices, simulate

WIB = timezone(timedelta(hours=7), "WIB")

st.title(_("Simulation"))
session.require_login()
services = session.services_or_stop()

sources: dict[str, dict[str, Any]] = {}
d = st.session_state.get("draft")
if d:
    sources[_("The draft in the editor: {name}").format(name=d.get("name"))] = d
names = {s["service_id"]: s["name"] for s in services}
for sid in names:
    sources[_("Published: {name} ({service})").format(name=names[sid], service=sid)] = {
        "service": sid
    }
if not sources:
    st.info(_("Nothing to simulate yet: create a service first."))
    st.stop()
label = st.selectbox(_("Simulate"), list(sources), key="sim.source")
raw = sources[label]
if "service" in raw:
    try:
        detail = session.api().service(raw["service"])
    except ApiError as e:
        session.show_error(e, _("Loading the service"))
        st.stop()
    published = [v for v in detail.get("versions", []) if v["status"] == "published"]
    if not published:
        st.info(_("This service has no published version; open its draft in the editor."))
        st.stop()
    raw = published[-1]["definition"]
definition = checks.parsed(raw)
if definition is None:
    st.error(_("The draft does not parse yet; fix the problems the editor shows first."))
    st.stop()
assert isinstance(definition, ServiceDefinition)


def sample(f: FormField, key: str) -> Any:
    match f.type.value:
        case "number":
            # A count reads as one ("300", not "300.00"); decimals still go in.
            return st.number_input(f.label, value=0.0, step=1.0, format="%g", key=key)
        case "choice":
            return st.selectbox(f.label, f.choices or [""], key=key)
        case "date":
            return st.date_input(f.label, key=key).isoformat()
        case "nik":
            return st.text_input(f.label, value="3510154808900003", key=key)
    return st.text_input(f.label, value=_("example {label}").format(label=f.label), key=key)


def calendar(agency: str) -> tuple[WorkingCalendar, str]:
    try:
        return WorkingCalendar.model_validate(session.api().calendar(agency)), _(
            "{agency}'s calendar"
        ).format(agency=agency)
    except (ApiError, ValueError):
        return DEMO_CALENDAR, _("demo calendar (weekends and 2026 national holidays)")


# The verdict and its figures span the page, above the inputs: in the diagram's column
# the figures were cut off ("12 hari …").
figures = st.container()
left, right = st.columns([4, 5])
with left:
    st.subheader(_("Sample inputs"))
    data: dict[str, Any] = {}
    for f in definition.fields:
        data[f.id] = sample(f, f"sim.f.{definition.id}.{f.id}")
    for s in definition.steps:
        if isinstance(s, ExternalStep):
            for f in s.fields:
                data[f.id] = sample(f, f"sim.x.{definition.id}.{f.id}")
    st.subheader(_("Answers of the steps that wait"))
    outcomes: dict[str, str] = {}
    for s in definition.steps:
        options = choices(s)
        if options:
            outcomes[s.id] = st.selectbox(f"{s.name} ({s.kind})", options,
                                          key=f"sim.o.{definition.id}.{s.id}")  # fmt: skip
    day = st.date_input(_("Submitted on"), value=datetime(2026, 1, 5).date(), key="sim.day")
    cal, cal_name = calendar(definition.agency.code)
    st.caption(_("Working days counted on the {calendar}.").format(calendar=cal_name))

start = datetime.combine(day, time(9, 0), tzinfo=WIB)
run = simulate(definition, Scenario(data=data, outcomes=outcomes, start=start, calendar=cal))
with right:
    st.graphviz_chart(dot(raw, None, set(run.unreachable), run.path), width="stretch")
with figures:
    if run.result:
        st.success(ngettext("Ends **{result}** at '{step}' after {count} step.",
                             "Ends **{result}** at '{step}' after {count} steps.",
                             len(run.visits)).format(result=run.result, step=run.end_step,
                                                     count=len(run.visits)))  # fmt: skip
    else:
        st.error(_("Stopped: {reason}").format(reason=run.stopped))
    m1, m2, m3 = st.columns(3)
    m1.metric(_("Expected duration"), ngettext("{count} working day", "{count} working days",
              run.working_days).format(count=run.working_days))  # fmt: skip
    limit = duration_text(definition.time_limit) or _("none")
    if run.within_time_limit is None:
        m2.metric(_("Time limit"), limit)
    else:
        m2.metric(_("Time limit"), limit, _("within") if run.within_time_limit else _("breached"),
                  delta_color="normal" if run.within_time_limit else "inverse")  # fmt: skip
    m3.metric(_("Fee paid"), rupiah(run.fee))
    if run.deadline:
        st.caption(_("Finishes by {finished} WIB; the time limit ends {deadline} WIB.").format(
            finished=moment(run.finished.astimezone(WIB), weekday=True),
            deadline=moment(run.deadline.astimezone(WIB), weekday=True)))  # fmt: skip
st.subheader(_("Path taken"))


def paused(yes: bool) -> str:
    return " " + _("(clock paused)") if yes else ""


st.dataframe(
    [
        {
            _("step"): f"{v.name} ({v.step})",
            _("kind"): v.kind,
            _("what happened"): v.detail,
            _("then"): v.target or "",
            _("allowed"): duration_text(v.allowed) + paused(v.paused),
            _("from"): moment(v.started.astimezone(WIB)),
            _("until"): moment(v.finished.astimezone(WIB)),
            _("branch"): v.lane,
        }
        for v in run.visits
    ],
    hide_index=True,
    width="stretch",
)
for w in run.warnings:
    st.warning(_("Condition not evaluated: {reason}").format(reason=w))
for message in run.notifications:
    st.info(_("✉️ To the citizen: {message}").format(message=message))
if run.unreachable:
    st.warning(_("No input can reach: {steps}").format(
        steps=", ".join(f"'{s}'" for s in run.unreachable)))  # fmt: skip
else:
    st.caption(_("Every step can be reached by some input."))
