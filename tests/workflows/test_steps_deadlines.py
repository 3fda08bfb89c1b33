"""Deadlines in working days: the service's time limit (jangka waktu) and a review's
deadline with a reminder and escalation. Time moves only through skipping_env.sleep."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from domain import calendar
from domain import events as ev
from domain.calendar import WorkingCalendar
from domain.definition import Duration
from tests.workflows.stepkit import (
    APPROVED,
    OFFICER,
    REJECTED,
    SUPERVISOR,
    Kit,
    complete,
    eventually,
    parse,
    refused,
    review,
    service,
    state,
)

DEADLINES = parse(
    service(
        "izin-reklame",
        [
            review(
                "check",
                {"approve": "approved", "reject": "rejected"},
                deadline={
                    "within": {"amount": 3, "unit": "working_days"},
                    "remind_before": {"amount": 1, "unit": "working_days"},
                    "escalate_to": "supervisor",
                },
            ),
            APPROVED,
            REJECTED,
        ],
        time_limit={"amount": 14, "unit": "working_days"},
    )
)
HEAD = [ev.APPLICATION_SUBMITTED, ev.DEADLINE_SET, ev.TASK_ASSIGNED]


def at(value: str) -> datetime:
    return datetime.fromisoformat(value)


async def sleep_until(kit: Kit, moment: datetime) -> None:
    now = await kit.env.get_current_time()
    assert moment > now
    await kit.env.sleep(moment - now)


async def test_reminder_breach_escalation_then_service_breach(kit: Kit):
    cal = WorkingCalendar()
    t0 = await kit.env.get_current_time()
    handle, first = await kit.submit(DEADLINES, calendar=cal)
    assert first.status == "in_review"
    assert kit.types(handle.id) == HEAD
    assert first.position == kit.last_position(handle.id)

    # The service's DeadlineSet is written at submission; the task carries its own due.
    service_due = at(kit.one(handle.id, ev.DEADLINE_SET)["due_at"])
    assert kit.one(handle.id, ev.DEADLINE_SET)["scope"] == "service"
    assigned = kit.one(handle.id, ev.TASK_ASSIGNED)
    task_due = at(assigned["due_at"])
    assert calendar.working_days_between(cal, t0, service_due) == 14
    assert calendar.working_days_between(cal, t0, task_due) == 3
    assert task_due < service_due
    task_id = f"{handle.id}.check.1"

    # Nothing before the reminder is due ...
    remind_at = calendar.subtract(cal, task_due, Duration(amount=1))
    await sleep_until(kit, remind_at - timedelta(hours=1))
    assert kit.types(handle.id) == HEAD
    # ... then the reminder, to the officer still holding the task.
    await kit.env.sleep(timedelta(hours=2))
    await eventually(lambda: _has(kit, handle.id, ev.REMINDER_SENT))
    assert kit.types(handle.id) == [*HEAD, ev.REMINDER_SENT]
    assert kit.one(handle.id, ev.REMINDER_SENT) == {
        "step": "check",
        "due_at": task_due.isoformat(),
        "task_id": task_id,
        "role": "officer",
    }

    # Past the step's deadline: breach, then the task moves to the supervisor.
    await sleep_until(kit, task_due + timedelta(hours=1))
    await eventually(lambda: _has(kit, handle.id, ev.TASK_REASSIGNED))
    assert kit.types(handle.id) == [
        *HEAD,
        ev.REMINDER_SENT,
        ev.SLA_BREACHED,
        ev.TASK_REASSIGNED,
    ]
    assert kit.one(handle.id, ev.SLA_BREACHED) == {
        "scope": "step",
        "step": "check",
        "due_at": task_due.isoformat(),
        "task_id": task_id,
    }
    assert kit.one(handle.id, ev.TASK_REASSIGNED) == {
        "task_id": task_id,
        "step": "check",
        "from_role": "officer",
        "to_role": "supervisor",
        "reason": "deadline passed",
    }
    live = await state(handle)
    assert live.status == "in_review"
    assert [(t.task_id, t.role, t.completed) for t in live.tasks] == [
        (task_id, "supervisor", False)
    ]

    e = await refused(complete(handle, "check", "approve", OFFICER))
    assert e.type == "RoleMismatch" and "'supervisor'" in e.message

    # Past the service's 14 working days: the service-level breach, once.
    await sleep_until(kit, service_due + timedelta(hours=1))
    await eventually(lambda: _has(kit, handle.id, ev.SLA_BREACHED, 2))
    breaches = kit.data(handle.id, ev.SLA_BREACHED)
    assert breaches[1] == {"scope": "service", "step": "check", "due_at": service_due.isoformat()}
    await kit.env.sleep(timedelta(days=30))
    assert len(kit.data(handle.id, ev.SLA_BREACHED)) == 2

    r = await complete(handle, "check", "approve", SUPERVISOR)
    assert r.status == "approved"
    assert await handle.result() == "approved"
    assert kit.types(handle.id) == [
        *HEAD,
        ev.REMINDER_SENT,
        ev.SLA_BREACHED,
        ev.TASK_REASSIGNED,
        ev.SLA_BREACHED,
        ev.TASK_COMPLETED,
        ev.APPLICATION_COMPLETED,
    ]
    done = kit.data(handle.id, ev.TASK_COMPLETED)[0]
    assert done["actor"] == {"subject": SUPERVISOR.subject, "role": "supervisor"}


async def _has(kit: Kit, app_id: str, event_type: str, count: int = 1) -> bool:
    return len(kit.data(app_id, event_type)) >= count


async def test_work_done_in_time_leaves_no_reminder_or_breach(kit: Kit):
    handle, _ = await kit.submit(DEADLINES)
    await kit.env.sleep(timedelta(hours=1))
    await complete(handle, "check", "reject", OFFICER)
    assert await handle.result() == "rejected"
    await kit.env.sleep(timedelta(days=40))
    assert kit.types(handle.id) == [*HEAD, ev.TASK_COMPLETED, ev.APPLICATION_COMPLETED]


async def test_completing_a_task_with_a_deadline_answers_at_the_next_rest(kit: Kit):
    handle, _ = await kit.submit(DEADLINES)
    r = await complete(handle, "check", "approve", OFFICER)
    assert await handle.result() == "approved"
    # As for a review without a deadline: the answer covers the flow's end.
    assert (r.status, r.position) == ("approved", kit.last_position(handle.id))


async def test_deadlines_count_the_agencys_holidays(kit: Kit):
    """ApplicationInput.calendar is the calendar deadlines are counted on."""
    now = await kit.env.get_current_time()
    today = now.astimezone(WorkingCalendar().tz).date()
    holidays = [today + timedelta(days=n) for n in range(1, 15)]  # two weeks off
    cal = WorkingCalendar(holidays=holidays)
    plain, _ = await kit.submit(DEADLINES)
    off, _ = await kit.submit(DEADLINES, calendar=cal)

    def due(app_id: str, event_type: str) -> date:
        return at(kit.one(app_id, event_type)["due_at"]).astimezone(cal.tz).date()

    assert due(plain.id, ev.TASK_ASSIGNED) <= today + timedelta(days=5)
    assert due(off.id, ev.TASK_ASSIGNED) > holidays[-1]
    assert due(off.id, ev.DEADLINE_SET) > due(plain.id, ev.DEADLINE_SET)
    for app in (plain, off):  # both before waiting on a result, which may skip time
        await complete(app, "check", "approve", OFFICER)
    assert [await plain.result(), await off.result()] == ["approved", "approved"]
