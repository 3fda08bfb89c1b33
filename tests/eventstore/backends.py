"""The event-store backends the contract suite (test_contract.py) runs against.

Each entry of ``BACKENDS`` is a context manager that takes the test's ``request``
(pytest's FixtureRequest, for ``tmp_path`` and session fixtures such as
``postgres_cluster``) and yields a ``Backend`` (the ``kind`` and ``url`` that
``eventstore.factory.open_event_store`` takes) for a fresh, empty store, cleaning up
after the ``with`` block. A backend that cannot run here calls ``pytest.skip(reason)``.

- sqlite: a file under the test's tmp_path.
- postgres: a new schema in the session's throw-away cluster (tests/conftest.py).
- kurrentdb: a KurrentDB node at LINCAH_KURRENTDB_URI (e.g. ``kurrentdb://localhost:2113?Tls=false``);
  no server runs here, so without the variable the backend is skipped. Every test gets
  a unique stream-name prefix, because a KurrentDB node cannot be emptied per test.

This module is loaded by file path from test_contract.py; it must not import siblings.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import Any

import pytest


@dataclass(frozen=True)
class Backend:
    kind: str
    url: str


@contextmanager
def sqlite_backend(request: Any) -> Iterator[Backend]:
    tmp_path = request.getfixturevalue("tmp_path")
    yield Backend("sqlite", str(tmp_path / "store" / "events.db"))


@contextmanager
def postgres_backend(request: Any) -> Iterator[Backend]:
    cluster = request.getfixturevalue("postgres_cluster")
    with cluster.fresh_schema() as url:
        yield Backend("postgres", url)


@contextmanager
def kurrentdb_backend(request: Any) -> Iterator[Backend]:
    uri = os.environ.get("LINCAH_KURRENTDB_URI")
    if not uri:
        pytest.skip("set LINCAH_KURRENTDB_URI to run the contract against a KurrentDB node")
    separator = "&" if "?" in uri else "?"
    yield Backend("kurrentdb", f"{uri}{separator}LincahPrefix=t{uuid.uuid4().hex[:12]}-")


BACKENDS: dict[str, Callable[[Any], AbstractContextManager[Backend]]] = {
    "sqlite": sqlite_backend,
    "postgres": postgres_backend,
    "kurrentdb": kurrentdb_backend,
}
