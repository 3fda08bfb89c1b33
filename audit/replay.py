"""Replaying an application's Temporal history against the current workflow code, to
tell whether today's code would still run it (non-determinism is reported, not raised)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class ReplayReport:
    workflow_id: str
    events: int
    failure: str | None

    @property
    def deterministic(self) -> bool:
        return self.failure is None


async def replay_history(
    history: Any, workflows: Sequence[type], data_converter: Any, workflow_runner: Any = None
) -> ReplayReport:
    """Replay one ``temporalio.client.WorkflowHistory`` against ``workflows``, the
    workflow classes a worker registers (the caller knows which: ``lincah.worker``'s),
    decoding its payloads with ``data_converter`` (``config.temporal.data_converter``:
    its keys open encrypted histories, plaintext ones pass through)."""
    from temporalio.worker import Replayer

    options: dict[str, Any] = {}
    if workflow_runner is not None:
        options["workflow_runner"] = workflow_runner
    replayer = Replayer(workflows=list(workflows), data_converter=data_converter, **options)
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    failure = result.replay_failure
    return ReplayReport(
        workflow_id=history.workflow_id,
        events=len(history.events),
        failure=None if failure is None else f"{type(failure).__name__}: {failure}",
    )


async def fetch_history(client: Any, workflow_id: str) -> Any:
    return await client.get_workflow_handle(workflow_id).fetch_history()


def load_history(path: Path, workflow_id: str) -> Any:
    from temporalio.client import WorkflowHistory

    return WorkflowHistory.from_json(workflow_id, path.read_text())
