"""The designer's dry run: the same interpreter rules as the workflow, on sample inputs."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone

import pytest

from domain import interpreter
from domain.calendar import WorkingCalendar
from domain.definition import DecisionStep, ServiceDefinition
from domain.simulation import Scenario, choices, simulate, unreachable_steps
from lincah.demo import DOMISILI, IZIN_PRAKTIK

WIB = timezone(timedelta(hours=7))
MONDAY = datetime(2026, 1, 5, 9, 0, tzinfo=WIB)
AGENCY = {"code": "BWI", "name": "Kabupaten Banyuwangi"}


def definition(steps: list[dict], **extra) -> ServiceDefinition:
    return ServiceDefinition.model_validate(
        {"id": "layanan-uji", "name": "Layanan uji", "agency": AGENCY, "steps": steps, **extra}
    )


def test_domisili_approved_and_refused_paths():
    d = ServiceDefinition.model_validate(DOMISILI)
    data = {"full_name": "Siti Aminah", "kelurahan": "Sobo"}
    approved = simulate(d, Scenario(data=data, outcomes={"verify_residence": "approve"}))
    assert approved.path == ["submission", "verify_residence", "notify_issued", "issued"]
    assert approved.result == "approved" and approved.stopped is None
    assert "Siti Aminah" in approved.notifications[0]
    refused = simulate(d, Scenario(data=data, outcomes={"verify_residence": "reject"}))
    assert refused.path[-2:] == ["notify_refused", "refused"]
    assert refused.result == "rejected"


def test_decision_uses_the_interpreter_and_names_the_branch():
    d = ServiceDefinition.model_validate(IZIN_PRAKTIK)
    junior = simulate(d, Scenario(data={"years_experience": 1}))
    assert "site_verification" in junior.path
    check = next(v for v in junior.visits if v.step == "experience_check")
    assert check.detail == "branch 1 holds: years_experience < 2"
    senior = simulate(d, Scenario(data={"years_experience": 7}))
    assert "site_verification" not in senior.path
    assert next(v for v in senior.visits if v.step == "experience_check").target == "head_approval"
    # The same choice the workflow's rule makes for the same data:
    env = interpreter.environment(d, {"years_experience": 7}, {"document_review": "approve"})
    check_step = d.step("experience_check")
    assert isinstance(check_step, DecisionStep)
    assert interpreter.decide(check_step, env).target == "head_approval"


def test_a_condition_that_cannot_be_evaluated_stops_where_the_engine_raises_an_incident():
    d = ServiceDefinition.model_validate(IZIN_PRAKTIK)
    run = simulate(d, Scenario(data={"years_experience": "lots"}))
    assert run.result is None  # never the default (or any branch) by guesswork
    assert "site_verification" not in run.path
    assert run.path[-1] == "experience_check"
    assert "experience_check" in (run.stopped or "") and "incident" in (run.stopped or "")
    assert "cannot compare text with number" in (run.stopped or "")


def test_a_condition_that_cannot_be_evaluated_takes_on_error():
    raw = json.loads(json.dumps(IZIN_PRAKTIK))
    decision = next(s for s in raw["steps"] if s["id"] == "experience_check")
    decision["on_error"] = decision["default"]
    run = simulate(ServiceDefinition.model_validate(raw), Scenario(data={"years_experience": "x"}))
    check = next(v for v in run.visits if v.step == "experience_check")
    assert check.target == decision["on_error"] and "on_error" in check.detail
    assert run.warnings and "experience_check.branches[0]" in run.warnings[0]


def test_review_outcomes_per_visit_and_refused_outcome():
    d = definition(
        [
            {
                "kind": "review",
                "id": "check",
                "name": "Check",
                "role": "officer",
                "outcomes": {"again": "check", "ok": "done"},
            },
            {"kind": "end", "id": "done", "name": "Done", "result": "approved"},
        ]
    )
    run = simulate(d, Scenario(outcomes={"check": ["again", "again", "ok"]}))
    assert run.path == ["check", "check", "check", "done"]
    bad = simulate(d, Scenario(outcomes={"check": "maybe"}))
    assert bad.result is None and "'maybe'" in (bad.stopped or "")
    assert "again, ok" in (bad.stopped or "")
    looping = simulate(d, Scenario(outcomes={"check": "again"}))
    assert looping.result is None and "loop" in (looping.stopped or "")


def test_durations_on_the_working_calendar_against_the_time_limit():
    # Friday + 2 working days = Tuesday's end; the holiday on Monday pushes it to Wednesday.
    friday = datetime(2026, 1, 9, 10, 0, tzinfo=WIB)
    cal = WorkingCalendar(holidays=[date(2026, 1, 12)])
    steps: list[dict] = [
        {
            "kind": "review",
            "id": "check",
            "name": "Check",
            "role": "officer",
            "outcomes": {"ok": "pay"},
            "deadline": {"within": {"amount": 2, "unit": "working_days"}},
        },
        {
            "kind": "payment",
            "id": "pay",
            "name": "Bayar",
            "fee": {"amount": 50000, "rules": [{"when": "luas > 100", "amount": 150000}]},
            "next": "done",
            "deadline": {"within": {"amount": 1, "unit": "days"}},
        },
        {"kind": "end", "id": "done", "name": "Done", "result": "approved"},
    ]
    fields = [{"id": "luas", "label": "Luas", "type": "number"}]
    d = definition(steps, fields=fields, time_limit={"amount": 3, "unit": "working_days"})
    run = simulate(d, Scenario(data={"luas": 250}, start=friday, calendar=cal))
    check, pay, _ = run.visits
    assert check.finished.astimezone(WIB).date() == date(2026, 1, 14)
    assert pay.finished - check.finished == timedelta(days=1)
    assert run.fee == 150000 and "150.000" in pay.detail
    assert run.working_days == 3  # Tue, Wed, Thu (the 15th); Monday the 12th is a holiday
    assert run.deadline is not None and run.deadline.astimezone(WIB).date() == date(2026, 1, 15)
    assert run.within_time_limit is True
    tight = definition(steps, fields=fields, time_limit={"amount": 2, "unit": "working_days"})
    late = simulate(tight, Scenario(data={"luas": 250}, start=friday, calendar=cal))
    assert late.within_time_limit is False


def test_parallel_branches_join_at_the_latest_and_first_wins():
    def review(step_id: str, days: int, nxt: str) -> dict:
        return {
            "kind": "review",
            "id": step_id,
            "name": step_id,
            "role": "officer",
            "outcomes": {"ok": nxt},
            "deadline": {"within": {"amount": days, "unit": "days"}},
        }

    def flow(mode: str) -> ServiceDefinition:
        return definition(
            [
                {
                    "kind": "parallel",
                    "id": "split",
                    "name": "Split",
                    "branches": ["a", "b"],
                    "join": "meet",
                },
                review("a", 2, "meet"),
                review("b", 5, "meet"),
                {"kind": "join", "id": "meet", "name": "Meet", "mode": mode, "next": "done"},
                {"kind": "end", "id": "done", "name": "Done", "result": "approved"},
            ]
        )

    every = simulate(flow("all"), Scenario(start=MONDAY))
    assert every.path == ["split", "a", "b", "meet", "done"]
    assert {v.lane for v in every.visits if v.step in "ab"} == {"split.a", "split.b"}
    assert every.finished - MONDAY == timedelta(days=5)
    first = simulate(flow("first"), Scenario(start=MONDAY))
    assert first.finished - MONDAY == timedelta(days=2)


def test_correction_pauses_the_clock_and_scripted_steps_of_every_kind():
    steps: list[dict] = [
        {
            "kind": "face_verify",
            "id": "face",
            "name": "Face",
            "on_match": "sub",
            "on_mismatch": "fix",
        },
        {
            "kind": "correction",
            "id": "fix",
            "name": "Perbaikan",
            "resume": "face",
            "on_abandon": "cancelled",
            "abandon_after": {"amount": 3, "unit": "days"},
        },
        {
            "kind": "subservice",
            "id": "sub",
            "name": "Sub",
            "service": "izin-lain",
            "next": "inspect",
        },
        {
            "kind": "external",
            "id": "inspect",
            "name": "Inspeksi",
            "event": "inspection",
            "fields": [{"id": "score", "label": "Skor", "type": "number"}],
            "next": "ok",
            "timeout": {"amount": 1, "unit": "days"},
            "on_timeout": "cancelled",
        },
        {
            "kind": "decision",
            "id": "ok",
            "name": "OK?",
            "branches": [{"when": "sub == 'approved' and score >= 70", "goto": "doc"}],
            "default": "refused",
        },
        {
            "kind": "document",
            "id": "doc",
            "name": "Terbit",
            "next": "issued",
            "template": {"code": "SKX", "title": "Surat", "body": "Untuk {nama}"},
        },
        {"kind": "end", "id": "issued", "name": "Issued", "result": "approved"},
        {"kind": "end", "id": "refused", "name": "Refused", "result": "rejected"},
        {"kind": "end", "id": "cancelled", "name": "Cancelled", "result": "cancelled"},
    ]
    fields = [{"id": "nama", "label": "Nama"}]
    d = definition(steps, fields=fields, time_limit={"amount": 2, "unit": "days"})
    run = simulate(
        d,
        Scenario(
            data={"nama": "Siti", "score": 80},
            outcomes={"face": ["mismatch", "match"], "sub": "approved"},
            start=MONDAY,
        ),
    )
    assert run.path == ["face", "fix", "face", "sub", "inspect", "ok", "doc", "issued"]
    assert run.documents == ("Surat: Untuk Siti",)
    assert [v.paused for v in run.visits if v.step == "fix"] == [True]
    # 3 days paused + 1 day of time-out: 4 days elapsed, but the paused 3 move the limit.
    assert run.finished - MONDAY == timedelta(days=4)
    assert run.deadline == MONDAY + timedelta(days=5) and run.within_time_limit is True
    low = simulate(d, Scenario(data={"score": 10}, start=MONDAY))
    assert low.result == "rejected"
    late = simulate(d, Scenario(outcomes={"inspect": "timeout"}, start=MONDAY))
    assert late.result == "cancelled"
    assert choices(d.step("inspect")) == ("received", "timeout")


def test_unreachable_steps_include_constant_false_branches():
    d = definition(
        [
            {
                "kind": "decision",
                "id": "gate",
                "name": "Gate",
                "branches": [{"when": "1 > 2", "goto": "never"}, {"when": "true", "goto": "ok"}],
                "default": "dead_default",
            },
            {"kind": "end", "id": "never", "name": "Never", "result": "rejected"},
            {"kind": "end", "id": "ok", "name": "OK", "result": "approved"},
            {"kind": "end", "id": "dead_default", "name": "Default", "result": "rejected"},
            {"kind": "end", "id": "orphan", "name": "Orphan", "result": "rejected"},
        ]
    )
    assert unreachable_steps(d) == ["never", "dead_default", "orphan"]
    assert simulate(d).unreachable == ("never", "dead_default", "orphan")


def test_a_missing_target_stops_the_run_with_the_reason():
    d = definition([{"kind": "form", "id": "a", "name": "A", "next": "ghost"}])
    run = simulate(d)
    assert run.result is None and "ghost" in (run.stopped or "")
    assert run.path == ["a"]


@pytest.mark.parametrize("value", ["unpaid"])
def test_unpaid_without_on_unpaid_is_refused(value):
    d = definition(
        [
            {"kind": "payment", "id": "pay", "name": "Pay", "fee": {"amount": 1}, "next": "e"},
            {"kind": "end", "id": "e", "name": "E", "result": "approved"},
        ]
    )
    run = simulate(d, Scenario(outcomes={"pay": value}))
    assert run.result is None and "'unpaid'" in (run.stopped or "")
