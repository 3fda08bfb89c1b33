"""A condition that cannot be evaluated (here a text compared with a number) is never a
branch or fee rule that does not hold: a decision takes its ``on_error``; without one,
and for fee rules, the application goes into an incident. Retrying evaluates again;
cancelling ends it. The new commands sit behind ``workflow.patched`` and replay."""

from __future__ import annotations

from typing import Any

from temporalio.client import WorkflowHandle, WorkflowHistory
from temporalio.worker import Replayer

from config.settings import Settings
from config.temporal import data_converter
from domain import events as ev
from domain.recorded import Recorded
from domain.state import fold
from tests.workflows.stepkit import (
    ADMIN,
    APPROVED,
    CITIZEN,
    FIELDS,
    REJECTED,
    Kit,
    complete,
    eventually,
    parse,
    review,
    service,
    state,
)
from workflows.application import ApplicationWorkflow
from workflows.messages import CancelApplication, RetryIncident

FAILING = "full_name > 17"  # full_name is a text: "cannot compare text with number"
MANUAL = review("manual", {"approve": "approved", "reject": "rejected"}, role="supervisor")


def decision_service(service_id: str, when: str = FAILING, **decision: Any) -> dict[str, Any]:
    steps: list[dict[str, Any]] = [
        {
            "kind": "decision",
            "id": "cek",
            "name": "Cek usia",
            "branches": [{"when": when, "goto": "rejected"}],
            "default": "verify",
            **decision,
        },
        review("verify", {"approve": "approved", "reject": "rejected"}),
        APPROVED,
        REJECTED,
    ]
    if decision.get("on_error") == "manual":
        steps.append(MANUAL)
    return service(service_id, steps, fields=FIELDS)


ON_ERROR = parse(decision_service("cek-dengan-on-error", on_error="manual"))
NO_ON_ERROR = parse(decision_service("cek-tanpa-on-error"))
FEE = parse(
    service(
        "retribusi-rusak",
        [
            {
                "kind": "payment",
                "id": "pay",
                "name": "Retribusi",
                "fee": {"amount": 0, "rules": [{"when": FAILING, "amount": 500_000}]},
                "next": "verify",
            },
            review("verify", {"approve": "approved", "reject": "rejected"}),
            APPROVED,
            REJECTED,
        ],
    )
)


async def replays(kit: Kit, workflow_id: str) -> None:
    history: WorkflowHistory = await kit.client.get_workflow_handle(workflow_id).fetch_history()
    replayer = Replayer(workflows=[ApplicationWorkflow], data_converter=data_converter(Settings()))
    await replayer.replay_workflow(history)


async def patch_markers(handle: WorkflowHandle) -> int:
    """How often the history records the condition-errors patch."""
    history = await handle.fetch_history()
    patch = ApplicationWorkflow.CONDITION_ERRORS_PATCH.encode()
    return sum(
        1
        for e in history.events
        if e.HasField("marker_recorded_event_attributes")
        and patch in e.marker_recorded_event_attributes.SerializeToString()
    )


async def incidents(kit: Kit, app_id: str, count: int) -> None:
    async def raised() -> bool:
        return len(kit.data(app_id, ev.INCIDENT_RAISED)) >= count

    await eventually(raised)


async def test_a_failing_condition_takes_on_error(kit: Kit):
    handle, first = await kit.submit(ON_ERROR)
    assert first.status == "in_review"
    assert kit.types(handle.id) == [
        ev.APPLICATION_SUBMITTED,
        ev.DECISION_TAKEN,
        ev.TASK_ASSIGNED,
    ]
    decision = kit.one(handle.id, ev.DECISION_TAKEN)
    assert decision["target"] == "manual" and decision["on_error"] is True
    assert decision["branch"] == 0 and decision["condition"] == FAILING
    assert decision["errors"] == ["branches[0]: cannot compare text with number using '>'"]
    live = await state(handle)
    assert live.current_step == "manual" and [t.step for t in live.tasks] == ["manual"]
    # The read model's timeline says why, rather than "condition held".
    recorded: list[Recorded] = list(kit.events(handle.id))
    folded = fold(recorded)
    assert folded is not None
    assert folded.timeline[1].summary == (
        "Cek usia: condition 'full_name > 17' could not be evaluated → manual"
    )
    await replays(kit, handle.id)


async def test_without_on_error_a_failing_condition_is_an_incident_never_the_default(kit: Kit):
    handle, first = await kit.submit(NO_ON_ERROR)
    assert first.status == "incident"
    assert kit.types(handle.id) == [ev.APPLICATION_SUBMITTED, ev.INCIDENT_RAISED]
    raised = kit.one(handle.id, ev.INCIDENT_RAISED)
    assert raised == {
        "step": "cek",
        "error": "step 'cek', branches[0]: the condition cannot be evaluated:"
        " cannot compare text with number using '>'",
    }
    live = await state(handle)
    assert live.status == "incident" and live.current_step == "cek" and live.tasks == []
    assert await patch_markers(handle) == 1

    # The same data gives the same answer: a retry raises the incident again.
    await handle.execute_update(ApplicationWorkflow.retry_incident, RetryIncident(actor=ADMIN))
    await incidents(kit, handle.id, 2)
    assert kit.types(handle.id)[1:] == [
        ev.INCIDENT_RAISED,
        ev.INCIDENT_RESOLVED,
        ev.INCIDENT_RAISED,
    ]

    # The citizen can still cancel; the default branch (verify) is never taken.
    r = await handle.execute_update(
        ApplicationWorkflow.cancel, CancelApplication(actor=CITIZEN, reason="salah isi")
    )
    assert r.status == "cancelled"
    assert await handle.result() == "cancelled"
    types = kit.types(handle.id)
    assert ev.DECISION_TAKEN not in types and ev.TASK_ASSIGNED not in types
    assert types[3:] == [
        ev.INCIDENT_RAISED,
        ev.CANCELLATION_REQUESTED,
        ev.INCIDENT_RESOLVED,
        ev.CITIZEN_NOTIFIED,
        ev.APPLICATION_COMPLETED,
    ], types
    await replays(kit, handle.id)


async def test_a_fee_rule_that_cannot_be_evaluated_is_an_incident_not_a_free_pass(kit: Kit):
    # Before, the rule counted as not holding: the flat amount (here 0) waived the fee.
    handle, first = await kit.submit(FEE)
    assert first.status == "incident"
    assert kit.types(handle.id) == [ev.APPLICATION_SUBMITTED, ev.INCIDENT_RAISED]
    raised = kit.one(handle.id, ev.INCIDENT_RAISED)
    assert raised["step"] == "pay" and "fee.rules[0]" in raised["error"]
    await replays(kit, handle.id)


async def test_conditions_that_evaluate_record_no_patch_and_decide_as_before(kit: Kit):
    fine = parse(decision_service("cek-biasa", when="full_name == 'x'"))
    handle, first = await kit.submit(fine)
    assert first.status == "in_review"
    assert kit.one(handle.id, ev.DECISION_TAKEN)["target"] == "verify"
    await complete(handle, "verify", "approve")
    assert await handle.result() == "approved"
    assert await patch_markers(handle) == 0
