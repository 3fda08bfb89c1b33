"""The logs of the test session carry no personal data of its test citizens (issue 20,
part 6; tests/logscan.py gathers them and runs this test last)."""

from __future__ import annotations

import logging

import pytest

from tests import logscan


@pytest.mark.logscan
def test_the_logs_carry_no_personal_data(tmp_path_factory: pytest.TempPathFactory) -> None:
    watch = logscan.watch()
    if not logscan.tests_before():
        pytest.skip("no other test ran in this session: there are no logs to scan")
    leaks = [*watch.leaks, *logscan.file_leaks(tmp_path_factory.getbasetemp())]
    assert not leaks, f"{len(leaks)} log lines carry a test citizen's personal data:\n" + "\n".join(
        f"  {leak.where} [{leak.source}] {leak.found!r}: {leak.line}" for leak in leaks[:50]
    )


def test_the_scan_finds_a_nik_a_name_and_an_address(caplog: pytest.LogCaptureFixture) -> None:
    assert {"3510154808900003", "siti aminah", "siti@example.id"} <= set(logscan.needles())
    assert not any(n.endswith(".go.id") for n in logscan.needles())  # staff are not citizens
    watch = logscan.LeakWatch()
    log = logging.getLogger("tests.logscan.probe")
    log.addHandler(watch)
    log.propagate = False  # these lines are the probe's, not the session's
    try:
        log.warning("mail to %s", "Siti@Example.id")
        log.warning("applicant %s", {"nik": "3510154808900003", "full_name": "SITI AMINAH"})
        log.warning("application BWI-2026-000001 approved")
    finally:
        log.removeHandler(watch)
    assert [leak.found for leak in watch.leaks] == [
        "siti@example.id",
        "3510154808900003",
        "siti aminah",
    ]
