"""``lincah bench api``: ``GET /applications/{id}`` beside a trivial endpoint of the same
app (``GET /bench/ping``, mounted for this run only), in one run, at ``--connections``
concurrent keep-alive connections against the API under uvicorn with ``--workers``
processes.

The read models hold ``--applications`` approved applications (written to a fresh event
store and projected before the API starts, so no worker or projector competes for the
CPU while it is measured); every request reads one of them as its citizen would, with
a bearer token. Each endpoint is warmed up, then loaded for ``--seconds``; the bench
prints requests/s and p50/p99 of both and the ratios (targets: >= 0.5 x the requests/s,
p99 <= 2 x)."""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from pathlib import Path

import httpx

from lincah.bench_stack import bench_stack, machine, percentile
from lincah.loadgen import Load, load

DEFAULT_CONNECTIONS = 200
DEFAULT_WORKERS = 2
DEFAULT_SECONDS = 10.0
DEFAULT_APPLICATIONS = 1000
WARM_UP_S = 2.0


def seed(var: Path, applications: int) -> str:
    """Write ``applications`` approved lifecycles to var/'s event store and project
    them; the id of one to read."""
    from domain import events as ev
    from eventstore.sqlite import SqliteEventStore
    from lincah.bench import lifecycle
    from projections.projector import Projector
    from projections.readmodels import ReadModels

    store = SqliteEventStore(var / "events.db")
    models = ReadModels(var / "readmodels.db")
    try:
        for k in range(applications):
            store.append(ev.application_stream(f"BWI-2026-{k:06d}"), lifecycle(k))
        Projector(store, models).catch_up()
    finally:
        store.close()
        models.close()
    return f"BWI-2026-{applications // 2:06d}"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--connections",
        type=int,
        default=DEFAULT_CONNECTIONS,
        help=f"concurrent connections (default {DEFAULT_CONNECTIONS})",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=DEFAULT_WORKERS,
        help=f"API worker processes (default {DEFAULT_WORKERS})",
    )
    parser.add_argument(
        "--seconds",
        type=float,
        default=DEFAULT_SECONDS,
        help=f"load per endpoint, after a {WARM_UP_S:g} s warm-up (default {DEFAULT_SECONDS:g})",
    )
    parser.add_argument(
        "--applications",
        type=int,
        default=DEFAULT_APPLICATIONS,
        help=f"applications in the read models (default {DEFAULT_APPLICATIONS})",
    )


def _line(result: Load) -> str:
    errors = {s: n for s, n in result.statuses.items() if s != 200}
    bad = f"; non-200 answers {errors}" if errors else ""
    return (
        f"GET {result.path}: {result.rate:,.0f} requests/s; "
        f"{result.latencies.summary()} ({result.requests:,} requests){bad}"
    )


async def _measure(
    base: str, application_id: str, citizen: str, connections: int, seconds: float
) -> tuple[Load, Load]:
    async with httpx.AsyncClient(base_url=base, timeout=10) as http:
        r = await http.post("/auth/dev-token", json={"subject": citizen, "role": "citizen"})
        r.raise_for_status()
        headers = {"Authorization": f"Bearer {r.json()['access_token']}"}
        r = await http.get(f"/applications/{application_id}", headers=headers)
        if r.status_code != 200 or r.json().get("status") != "approved":
            raise RuntimeError(
                f"the seeded application does not read back: {r.status_code} {r.text}"
            )
    read_path = f"/applications/{application_id}"
    for path in ("/bench/ping", read_path):
        await load(base, path, connections=connections, seconds=WARM_UP_S, headers=headers)
    ping = await load(
        base, "/bench/ping", connections=connections, seconds=seconds, headers=headers
    )
    read = await load(base, read_path, connections=connections, seconds=seconds, headers=headers)
    return ping, read


def main(args: argparse.Namespace) -> int:
    connections = max(1, int(args.connections))
    workers = max(1, int(args.workers))
    seconds = max(0.1, float(args.seconds))
    applications = max(1, int(args.applications))
    with tempfile.TemporaryDirectory(prefix="lincah-bench-api-") as tmp:
        var = Path(tmp)
        print(
            f"lincah bench api: {connections} connections, {workers} API workers, "
            f"{seconds:g} s per endpoint, {applications} applications in the read models"
        )
        print(f"machine: {machine()}", flush=True)
        application_id = seed(var, applications)
        citizen = f"citizen-{applications // 2}"
        with bench_stack(
            var,
            temporal=False,
            worker=False,
            projector=False,
            api_workers=workers,
            extra_env={"LINCAH_BENCH_PING": "true"},
        ) as stack:
            ping, read = asyncio.run(
                _measure(stack.api, application_id, citizen, connections, seconds)
            )
    rps = read.rate / ping.rate if ping.rate else 0.0
    p99 = _p99(read) / _p99(ping) if _p99(ping) else 0.0
    print(_line(ping))
    print(_line(read))
    print(
        f"ratio GET /applications/{{id}} / GET /bench/ping: requests/s {rps:.2f} "
        f"(target >= 0.5), p99 {p99:.2f} x (target <= 2)"
    )
    return 0


def _p99(result: Load) -> float:
    return percentile(sorted(result.latencies.values), 99)
