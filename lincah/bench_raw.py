"""The raw Temporal ceiling of ``lincah bench e2e``: a workflow of an application's shape
with no business logic. It is started with an Update (as the API submits), runs
``before`` activities, answers that Update, waits for a second Update (the officer's
decision), runs ``after`` activities, answers it and ends. The activities take and
return a small dict, like Lincah's appends, and do nothing else.

``python -m lincah.bench_raw ADDRESS TASK_QUEUE`` runs its worker, configured as
Lincah's application worker is (thread pool of 16, the same sticky timeout), so both
sides pay for the same process boundaries."""

from __future__ import annotations

import asyncio
import signal
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from temporalio import activity, workflow


@dataclass
class RawInput:
    before: int
    after: int
    local: bool = False
    """Run the activities as local activities (as Lincah runs its appends)."""


@activity.defn(name="raw_step")
def raw_step(payload: dict[str, Any]) -> dict[str, Any]:
    return payload


@workflow.defn(name="RawApplication")
class RawApplication:
    def __init__(self) -> None:
        self._phase = 0
        self._decided = False

    @workflow.run
    async def run(self, inp: RawInput) -> str:
        for i in range(inp.before):
            await self._step(i, inp.local)
        self._phase = 1
        await workflow.wait_condition(lambda: self._decided)
        for i in range(inp.after):
            await self._step(inp.before + i, inp.local)
        self._phase = 2
        await workflow.wait_condition(workflow.all_handlers_finished)
        return "approved"

    async def _step(self, index: int, local: bool) -> None:
        payload = {"index": index, "workflow_id": workflow.info().workflow_id}
        timeout = timedelta(seconds=30)
        if local:
            await workflow.execute_local_activity(raw_step, payload, start_to_close_timeout=timeout)
        else:
            await workflow.execute_activity(raw_step, payload, start_to_close_timeout=timeout)

    @workflow.update
    async def submission(self) -> str:
        await workflow.wait_condition(lambda: self._phase >= 1)
        return "in_review"

    @workflow.update
    async def decide(self) -> str:
        self._decided = True
        await workflow.wait_condition(lambda: self._phase >= 2)
        return "approved"


async def run_worker(address: str, task_queue: str) -> None:
    from temporalio.worker import Worker

    from config.settings import Settings, TemporalSettings
    from config.temporal import connect
    from lincah.worker import STICKY_TIMEOUT

    settings = Settings(temporal=TemporalSettings(address=address))
    client = await connect(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    with ThreadPoolExecutor(max_workers=16) as executor:
        worker = Worker(
            client,
            task_queue=task_queue,
            workflows=[RawApplication],
            activities=[raw_step],
            activity_executor=executor,
            graceful_shutdown_timeout=timedelta(seconds=settings.worker_shutdown_grace_s),
            sticky_queue_schedule_to_start_timeout=STICKY_TIMEOUT,
        )
        async with worker:
            await stop.wait()


if __name__ == "__main__":
    asyncio.run(run_worker(sys.argv[1], sys.argv[2]))
