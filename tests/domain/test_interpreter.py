"""The interpreter's rules for conditions: one that cannot be evaluated is never a
branch (or fee rule) that does not hold."""

from __future__ import annotations

from typing import Any

import pytest

from domain import interpreter
from domain.definition import DecisionStep, PaymentStep


def decision(**extra: Any) -> DecisionStep:
    return DecisionStep.model_validate(
        {
            "id": "cek_peserta",
            "name": "Cek peserta",
            "branches": [
                {"when": "jumlah_peserta * 2 >= 1000", "goto": "ditolak"},
                {"when": "jumlah_peserta > 10", "goto": "periksa"},
            ],
            "default": "selesai",
            **extra,
        }
    )


PAYMENT = PaymentStep.model_validate(
    {
        "id": "bayar",
        "name": "Bayar",
        "fee": {"amount": 50_000, "rules": [{"when": "luas * 2 > 1000", "amount": 500_000}]},
        "next": "selesai",
    }
)


def test_conditions_that_hold_or_not_choose_as_before() -> None:
    assert interpreter.decide(decision(), {"jumlah_peserta": 1500}) == interpreter.Choice(
        "ditolak", 0, "jumlah_peserta * 2 >= 1000"
    )
    assert interpreter.decide(decision(), {"jumlah_peserta": 20}).target == "periksa"
    assert interpreter.decide(decision(), {"jumlah_peserta": 5}) == interpreter.Choice(
        "selesai", None, None
    )


def test_a_failing_condition_without_on_error_raises_instead_of_counting_as_false() -> None:
    # 1e200 * 2 overflows the number limit: it used to skip the rejection branch.
    with pytest.raises(interpreter.ConditionFailed) as caught:
        interpreter.decide(decision(), {"jumlah_peserta": 1e200})
    assert str(caught.value) == (
        "step 'cek_peserta', branches[0]: the condition cannot be evaluated:"
        " number too large (max 10**100)"
    )
    assert caught.value.step == "cek_peserta"


def test_a_failing_condition_with_on_error_goes_there() -> None:
    choice = interpreter.decide(decision(on_error="manual"), {"jumlah_peserta": "banyak"})
    assert choice.target == "manual" and choice.failed
    assert choice.branch == 0 and choice.condition == "jumlah_peserta * 2 >= 1000"
    assert choice.errors == ("branches[0]: cannot compare text with number using '>='",)


def test_a_condition_after_one_that_holds_is_not_evaluated() -> None:
    step = decision()
    bad_second = step.model_copy(
        update={"branches": [step.branches[0], step.branches[1].model_copy(update={"when": "x"})]}
    )
    assert interpreter.decide(bad_second, {"jumlah_peserta": 600}).target == "ditolak"


def test_the_old_rule_is_kept_only_for_replaying_old_applications() -> None:
    old = interpreter.decide_before_errors_failed(decision(), {"jumlah_peserta": 1e200})
    assert old.target == "periksa" and old.errors[0].startswith("branches[0]: number too large")


def test_a_fee_rule_that_cannot_be_evaluated_fails_closed() -> None:
    assert interpreter.fee_amount(PAYMENT, {"luas": 600}) == 500_000
    assert interpreter.fee_amount(PAYMENT, {"luas": 10}) == 50_000
    with pytest.raises(interpreter.ConditionFailed, match=r"step 'bayar', fee.rules\[0\]"):
        interpreter.fee_amount(PAYMENT, {"luas": None})
    assert interpreter.fee_amount_before_errors_failed(PAYMENT, {"luas": None}) == 50_000
