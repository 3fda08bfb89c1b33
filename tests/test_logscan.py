"""The logs of the test session carry no personal data of its test citizens (issue 20,
part 6; tests/logscan.py gathers them and runs this test last)."""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

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


def test_the_scan_reads_the_log_files_of_started_processes() -> None:
    # Outside pytest's temporary directory, which the session's scan reads.
    with tempfile.TemporaryDirectory() as folder:
        _scan_reads_files(Path(folder))


def _scan_reads_files(tmp_path: Path) -> None:
    logs = tmp_path / "var" / "logs"
    logs.mkdir(parents=True)
    (logs / "api.log").write_text("started\nsubmitted by 3510154808900003\n")
    (tmp_path / "var" / "mail.eml").write_text("To: siti@example.id\n")  # not a log
    [leak] = logscan.file_leaks(tmp_path)
    assert (leak.where, leak.source, leak.found) == (
        "var/logs/api.log",
        "line 2",
        "3510154808900003",
    )
