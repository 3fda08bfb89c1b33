"""The ``appointment`` step: the citizen is asked to come in person; the officer who
served them records the visit (served: ``next``; no-show: ``no_show``), and the deadline
passing without a visit takes ``no_show`` with ``VisitMissed``."""

from __future__ import annotations

from datetime import timedelta

from domain import events as ev
from tests.support import record_histories
from tests.workflows.stepkit import (
    APPROVED,
    CANCELLED,
    CITIZEN,
    OFFICER,
    OTHER_ADMIN,
    SUPERVISOR,
    Kit,
    parse,
    refused,
    review,
    service,
    state,
)
from workflows.application import ApplicationWorkflow
from workflows.messages import Actor, CommandResult, RecordVisit

VISIT = parse(
    service(
        "legalisir-ijazah",
        [
            {
                "kind": "appointment",
                "id": "tunjukkan_asli",
                "name": "Tunjukkan dokumen asli",
                "purpose": "Membawa ijazah asli",
                "locations": ["mpp-banyuwangi"],
                "deadline": {"amount": 3, "unit": "days"},
                "next": "periksa",
                "no_show": "cancelled_end",
            },
            review("periksa", {"approve": "approved"}),
            APPROVED,
            CANCELLED,
        ],
    )
)
CASHIER = Actor(subject="kasir", role="cashier", agency="BWI")


async def record(handle, outcome: str, actor: Actor = OFFICER, step: str = "tunjukkan_asli"):
    cmd = RecordVisit(actor=actor, step=step, outcome=outcome, note="Ijazah asli sesuai")
    result: CommandResult = await handle.execute_update(ApplicationWorkflow.record_visit, cmd)
    return result


async def test_served_goes_on_to_next(kit: Kit) -> None:
    handle, first = await kit.submit(VISIT)
    assert first.status == "awaiting_visit"
    requested = kit.one(handle.id, ev.APPOINTMENT_REQUESTED)
    assert requested["step"] == "tunjukkan_asli"
    assert requested["purpose"] == "Membawa ijazah asli"
    assert requested["locations"] == ["mpp-banyuwangi"]
    live = await state(handle)
    assert [(w.step, w.kind) for w in live.waiting] == [("tunjukkan_asli", "visit")]

    e = await refused(record(handle, "served", CITIZEN))
    assert e.type == "NotAllowed"
    e = await refused(record(handle, "served", CASHIER))
    assert e.type == "NotAllowed"
    e = await refused(record(handle, "served", OTHER_ADMIN))
    assert e.type == "NotFound"  # another agency's: as for an unknown application
    e = await refused(record(handle, "served", step="periksa"))
    assert e.type == "NotWaiting"
    assert kit.types(handle.id)[-1] == ev.APPOINTMENT_REQUESTED  # refusals write nothing

    r = await record(handle, "served")
    assert r.status == "in_review"
    assert r.position == kit.last_position(handle.id)
    assert kit.one(handle.id, ev.VISIT_RECORDED) == {
        "step": "tunjukkan_asli",
        "outcome": "served",
        "by": OFFICER.subject,
        "note": "Ijazah asli sesuai",
    }
    e = await refused(record(handle, "served"))
    assert e.type == "NotWaiting"  # recorded once
    assert kit.types(handle.id)[-1] == ev.TASK_ASSIGNED
    await record_histories(kit.client, {"appointment-served": handle.id})


async def test_a_recorded_no_show_takes_the_no_show_exit(kit: Kit) -> None:
    handle, _ = await kit.submit(VISIT)
    r = await record(handle, "no_show", SUPERVISOR)
    assert r.status == "cancelled"
    assert await handle.result() == "cancelled"
    assert kit.one(handle.id, ev.VISIT_RECORDED)["outcome"] == "no_show"
    assert ev.VISIT_MISSED not in kit.types(handle.id)


async def test_the_deadline_passing_takes_the_no_show_exit(kit: Kit) -> None:
    handle, _ = await kit.submit(VISIT)
    await kit.env.sleep(timedelta(days=2))
    assert kit.types(handle.id)[-1] == ev.APPOINTMENT_REQUESTED
    assert await handle.result() == "cancelled"
    assert kit.types(handle.id) == [
        ev.APPLICATION_SUBMITTED,
        ev.APPOINTMENT_REQUESTED,
        ev.VISIT_MISSED,
        ev.APPLICATION_COMPLETED,
    ]
    missed = kit.one(handle.id, ev.VISIT_MISSED)
    assert missed["step"] == "tunjukkan_asli"
    assert missed["due_at"] == kit.one(handle.id, ev.APPOINTMENT_REQUESTED)["due_at"]
    await record_histories(kit.client, {"appointment-missed": handle.id})
