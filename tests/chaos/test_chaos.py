"""The chaos test (issue 9): a real `lincah up` (temporary var/, free ports, no designer,
no face worker) serves N applications of the demo's Surat Keterangan Domisili from
concurrent clients, each application submitted and its officer task completed, while
the worker is killed with SIGKILL several times and the Temporal dev server once; the
supervisor in `up` brings each back. Afterwards:

- every application reached its end (approved), in the read models and in its stream;
- no event id is stored twice and every stream's versions are dense (0, 1, 2, ...);
- `lincah audit verify` exits 0;
- `lincah projections rebuild` into a fresh file gives the live read models, table by
  table;
- no request was ever answered 500;
- no orphan: every application number reserved in the store belongs to an application
  the clients know.

Clients retry a 503, a 202 and connection errors with the same ``Idempotency-Key``, as
a citizen's app would. Figures (throughput, answers, retries, kills) are printed.

Settings (environment): LINCAH_CHAOS_APPLICATIONS (200), LINCAH_CHAOS_CLIENTS (12),
LINCAH_CHAOS_WORKER_KILLS (3), LINCAH_CHAOS_TEMPORAL_KILLS (1).
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from domain import events as ev
from eventstore.factory import open_event_store
from lincah.demo import SAMPLE_APPLICATION
from tests.lincah.launch import (
    ROOT,
    STOP_TIMEOUT_S,
    UP_TIMEOUT_S,
    Ports,
    Up,
    environment,
    kill_marked,
    marked,
    part_pids,
    wait_for_new_pid,
)

pytestmark = [
    pytest.mark.chaos,
    pytest.mark.e2e,
    pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="needs Linux /proc"),
]

N = int(os.environ.get("LINCAH_CHAOS_APPLICATIONS", "200"))
CLIENTS = int(os.environ.get("LINCAH_CHAOS_CLIENTS", "12"))
WORKER_KILLS = int(os.environ.get("LINCAH_CHAOS_WORKER_KILLS", "3"))
TEMPORAL_KILLS = int(os.environ.get("LINCAH_CHAOS_TEMPORAL_KILLS", "1"))
REQUEST_DEADLINE_S = 60.0
"""How long one client keeps retrying one request before it counts as failed."""
LOAD_DEADLINE_S = 200.0
"""No client starts another application after this: the test stays bounded (~4 min on
2 cores in all) even when something hangs; the missing applications then fail it."""
SETTLE_S = 60.0
"""How long, after the clients are done, every application may take to reach its end."""
RESTART_TIMEOUT_S = 60.0

CITIZEN = {"subject": "siti@example.id", "role": "citizen"}
OFFICER = {"subject": "budi@banyuwangikab.go.id", "role": "officer", "agency": "BWI"}
RETRIED = {202, 503, 504}


@dataclass
class Tally:
    """What the clients saw, shared between their threads."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    answers: Counter = field(default_factory=Counter)
    """(request kind, status code or error class) -> count."""
    retries: Counter = field(default_factory=Counter)
    server_errors: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    known: set[str] = field(default_factory=set)
    """Every application number an answer named."""
    final: dict[int, str] = field(default_factory=dict)
    """Slot -> the application the client completed."""
    done: int = 0

    def saw(self, kind: str, what: str | int) -> None:
        with self.lock:
            self.answers[(kind, str(what))] += 1


def token(api: httpx.Client, who: dict[str, str]) -> dict[str, str]:
    r = api.post("/auth/dev-token", json=who)
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def request(
    api: httpx.Client,
    tally: Tally,
    kind: str,
    url: str,
    body: dict,
    headers: dict[str, str],
    key: str,
    accept: Callable[[httpx.Response], bool],
) -> httpx.Response | None:
    """POST until ``accept`` takes the answer, retrying 202, 503, 504, 500 (counted:
    the test fails on any) and connection errors with the same Idempotency-Key."""
    deadline = time.monotonic() + REQUEST_DEADLINE_S
    pause = 0.25
    last = "nothing"
    while time.monotonic() < deadline:
        try:
            r = api.post(url, json=body, headers={**headers, "Idempotency-Key": key})
        except httpx.TransportError as e:
            tally.saw(kind, type(e).__name__)
            last = f"{type(e).__name__}: {e}"
        else:
            tally.saw(kind, r.status_code)
            if accept(r):
                return r
            last = f"{r.status_code} {r.text[:300]}"
            if r.status_code >= 500 and r.status_code not in RETRIED:
                with tally.lock:
                    tally.server_errors.append(f"{kind} {url}: {last}")
            elif r.status_code not in RETRIED:
                break
        with tally.lock:
            tally.retries[kind] += 1
        time.sleep(pause)
        pause = min(pause * 2, 2.0)
    with tally.lock:
        tally.failures.append(f"{kind} {url} gave up; last answer: {last}")
    return None


