"""Perbaikan berkas: a reviewer returns the application, the citizen fixes exactly the
fields named, the flow resumes; the service clock pauses meanwhile; abandonment."""

from __future__ import annotations

from datetime import datetime, time, timedelta, timezone
from typing import Any

from domain import calendar
from domain import events as ev
from domain.calendar import WorkingCalendar
from domain.definition import Duration, DurationUnit
from tests.workflows.stepkit import (
    APPROVED,
    BAD_NIK,
    CANCELLED,
    CITIZEN,
    DATA,
    FIELDS,
    OFFICER,
    OTHER_CITIZEN,
    REJECTED,
    Kit,
    complete,
    eventually,
    parse,
    refused,
    review,
    service,
    state,
)
from workflows.application import ApplicationWorkflow
from workflows.messages import Actor, SubmitCorrection

WIB = timezone(timedelta(hours=7))
ADDRESS = {"id": "address", "label": "Alamat", "type": "text"}


def correction_definition(
    pause_clock: bool = True, unit: str = "working_days", abandon_days: int = 3
) -> dict[str, Any]:
    return service(
        ("surat-pindah" if pause_clock else "surat-pindah-nopause")
        + ("" if unit == "working_days" else f"-{unit}")
        + ("" if abandon_days == 3 else f"-{abandon_days}"),
        [
            review("verify", {"approve": "approved", "return": "fix", "reject": "rejected"}),
            {
                "kind": "correction",
                "id": "fix",
                "name": "Perbaikan berkas",
                "resume": "verify",
                "pause_clock": pause_clock,
                "abandon_after": {"amount": abandon_days, "unit": "days"},
                "on_abandon": "cancelled_end",
            },
            APPROVED,
            REJECTED,
            CANCELLED,
        ],
        fields=[*FIELDS, ADDRESS],
        time_limit={"amount": 10, "unit": unit},
    )


CORRECTION = parse(correction_definition())
IN_DAYS = parse(correction_definition(unit="days"))
PATIENT = parse(correction_definition(abandon_days=14))
NO_PAUSE = parse(correction_definition(pause_clock=False))
APP_DATA = {**DATA, "address": "Jl. Ahmad Yani 1"}


async def correct(handle, data: dict[str, Any], actor: Actor = CITIZEN):
    return await handle.execute_update(
        ApplicationWorkflow.submit_correction, SubmitCorrection(actor=actor, data=data)
    )


async def test_return_needs_a_reason_and_known_fields(kit: Kit):
    handle, _ = await kit.submit(CORRECTION, APP_DATA)
    for comment, fields in [
        ("", ["address"]),  # no reason
        ("   ", ["address"]),  # a blank one
        ("Alamat tidak sesuai KK", []),  # nothing to fix
        ("Alamat tidak sesuai KK", ["address", "postcode"]),  # a field the form lacks
    ]:
        e = await refused(complete(handle, "verify", "return", comment=comment, fields=fields))
        assert e.type == "InvalidInput", (comment, fields)
    assert "postcode" in e.message
    assert kit.types(handle.id)[-1] == ev.TASK_ASSIGNED  # refusals write nothing
    # Other outcomes need neither.
    r = await complete(handle, "verify", "approve")
    assert r.status == "approved"


