"""Parallel branches and their join (all / first) on the time-skipping server."""

from __future__ import annotations

from typing import Any

from domain import events as ev
from tests.workflows.stepkit import (
    APPROVED,
    CITIZEN,
    REJECTED,
    SUPERVISOR,
    Kit,
    complete,
    parse,
    refused,
    review,
    service,
    state,
)
from workflows.application import ApplicationWorkflow
from workflows.messages import CancelApplication


def split_definition(mode: str) -> dict[str, Any]:
    """Technical and legal review side by side; a decision after the join reads both."""
    return service(
        f"izin-usaha-{mode}",
        [
            {
                "kind": "parallel",
                "id": "split",
                "name": "Pemeriksaan paralel",
                "branches": ["tech_review", "legal_review"],
                "join": "joined",
            },
            review("tech_review", {"approve": "joined", "reject": "joined"}),
            review("legal_review", {"approve": "joined", "reject": "joined"}, role="supervisor"),
            {"kind": "join", "id": "joined", "name": "Gabung", "mode": mode, "next": "decide"},
            {
                "kind": "decision",
                "id": "decide",
                "name": "Keputusan",
                "branches": [
                    {
                        "when": "tech_review == 'approve' and legal_review == 'approve'",
                        "goto": "approved",
                    },
                    {"when": "tech_review == 'approve' and legal_review == null", "goto": "fast"},
                ],
                "default": "rejected",
            },
            {"kind": "notify", "id": "fast", "name": "Cepat", "message": "ok", "next": "approved"},
            APPROVED,
            REJECTED,
        ],
    )


ALL = parse(split_definition("all"))
FIRST = parse(split_definition("first"))


async def test_join_all_waits_for_both_reviews_in_any_order(kit: Kit):
    handle, first = await kit.submit(ALL)
    assert first.status == "in_review"
    assert kit.types(handle.id) == [
        ev.APPLICATION_SUBMITTED,
        ev.BRANCHES_STARTED,
        ev.TASK_ASSIGNED,
        ev.TASK_ASSIGNED,
    ]
    assert first.position == kit.last_position(handle.id)
    started = kit.one(handle.id, ev.BRANCHES_STARTED)
    assert started == {
        "step": "split",
        "branches": ["tech_review", "legal_review"],
        "join": "joined",
        "mode": "all",
    }
    assigned = kit.data(handle.id, ev.TASK_ASSIGNED)
    assert [(a["step"], a["role"]) for a in assigned] == [
        ("tech_review", "officer"),
        ("legal_review", "supervisor"),
    ]
    live = await state(handle)
    assert sorted(t.step for t in live.tasks if not t.completed) == ["legal_review", "tech_review"]

    # The second branch's task first: the command answers at the next rest, with the
    # other branch still waiting.
    r = await complete(handle, "legal_review", "approve", SUPERVISOR)
    assert r.status == "in_review"
    assert r.position == kit.last_position(handle.id)
    assert kit.types(handle.id)[-1] == ev.TASK_COMPLETED
    live = await state(handle)
    assert live.status == "in_review"
    assert [t.step for t in live.tasks if not t.completed] == ["tech_review"]
    assert live.outcomes == {"legal_review": "approve"}

    r = await complete(handle, "tech_review", "approve")
    assert r.status == "approved"
    assert await handle.result() == "approved"
    assert kit.types(handle.id) == [
        ev.APPLICATION_SUBMITTED,
        ev.BRANCHES_STARTED,
        ev.TASK_ASSIGNED,
        ev.TASK_ASSIGNED,
        ev.TASK_COMPLETED,
        ev.TASK_COMPLETED,
        ev.BRANCHES_JOINED,
        ev.DECISION_TAKEN,
        ev.APPLICATION_COMPLETED,
    ]
    assert r.position == kit.last_position(handle.id)
    joined = kit.one(handle.id, ev.BRANCHES_JOINED)
    assert joined == {
        "step": "joined",
        "mode": "all",
        "finished": ["tech_review", "legal_review"],
        "withdrawn": [],
    }
    decision = kit.one(handle.id, ev.DECISION_TAKEN)
    assert (decision["branch"], decision["target"]) == (0, "approved")
    assert kit.one(handle.id, ev.APPLICATION_COMPLETED) == {
        "step": "approved",
        "result": "approved",
    }
    live = await state(handle)
    assert live.outcomes == {"legal_review": "approve", "tech_review": "approve"}