def client(
    base: str, tally: Tally, slots: Iterator[int], slots_lock: threading.Lock, until: float
) -> None:
    run = uuid.uuid4().hex[:8]
    with httpx.Client(base_url=base, timeout=60) as api:
        citizen, officer = token(api, CITIZEN), token(api, OFFICER)
        while time.monotonic() < until:
            with slots_lock:
                slot = next(slots, None)
            if slot is None:
                return
            named: list[str] = []

            def submitted(r: httpx.Response, named: list[str] = named) -> bool:
                if r.status_code in (201, 202):
                    named.append(r.json()["application_id"])
                    with tally.lock:
                        tally.known.add(named[-1])
                return r.status_code == 201

            r = request(
                api,
                tally,
                "submit",
                "/applications",
                SAMPLE_APPLICATION,
                citizen,
                f"chaos-{run}-{slot}-submit",
                submitted,
            )
            if r is None:
                continue
            app_id = r.json()["application_id"]
            if len(set(named)) > 1:
                with tally.lock:
                    tally.failures.append(
                        f"slot {slot}: retries of one submission named {sorted(set(named))}"
                    )
            done = request(
                api,
                tally,
                "complete",
                f"/tasks/{app_id}.verify_residence.1/complete",
                {"outcome": "approve", "comment": "Alamat sesuai KK"},
                officer,
                f"chaos-{run}-{slot}-complete",
                lambda r: r.status_code == 200,
            )
            with tally.lock:
                tally.final[slot] = app_id
                if done is not None:
                    tally.done += 1
                    if done.json()["status"] != "approved":
                        tally.failures.append(f"{app_id} answered {done.json()}")


@dataclass
class Kill:
    part: str
    pid: int
    at_done: int
    back_after_s: float


def chaos(var: Path, tally: Tally, plan: list[str], kills: list[Kill], stop: threading.Event):
    """Kill the planned parts one after the other, each once the clients have completed
    a further share of the applications and the previous victim is back."""
    for k, part in enumerate(plan):
        threshold = N * (k + 1) // (len(plan) + 1)
        while tally.done < threshold and not stop.is_set():
            time.sleep(0.1)
        if stop.is_set():
            return
        pid = part_pids(var)[part]
        os.kill(pid, signal.SIGKILL)
        killed = time.monotonic()
        wait_for_new_pid(var, part, pid, RESTART_TIMEOUT_S)
        kills.append(Kill(part, pid, tally.done, time.monotonic() - killed))


