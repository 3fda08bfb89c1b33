"""Fixtures of the step-kind workflow tests (see stepkit.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from tests.payloads import store_mismatches
from tests.workflows.stepkit import Kit


@pytest.fixture
async def bare_kit(skipping_env: WorkflowEnvironment, tmp_path: Path) -> AsyncIterator[Kit]:
    """A kit without a running worker: the test runs the workers it needs. When the
    test ends, every application event it stored must round-trip through its typed
    model byte for byte (tests/payloads.py): the seeded stores of all step kinds."""
    kit = Kit(skipping_env, tmp_path)
    try:
        yield kit
    finally:
        await kit.close()
    assert store_mismatches(tmp_path / "events.db") == []


@pytest.fixture
async def kit(bare_kit: Kit) -> AsyncIterator[Kit]:
    """A kit with the real application worker running (lincah.worker.build_worker)."""
    async with bare_kit.worker():
        yield bare_kit
        await bare_kit.close_running()
