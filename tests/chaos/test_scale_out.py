"""Many processes, one truth (issue 19 part 2): one Temporal dev server and one throw-away
PostgreSQL cluster (the event store in one schema, the read models in another), with
two API processes (uvicorn, separate ports), two workers and two projectors, each a
real ``lincah`` process. Applications are submitted through both APIs in turn, each
read back at once through the OTHER API with ``min_position`` and completed by the
officer through either; meanwhile the active projector and one worker are killed with
SIGKILL and not restarted. Afterwards:

- every application ended (approved) in the read models, and in its stream;
- read-your-writes held: every read through the other API right after a write saw it
  (no 504 and no older state), through the projector's takeover as well;
- no view row was applied twice: every application's timeline holds each of its events
  once, its tasks are those the store assigned, and the live read models equal a
  rebuild from the event store, table by table;
- the read models' checkpoint never went backwards (polled throughout);
- the standby projector logged that it stood by, and took over after the kill;
- no request was answered 500.

Settings (environment): LINCAH_SCALE_OUT_APPLICATIONS (24), LINCAH_SCALE_OUT_CLIENTS (4).
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psycopg
import pytest

from config.settings import Settings
from domain import events as ev
from eventstore.factory import open_store
from lincah import demo
from lincah.demo import SAMPLE_APPLICATION
from projections.projector import Projector
from projections.readmodels import ReadModels
from tests.chaos.test_chaos import CITIZEN, OFFICER, Tally, request, token
from tests.lincah.launch import MARK, ROOT, free_port, kill_marked

pytestmark = [
    pytest.mark.chaos,
    pytest.mark.e2e,
    pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="needs Linux /proc"),
]

N = int(os.environ.get("LINCAH_SCALE_OUT_APPLICATIONS", "24"))
CLIENTS = int(os.environ.get("LINCAH_SCALE_OUT_CLIENTS", "4"))
READ_WAIT_S = 30.0
"""How long a read with ``min_position`` may wait: generous, so that a projector's
takeover (lease poll 0.5 s, a fresh start) fits; a 504 fails the test."""
START_TIMEOUT_S = 60.0
SETTLE_S = 90.0


@dataclass
class Process:
    name: str
    proc: subprocess.Popen[bytes]
    log: Path

    def tail(self, chars: int = 3000) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return f"--- {self.name} (exit {self.proc.poll()}) ---\n{text[-chars:]}"


@dataclass
class Seen:
    """What the read-your-writes checks and the checkpoint monitor saw."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    stale: list[str] = field(default_factory=list)
    checkpoints: list[int] = field(default_factory=list)


def start(name: str, env: dict[str, str], tmp: Path, *args: str) -> Process:
    log = tmp / f"{name}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "lincah.cli", *args],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    return Process(name, proc, log)


