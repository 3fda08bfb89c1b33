"""Processes starting together (``lincah up`` starts the worker, projector, notifier and
API at once) open the same new SQLite files: the event store, the read models and the
citizens' data keys. None of them may fail for having opened at the same moment as
another ("database is locked" from the switch to WAL, "no such table" from a schema
made twice). Threads stand in for processes: each opens its own connection."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from crypto.data_keys import DataKeys
from eventstore.sqlite import SqliteEventStore
from projections.readmodels import ReadModels

OPENERS: dict[str, Callable[[Path], object]] = {
    "event store": lambda d: SqliteEventStore(str(d / "events.db")).close(),
    "read models": lambda d: ReadModels(d / "readmodels.db").close(),
    "data keys": lambda d: DataKeys(d / "data-keys.db", "k" * 40),
}


@pytest.mark.parametrize("what", list(OPENERS))
def test_eight_open_a_new_file_at_once(what: str, tmp_path: Path) -> None:
    open_one = OPENERS[what]
    failures: list[tuple[int, BaseException]] = []
    for round_ in range(20):  # before the fix, 5 to 26 rounds in 40 failed
        folder = tmp_path / str(round_)
        folder.mkdir()
        start = threading.Barrier(8)

        def opener(folder: Path = folder, round_: int = round_) -> None:
            start.wait()
            try:
                open_one(folder)
            except BaseException as e:  # collected: the assertion names them
                failures.append((round_, e))

        threads = [threading.Thread(target=opener) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert failures == []
