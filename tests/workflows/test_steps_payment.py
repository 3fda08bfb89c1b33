"""Biaya/tarif: fee rules over form fields, a zero fee waived, payment at the counter or
through the payment provider (idempotent on its reference), and an unpaid deadline."""

from __future__ import annotations

from typing import Any

from domain import events as ev
from tests.workflows.stepkit import (
    ADMIN,
    APPROVED,
    CANCELLED,
    CITIZEN,
    DATA,
    FIELDS,
    OFFICER,
    PROVIDER,
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
from workflows.messages import Actor, RecordPayment

AREA = {"id": "land_area", "label": "Luas tanah (m2)", "type": "number"}
FEE = {
    "amount": 50_000,
    "rules": [
        {"when": "land_area < 100", "amount": 0},
        {"when": "land_area > 1000", "amount": 150_000},
    ],
}


def payment_definition(service_id: str, **payment: Any) -> dict[str, Any]:
    steps: list[dict[str, Any]] = [
        {"kind": "payment", "id": "pay", "name": "Retribusi", "fee": FEE, "next": "verify"}
        | payment,
        review("verify", {"approve": "approved", "reject": "rejected"}),
        APPROVED,
        REJECTED,
    ]
    if "on_unpaid" in payment:
        steps.append(
            {
                "kind": "notify",
                "id": "unpaid",
                "name": "Tidak dibayar",
                "message": "Permohonan dibatalkan: retribusi tidak dibayar.",
                "next": "cancelled_end",
            }
        )
        steps.append(CANCELLED)
    return service(service_id, steps, fields=[*FIELDS, AREA])


PAYMENT = parse(payment_definition("izin-mendirikan"))
WITH_DEADLINE = parse(
    payment_definition(
        "izin-mendirikan-tenggat",
        deadline={
            "within": {"amount": 2, "unit": "working_days"},
            "remind_before": {"amount": 1, "unit": "working_days"},
        },
        on_unpaid="unpaid",
    )
)


def pay(amount: int, actor: Actor = OFFICER, method: str = "counter", reference: str = "KW-001"):
    return RecordPayment(actor=actor, amount=amount, method=method, reference=reference)


async def record(handle, payment: RecordPayment):
    return await handle.execute_update(ApplicationWorkflow.record_payment, payment)


async def test_zero_fee_is_waived_without_a_wait(kit: Kit):
    handle, first = await kit.submit(PAYMENT, {**DATA, "land_area": 60})
    assert first.status == "in_review"  # straight on to the review
    assert kit.types(handle.id) == [ev.APPLICATION_SUBMITTED, ev.PAYMENT_WAIVED, ev.TASK_ASSIGNED]
    assert kit.one(handle.id, ev.PAYMENT_WAIVED) == {"step": "pay"}
    assert (await state(handle)).waiting == []
    e = await refused(record(handle, pay(0)))
    assert e.type == "NotWaiting"
    await complete(handle, "verify", "approve")
    assert await handle.result() == "approved"


async def test_counter_payment_by_an_officer(kit: Kit):
    handle, first = await kit.submit(PAYMENT, {**DATA, "land_area": 500})
    assert first.status == "awaiting_payment"
    assert first.position == kit.last_position(handle.id)
    assert kit.types(handle.id) == [ev.APPLICATION_SUBMITTED, ev.PAYMENT_REQUESTED]
    code = f"{handle.id}-pay"
    assert kit.one(handle.id, ev.PAYMENT_REQUESTED) == {
        "step": "pay",
        "amount": 50_000,
        "currency": "IDR",
        "payment_code": code,
        "citizen": CITIZEN.subject,
    }
    live = await state(handle)
    assert live.status == "awaiting_payment"
    assert [(w.step, w.kind, w.detail) for w in live.waiting] == [
        ("pay", "payment", {"amount": 50_000, "payment_code": code})
    ]

    e = await refused(record(handle, pay(40_000)))
    assert e.type == "InvalidInput" and "50,000" in e.message
    e = await refused(record(handle, pay(50_000, CITIZEN)))
    assert e.type == "NotAllowed"
    e = await refused(record(handle, pay(50_000, Actor(subject="x", role="officer", agency="JMB"))))
    assert e.type == "NotFound"  # another agency's counter: as for an unknown application
    e = await refused(record(handle, pay(50_000, OFFICER, method="online")))
    assert e.type == "NotAllowed"  # officers confirm counter payments only
    assert kit.types(handle.id)[-1] == ev.PAYMENT_REQUESTED  # refusals write nothing

    r = await record(handle, pay(50_000, reference="KW-2026-0042"))
    assert r.status == "in_review"
    assert r.position == kit.last_position(handle.id)
    assert kit.types(handle.id) == [
        ev.APPLICATION_SUBMITTED,
        ev.PAYMENT_REQUESTED,
        ev.PAYMENT_RECEIVED,
        ev.TASK_ASSIGNED,
    ]
    assert kit.one(handle.id, ev.PAYMENT_RECEIVED) == {
        "step": "pay",
        "amount": 50_000,
        "currency": "IDR",
        "method": "counter",
        "reference": "KW-2026-0042",
        "by": OFFICER.subject,
    }
    await complete(handle, "verify", "approve")
    assert await handle.result() == "approved"


async def test_a_cashier_of_the_agency_marks_the_fee_paid(kit: Kit):
    handle, _ = await kit.submit(PAYMENT, {**DATA, "land_area": 500})
    elsewhere = Actor(subject="kasir-jmb", role="cashier", agency="JMB")
    e = await refused(record(handle, pay(50_000, elsewhere)))
    assert e.type == "NotFound"
    cashier = Actor(subject="kasir", role="cashier", agency="BWI")
    r = await record(handle, pay(50_000, cashier, reference="KW-7"))
    assert r.status == "in_review"
    assert kit.one(handle.id, ev.PAYMENT_RECEIVED)["by"] == "kasir"


async def test_fee_rule_over_a_number_field_and_provider_payment_is_idempotent(kit: Kit):
    handle, first = await kit.submit(PAYMENT, {**DATA, "land_area": 2500})
    assert kit.one(handle.id, ev.PAYMENT_REQUESTED)["amount"] == 150_000
    e = await refused(record(handle, pay(150_000, PROVIDER, method="counter", reference="P-1")))
    assert e.type == "NotAllowed"
    e = await refused(record(handle, pay(150_000, CITIZEN, method="online", reference="P-1")))
    assert e.type == "NotAllowed"  # a citizen cannot claim to have paid

    r = await record(handle, pay(150_000, PROVIDER, method="online", reference="VA-77"))
    assert r.status == "in_review"
    received = kit.one(handle.id, ev.PAYMENT_RECEIVED)
    assert (received["method"], received["reference"], received["by"]) == (
        "online",
        "VA-77",
        PROVIDER.subject,
    )
    # The provider retries its callback: answered, nothing written twice.
    again = await record(handle, pay(150_000, PROVIDER, method="online", reference="VA-77"))
    assert again.status == "in_review"
    assert again.position == r.position == kit.last_position(handle.id)
    assert kit.types(handle.id) == [
        ev.APPLICATION_SUBMITTED,
        ev.PAYMENT_REQUESTED,
        ev.PAYMENT_RECEIVED,
        ev.TASK_ASSIGNED,
    ]
    # Another reference now: nothing is awaited any more.
    e = await refused(record(handle, pay(150_000, PROVIDER, method="online", reference="VA-78")))
    assert e.type == "NotWaiting"
    await complete(handle, "verify", "reject")
    assert await handle.result() == "rejected"


async def test_unpaid_past_the_deadline_goes_to_on_unpaid(kit: Kit):
    handle, first = await kit.submit(WITH_DEADLINE, {**DATA, "land_area": 500})
    assert first.status == "awaiting_payment"
    assert await handle.result() == "cancelled"  # waiting on the result skips time
    assert kit.types(handle.id) == [
        ev.APPLICATION_SUBMITTED,
        ev.PAYMENT_REQUESTED,
        ev.REMINDER_SENT,
        ev.SLA_BREACHED,
        ev.CITIZEN_NOTIFIED,
        ev.APPLICATION_COMPLETED,
    ]
    reminder = kit.one(handle.id, ev.REMINDER_SENT)
    breach = kit.one(handle.id, ev.SLA_BREACHED)
    assert reminder == {"step": "pay", "due_at": breach["due_at"], "task_id": None, "role": None}
    assert breach == {"scope": "step", "step": "pay", "due_at": breach["due_at"], "task_id": None}
    assert kit.one(handle.id, ev.CITIZEN_NOTIFIED)["step"] == "unpaid"
    assert kit.one(handle.id, ev.APPLICATION_COMPLETED) == {
        "step": "cancelled_end",
        "result": "cancelled",
    }


async def test_paid_before_the_deadline_goes_on(kit: Kit):
    handle, _ = await kit.submit(WITH_DEADLINE, {**DATA, "land_area": 500})
    await record(handle, pay(50_000, ADMIN, reference="KW-9"))

    async def assigned() -> bool:
        return ev.TASK_ASSIGNED in kit.types(handle.id)

    await eventually(assigned)
    await complete(handle, "verify", "approve")
    assert await handle.result() == "approved"
    types = kit.types(handle.id)
    assert types == [
        ev.APPLICATION_SUBMITTED,
        ev.PAYMENT_REQUESTED,
        ev.PAYMENT_RECEIVED,
        ev.TASK_ASSIGNED,
        ev.TASK_COMPLETED,
        ev.APPLICATION_COMPLETED,
    ]


async def test_payment_with_a_deadline_answers_at_the_next_rest(kit: Kit):
    handle, _ = await kit.submit(WITH_DEADLINE, {**DATA, "land_area": 500})
    r = await record(handle, pay(50_000, reference="KW-10"))

    async def assigned() -> bool:
        return ev.TASK_ASSIGNED in kit.types(handle.id)

    await eventually(assigned)
    task = next(e for e in kit.events(handle.id) if e.type == ev.TASK_ASSIGNED)
    assert (r.status, r.position) == ("in_review", task.position)
