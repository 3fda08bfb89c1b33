"""Refusals are domain kinds; api/errors.py alone gives each its HTTP status."""

from __future__ import annotations

import inspect

from api.errors import STATUS, status_of
from audit.trail import BadPointInTime
from domain import refusals
from workflows import errors as wf


def test_every_kind_has_one_status():
    defined = {
        c
        for _, c in inspect.getmembers(refusals, inspect.isclass)
        if issubclass(c, refusals.Refusal) and c is not refusals.Refusal
    }
    assert defined == set(refusals.KINDS) == set(STATUS)


def test_a_subclass_answers_with_its_kind():
    class Suspended(refusals.Forbidden):
        pass

    assert status_of(Suspended("this account is suspended")) == 403
    assert status_of(BadPointInTime("at must be a position")) == 422


def test_every_workflow_refusal_names_a_kind():
    names = {v for k, v in vars(wf).items() if k.isupper() and isinstance(v, str)}
    assert names == set(wf.KIND)
    assert {status_of(kind("x")) for kind in wf.KIND.values()} == {403, 404, 409, 422}
