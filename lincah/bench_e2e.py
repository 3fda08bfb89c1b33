"""``lincah bench e2e``: applications through the real API to their end, beside the raw
Temporal ceiling, in one run on one Temporal server.

Lincah: the command starts the Temporal dev server, the application worker, the
projector and the API (``lincah.bench_stack``: own processes, free ports, a temporary
var/), publishes the Surat Keterangan Domisili service, and drives ``--n``
applications, ``--concurrency`` at a time, each as a citizen and an officer do: submit
(``POST /applications``, answered once the workflow rests at the review), the officer
approves (``POST /tasks/{id}/complete``, answered once the application has ended), the
citizen reads the approved application (``GET /applications/{id}?min_position=``, which
waits until the projections include the approval).

Raw: ``lincah.bench_raw``'s workflow of an application's shape (issue 19: 3 activities,
wait for an Update, 2 activities; ``--raw-shape`` changes it), doing nothing, on the same
server with its own worker process, driven with the same concurrency: update-with-start,
an Update, the result.

Both print applications/s and latency percentiles per application; the profile says
where Lincah's time goes (activities and appends per application, each phase's
latency, the projection's read-your-writes wait)."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from domain.events import application_stream
from eventstore.factory import open_event_store
from lincah.bench_stack import BenchStack, Latencies, bench_stack, machine

DEFAULT_N = 200
DEFAULT_CONCURRENCY = 10
OFFICER = {"subject": "budi@banyuwangikab.go.id", "role": "officer", "agency": "BWI"}
ADMIN = {"subject": "admin@banyuwangikab.go.id", "role": "agency_admin", "agency": "BWI"}
REVIEW_STEP = "verify_residence"
LOCAL_MARKER = "core_local_activity"
"""The marker a local activity leaves in a Temporal history."""
RAW_SHAPE = (3, 2)
"""Activities before and after the Update in the raw workflow (issue 19's shape)."""


@dataclass
class Result:
    name: str
    n: int
    seconds: float
    latencies: Latencies
    phases: dict[str, Latencies] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.n / self.seconds if self.seconds else 0.0

    def line(self) -> str:
        return f"{self.name}: {self.rate:,.1f} applications/s; {self.latencies.summary()}"


async def drive(
    n: int, concurrency: int, one: Callable[[int], Awaitable[dict[str, float]]]
) -> tuple[float, Latencies, dict[str, Latencies]]:
    """Run ``one(k)`` for k < n, ``concurrency`` at a time; the wall time, each run's
    latency and each phase's latencies (what ``one`` returns: seconds by phase)."""
    queue: asyncio.Queue[int] = asyncio.Queue()
    for k in range(n):
        queue.put_nowait(k)
    total = Latencies()
    phases: dict[str, Latencies] = {}

    async def runner() -> None:
        while not queue.empty():
            k = queue.get_nowait()
            start = time.perf_counter()
            timings = await one(k)
            total.values.append(time.perf_counter() - start)
            for phase, seconds in timings.items():
                phases.setdefault(phase, Latencies()).values.append(seconds)

    start = time.perf_counter()
    await asyncio.gather(*(runner() for _ in range(concurrency)))
    return time.perf_counter() - start, total, phases


# -- Lincah through the API --------------------------------------------------------------


async def _token(http: httpx.AsyncClient, who: dict[str, Any]) -> dict[str, str]:
    r = await http.post("/auth/dev-token", json=who)
    r.raise_for_status()
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def _check(r: httpx.Response, what: str, expected: int = 200) -> dict[str, Any]:
    if r.status_code != expected:
        raise RuntimeError(f"{what} answered {r.status_code}, expected {expected}: {r.text}")
    body: dict[str, Any] = r.json()
    return body


async def run_lincah(
    stack: BenchStack, n: int, concurrency: int, warm_up: int
) -> tuple[Result, list[str]]:
    from lincah.demo import DOMISILI, SAMPLE_APPLICATION

    limits = httpx.Limits(max_connections=concurrency * 2)
    async with httpx.AsyncClient(base_url=stack.api, timeout=60, limits=limits) as http:
        admin = await _token(http, ADMIN)
        officer = await _token(http, OFFICER)
        citizen = await _token(http, {"subject": "siti@example.id", "role": "citizen"})
        r = await http.post("/services", json=DOMISILI, headers=admin)
        version = _check(r, "publishing the service", 201)["version"]
        _check(
            await http.post(
                f"/services/{DOMISILI['id']}/versions/{version}/publish", headers=admin
            ),
            "publishing the service",
        )
        ids: list[str] = []

        async def one(_: int) -> dict[str, float]:
            t0 = time.perf_counter()
            sub = _check(
                await http.post("/applications", json=SAMPLE_APPLICATION, headers=citizen),
                "POST /applications",
                201,
            )
            app = sub["application_id"]
            ids.append(app)
            t1 = time.perf_counter()
            done = _check(
                await http.post(
                    f"/tasks/{app}.{REVIEW_STEP}.1/complete",
                    json={"outcome": "approve"},
                    headers=officer,
                ),
                "POST /tasks/{id}/complete",
            )
            t2 = time.perf_counter()
            view = _check(
                await http.get(
                    f"/applications/{app}",
                    params={"min_position": done["position"]},
                    headers=citizen,
                ),
                "GET /applications/{id}",
            )
            if view["status"] != "approved":
                raise RuntimeError(f"{app} ended {view['status']!r}, expected 'approved'")
            t3 = time.perf_counter()
            return {
                "submit (to the review)": t1 - t0,
                "complete (to the end)": t2 - t1,
                "read your write (projection)": t3 - t2,
            }

        await drive(warm_up, concurrency, one)  # first workflows, imports, connections
        seconds, total, phases = await drive(n, concurrency, one)
    return Result("Lincah (API)", n, seconds, total, phases), ids


# -- the raw ceiling ---------------------------------------------------------------------


def start_raw_worker(stack: BenchStack) -> str:
    """Its own process, as Lincah's worker; the task queue it polls."""
    queue = f"raw-{uuid.uuid4().hex[:8]}"
    stack.start(
        "raw-worker", [sys.executable, "-m", "lincah.bench_raw", stack.temporal_address, queue]
    )
    return queue


async def run_raw(
    stack: BenchStack,
    queue: str,
    n: int,
    concurrency: int,
    warm_up: int,
    shape: tuple[int, int],
    local: bool,
) -> Result:
    from temporalio.client import WithStartWorkflowOperation
    from temporalio.common import WorkflowIDConflictPolicy

    from config.temporal import connect
    from lincah.bench_raw import RawApplication, RawInput

    before, after = shape
    client = await connect(stack.settings)
    run_tag = uuid.uuid4().hex[:8]

    async def one(k: int) -> dict[str, float]:
        t0 = time.perf_counter()
        start = WithStartWorkflowOperation(
            RawApplication.run,
            RawInput(before=before, after=after, local=local),
            id=f"raw-{run_tag}-{k}",
            task_queue=queue,
            id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
        )
        await client.execute_update_with_start_workflow(
            RawApplication.submission, start_workflow_operation=start
        )
        handle = await start.workflow_handle()
        t1 = time.perf_counter()
        await handle.execute_update(RawApplication.decide)
        t2 = time.perf_counter()
        await handle.result()
        return {"submit (to the review)": t1 - t0, "complete (to the end)": t2 - t1}

    await drive(warm_up, concurrency, lambda k: one(n + k))
    seconds, total, phases = await drive(n, concurrency, one)
    kind = "local activities" if local else "activities"
    name = f"raw Temporal ({before} {kind}, Update, {after})"
    return Result(name, n, seconds, total, phases)


# -- the profile -------------------------------------------------------------------------


@dataclass
class Shape:
    """What one application costs Temporal and the event store."""

    before: int
    after: int
    activities: Counter[str]
    appends: Counter[str]
    history_events: int


async def shape_of(stack: BenchStack, application_id: str) -> Shape:
    """Count the activities of one application's history, before and after the
    officer's Update, and the events each appended."""
    from config.temporal import connect

    client = await connect(stack.settings)
    history = await client.get_workflow_handle(application_id).fetch_history()
    raw = json.loads(history.to_json())["events"]
    before = after = 0
    updates_accepted = 0
    activities: Counter[str] = Counter()
    for e in raw:
        kind = e["eventType"]
        if kind == "EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED":
            updates_accepted += 1
        if kind == "EVENT_TYPE_ACTIVITY_TASK_SCHEDULED":
            name = e["activityTaskScheduledEventAttributes"]["activityType"]["name"]
        elif kind == "EVENT_TYPE_MARKER_RECORDED" and _is_local_activity(e):
            name = "local activity"
        else:
            continue
        activities[name] += 1
        if updates_accepted <= 1:
            before += 1
        else:
            after += 1
    store = open_event_store(stack.settings.eventstore, stack.settings.eventstore_location)
    try:
        appends = Counter(e.type for e in store.read_stream(application_stream(application_id)))
    finally:
        store.close()
    return Shape(before, after, activities, appends, len(raw))


def _is_local_activity(event: dict[str, Any]) -> bool:
    return bool(event.get("markerRecordedEventAttributes", {}).get("markerName") == LOCAL_MARKER)


# -- the run -----------------------------------------------------------------------------


@contextmanager
def _postgres_url(store: str) -> Iterator[str]:
    if store != "postgres":
        yield ""
        return
    from eventstore.pgcluster import throwaway_cluster

    with throwaway_cluster() as cluster, cluster.fresh_schema() as url:
        yield url


def ratio_line(lincah: Result, raw: Result) -> str:
    ratio = lincah.rate / raw.rate if raw.rate else 0.0
    return f"ratio Lincah / raw: {ratio:.2f} (target >= 0.8)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--n", type=int, default=DEFAULT_N, help=f"applications (default {DEFAULT_N})"
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        default=DEFAULT_CONCURRENCY,
        help=f"applications in flight at once, on both sides (default {DEFAULT_CONCURRENCY})",
    )
    parser.add_argument(
        "--raw-shape",
        type=int,
        nargs=2,
        default=RAW_SHAPE,
        metavar=("BEFORE", "AFTER"),
        help="activities of the raw workflow before and after its Update (default 3 2)",
    )
    parser.add_argument(
        "--store",
        choices=["sqlite", "postgres"],
        default="sqlite",
        help="Lincah's event store (postgres: a throw-away cluster from the Debian binaries)",
    )


