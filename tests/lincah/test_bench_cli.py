"""`lincah bench e2e` and `lincah bench api` run end to end with tiny workloads and print
their ratio lines (the real figures come from full runs, README "Benchmarks"; no timing
is asserted here). Also what the API bench relies on: the trivial endpoint exists only
when asked for in development, and a token verified once is still refused once it has
expired."""

from __future__ import annotations

import re
import time

import pytest
from fastapi.testclient import TestClient

from api import security
from api.main import create_app
from config.settings import Settings
from lincah.bench_stack import percentile
from lincah.cli import build_parser, main

RATIO = r"\d+\.\d\d"


@pytest.mark.e2e
def test_bench_e2e_prints_both_sides_and_the_ratio(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "e2e", "--n", "2", "--concurrency", "1"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"^Lincah \(API\): [\d.,]+ applications/s; p50 .* p99 ", out, re.M), out
    raw = r"^raw Temporal \(\d+ activities, Update, \d+\): [\d.,]+ applications/s"
    assert re.search(raw, out, re.M), out
    assert re.search(rf"^ratio Lincah / raw: {RATIO} \(target >= 0.8\)$", out, re.M), out
    assert re.search(r"^raw Temporal \(\d+ local activities, Update, \d+\): ", out, re.M), out
    assert re.search(rf"^ratio Lincah / raw with local activities: {RATIO}$", out, re.M), out
    # The profile counts one application's activities and appends.
    assert re.search(r"activities: \d+ before the officer's Update, \d+ after", out), out
    assert "ApplicationSubmitted" in out and "ApplicationCompleted" in out
    assert re.search(r"^machine: \d{4}-\d\d-\d\d ", out, re.M), out


def test_bench_api_prints_both_endpoints_and_the_ratios(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(["bench", "api", "--seconds", "0.3", "--connections", "4", "--applications", "3"])
    assert code == 0
    out = capsys.readouterr().out
    assert re.search(r"^GET /bench/ping: [\d,]+ requests/s; p50 ", out, re.M), out
    assert re.search(r"^GET /applications/BWI-2026-000001: [\d,]+ requests/s; p50 ", out, re.M)
    assert "non-200" not in out, out
    assert re.search(
        rf"^ratio GET /applications/\{{id\}} / GET /bench/ping: requests/s {RATIO} "
        rf"\(target >= 0.5\), p99 {RATIO} x \(target <= 2\)$",
        out,
        re.M,
    ), out


def test_every_bench_target_parses() -> None:
    parser = build_parser()
    assert parser.parse_args(["bench", "eventstore", "--events", "5"]).events == 5
    assert parser.parse_args(["bench", "e2e", "--store", "postgres"]).store == "postgres"
    assert parser.parse_args(["bench", "api", "--workers", "3"]).workers == 3


def test_the_ping_route_exists_only_when_asked_for_in_development(tmp_path) -> None:
    def ping(bench_ping: bool = False) -> int:
        app = create_app(
            Settings(
                var_dir=tmp_path,
                jwt_secret="a-test-secret-of-at-least-32-bytes",
                bench_ping=bench_ping,
            )
        )
        with TestClient(app) as client:
            return client.get("/bench/ping").status_code

    assert ping() == 404
    assert ping(bench_ping=True) == 200


def test_a_cached_token_is_refused_once_it_expired(monkeypatch: pytest.MonkeyPatch) -> None:
    key = "k" * 40
    token = security.issue(security.Principal(subject="s", role="citizen", dev=True), key, 60)
    assert security.verify(token, key).subject == "s"  # verified, and now cached
    later = time.time() + 61
    monkeypatch.setattr(time, "time", lambda: later)  # what api.security reads
    with pytest.raises(security.InvalidToken, match="expired"):
        security.verify(token, key)
    with pytest.raises(security.InvalidToken, match="not valid"):
        security.verify(token, "another-key-of-at-least-32-bytes-long")


def test_percentiles_are_nearest_rank() -> None:
    values = [float(i) for i in range(1, 101)]
    assert [percentile(values, p) for p in (50, 95, 99, 100)] == [50.0, 95.0, 99.0, 100.0]
    assert percentile([], 99) == 0.0
    assert percentile([3.0], 50) == 3.0
