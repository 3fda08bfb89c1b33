"""The Survei Kepuasan Masyarakat (SKM) and its Indeks Kepuasan Masyarakat (IKM), as
PermenPANRB 14/2017 defines them: nine unsur, each answered on a 1-4 scale; the IKM is
the mean of the nine unsur means (each weighted exactly 1/9) x 25, graded A-D.

Rounding, written down once: the means are kept exact (fractions), the IKM is rounded
to 2 decimals ROUND_HALF_UP and only then graded, so 88.305 is 88.31 and an A. The
NRR (nilai rata-rata) per unsur is shown rounded to 2 decimals the same way; the IKM is
computed from the exact means, not from the rounded ones.

Periods are semesters (``2026-S1`` January-June, ``2026-S2`` July-December) or years
(``2026``), counted on the calendar in WIB, as application numbers are.

Pure: no clock, no I/O.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from decimal import ROUND_CEILING, Decimal
from fractions import Fraction
from typing import Final, Literal

UNSUR: Final[tuple[tuple[str, str], ...]] = (
    ("u1", "Persyaratan"),
    ("u2", "Sistem, mekanisme dan prosedur"),
    ("u3", "Waktu penyelesaian"),
    ("u4", "Biaya/tarif"),
    ("u5", "Produk spesifikasi jenis pelayanan"),
    ("u6", "Kompetensi pelaksana"),
    ("u7", "Perilaku pelaksana"),
    ("u8", "Penanganan pengaduan, saran dan masukan"),
    ("u9", "Sarana dan prasarana"),
)
"""The nine unsur in the regulation's order: (id, label)."""
UNSUR_IDS: Final = tuple(u for u, _ in UNSUR)
LABELS: Final = dict(UNSUR)
SCALE: Final = (1, 2, 3, 4)
"""Tidak baik/sesuai (1) to sangat baik/sesuai (4)."""
CONVERSION: Final = 25
"""The unit-value conversion of the regulation: a mean of 4 is an IKM of 100."""

SEXES: Final = ("L", "P")
EDUCATION: Final = ("SD", "SMP", "SMA", "D1-D3-D4", "S1", "S2", "S3")
"""Pendidikan, as the regulation's questionnaire lists it (S2 and S3 apart)."""
OCCUPATIONS: Final = ("PNS", "TNI", "POLRI", "SWASTA", "WIRAUSAHA", "LAINNYA")
"""Pekerjaan, as the regulation's questionnaire lists it."""
MAX_SUGGESTION: Final = 2000

Grade = Literal["A", "B", "C", "D"]
GRADES: Final[tuple[tuple[Decimal, Grade, str], ...]] = (
    (Decimal("88.31"), "A", "Sangat Baik"),
    (Decimal("76.61"), "B", "Baik"),
    (Decimal("65.00"), "C", "Kurang Baik"),
    (Decimal("25.00"), "D", "Tidak Baik"),
)
"""Mutu pelayanan: the lowest IKM of each grade (A 88.31-100, B 76.61-88.30,
C 65.00-76.60, D 25.00-64.99)."""

_CENT: Final = Decimal("0.01")
WIB: Final = timezone(timedelta(hours=7), "WIB")


def round2(value: Fraction) -> Decimal:
    """``value`` to 2 decimals, half up, exactly (no binary floating point)."""
    cents = math.floor(value * 100 + Fraction(1, 2))
    return (Decimal(cents) / 100).quantize(_CENT)


def grade(ikm: Decimal) -> tuple[Grade, str]:
    """The mutu pelayanan and its kinerja for an IKM (already rounded to 2 decimals)."""
    for lowest, letter, words in GRADES:
        if ikm >= lowest:
            return letter, words
    return "D", "Tidak Baik"


def krejcie_morgan(population: int) -> int:
    """The minimum sample for ``population`` (Krejcie and Morgan, as the regulation's
    table): s = X²NP(1-P) / (d²(N-1) + X²P(1-P)), X² = 3.841, P = 0.5, d = 0.05,
    rounded up. 100 → 80, 1 000 → 278, 1 000 000 → 384."""
    if population <= 0:
        return 0
    x2, p, d = Decimal("3.841"), Decimal("0.5"), Decimal("0.05")
    n = Decimal(population)
    s = x2 * n * p * (1 - p) / (d * d * (n - 1) + x2 * p * (1 - p))
    return int(s.to_integral_value(rounding=ROUND_CEILING))


@dataclass(frozen=True)
class UnsurResult:
    unsur: str
    label: str
    nrr: Decimal
    """The unsur's mean, rounded to 2 decimals (for display)."""
    ikm: Decimal
    """The unsur's mean x 25, rounded to 2 decimals: its own index, for the chart."""
    exact: Fraction


@dataclass(frozen=True)
class Index:
    respondents: int
    unsur: tuple[UnsurResult, ...]
    ikm: Decimal | None
    """None without respondents."""
    grade: Grade | None
    kinerja: str | None
    priority: UnsurResult | None
    """The lowest unsur (the first in the regulation's order on a tie): what to improve
    first."""


def compute(responses: Sequence[Sequence[int]]) -> Index:
    """The IKM of ``responses``, each the nine values in ``UNSUR`` order."""
    n = len(responses)
    if n == 0:
        return Index(0, (), None, None, None, None)
    for r in responses:
        if len(r) != len(UNSUR) or any(v not in SCALE for v in r):
            raise ValueError("each response needs the nine unsur, each 1 to 4")
    means = [Fraction(sum(r[i] for r in responses), n) for i in range(len(UNSUR))]
    results = tuple(
        UnsurResult(uid, label, round2(m), round2(m * CONVERSION), m)
        for (uid, label), m in zip(UNSUR, means, strict=True)
    )
    ikm = round2(sum(means, Fraction(0)) / len(UNSUR) * CONVERSION)
    letter, words = grade(ikm)
    priority = min(results, key=lambda u: u.exact)
    return Index(n, results, ikm, letter, words, priority)


# -- periods ------------------------------------------------------------------------

_PERIOD = re.compile(r"^((?:19|20)\d{2})(?:-S([12]))?$")


def period_bounds(period: str) -> tuple[date, date]:
    """The first day and the day after the last of ``2026``, ``2026-S1`` or
    ``2026-S2``; ValueError for anything else."""
    m = _PERIOD.match(period)
    if m is None:
        raise ValueError(f"{period!r} is not a period: write 2026, 2026-S1 or 2026-S2")
    year = int(m[1])
    if m[2] is None:
        return date(year, 1, 1), date(year + 1, 1, 1)
    if m[2] == "1":
        return date(year, 1, 1), date(year, 7, 1)
    return date(year, 7, 1), date(year + 1, 1, 1)


def local_day(at: datetime) -> date:
    """The calendar day (WIB) periods count ``at`` in."""
    return at.astimezone(WIB).date()


def semester(day: date) -> str:
    return f"{day.year}-S{1 if day.month <= 6 else 2}"