async def test_citizen_fixes_exactly_the_fields_asked_and_the_flow_resumes(kit: Kit):
    handle, _ = await kit.submit(CORRECTION, APP_DATA)
    r = await complete(
        handle, "verify", "return", comment="NIK dan alamat tidak sesuai", fields=["nik", "address"]
    )
    assert r.status == "awaiting_correction"
    assert r.position == kit.last_position(handle.id)
    returned = kit.data(handle.id, ev.TASK_COMPLETED)[0]
    assert (returned["outcome"], returned["fields"]) == ("return", ["nik", "address"])
    requested = kit.one(handle.id, ev.CORRECTION_REQUESTED)
    assert {k: requested[k] for k in ("step", "citizen", "reason", "fields", "by")} == {
        "step": "fix",
        "citizen": CITIZEN.subject,
        "reason": "NIK dan alamat tidak sesuai",
        "fields": ["nik", "address"],
        "by": OFFICER.subject,
    }
    live = await state(handle)
    assert (live.status, live.current_step) == ("awaiting_correction", "fix")
    assert [(w.step, w.kind, w.detail["fields"]) for w in live.waiting] == [
        ("fix", "correction", ["nik", "address"])
    ]

    fixed = {"nik": "3510155008900001", "address": "Jl. Diponegoro 7"}
    e = await refused(correct(handle, fixed, OTHER_CITIZEN))
    assert e.type == "NotFound"  # another citizen's: as for an unknown application
    e = await refused(correct(handle, fixed, Actor(subject="siti", role="officer", agency="BWI")))
    assert e.type == "NotAllowed"
    e = await refused(correct(handle, {"address": "Jl. Diponegoro 7"}))
    assert e.type == "InvalidInput" and "missing: nik" in e.message
    e = await refused(correct(handle, {**fixed, "full_name": "Siti A."}))
    assert e.type == "InvalidInput" and "not asked for: full_name" in e.message
    e = await refused(correct(handle, {**fixed, "nik": BAD_NIK}))
    assert e.type == "InvalidInput" and "data.nik" in e.message
    e = await refused(correct(handle, {**fixed, "address": ""}))
    assert e.type == "InvalidInput" and "data.address" in e.message
    assert kit.types(handle.id)[-1] == ev.CORRECTION_REQUESTED  # refusals write nothing

    r = await correct(handle, fixed)
    assert r.status == "in_review"
    assert r.position == kit.last_position(handle.id)
    submitted = kit.one(handle.id, ev.CORRECTION_SUBMITTED)
    assert submitted == {
        "step": "fix",
        "fields": ["address", "nik"],
        "data": fixed,
        "by": CITIZEN.subject,
    }
    # Resumed at `resume`: the review again, as its second visit.
    live = await state(handle)
    assert live.current_step == "verify" and live.waiting == []
    assert [t.task_id for t in live.tasks if not t.completed] == [f"{handle.id}.verify.2"]
    e = await refused(correct(handle, fixed))
    assert e.type == "NotWaiting"

    r = await complete(handle, "verify", "approve", visit=2)
    assert r.status == "approved"
    assert await handle.result() == "approved"
    assert kit.types(handle.id) == [
        ev.APPLICATION_SUBMITTED,
        ev.DEADLINE_SET,
        ev.TASK_ASSIGNED,
        ev.TASK_COMPLETED,
        ev.CORRECTION_REQUESTED,
        ev.CORRECTION_SUBMITTED,
        ev.DEADLINE_SET,
        ev.TASK_ASSIGNED,
        ev.TASK_COMPLETED,
        ev.APPLICATION_COMPLETED,
    ]
    assert kit.data(handle.id, ev.TASK_ASSIGNED)[1]["task_id"] == f"{handle.id}.verify.2"


async def test_the_service_clock_pauses_while_the_citizen_corrects(kit: Kit):
    # A time limit in plain days moves by the time the citizen took.
    handle, _ = await kit.submit(IN_DAYS, APP_DATA)
    await complete(handle, "verify", "return", comment="Alamat kurang lengkap", fields=["address"])
    await kit.env.sleep(timedelta(days=2))
    await correct(handle, {"address": "Jl. Ahmad Yani 1, RT 02/RW 05"})
    first, second = kit.data(handle.id, ev.DEADLINE_SET)
    assert (first["scope"], second["scope"]) == ("service", "service")
    assert "reason" not in first and "paused" in second["reason"]
    moved = datetime.fromisoformat(second["due_at"]) - datetime.fromisoformat(first["due_at"])
    assert timedelta(days=2) <= moved < timedelta(days=2, hours=1)

    # The paused time is not counted: no service breach at the first due date ...
    first_due = datetime.fromisoformat(first["due_at"])
    now = await kit.env.get_current_time()
    await kit.env.sleep(first_due - now + timedelta(hours=1))
    assert ev.SLA_BREACHED not in kit.types(handle.id)
    # ... but at the moved one.
    await kit.env.sleep(moved)

    async def breached() -> bool:
        return ev.SLA_BREACHED in kit.types(handle.id)

    await eventually(breached)
    assert kit.one(handle.id, ev.SLA_BREACHED) == {
        "scope": "service",
        "step": "verify",
        "due_at": second["due_at"],
    }
    await complete(handle, "verify", "approve", visit=2)
    assert await handle.result() == "approved"


