"""Every recorded history under tests/histories/ must replay against the current
workflow code; a change that breaks determinism must be caught."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from temporalio import workflow
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer, UnsandboxedWorkflowRunner

from config.settings import Settings
from config.temporal import data_converter
from workflows.application import ApplicationWorkflow
from workflows.complaint import ComplaintWorkflow
from workflows.messages import ApplicationInput

HISTORIES_DIR = Path(__file__).resolve().parents[1] / "histories"
HISTORIES = sorted(HISTORIES_DIR.glob("*.json"))


def load(path: Path) -> WorkflowHistory:
    return WorkflowHistory.from_json(path.stem, path.read_text())


def test_histories_are_recorded():
    assert len(HISTORIES) >= 3, "run the e2e test with LINCAH_RECORD_HISTORIES=1"


@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
async def test_history_replays_on_current_code(path: Path):
    replayer = Replayer(
        workflows=[ApplicationWorkflow, ComplaintWorkflow],
        data_converter=data_converter(Settings()),
    )
    await replayer.replay_workflow(load(path))


@workflow.defn(name="ApplicationWorkflow")
class _ReorderedWorkflow(ApplicationWorkflow):
    """A careless edit: a timer before the first event, without workflow.patched."""

    @workflow.run
    async def run(self, inp: ApplicationInput) -> str:
        await workflow.sleep(timedelta(seconds=1))
        return await super().run(inp)


async def test_a_non_deterministic_change_is_caught():
    # Unsandboxed: the sandbox would re-import this test module, which is not a package.
    replayer = Replayer(
        workflows=[_ReorderedWorkflow],
        data_converter=data_converter(Settings()),
        workflow_runner=UnsandboxedWorkflowRunner(),
    )
    with pytest.raises(workflow.NondeterminismError):
        await replayer.replay_workflow(load(HISTORIES_DIR / "domisili-approved.json"))