async def _measure(
    stack: BenchStack, n: int, concurrency: int, raw_shape: tuple[int, int]
) -> list[str]:
    # Each side first runs a round of unmeasured applications: its worker's first
    # workflow tasks (imports, the sandbox) and the connections are not what is measured.
    warm_up = concurrency
    lincah, ids = await run_lincah(stack, n, concurrency, warm_up)
    shape = await shape_of(stack, ids[-1])
    queue = start_raw_worker(stack)
    raw = await run_raw(stack, queue, n, concurrency, warm_up, raw_shape, local=False)
    # The tighter ceiling for Lincah, whose appends are local activities.
    raw_local = await run_raw(stack, queue, n, concurrency, warm_up, raw_shape, local=True)
    lines = [
        lincah.line(),
        raw.line(),
        ratio_line(lincah, raw),
        raw_local.line(),
        f"ratio Lincah / raw with local activities: {lincah.rate / raw_local.rate:.2f}"
        if raw_local.rate
        else "ratio Lincah / raw with local activities: -",
        "",
        "where the time goes (Lincah, per application):",
        f"  activities: {shape.before} before the officer's Update, {shape.after} after "
        f"({', '.join(f'{k} x{v}' for k, v in sorted(shape.activities.items()))}); "
        f"{shape.history_events} Temporal history events",
        f"  events in the application's stream: {sum(shape.appends.values())} "
        f"({', '.join(shape.appends)}), one append each; the API appends one more "
        "(the application number)",
    ]
    for phase, values in lincah.phases.items():
        other = raw.phases.get(phase)
        beside = f"; raw {other.summary()}" if other else ""
        lines.append(f"  {phase}: {values.summary()}{beside}")
    return lines


def main(args: argparse.Namespace) -> int:
    n = max(1, int(args.n))
    concurrency = max(1, min(int(args.concurrency), n))
    store = str(args.store)
    with ExitStack() as stack:
        var = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="lincah-bench-e2e-")))
        url = stack.enter_context(_postgres_url(store))
        print(f"lincah bench e2e: {n} applications, {concurrency} at a time, event store {store}")
        print(f"machine: {machine()}", flush=True)
        running = stack.enter_context(bench_stack(var, eventstore=store, eventstore_url=url))
        lines = asyncio.run(_measure(running, n, concurrency, tuple(args.raw_shape)))
    print("\n".join(lines))
    return 0
