"""The event-store backends the contract suite (test_contract.py) runs against.

To add a backend, write a context manager that takes the test's ``tmp_path`` and yields a
``Backend`` (the ``kind`` and ``url`` that ``eventstore.factory.open_event_store`` takes)
for a fresh, empty store, cleaning up after the ``with`` block; then add it to
``BACKENDS``. A backend that cannot run here (no server, no URL in the environment)
calls ``pytest.skip("reason")``. For example::

    @contextmanager
    def postgres_backend(tmp_path: Path) -> Iterator[Backend]:
        url = os.environ.get("LINCAH_TEST_POSTGRES_URL")
        if not url:
            pytest.skip("set LINCAH_TEST_POSTGRES_URL to run the PostgreSQL contract")
        ...create a fresh schema/database, yield Backend("postgres", its_url), drop it...

This module is loaded by file path from test_contract.py (the tests run with
``--import-mode=importlib`` and have no packages), so it must not import its siblings.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Backend:
    kind: str
    url: str


@contextmanager
def sqlite_backend(tmp_path: Path) -> Iterator[Backend]:
    yield Backend("sqlite", str(tmp_path / "store" / "events.db"))


BACKENDS: dict[str, Callable[[Path], AbstractContextManager[Backend]]] = {
    "sqlite": sqlite_backend,
}
