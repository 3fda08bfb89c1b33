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
    run_id: str | None = None
    """The run replayed, when the history came from Temporal (a file names none)."""

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


class HistoryTooLarge(Exception):
    """The run's history has more events than a caller lets one replay take."""

    def __init__(self, workflow_id: str, events: int, limit: int) -> None:
        super().__init__(f"{workflow_id} has {events} events in Temporal, more than {limit}")
        self.workflow_id = workflow_id
        self.events = events
        self.limit = limit


async def replay_latest_run(
    client: Any, workflow_id: str, workflows: Sequence[type], *, max_events: int
) -> ReplayReport:
    """Fetch the latest run of ``workflow_id`` through ``client`` and replay it with the
    client's data converter (the project's: ``config.temporal.connect`` sets it). The
    run's length is asked first, so a history over ``max_events`` is refused before
    it is downloaded (``HistoryTooLarge``). Temporal's errors pass through: the caller
    knows what to tell its reader."""
    described = await client.get_workflow_handle(workflow_id).describe()
    length = int(described.raw_description.workflow_execution_info.history_length)
    if length > max_events:
        raise HistoryTooLarge(workflow_id, length, max_events)
    # The run just described, not whichever is latest by the time the history is read.
    history = await client.get_workflow_handle(workflow_id, run_id=described.run_id).fetch_history()
    report = await replay_history(history, workflows, client.data_converter)
    return ReplayReport(report.workflow_id, report.events, report.failure, described.run_id)


async def fetch_history(client: Any, workflow_id: str) -> Any:
    return await client.get_workflow_handle(workflow_id).fetch_history()


def load_history(path: Path, workflow_id: str) -> Any:
    from temporalio.client import WorkflowHistory

    return WorkflowHistory.from_json(workflow_id, path.read_text())
