"""Every SP4N-LAPOR path of ComplaintWorkflow on the time-skipping server: verification
(accept, ask for information, reject, forward), follow-up, reopening, the automatic
close 10 working days after an unanswered follow-up, and the escalation of a missed 3-
or 5-working-day deadline across a weekend and a holiday. Time moves only through
``kit.env.sleep``; the events are read back from the real SQLite store."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from temporalio.client import WorkflowHandle

from domain import calendar
from domain import complaints as c
from domain.calendar import WorkingCalendar
from tests.support import record_histories
from tests.workflows.stepkit import CITIZEN, OFFICER, OTHER_CITIZEN, SUPERVISOR, Kit, eventually
from tests.workflows.stepkit import refused as refused_update
from workflows.complaint import ComplaintWorkflow
from workflows.complaint_messages import (
    ComplaintInput,
    ComplaintResult,
    FollowUp,
    ProvideInfo,
    Rate,
    Respond,
    Verify,
)
from workflows.messages import Actor

DESK = Actor(subject="rina", role="complaint_officer", agency="BWI")
OTHER_DESK = Actor(subject="joko", role="complaint_officer", agency="JMB")
JMB_CALENDAR = WorkingCalendar(utc_offset_hours=7, weekend=[6])  # Saturday is worked
SUBJECT = c.Subject(kind="service", ref="surat-keterangan-domisili")


async def file(kit: Kit, cal: WorkingCalendar | None = None, **kw: Any) -> WorkflowHandle:
    complaint_id = f"LPR-{len(kit.handles) + 1:04d}-{id(kit)}"
    inp = ComplaintInput(
        complaint_id=complaint_id,
        agency="BWI",
        calendar=cal or WorkingCalendar(),
        subject=SUBJECT,
        text="Petugas loket meminta biaya tambahan untuk surat domisili.",
        complainant=kw.pop("complainant", CITIZEN.subject),
        **kw,
    )
    handle = await kit.client.start_workflow(
        ComplaintWorkflow.run, inp, id=f"complaint-{complaint_id}", task_queue=kit.task_queue
    )
    kit.handles.append(handle)
    await eventually(lambda: _count(kit, handle, c.COMPLAINT_DEADLINE_SET, 1))
    return handle


def events(kit: Kit, handle: WorkflowHandle) -> list[tuple[str, dict[str, Any]]]:
    stream = c.complaint_stream(handle.id.removeprefix("complaint-"))
    return [(e.type, e.data) for e in kit.store.read_stream(stream)]


def types(kit: Kit, handle: WorkflowHandle) -> list[str]:
    return [t for t, _ in events(kit, handle)]


def data(kit: Kit, handle: WorkflowHandle, event_type: str) -> list[dict[str, Any]]:
    return [d for t, d in events(kit, handle) if t == event_type]


async def _count(kit: Kit, handle: WorkflowHandle, event_type: str, n: int) -> bool:
    return len(data(kit, handle, event_type)) >= n


def deadline(kit: Kit, handle: WorkflowHandle, n: int = -1) -> tuple[str, datetime]:
    d = data(kit, handle, c.COMPLAINT_DEADLINE_SET)[n]
    return d["phase"], datetime.fromisoformat(d["due_at"])


async def sleep_until(kit: Kit, moment: datetime) -> None:
    now = await kit.env.get_current_time()
    assert moment > now
    await kit.env.sleep(moment - now)


async def verify(h: WorkflowHandle, actor: Actor, decision: str, **kw: Any) -> ComplaintResult:
    return await h.execute_update(
        ComplaintWorkflow.verify, Verify(actor=actor, decision=decision, **kw)
    )


async def follow_up(h: WorkflowHandle, actor: Actor = DESK) -> ComplaintResult:
    cmd = FollowUp(actor=actor, unit="Bidang Pelayanan", text="Petugas telah dibina.")
    return await h.execute_update(ComplaintWorkflow.follow_up, cmd)


async def respond(h: WorkflowHandle, decision: str) -> ComplaintResult:
    return await h.execute_update(
        ComplaintWorkflow.respond, Respond(actor=CITIZEN, decision=decision)
    )


def fold(kit: Kit, handle: WorkflowHandle) -> c.ComplaintView:
    view = None
    for t, d in events(kit, handle):
        view = c.apply(view, t, d, "")
    assert view is not None
    return view


async def test_verify_follow_up_accept_and_rate(kit: Kit) -> None:
    cal = WorkingCalendar()
    t0 = await kit.env.get_current_time()
    h = await file(kit, cal)
    phase, due = deadline(kit, h)
    assert phase == "verification" and due == c.due(cal, t0, "verification")
    assert calendar.working_days_between(cal, t0, due) == 3

    r = await verify(h, DESK, "accept")
    assert r.status == c.VERIFIED
    await eventually(lambda: _count(kit, h, c.COMPLAINT_DEADLINE_SET, 2))
    phase, due = deadline(kit, h)
    assert phase == "follow_up" and calendar.working_days_between(cal, t0, due) == 5

    r = await follow_up(h)
    assert r.status == c.FOLLOWED_UP
    await eventually(lambda: _count(kit, h, c.COMPLAINT_DEADLINE_SET, 3))
    assert deadline(kit, h)[0] == "response"
    r = await respond(h, "accept")
    assert r.status == c.CLOSED
    r = await h.execute_update(ComplaintWorkflow.rate, Rate(actor=CITIZEN, score=4))
    assert await h.result() == c.CLOSED
    assert types(kit, h) == [
        c.COMPLAINT_FILED,
        c.COMPLAINT_DEADLINE_SET,
        c.COMPLAINT_VERIFIED,
        c.COMPLAINT_DEADLINE_SET,
        c.COMPLAINT_FOLLOWED_UP,
        c.COMPLAINT_DEADLINE_SET,
        c.COMPLAINT_RESPONDED,
        c.COMPLAINT_CLOSED,
        c.COMPLAINT_RATED,
    ]
    view = fold(kit, h)
    assert (view.status, view.closed_reason, view.rating, view.breaches) == (
        c.CLOSED,
        "accepted",
        4,
        [],
    )
    await record_histories(kit.client, {"complaint-verified-followed-up-rated": h.id})


async def test_ask_for_information_then_reject(kit: Kit) -> None:
    cal = WorkingCalendar()
    h = await file(kit, cal)
    e = await refused_update(verify(h, DESK, "ask_info"))
    assert e.type == "InvalidInput"  # a reason the complainant can read is required
    await verify(h, DESK, "ask_info", reason="Sebutkan tanggal dan loket.")
    # No agency clock runs while the complainant owes the information.
    await kit.env.sleep(timedelta(days=30))
    assert c.COMPLAINT_BREACHED not in types(kit, h)
    e = await refused_update(verify(h, DESK, "accept"))
    assert e.type == "NotWaiting"

    t1 = await kit.env.get_current_time()
    cmd = ProvideInfo(actor=CITIZEN, text="Loket 3, 2 November.")
    r = await h.execute_update(ComplaintWorkflow.provide_info, cmd)
    assert r.status == c.RECEIVED
    await eventually(lambda: _count(kit, h, c.COMPLAINT_DEADLINE_SET, 2))
    phase, due = deadline(kit, h)
    assert phase == "verification" and due == c.due(cal, t1, "verification")

    r = await verify(h, SUPERVISOR, "reject", reason="Bukan kewenangan pelayanan publik.")
    assert r.status == c.REJECTED
    assert await h.result() == c.REJECTED
    assert data(kit, h, c.COMPLAINT_CLOSED) == [{"reason": "rejected"}]
    assert fold(kit, h).status == c.REJECTED


async def test_forward_restarts_the_clock_at_the_receiving_agency(kit: Kit) -> None:
    h = await file(kit)
    e = await refused_update(verify(h, DESK, "forward"))
    assert e.type == "InvalidInput"
    await kit.env.sleep(timedelta(days=1))
    t1 = await kit.env.get_current_time()
    r = await verify(h, DESK, "forward", to_agency="JMB", to_calendar=JMB_CALENDAR)
    assert r.status == c.RECEIVED
    await eventually(lambda: _count(kit, h, c.COMPLAINT_DEADLINE_SET, 2))
    assert data(kit, h, c.COMPLAINT_FORWARDED)[0]["to_agency"] == "JMB"
    last = data(kit, h, c.COMPLAINT_DEADLINE_SET)[-1]
    assert last["agency"] == "JMB"
    assert datetime.fromisoformat(last["due_at"]) == c.due(JMB_CALENDAR, t1, "verification")

    # The forwarding agency no longer sees it; the receiving agency's desk handles it.
    e = await refused_update(verify(h, DESK, "accept"))
    assert e.type == "NotFound"
    r = await verify(h, OTHER_DESK, "accept")
    assert r.status == c.VERIFIED
    view = fold(kit, h)
    assert (view.agency, view.forwarded_from) == ("JMB", ["BWI"])
    await record_histories(kit.client, {"complaint-forwarded": h.id})


async def test_reopen_then_auto_close_after_ten_working_days(kit: Kit) -> None:
    cal = WorkingCalendar()
    h = await file(kit, cal)
    await verify(h, DESK, "accept")
    await follow_up(h)
    t1 = await kit.env.get_current_time()
    r = await respond(h, "reopen")
    assert r.status == c.VERIFIED
    # Reopened: a new 5-working-day follow-up deadline from the reopening.
    await eventually(lambda: _count(kit, h, c.COMPLAINT_DEADLINE_SET, 4))
    phase, due = deadline(kit, h)
    assert phase == "follow_up" and due == c.due(cal, t1, "follow_up")

    await follow_up(h)
    t2 = await kit.env.get_current_time()
    await eventually(lambda: _count(kit, h, c.COMPLAINT_DEADLINE_SET, 5))
    phase, close_at = deadline(kit, h)
    assert phase == "response" and close_at == c.due(cal, t2, "response")
    assert calendar.working_days_between(cal, t2, close_at) == 10

    await sleep_until(kit, close_at - timedelta(hours=1))
    assert c.COMPLAINT_CLOSED not in types(kit, h)
    await kit.env.sleep(timedelta(hours=2))
    await eventually(lambda: _count(kit, h, c.COMPLAINT_CLOSED, 1))
    assert data(kit, h, c.COMPLAINT_CLOSED) == [{"reason": "no_response"}]
    e = await refused_update(respond(h, "accept"))
    assert e.type == "NotWaiting"
    # The answer can still be rated after the automatic close.
    await h.execute_update(ComplaintWorkflow.rate, Rate(actor=CITIZEN, score=2))
    assert await h.result() == c.CLOSED
    view = fold(kit, h)
    assert (view.reopened, view.closed_reason, view.rating) == (1, "no_response", 2)
    await record_histories(kit.client, {"complaint-reopened-auto-closed": h.id})


def next_weekday(now: datetime, cal: WorkingCalendar, weekday: int) -> datetime:
    """10:00 local on the next ``weekday`` (Monday=0) after ``now``."""
    day = now.astimezone(cal.tz).date() + timedelta(days=1)
    while day.weekday() != weekday:
        day += timedelta(days=1)
    return datetime.combine(day, time(10), tzinfo=cal.tz)


async def test_missed_deadlines_escalate_across_a_weekend_and_a_holiday(kit: Kit) -> None:
    now = await kit.env.get_current_time()
    thursday = next_weekday(now, WorkingCalendar(), 3)
    monday = thursday.date() + timedelta(days=4)
    holidays: list[date] = [monday, monday + timedelta(days=7)]
    cal = WorkingCalendar(holidays=holidays)
    await sleep_until(kit, thursday)
    h = await file(kit, cal)

    # Filed Thursday: Friday, (weekend), (holiday Monday), Tuesday, Wednesday.
    phase, due = deadline(kit, h)
    wednesday = monday + timedelta(days=2)
    assert phase == "verification"
    assert due.astimezone(cal.tz).date() == wednesday
    await sleep_until(kit, due - timedelta(hours=1))
    assert c.COMPLAINT_BREACHED not in types(kit, h)
    await kit.env.sleep(timedelta(hours=2))
    await eventually(lambda: _count(kit, h, c.COMPLAINT_BREACHED, 1))
    breach = data(kit, h, c.COMPLAINT_BREACHED)[0]
    assert breach == {
        "phase": "verification",
        "agency": "BWI",
        "due_at": due.isoformat(),
        "escalated_to": "supervisor",
    }
    assert fold(kit, h).escalated_to == "supervisor"
    # Still open: the supervisor verifies it late (Thursday).
    await verify(h, SUPERVISOR, "accept")
    await eventually(lambda: _count(kit, h, c.COMPLAINT_DEADLINE_SET, 2))

    # Verified Thursday: Fri, (weekend), (holiday Monday), Tue, Wed, Thu, Fri.
    phase, due = deadline(kit, h)
    assert phase == "follow_up"
    assert due.astimezone(cal.tz).date() == wednesday + timedelta(days=9)
    await sleep_until(kit, due - timedelta(hours=1))
    assert len(data(kit, h, c.COMPLAINT_BREACHED)) == 1
    await kit.env.sleep(timedelta(hours=2))
    await eventually(lambda: _count(kit, h, c.COMPLAINT_BREACHED, 2))
    assert data(kit, h, c.COMPLAINT_BREACHED)[1]["phase"] == "follow_up"
    # Once only, however long it stays overdue.
    await kit.env.sleep(timedelta(days=20))
    assert len(data(kit, h, c.COMPLAINT_BREACHED)) == 2
    await follow_up(h, SUPERVISOR)
    assert fold(kit, h).breaches == ["verification", "follow_up"]
    await record_histories(kit.client, {"complaint-deadlines-missed": h.id})


async def test_another_party_and_the_wrong_role_are_refused(kit: Kit) -> None:
    h = await file(kit)
    e = await refused_update(
        h.execute_update(ComplaintWorkflow.provide_info, ProvideInfo(actor=OTHER_CITIZEN, text="x"))
    )
    assert e.type == "NotFound"
    e = await refused_update(verify(h, OTHER_DESK, "accept"))
    assert e.type == "NotFound"
    e = await refused_update(verify(h, OFFICER, "accept"))
    assert e.type == "NotAllowed"
    e = await refused_update(respond(h, "accept"))
    assert e.type == "NotWaiting"
    e = await refused_update(follow_up(h))
    assert e.type == "NotWaiting"


async def test_an_anonymous_complaint_closes_by_itself(kit: Kit) -> None:
    h = await file(kit, complainant=None, anonymity="anonymous")
    assert data(kit, h, c.COMPLAINT_FILED)[0]["anonymity"] == "anonymous"
    await verify(h, DESK, "accept")
    await follow_up(h)
    await eventually(lambda: _count(kit, h, c.COMPLAINT_DEADLINE_SET, 3))
    assert await h.result() == c.CLOSED  # nobody can answer: closed after 10 working days
    assert data(kit, h, c.COMPLAINT_CLOSED) == [{"reason": "no_response"}]
