"""The IKM formula of PermenPANRB 14/2017 against a worked example, the grade
boundaries on exact decimals, and the Krejcie–Morgan sample table."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from domain import ikm

WORKED = [
    [4, 4, 3, 3, 4, 3, 4, 3, 3],
    [3, 3, 3, 2, 4, 3, 4, 3, 3],
    [4, 3, 3, 4, 3, 4, 4, 2, 3],
    [3, 4, 2, 3, 4, 4, 4, 3, 3],
]


def test_a_worked_example() -> None:
    # Means: 3.50 3.50 2.75 3.00 3.75 3.50 4.00 2.75 3.00; their sum 29.75;
    # 29.75 / 9 = 3.30555...; × 25 = 82.638... → 82.64, B (Baik).
    index = ikm.compute(WORKED)
    assert [u.nrr for u in index.unsur] == [
        Decimal(x) for x in ("3.50", "3.50", "2.75", "3.00", "3.75", "3.50", "4.00", "2.75", "3.00")
    ]
    assert index.ikm == Decimal("82.64")
    assert (index.grade, index.kinerja) == ("B", "Baik")
    assert index.respondents == 4
    # The lowest unsur; on a tie (u3 and u8 at 2.75) the first in the regulation's order.
    assert index.priority is not None and index.priority.unsur == "u3"
    assert index.priority.label == "Waktu penyelesaian"
    assert index.unsur[6].ikm == Decimal("100.00")


def _responses(n: int, total: int) -> list[list[int]]:
    """``n`` responses whose values add up to ``total``: all 1s, raised one by one."""
    rows = [[1] * 9 for _ in range(n)]
    extra = total - 9 * n
    for i in range(n * 9):
        if extra == 0:
            break
        step = min(3, extra)
        rows[i // 9][i % 9] += step
        extra -= step
    assert sum(map(sum, rows)) == total
    return rows


@pytest.mark.parametrize(
    ("n", "total", "expected", "grade"),
    [
        (24, 763, "88.31", "A"),  # 88.3101...
        (19, 604, "88.30", "B"),  # 88.3040...
        (19, 524, "76.61", "B"),  # 76.6081...
        (26, 717, "76.60", "C"),  # 76.6025...
        (5, 117, "65.00", "C"),  # exactly 65
        (38, 889, "64.99", "D"),  # 64.9853...
    ],
)
def test_the_boundaries_through_the_formula(n: int, total: int, expected: str, grade: str) -> None:
    index = ikm.compute(_responses(n, total))
    assert index.ikm == Decimal(expected)
    assert index.grade == grade


@pytest.mark.parametrize(
    ("value", "letter", "words"),
    [
        ("100.00", "A", "Sangat Baik"),
        ("88.31", "A", "Sangat Baik"),
        ("88.30", "B", "Baik"),
        ("76.61", "B", "Baik"),
        ("76.60", "C", "Kurang Baik"),
        ("65.00", "C", "Kurang Baik"),
        ("64.99", "D", "Tidak Baik"),
        ("25.00", "D", "Tidak Baik"),
    ],
)
def test_the_grade_boundaries_are_exact(value: str, letter: str, words: str) -> None:
    assert ikm.grade(Decimal(value)) == (letter, words)


def test_the_ikm_is_rounded_half_up_before_grading() -> None:
    from fractions import Fraction

    assert ikm.round2(Fraction("88.305")) == Decimal("88.31")
    assert ikm.round2(Fraction("76.605")) == Decimal("76.61")
    assert ikm.round2(Fraction("64.995")) == Decimal("65.00")
    assert ikm.round2(Fraction("64.9949")) == Decimal("64.99")


def test_all_fours_and_all_ones() -> None:
    assert ikm.compute([[4] * 9]).ikm == Decimal("100.00")
    low = ikm.compute([[1] * 9])
    assert (low.ikm, low.grade) == (Decimal("25.00"), "D")


def test_no_respondents_no_index() -> None:
    index = ikm.compute([])
    assert (index.respondents, index.ikm, index.grade, index.priority) == (0, None, None, None)


@pytest.mark.parametrize("bad", [[4] * 8, [4] * 8 + [5], [0] + [4] * 8])
def test_a_response_out_of_scale_is_refused(bad: list[int]) -> None:
    with pytest.raises(ValueError, match="nine unsur"):
        ikm.compute([bad])


@pytest.mark.parametrize(
    ("population", "sample"),
    [(0, 0), (10, 10), (100, 80), (1000, 278), (10_000, 370), (1_000_000, 384)],
)
def test_krejcie_morgan_as_the_table(population: int, sample: int) -> None:
    assert ikm.krejcie_morgan(population) == sample


def test_the_nine_unsur_in_the_regulations_order() -> None:
    assert tuple(f"u{i}" for i in range(1, 10)) == ikm.UNSUR_IDS
    assert ikm.LABELS["u8"] == "Penanganan pengaduan, saran dan masukan"


def test_periods() -> None:
    assert ikm.period_bounds("2026") == (date(2026, 1, 1), date(2027, 1, 1))
    assert ikm.period_bounds("2026-S1") == (date(2026, 1, 1), date(2026, 7, 1))
    assert ikm.period_bounds("2026-S2") == (date(2026, 7, 1), date(2027, 1, 1))
    with pytest.raises(ValueError, match="2026-S1"):
        ikm.period_bounds("2026-S3")
    with pytest.raises(ValueError, match="not a period"):
        ikm.period_bounds("0000")  # years of this era only (no year 0, no 10000)
    # 30 June 20:00 UTC is 1 July in WIB: the second semester.
    day = ikm.local_day(datetime(2026, 6, 30, 20, tzinfo=UTC))
    assert ikm.semester(day) == "2026-S2"