def kill_plan() -> list[str]:
    """The worker kills with the Temporal kills spread between them."""
    plan = ["worker"] * WORKER_KILLS
    for j in range(TEMPORAL_KILLS):
        plan.insert((j + 1) * len(plan) // (TEMPORAL_KILLS + 1) + j, "temporal")
    return plan


def tables(path: Path) -> dict[str, list[tuple]]:
    with sqlite3.connect(path) as db:
        names = [
            n
            for (n,) in db.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
        ]
        dump = {n: sorted(db.execute(f"SELECT * FROM {n}").fetchall(), key=repr) for n in names}
    db.close()
    return dump


def lincah(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "lincah.cli", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.timeout(480)  # a last resort: the deadlines above end it well before
def test_chaos(tmp_path):
    ports, run_id = Ports.pick(), uuid.uuid4().hex
    env = environment(ports, tmp_path, run_id)
    var = tmp_path / "var"
    base = f"http://127.0.0.1:{ports.api}"
    up = Up(env, "--no-designer", "--no-face-worker")
    stop = threading.Event()
    try:
        assert up.wait_for_stdout("Lincah is up", UP_TIMEOUT_S), up.describe()

        # -- the load, and the kills ---------------------------------------------------
        tally, plan = Tally(), kill_plan()
        kills: list[Kill] = []
        slots, slots_lock = iter(range(N)), threading.Lock()
        began = time.monotonic()
        threads = [
            threading.Thread(
                target=client, args=(base, tally, slots, slots_lock, began + LOAD_DEADLINE_S)
            )
            for _ in range(CLIENTS)
        ]
        killer = threading.Thread(target=chaos, args=(var, tally, plan, kills, stop))
        for t in [*threads, killer]:
            t.start()
        for t in threads:
            t.join()
        stop.set()
        killer.join(RESTART_TIMEOUT_S + 5)
        elapsed = time.monotonic() - began
        restarts = dict(up_parts_restarts(var))

        # -- every application reaches its end, as the read models show -------------
        with httpx.Client(base_url=base, timeout=30) as api:
            staff = token(api, OFFICER)
            deadline = time.monotonic() + SETTLE_S
            while True:
                health = api.get("/health").json()
                rows = api.get("/applications?limit=500&offset=0", headers=staff).json()
                rows += api.get("/applications?limit=500&offset=500", headers=staff).json()
                statuses = Counter(row["status"] for row in rows)
                status_of = {row["application_id"]: row["status"] for row in rows}
                # The clients' applications end; anything else (an orphan) may not.
                settled = health["projections"]["lag_events"] == 0 and all(
                    status_of.get(a) == "approved" for a in tally.final.values()
                )
                if settled or time.monotonic() > deadline:
                    break
                time.sleep(1)
        live_ids = {row["application_id"] for row in rows}

        print(
            f"\nchaos: {N} applications from {CLIENTS} clients in {elapsed:.1f} s "
            f"({len(tally.final) / elapsed:.1f} applications/s, submitted and completed)"
        )
        print(
            f"chaos: kills {[(k.part, k.pid, k.at_done, round(k.back_after_s, 1)) for k in kills]}"
        )
        print(f"chaos: restarts by `up` {restarts}")
        print(f"chaos: answers {dict(sorted(tally.answers.items()))}")
        print(f"chaos: retries {dict(tally.retries)}; read models {dict(statuses)}")

        assert up.proc.poll() is None, up.describe()
        assert [k.part for k in kills] == plan, (kills, plan)
        assert stop_up(up) == 0, up.describe()
        assert marked(run_id) == {}

        # -- what the clients saw ----------------------------------------------------
        assert tally.failures == [], tally.failures[:10]
        assert tally.server_errors == [], tally.server_errors[:10]
        assert len(tally.final) == N and tally.done == N, (
            f"{tally.done} of {N} applications were completed, {len(tally.final)} submitted"
        )
        assert set(statuses) == {"approved"}, statuses
        assert live_ids == set(tally.final.values()), (
            f"read models hold {len(live_ids)} applications, the clients made "
            f"{len(tally.final)}: {sorted(live_ids ^ set(tally.final.values()))[:10]}"
        )

        # -- the event store -----------------------------------------------------------
        store = open_event_store("sqlite", str(var / "events.db"))
        try:
            events = []
            after = 0
            while page := store.read_all(after=after, limit=5000):
                events += page
                after = page[-1].position
        finally:
            store.close()
        ids = Counter(e.id for e in events)
        assert [i for i, n in ids.items() if n > 1] == []
        versions: dict[str, list[int]] = defaultdict(list)
        for e in events:
            versions[e.stream].append(e.version)
        gaps = {s: v for s, v in versions.items() if v != list(range(len(v)))}
        assert gaps == {}, list(gaps.items())[:5]
        reserved = {
            e.data["application_id"] for e in events if e.type == ev.APPLICATION_NUMBER_RESERVED
        }
        assert reserved - tally.known == set(), f"orphans: {sorted(reserved - tally.known)[:10]}"
        for app_id in tally.final.values():
            stream = versions.get(ev.application_stream(app_id))
            assert stream, f"{app_id} has no events"
        last = {e.stream: e.type for e in events}
        ends = Counter(last[ev.application_stream(a)] for a in tally.final.values())
        assert set(ends) == {"ApplicationCompleted"}, ends

        # -- the audit, and a rebuild of the projections -----------------------------
        audit = lincah(env, "audit", "verify")
        assert audit.returncode == 0, audit.stdout + audit.stderr[-2000:]
        fresh = tmp_path / "rebuilt.db"
        rebuild = lincah({**env, "LINCAH_READMODEL_PATH": str(fresh)}, "projections", "rebuild")
        assert rebuild.returncode == 0, rebuild.stdout + rebuild.stderr[-2000:]
        live, rebuilt = tables(var / "readmodels.db"), tables(fresh)
        assert live["parked_events"] == [] and rebuilt["parked_events"] == []
        assert live.keys() == rebuilt.keys()
        for name in live:
            assert live[name] == rebuilt[name], f"table {name} differs after the rebuild"
    finally:
        stop.set()
        up.kill()
        kill_marked(run_id)


def up_parts_restarts(var: Path) -> Iterator[tuple[str, int]]:
    body = json.loads((var / "run" / "parts.json").read_text())
    for name, part in body["parts"].items():
        yield name, part["restarts"]


def stop_up(up: Up) -> int | None:
    up.proc.send_signal(signal.SIGTERM)
    return up.wait_exit(STOP_TIMEOUT_S)