def wait_until(check, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise AssertionError(f"{what} within {timeout} s")


def healthy(base: str) -> bool:
    try:
        return httpx.get(f"{base}/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def read_back(
    api: httpx.Client, seen: Seen, app_id: str, position: int, headers: dict, expect: str
) -> None:
    """Read-your-writes through the other API: the first read with ``min_position``
    already shows the write."""
    r = api.get(
        f"/applications/{app_id}", params={"min_position": position}, headers=headers, timeout=60
    )
    if r.status_code != 200 or r.json()["status"] != expect:
        with seen.lock:
            seen.stale.append(f"{app_id} at {position}: {r.status_code} {r.text[:200]}")


def client(
    bases: list[str],
    tally: Tally,
    seen: Seen,
    slots: Iterator[int],
    slots_lock: threading.Lock,
) -> None:
    run = uuid.uuid4().hex[:8]
    apis = [httpx.Client(base_url=b, timeout=60) for b in bases]
    try:
        citizen, officer = token(apis[0], CITIZEN), token(apis[1], OFFICER)
        while True:
            with slots_lock:
                slot = next(slots, None)
            if slot is None:
                return
            here, there = apis[slot % 2], apis[(slot + 1) % 2]
            r = request(
                here,
                tally,
                "submit",
                "/applications",
                SAMPLE_APPLICATION,
                citizen,
                f"scale-{run}-{slot}-submit",
                lambda r: r.status_code == 201,
            )
            if r is None:
                continue
            submitted = r.json()
            app_id = submitted["application_id"]
            with tally.lock:
                tally.known.add(app_id)
            read_back(there, seen, app_id, submitted["position"], citizen, submitted["status"])
            done = request(
                there,  # the officer completes through the other API
                tally,
                "complete",
                f"/tasks/{app_id}.verify_residence.1/complete",
                {"outcome": "approve", "comment": "Alamat sesuai KK"},
                officer,
                f"scale-{run}-{slot}-complete",
                lambda r: r.status_code == 200,
            )
            with tally.lock:
                tally.final[slot] = app_id
            if done is None:
                continue
            with tally.lock:
                tally.done += 1
            read_back(here, seen, app_id, done.json()["position"], citizen, done.json()["status"])
    finally:
        for api in apis:
            api.close()


def watch_checkpoint(url: str, seen: Seen, stop: threading.Event) -> None:
    with psycopg.connect(url, autocommit=True) as db:
        while not stop.wait(0.05):
            row = db.execute("SELECT position FROM checkpoints WHERE name = 'main'").fetchone()
            with seen.lock:
                seen.checkpoints.append(0 if row is None else int(row[0]))


def active_projector(projectors: list[Process]) -> Process:
    active = [p for p in projectors if "projector active" in p.log.read_text(errors="replace")]
    assert len(active) == 1, [p.tail() for p in projectors]
    return active[0]


@pytest.mark.timeout(420)
async def test_scale_out(dev_env, postgres_cluster, tmp_path):
    with (
        postgres_cluster.fresh_schema() as events_url,
        postgres_cluster.fresh_schema() as views_url,
    ):
        await asyncio.to_thread(
            scale_out, dev_env.client.service_client.config.target_host, events_url, views_url,
            postgres_cluster, tmp_path,
        )  # fmt: skip


def scale_out(temporal: str, events_url: str, views_url: str, cluster, tmp: Path) -> None:
    run_id = uuid.uuid4().hex
    var = tmp / "var"
    ports = [free_port(), free_port()]
    while ports[1] == ports[0]:
        ports[1] = free_port()
    # The payload keys stay: the processes and this test's Temporal client share them.
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("LINCAH_") or k == "LINCAH_PAYLOAD_KEYS"
    }
    env |= {
        "LINCAH_VAR_DIR": str(var),
        "LINCAH_EVENTSTORE": "postgres",
        "LINCAH_EVENTSTORE_URL": events_url,
        "LINCAH_READMODEL_URL": views_url,
        "LINCAH_TEMPORAL__ADDRESS": temporal,
        "LINCAH_TEMPORAL__TASK_QUEUES__APPLICATIONS": f"tq-{run_id}",
        "LINCAH_TEMPORAL__TASK_QUEUES__FACE": f"face-{run_id}",
        "LINCAH_JWT_SECRET": "scale-out-test-secret-of-at-least-32-bytes",
        "LINCAH_READ_WAIT_TIMEOUT_S": str(READ_WAIT_S),
        "LINCAH_LEASE_POLL_S": "0.5",
        "XDG_CONFIG_HOME": str(tmp / "xdg"),
        "PYTHONUNBUFFERED": "1",
        MARK: run_id,
    }
    # The secrets every process reads from var/, made once here rather than raced for.
    made = Settings(var_dir=var)
    for secret in (
        made.webhook_secret,
        made.face_secret,
        made.profile_secret,
        made.lookup_secret,
        made.notify_secret,
        made.upload_secret,
        made.ticket_secret,
        made.data_master_secret,
    ):
        secret()
    processes: list[Process] = []
    stop = threading.Event()
    try:
        projectors = [start(f"projector-{i}", env, tmp, "projections", "run") for i in range(2)]
        processes += projectors
        wait_until(
            lambda: any("projector active" in p.log.read_text() for p in projectors),
            START_TIMEOUT_S,
            "no projector became active",
        )
        wait_until(
            lambda: all(
                "projector active" in p.log.read_text() or "standing by" in p.log.read_text()
                for p in projectors
            ),
            START_TIMEOUT_S,
            "the second projector neither worked nor stood by",
        )
        first = active_projector(projectors)
        workers = [start(f"worker-{i}", env, tmp, "worker") for i in range(2)]
        apis = [
            start(f"api-{i}", {**env, "LINCAH_API_PORT": str(port)}, tmp, "api")
            for i, port in enumerate(ports)
        ]
        processes += workers + apis
        bases = [f"http://127.0.0.1:{port}" for port in ports]
        wait_until(
            lambda: all(healthy(b) for b in bases), START_TIMEOUT_S, "the APIs did not start"
        )
        assert demo.seed(bases[0]) != []

        # -- the load, and the kills -----------------------------------------------------
        tally, seen = Tally(), Seen()
        watcher = threading.Thread(target=watch_checkpoint, args=(views_url, seen, stop))
        watcher.start()
        slots, slots_lock = iter(range(N)), threading.Lock()
        clients = [
            threading.Thread(target=client, args=(bases, tally, seen, slots, slots_lock))
            for _ in range(CLIENTS)
        ]
        began = time.monotonic()
        for t in clients:
            t.start()
        wait_until(lambda: tally.done >= N // 3, 120, "a third of the applications did not end")
        os.kill(first.proc.pid, signal.SIGKILL)
        kills = [f"{first.name} (the active one) after {tally.done} applications"]
        wait_until(lambda: tally.done >= N // 2, 120, "half of the applications did not end")
        os.kill(workers[0].proc.pid, signal.SIGKILL)
        kills.append(f"{workers[0].name} after {tally.done}")
        for t in clients:
            t.join(240)
        elapsed = time.monotonic() - began

        # -- every application ends ------------------------------------------------------
        with httpx.Client(base_url=bases[1], timeout=30) as api:
            staff = token(api, OFFICER)
            deadline = time.monotonic() + SETTLE_S
            while True:
                lag = api.get("/health").json()["projections"]["lag_events"]
                rows = api.get("/applications?limit=500", headers=staff).json()
                status_of = {row["application_id"]: row["status"] for row in rows}
                if (
                    lag == 0
                    and all(status_of.get(a) == "approved" for a in tally.final.values())
                    or time.monotonic() > deadline
                ):
                    break
                time.sleep(0.5)
        stop.set()
        watcher.join(10)
        survivor = next(p for p in projectors if p is not first)
        print(
            f"\nscale-out: {N} applications through 2 APIs in {elapsed:.1f} s; "
            f"answers {dict(sorted(tally.answers.items()))}; retries {dict(tally.retries)}; "
            f"checkpoint polled {len(seen.checkpoints)} times; killed {'; '.join(kills)}"
        )
        assert first.proc.poll() == -signal.SIGKILL and workers[0].proc.poll() is not None
        for p in [survivor, workers[1], *apis]:
            assert p.proc.poll() is None, p.tail()
        assert tally.failures == [], tally.failures[:10]
        assert tally.server_errors == [], tally.server_errors[:10]
        assert len(tally.final) == N and tally.done == N, (tally.done, len(tally.final))
        assert {status_of.get(a) for a in tally.final.values()} == {"approved"}, status_of
        assert seen.stale == [], seen.stale[:10]
        survivor_log = survivor.log.read_text()
        assert "projector standing by" in survivor_log, survivor.tail()
        assert "projector active" in survivor_log, survivor.tail()
        assert seen.checkpoints and all(
            a <= b for a, b in zip(seen.checkpoints, seen.checkpoints[1:], strict=False)
        ), "the read models' checkpoint went backwards"

        # -- no view row applied twice -----------------------------------------------------
        # Opened as the processes open it: personal fields read through the data keys.
        store = open_store(made.model_copy(
            update={"eventstore": "postgres", "eventstore_url": events_url}))  # fmt: skip
        live = ReadModels(views_url)
        try:
            for app_id in tally.final.values():
                stream = store.read_stream(ev.application_stream(app_id))
                assert stream[-1].type == ev.APPLICATION_COMPLETED
                state = live.application(app_id)
                assert state is not None
                assert [e.position for e in state.timeline] == [e.position for e in stream]
                assigned = {e.data["task_id"] for e in stream if e.type == ev.TASK_ASSIGNED}
                tasks = live.tasks(
                    agency_code=None, role=None, status="completed", application_id=app_id
                )
                assert sorted(t["task_id"] for t in tasks) == sorted(assigned)
            assert live.parked_count() == 0
            with cluster.fresh_schema() as fresh_url:
                rebuilt = ReadModels(fresh_url)
                try:
                    Projector(store, rebuilt).catch_up()
                    assert live.checkpoint() == rebuilt.checkpoint() == store.head_position()
                    assert live.dump() == rebuilt.dump()
                finally:
                    rebuilt.close()
        finally:
            live.close()
            store.close()
    except BaseException:
        for p in processes:
            print(p.tail())
        raise
    finally:
        stop.set()
        for p in processes:
            if p.proc.poll() is None:
                p.proc.send_signal(signal.SIGTERM)
        for p in processes:
            try:
                p.proc.wait(15)
            except subprocess.TimeoutExpired:
                p.proc.kill()
                p.proc.wait(5)
        kill_marked(run_id)
