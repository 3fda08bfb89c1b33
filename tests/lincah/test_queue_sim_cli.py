"""`lincah queue-sim` prints the simulated waits beside the Erlang C anchor."""

from __future__ import annotations

import pytest

from lincah.cli import main


def test_prints_the_figures_beside_erlang_c(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["queue-sim", "--arrivals-per-hour", "10", "--minutes-per-citizen", "15",
                 "--counters", "3", "--target-minutes", "5", "--citizens", "5000"])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0
    assert "Erlang C, exponential service: 21.1 min" in out
    assert "4 counters keep the mean wait under 5 min" in out


def test_too_few_counters_and_a_bad_bound(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["queue-sim", "--arrivals-per-hour", "10", "--minutes-per-citizen", "15",
                 "--counters", "2", "--target-minutes", "5", "--citizens", "2000"])  # fmt: skip
    assert code == 0
    assert "cannot keep up" in capsys.readouterr().out
    code = main(["queue-sim", "--arrivals-per-hour", "10", "--minutes-per-citizen", "15",
                 "--counters", "3", "--target-minutes", "5", "--citizens", "5"])  # fmt: skip
    assert code == 2
    assert "simulate from 100" in capsys.readouterr().err
