"""Every step kind is complete: the registry (``domain.steps``) gives each one its model,
exits, validation rules, simulation choices and dry run, BPMN mapping and label, and the
parts agree with each other. A new kind fails here until it has them all."""

from __future__ import annotations

import copy
import re
import typing
from typing import Any

import pytest
from pydantic import BaseModel, TypeAdapter

from domain.checks import Names
from domain.definition import STEP_KINDS, AnyStep, Step
from domain.steps import KINDS, BpmnElement, Transition, raw_exits, retarget, successors

# One well-formed step per kind, each way out leading to its own missing step (t1, t2...)
# so that every exit can be told apart.
SAMPLES: dict[str, dict[str, Any]] = {
    "form": {"kind": "form", "id": "s", "name": "S", "next": "t1"},
    "review": {"kind": "review", "id": "s", "name": "S", "role": "officer",
               "outcomes": {"approve": "t1", "reject": "t2"}},
    "decision": {"kind": "decision", "id": "s", "name": "S",
                 "branches": [{"when": "true", "goto": "t1"}], "default": "t2",
                 "on_error": "t3"},
    "notify": {"kind": "notify", "id": "s", "name": "S", "message": "Halo", "next": "t1"},
    "end": {"kind": "end", "id": "s", "name": "S", "result": "approved"},
    "parallel": {"kind": "parallel", "id": "s", "name": "S", "branches": ["t1", "t2"],
                 "join": "t3"},
    "join": {"kind": "join", "id": "s", "name": "S", "next": "t1"},
    "correction": {"kind": "correction", "id": "s", "name": "S", "resume": "t1",
                   "on_abandon": "t2"},
    "payment": {"kind": "payment", "id": "s", "name": "S", "fee": {"amount": 10000},
                "next": "t1", "deadline": {"within": {"amount": 3}}, "on_unpaid": "t2"},
    "document": {"kind": "document", "id": "s", "name": "S", "next": "t1",
                 "template": {"code": "SK", "title": "Surat", "body": "Isi"}},
    "external": {"kind": "external", "id": "s", "name": "S", "event": "hasil", "next": "t1",
                 "timeout": {"amount": 2, "unit": "days"}, "on_timeout": "t2"},
    "subservice": {"kind": "subservice", "id": "s", "name": "S", "service": "layanan-lain",
                   "next": "t1"},
    "face_verify": {"kind": "face_verify", "id": "s", "name": "S", "on_match": "t1",
                    "on_mismatch": "t2"},
    "appointment": {"kind": "appointment", "id": "s", "name": "S", "purpose": "Dokumen asli",
                    "deadline": {"amount": 5}, "next": "t1", "no_show": "t2"},
}  # fmt: skip
_STEP: TypeAdapter[AnyStep] = TypeAdapter(Step)
_BPMN_TAGS = {
    "userTask", "sendTask", "receiveTask", "serviceTask", "callActivity", "endEvent",
    "exclusiveGateway", "parallelGateway", "complexGateway",
}  # fmt: skip


def _sample(kind: str) -> AnyStep:
    return _STEP.validate_python(SAMPLES[kind])


def _names() -> Names:
    return Names(
        service="layanan",
        fields=[],
        declared={},
        conditions=set(),
        bounds={},
        steps={},
        first_step={"s": 0},
        events={"hasil": 0},
        ids=["s"],
    )


def test_the_registry_the_step_union_and_the_palette_name_the_same_kinds() -> None:
    models = typing.get_args(AnyStep)
    assert [m.model_fields["kind"].default for m in models] == list(KINDS) == list(STEP_KINDS)
    assert [k.model for k in KINDS.values()] == list(models)
    assert set(SAMPLES) == set(KINDS), "every kind needs a sample step in this test"


@pytest.mark.parametrize("kind", list(KINDS))
def test_every_kind_is_complete(kind: str) -> None:
    k = KINDS[kind]
    assert k.kind == kind
    assert issubclass(k.model, BaseModel) and k.model.model_fields["kind"].default == kind
    assert k.label.strip() and list(KINDS.values()).count(k) == 1
    step = _sample(kind)
    assert isinstance(step, k.model)
    exits = k.exits(step)
    assert all(isinstance(t, Transition) for t in exits)
    assert k.references or not exits, "a kind with exits names the keys that hold them"
    assert isinstance(list(k.check(step, 0, _names())), list)
    choices = k.choices(step)
    assert isinstance(choices, tuple) and all(isinstance(c, str) for c in choices)
    assert isinstance(k.waits(step), bool)
    element = k.bpmn(step)
    assert isinstance(element, BpmnElement) and element.tag in _BPMN_TAGS
    # The simulation's walk itself stops at an end and walks a parallel's branches.
    assert (k.simulate is None) == (kind in {"end", "parallel"})


def test_labels_are_unique() -> None:
    labels = [k.label for k in KINDS.values()]
    assert len(set(labels)) == len(labels)


@pytest.mark.parametrize("kind", list(KINDS))
def test_the_validator_checks_every_exit_of_every_kind(kind: str) -> None:
    step = _sample(kind)
    unknown = {
        m.group(1)
        for p in KINDS[kind].check(step, 0, _names())
        if (m := re.fullmatch(r"leads to unknown step '(.+)'", p.message))
    }
    assert unknown == set(successors(step))


@pytest.mark.parametrize("kind", list(KINDS))
def test_a_raw_step_shows_the_same_ways_out_as_the_parsed_one(kind: str) -> None:
    raw = SAMPLES[kind]
    drawn = [target for _, target in raw_exits(raw)]
    assert set(successors(_sample(kind))) <= set(drawn)
    moved = copy.deepcopy(raw)
    for target in set(drawn):
        retarget(moved, target, "elsewhere")
    assert {target for _, target in raw_exits(moved)} <= {"elsewhere"}


def test_a_raw_step_of_an_unknown_kind_still_shows_its_ways_out() -> None:
    raw = {"kind": "teleport", "id": "s", "next": "a", "outcomes": {"ok": "b"}, "on_match": "c"}
    assert sorted(target for _, target in raw_exits(raw)) == ["a", "b", "c"]


@pytest.mark.parametrize("kind", list(KINDS))
def test_scripted_answers_are_offered_only_by_steps_that_wait_on_the_outside(kind: str) -> None:
    step = _sample(kind)
    if KINDS[kind].waits(step):
        assert KINDS[kind].choices(step), "a step that waits needs answers to script"
