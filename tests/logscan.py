"""The log scan (issue 20, part 6): the logs of the test session must carry no personal
data of its test citizens.

A pytest plugin (registered in tests/conftest.py). For the whole session it hangs one
handler on the root logger, at INFO as `lincah` runs in production, which checks each
record (message and traceback) for the NIKs, names and e-mail addresses of the test
citizens and keeps the ones that match, with the test that was running. Processes
that tests start (`lincah up`, the workers) log to files (``*.log``) in
pytest's temporary directory; those files are scanned at the end.

``tests/test_logscan.py`` holds the one test that reports the findings; this plugin
moves it to the end of the run, so it sees the logs of every test before it. Run alone
it has nothing to scan and says so (skipped).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

from domain.nik import is_valid_nik

ROOT = Path(__file__).resolve().parents[1]
SOURCES = (ROOT / "lincah" / "demo.py", *sorted((ROOT / "tests").rglob("*.py")))
"""Where the test citizens are: the demo seed and every test module."""
MARKER = "logscan"
"""Marks the test that reports: it runs last."""

_FULL_NAME = re.compile(r"""full_name['"]?\s*[:=]\s*['"]([^'"]+)['"]""")
_DEMO_NAME = re.compile(r"""DemoAccount\(\s*"[^"]*",\s*"[^"]*",\s*"citizen",\s*"([^"]+)\"""")
_NAME = re.compile(r"[A-Z][a-z]{2,}(?: [A-Z][a-z]{2,})+")
"""A full name: two or more capitalised words (a single first name is too common to
tell apart from other words)."""
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
_NIK = re.compile(r"(?<!\d)\d{16}(?!\d)")
NOT_LINCAH = frozenset({"mail.log"})
"""Loggers of the tests' own stand-ins, not of Lincah: aiosmtpd, the mail server that
receives what Lincah sends (a real mail server logs its recipients in its own logs)."""
_STAFF_DOMAIN = re.compile(r"\.go\.id$", re.IGNORECASE)
"""Government addresses are staff accounts, not citizens."""


@cache
def needles() -> tuple[str, ...]:
    """The test citizens' NIKs, full names and e-mail addresses, lower-case."""
    found: set[str] = set()
    for path in SOURCES:
        text = path.read_text(encoding="utf-8")
        found.update(n for n in _NIK.findall(text) if is_valid_nik(n))
        for value in _FULL_NAME.findall(text) + _DEMO_NAME.findall(text):
            found.update(_NAME.findall(value))
        found.update(e for e in _EMAIL.findall(text) if not _STAFF_DOMAIN.search(e))
    return tuple(sorted({n.lower() for n in found}))


@cache
def _pattern() -> re.Pattern[str]:
    return re.compile("|".join(re.escape(n) for n in sorted(needles(), key=len, reverse=True)))


@dataclass(frozen=True)
class Leak:
    where: str
    """The test that was running, or the log file."""
    source: str
    """The logger (and level), or the line number in the file."""
    found: str
    line: str


def leaks_in(text: str) -> list[str]:
    """The needles in ``text``, as they occur (case ignored)."""
    return sorted({m.group(0) for m in _pattern().finditer(text.lower())})


class LeakWatch(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.setFormatter(logging.Formatter("%(message)s"))
        self.leaks: list[Leak] = []
        self.records = 0
        self.test = "(between tests)"

    def emit(self, record: logging.LogRecord) -> None:
        if record.name in NOT_LINCAH:
            return
        try:
            text = self.format(record)
        except Exception:  # a broken format string is the logging module's report
            text = str(record.msg)
        self.records += 1
        for found in leaks_in(text):
            self.leaks.append(
                Leak(
                    self.test, f"{record.name} {record.levelname}", found, _first_line(text, found)
                )
            )


def _first_line(text: str, found: str) -> str:
    for line in text.splitlines():
        if found in line.lower():
            return line[:300]
    return text[:300]


def file_leaks(directory: Path) -> Iterator[Leak]:
    for path in sorted(directory.rglob("*.log")):
        with path.open(encoding="utf-8", errors="replace") as f:
            for number, line in enumerate(f, 1):
                for found in leaks_in(line):
                    yield Leak(
                        str(path.relative_to(directory)), f"line {number}", found, line[:300]
                    )


_watch = LeakWatch()
_ran_before: list[str] = []


def watch() -> LeakWatch:
    return _watch


def tests_before() -> list[str]:
    """The tests of this session that ran before the reporting one."""
    return _ran_before


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", f"{MARKER}: the log scan's report; runs last")
    root = logging.getLogger()
    root.addHandler(_watch)
    if root.level == logging.NOTSET or root.level > logging.INFO:
        root.setLevel(logging.INFO)
    # As in production (lincah/cli.py): no line per HTTP request of a client.
    logging.getLogger("httpx").setLevel(logging.WARNING)


def pytest_unconfigure(config: pytest.Config) -> None:
    logging.getLogger().removeHandler(_watch)


@pytest.hookimpl(trylast=True)  # after any other reordering
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: item.get_closest_marker(MARKER) is not None)


def pytest_runtest_logstart(nodeid: str, location: tuple[str, int | None, str]) -> None:
    _watch.test = nodeid


def pytest_runtest_logfinish(nodeid: str, location: tuple[str, int | None, str]) -> None:
    _watch.test = "(between tests)"
    _ran_before.append(nodeid)