async def test_decision_after_join_all_sees_both_outcomes(kit: Kit):
    handle, _ = await kit.submit(ALL)
    r = await complete(handle, "tech_review", "approve")
    assert r.status == "in_review"
    r = await complete(handle, "legal_review", "reject", SUPERVISOR)
    assert r.status == "rejected"
    assert await handle.result() == "rejected"
    decision = kit.one(handle.id, ev.DECISION_TAKEN)
    # Neither "both approve" nor "legal has no outcome": the default.
    assert (decision["branch"], decision["target"]) == (None, "rejected")
    completed = kit.data(handle.id, ev.TASK_COMPLETED)
    assert [c["step"] for c in completed] == ["tech_review", "legal_review"]


async def test_join_first_withdraws_the_other_branch(kit: Kit):
    handle, first = await kit.submit(FIRST)
    assert first.status == "in_review"

    r = await complete(handle, "tech_review", "approve")
    assert r.status == "approved"
    assert r.position == kit.last_position(handle.id)
    assert await handle.result() == "approved"
    assert kit.types(handle.id) == [
        ev.APPLICATION_SUBMITTED,
        ev.BRANCHES_STARTED,
        ev.TASK_ASSIGNED,
        ev.TASK_ASSIGNED,
        ev.TASK_COMPLETED,
        ev.TASK_CANCELLED,
        ev.BRANCHES_JOINED,
        ev.DECISION_TAKEN,
        ev.CITIZEN_NOTIFIED,
        ev.APPLICATION_COMPLETED,
    ]
    cancelled = kit.one(handle.id, ev.TASK_CANCELLED)
    assert cancelled == {
        "task_id": f"{handle.id}.legal_review.1",
        "step": "legal_review",
        "reason": "another branch finished first",
    }
    joined = kit.one(handle.id, ev.BRANCHES_JOINED)
    assert (joined["mode"], joined["finished"], joined["withdrawn"]) == (
        "first",
        ["tech_review"],
        ["legal_review"],
    )
    # The withdrawn branch has no outcome, which the decision can read.
    decision = kit.one(handle.id, ev.DECISION_TAKEN)
    assert (decision["branch"], decision["target"]) == (1, "fast")


async def test_join_first_completing_the_withdrawn_task_while_running_is_refused(kit: Kit):
    """The same refusal while the application still runs (a later review waits)."""
    raw = split_definition("first")
    raw["id"] = "izin-usaha-first-head"
    for s in raw["steps"]:
        if s["id"] == "joined":
            s["next"] = "head"
    raw["steps"].append(review("head", {"approve": "decide"}, role="supervisor"))
    handle, _ = await kit.submit(parse(raw))
    r = await complete(handle, "legal_review", "reject", SUPERVISOR)
    assert r.status == "in_review"
    live = await state(handle)
    assert live.current_step == "head"
    assert kit.one(handle.id, ev.TASK_CANCELLED)["step"] == "tech_review"
    count = len(kit.events(handle.id))
    e = await refused(complete(handle, "tech_review", "approve"))
    assert e.type == "TaskNotOpen" and "withdrawn" in e.message
    assert len(kit.events(handle.id)) == count  # a refusal writes nothing
    r = await complete(handle, "head", "approve", SUPERVISOR)
    assert r.status == "rejected"  # legal rejected, tech withdrawn: the default
    assert await handle.result() == "rejected"


async def test_cancelling_during_parallel_withdraws_every_open_task(kit: Kit):
    handle, _ = await kit.submit(ALL)
    await complete(handle, "tech_review", "approve")
    r = await handle.execute_update(
        ApplicationWorkflow.cancel, CancelApplication(actor=CITIZEN, reason="changed my mind")
    )
    assert r.status == "cancelled"
    assert await handle.result() == "cancelled"
    types = kit.types(handle.id)
    assert types[-5:] == [
        ev.TASK_COMPLETED,
        ev.CANCELLATION_REQUESTED,
        ev.TASK_CANCELLED,
        ev.CITIZEN_NOTIFIED,
        ev.APPLICATION_COMPLETED,
    ]
    assert ev.BRANCHES_JOINED not in types
    assert kit.one(handle.id, ev.TASK_CANCELLED)["step"] == "legal_review"
    assert kit.one(handle.id, ev.APPLICATION_COMPLETED) == {"step": None, "result": "cancelled"}