async def test_a_pause_over_a_weekend_and_holidays_moves_working_days_by_working_days(
    kit: Kit,
):
    # The next Wednesday 10:00 WIB; Thursday and Friday are holidays of this calendar
    # (relative to the test server's clock, which starts at the real time).
    now = await kit.env.get_current_time()
    today = now.astimezone(WIB).date()
    wednesday = today + timedelta(days=(2 - today.weekday()) % 7 or 7)
    holidays = [
        {"date": wednesday + timedelta(days=1), "kind": "cuti_bersama", "source": "national"},
        {"date": wednesday + timedelta(days=2), "kind": "libur_nasional", "source": "national"},
    ]
    cal = WorkingCalendar(holidays=holidays)
    await kit.env.sleep(datetime.combine(wednesday, time(10), tzinfo=WIB) - now)

    handle, _ = await kit.submit(PATIENT, APP_DATA, calendar=cal)
    await complete(handle, "verify", "return", comment="Alamat kurang lengkap", fields=["address"])
    monday = wednesday + timedelta(days=5)
    await kit.env.sleep(
        datetime.combine(monday, time(10), tzinfo=WIB) - await kit.env.get_current_time()
    )
    await correct(handle, {"address": "Jl. Ahmad Yani 1, RT 02/RW 05"})

    first, second = (
        datetime.fromisoformat(d["due_at"]) for d in kit.data(handle.id, ev.DEADLINE_SET)
    )
    # Five days passed, one of them (Monday) a working day: the deadline moves by one
    # working day, not by the elapsed 120 hours.
    assert second == calendar.add(cal, first, Duration(amount=1, unit=DurationUnit.WORKING_DAYS))
    assert second - first < timedelta(days=4)
    await complete(handle, "verify", "approve", visit=2)
    assert await handle.result() == "approved"


async def test_without_pause_clock_the_deadline_stays(kit: Kit):
    handle, _ = await kit.submit(NO_PAUSE, APP_DATA)
    await complete(handle, "verify", "return", comment="Alamat kurang lengkap", fields=["address"])
    await kit.env.sleep(timedelta(days=1))
    await correct(handle, {"address": "Jl. Ahmad Yani 1, RT 02/RW 05"})
    assert len(kit.data(handle.id, ev.DEADLINE_SET)) == 1
    await complete(handle, "verify", "reject", visit=2)
    assert await handle.result() == "rejected"


async def test_no_correction_in_time_abandons_the_application(kit: Kit):
    handle, _ = await kit.submit(CORRECTION, APP_DATA)
    await complete(handle, "verify", "return", comment="Scan KK buram", fields=["address"])
    due = datetime.fromisoformat(kit.one(handle.id, ev.CORRECTION_REQUESTED)["due_at"])
    now = await kit.env.get_current_time()
    assert timedelta(days=3) - timedelta(minutes=5) < due - now <= timedelta(days=3)
    await kit.env.sleep(timedelta(days=2))
    assert kit.types(handle.id)[-1] == ev.CORRECTION_REQUESTED
    assert await handle.result() == "cancelled"  # waiting on the result skips time
    assert kit.types(handle.id) == [
        ev.APPLICATION_SUBMITTED,
        ev.DEADLINE_SET,
        ev.TASK_ASSIGNED,
        ev.TASK_COMPLETED,
        ev.CORRECTION_REQUESTED,
        ev.DEADLINE_SET,
        ev.CORRECTION_ABANDONED,
        ev.APPLICATION_COMPLETED,
    ]
    assert kit.one(handle.id, ev.CORRECTION_ABANDONED) == {"step": "fix", "due_at": due.isoformat()}
    assert kit.one(handle.id, ev.APPLICATION_COMPLETED) == {
        "step": "cancelled_end",
        "result": "cancelled",
    }
