"""Events from other systems (external steps) and sub-services (a published service run
as a child application)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from domain import events as ev
from tests.workflows.stepkit import (
    APPROVED,
    CANCELLED,
    CHILD,
    CITIZEN,
    DATA,
    INTEGRATION,
    OFFICER,
    PARENT,
    PARENT_DATA,
    REJECTED,
    SUPERVISOR,
    Kit,
    complete,
    eventually,
    parse,
    publish,
    refused,
    service,
    state,
)
from workflows.application import ApplicationWorkflow
from workflows.messages import Actor, DeliverEvent

EXTERNAL = parse(
    service(
        "sertifikat-laik-fungsi",
        [
            {
                "kind": "external",
                "id": "inspection",
                "name": "Inspeksi lapangan",
                "event": "inspection_done",
                "fields": [
                    {"id": "inspection_score", "label": "Nilai", "type": "number"},
                    {"id": "inspector", "label": "Petugas", "type": "text"},
                ],
                "timeout": {"amount": 5, "unit": "days"},
                "on_timeout": "no_inspection",
                "next": "decide",
            },
            {
                "kind": "decision",
                "id": "decide",
                "name": "Hasil inspeksi",
                "branches": [{"when": "inspection_score >= 70", "goto": "approved"}],
                "default": "rejected",
            },
            {
                "kind": "notify",
                "id": "no_inspection",
                "name": "Tanpa inspeksi",
                "message": "Inspeksi tidak dilakukan; permohonan dibatalkan.",
                "next": "cancelled_end",
            },
            APPROVED,
            REJECTED,
            CANCELLED,
        ],
    )
)
PAYLOAD = {"inspection_score": 82, "inspector": "Ir. Wahyu"}


async def deliver(handle, event: str, data: dict[str, Any], actor: Actor = INTEGRATION):
    return await handle.execute_update(
        ApplicationWorkflow.deliver_event, DeliverEvent(actor=actor, event=event, data=data)
    )


async def test_external_event_delivered_and_used_by_a_decision(kit: Kit):
    handle, first = await kit.submit(EXTERNAL)
    assert first.status == "awaiting_event"
    assert kit.types(handle.id) == [ev.APPLICATION_SUBMITTED, ev.WAITING_FOR_EVENT]
    waiting = kit.one(handle.id, ev.WAITING_FOR_EVENT)
    assert (waiting["step"], waiting["event"]) == ("inspection", "inspection_done")
    assert waiting["due_at"] is not None
    live = await state(handle)
    assert [(w.step, w.kind, w.detail) for w in live.waiting] == [
        ("inspection", "external", {"event": "inspection_done"})
    ]

    e = await refused(deliver(handle, "payment_done", PAYLOAD))
    assert e.type == "NotWaiting" and "payment_done" in e.message
    e = await refused(deliver(handle, "inspection_done", PAYLOAD, CITIZEN))
    assert e.type == "NotAllowed"
    other = Actor(subject="simbg-jmb", role="integration", agency="JMB")
    e = await refused(deliver(handle, "inspection_done", PAYLOAD, other))
    assert e.type == "NotFound"  # another agency's: as for an unknown application
    bad_payloads: list[dict[str, Any]] = [
        {**PAYLOAD, "inspection_score": "delapan puluh"},  # not a number
        {"inspection_score": 82},  # a required field missing
        {**PAYLOAD, "verdict": "ok"},  # a field the step does not declare
    ]
    for bad in bad_payloads:
        e = await refused(deliver(handle, "inspection_done", bad))
        assert e.type == "InvalidInput", bad
    assert kit.types(handle.id)[-1] == ev.WAITING_FOR_EVENT  # refusals write nothing

    r = await deliver(handle, "inspection_done", PAYLOAD)
    assert r.status == "approved"
    assert r.position == kit.last_position(handle.id)
    assert await handle.result() == "approved"
    assert kit.types(handle.id) == [
        ev.APPLICATION_SUBMITTED,
        ev.WAITING_FOR_EVENT,
        ev.EXTERNAL_EVENT_RECEIVED,
        ev.DECISION_TAKEN,
        ev.APPLICATION_COMPLETED,
    ]
    assert kit.one(handle.id, ev.EXTERNAL_EVENT_RECEIVED) == {
        "step": "inspection",
        "event": "inspection_done",
        "data": PAYLOAD,
        "by": INTEGRATION.subject,
    }
    decision = kit.one(handle.id, ev.DECISION_TAKEN)
    assert (decision["condition"], decision["target"]) == ("inspection_score >= 70", "approved")


async def test_a_low_score_from_staff_rejects(kit: Kit):
    handle, _ = await kit.submit(EXTERNAL)
    r = await deliver(handle, "inspection_done", {**PAYLOAD, "inspection_score": 40}, OFFICER)
    assert r.status == "rejected"
    assert kit.one(handle.id, ev.DECISION_TAKEN)["target"] == "rejected"
    assert kit.one(handle.id, ev.EXTERNAL_EVENT_RECEIVED)["by"] == OFFICER.subject


async def test_external_event_timeout_takes_on_timeout(kit: Kit):
    handle, _ = await kit.submit(EXTERNAL)
    await kit.env.sleep(timedelta(days=4))
    assert kit.types(handle.id) == [ev.APPLICATION_SUBMITTED, ev.WAITING_FOR_EVENT]
    assert await handle.result() == "cancelled"
    assert kit.types(handle.id) == [
        ev.APPLICATION_SUBMITTED,
        ev.WAITING_FOR_EVENT,
        ev.EXTERNAL_EVENT_TIMED_OUT,
        ev.CITIZEN_NOTIFIED,
        ev.APPLICATION_COMPLETED,
    ]
    assert kit.one(handle.id, ev.EXTERNAL_EVENT_TIMED_OUT) == {
        "step": "inspection",
        "event": "inspection_done",
    }
    assert kit.one(handle.id, ev.CITIZEN_NOTIFIED)["step"] == "no_inspection"


# -- sub-services -------------------------------------------------------------------------


async def test_subservice_runs_the_published_child_and_continues_on_its_result(kit: Kit):
    publish(kit.store, CHILD)
    parent_def = publish(kit.store, PARENT)  # publishing checks the child is published
    handle, first = await kit.submit(parent_def, PARENT_DATA)
    assert first.status == "awaiting_subservice"
    child_id = f"{handle.id}-env"
    assert kit.types(handle.id) == [ev.APPLICATION_SUBMITTED, ev.SUBSERVICE_STARTED]
    assert kit.one(handle.id, ev.SUBSERVICE_STARTED) == {
        "step": "env",
        "service": "izin-lingkungan",
        "child_application_id": child_id,
    }
    live = await state(handle)
    assert [(w.step, w.kind, w.detail) for w in live.waiting] == [
        ("env", "subservice", {"child": child_id})
    ]

    child = kit.child(handle, "env")
    child_first = await child.execute_update(ApplicationWorkflow.submission)
    assert child_first.status == "in_review"
    submitted = kit.one(child_id, ev.APPLICATION_SUBMITTED)
    assert submitted["service"]["id"] == "izin-lingkungan"
    assert submitted["citizen"] == CITIZEN.subject
    assert submitted["data"] == {**DATA, "business": "Warung Kopi Osing"}
    child_state = await state(child)
    assert child_state.service_id == "izin-lingkungan"

    r = await complete(child, "env_review", "approve")
    assert r.status == "approved"
    assert await child.result() == "approved"

    async def parent_at_head() -> bool:
        return ev.TASK_ASSIGNED in kit.types(handle.id)

    await eventually(parent_at_head)
    assert kit.types(handle.id) == [
        ev.APPLICATION_SUBMITTED,
        ev.SUBSERVICE_STARTED,
        ev.SUBSERVICE_COMPLETED,
        ev.DECISION_TAKEN,
        ev.TASK_ASSIGNED,
    ]
    assert kit.one(handle.id, ev.SUBSERVICE_COMPLETED) == {
        "step": "env",
        "child_application_id": child_id,
        "result": "approved",
    }
    assert kit.one(handle.id, ev.DECISION_TAKEN)["target"] == "head"
    live = await state(handle)
    assert live.outcomes == {"env": "approved"}
    assert live.status == "in_review"

    r = await complete(handle, "head", "approve", SUPERVISOR)
    assert r.status == "approved"
    assert await handle.result() == "approved"


async def test_a_rejected_child_rejects_the_parent(kit: Kit):
    publish(kit.store, CHILD)
    handle, _ = await kit.submit(publish(kit.store, PARENT), PARENT_DATA)
    child = kit.child(handle, "env")
    await child.execute_update(ApplicationWorkflow.submission)
    await complete(child, "env_review", "reject")
    assert await handle.result() == "rejected"
    assert kit.one(handle.id, ev.SUBSERVICE_COMPLETED)["result"] == "rejected"
    decision = kit.one(handle.id, ev.DECISION_TAKEN)
    assert (decision["branch"], decision["target"]) == (None, "rejected")
    assert kit.types(handle.id)[-1] == ev.APPLICATION_COMPLETED
    assert ev.TASK_ASSIGNED not in kit.types(handle.id)
