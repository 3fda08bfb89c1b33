"""`lincah up` as a user runs it: a subprocess from the repository root, on free ports
and a temporary var/, started, used through the API, stopped with SIGTERM, started
again on the same data; refused cleanly when a port it needs is taken; restarting a
part killed with SIGKILL while the others keep serving; and giving up, exit 1, on a
part that can never start.

Every process the test starts carries a marker in its environment, so the test can
find (and, on failure, kill) exactly its own processes, even those `lincah up` starts
in their own sessions."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import httpx
import pytest

from lincah.demo import SAMPLE_APPLICATION

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="needs Linux /proc"),
]

ROOT = Path(__file__).resolve().parents[2]
MARK = "LINCAH_UP_TEST_RUN_ID"  # ends up in every child's environment
UP_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 20.0
ADMIN = {"subject": "admin@banyuwangikab.go.id", "role": "agency_admin", "agency": "BWI"}
CITIZEN = {"subject": "siti@example.id", "role": "citizen"}
OFFICER = {"subject": "budi@banyuwangikab.go.id", "role": "officer", "agency": "BWI"}
DEMO_SERVICES = {"surat-keterangan-domisili", "izin-praktik-nakes"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class Ports:
    temporal: int
    ui: int
    api: int
    designer: int

    @classmethod
    def pick(cls) -> Ports:
        ports: list[int] = []
        while len(ports) < 4:
            p = free_port()
            if p not in ports:
                ports.append(p)
        return cls(*ports)

    def all(self) -> list[int]:
        return [self.temporal, self.ui, self.api, self.designer]


def port_free(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def marked(run_id: str) -> dict[int, str]:
    """pid -> command line of every live process whose environment carries run_id."""
    needle = f"{MARK}={run_id}".encode()
    found: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if needle not in (entry / "environ").read_bytes().split(b"\0"):
                continue
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:  # gone meanwhile, or not ours to read
            continue
        if state != "Z":
            found[int(entry.name)] = cmdline
    return found


def kill_marked(run_id: str) -> None:
    for pid in marked(run_id):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


class Up:
    """One `lincah up` process; stdout and stderr are read by threads, never blocking."""

    def __init__(self, env: dict[str, str], *args: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "lincah.cli", "up", *args],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        self._cond = threading.Condition()
        self._out: list[str] = []
        self._err: list[str] = []
        self._eof = 0
        assert self.proc.stdout is not None and self.proc.stderr is not None
        self._threads = [
            threading.Thread(target=self._pump, args=(stream, sink), daemon=True)
            for stream, sink in ((self.proc.stdout, self._out), (self.proc.stderr, self._err))
        ]
        for t in self._threads:
            t.start()

    def _pump(self, stream: IO[str], sink: list[str]) -> None:
        for line in stream:
            with self._cond:
                sink.append(line)
                self._cond.notify_all()
        with self._cond:
            self._eof += 1
            self._cond.notify_all()

    @property
    def stdout(self) -> str:
        with self._cond:
            return "".join(self._out)

    @property
    def stderr(self) -> str:
        with self._cond:
            return "".join(self._err)

    def wait_for_stdout(self, text: str, timeout: float) -> bool:
        with self._cond:
            self._cond.wait_for(lambda: text in "".join(self._out) or self._eof == 2, timeout)
            return text in "".join(self._out)

    def wait_exit(self, timeout: float) -> int | None:
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None
        for t in self._threads:
            t.join(5)
        return code

    def describe(self) -> str:
        return f"--- stdout ---\n{self.stdout}\n--- stderr ---\n{self.stderr[-4000:]}"

    def kill(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(10)
        for t in self._threads:
            t.join(5)


@pytest.fixture
def launcher(tmp_path: Path) -> Iterator[tuple[Ports, Path, str, list[Up]]]:
    """Ports, var dir, this test's run id, and a list the test appends its Up's to;
    whatever is left of them (and of their children) is killed afterwards."""
    run_id = uuid.uuid4().hex
    started: list[Up] = []
    try:
        yield Ports.pick(), tmp_path, run_id, started
    finally:
        for up in started:
            up.kill()
        kill_marked(run_id)


def environment(ports: Ports, tmp: Path, run_id: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LINCAH_")}
    env.update(
        {
            "LINCAH_VAR_DIR": str(tmp / "var"),
            "LINCAH_TEMPORAL__DEV_SERVER__PORT": str(ports.temporal),
            "LINCAH_TEMPORAL__DEV_SERVER__UI_PORT": str(ports.ui),
            "LINCAH_TEMPORAL__DEV_SERVER__DB_FILENAME": str(tmp / "var" / "temporal.db"),
            "LINCAH_API_PORT": str(ports.api),
            "LINCAH_DESIGNER_PORT": str(ports.designer),
            "XDG_CONFIG_HOME": str(tmp / "xdg"),
            "PYTHONUNBUFFERED": "1",
            MARK: run_id,
        }
    )
    return env


def headers(api: httpx.Client, who: dict[str, str]) -> dict[str, str]:
    r = api.post("/auth/dev-token", json=who)
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def catalogue(api: httpx.Client) -> list[dict]:
    """The services as the agency admin sees them, once the read models hold every event."""
    head = api.get("/health").json()["eventstore"]["head_position"]
    r = api.get(f"/services?min_position={head}", headers=headers(api, ADMIN))
    assert r.status_code == 200, r.text
    return r.json()


def stop(up: Up) -> int | None:
    up.proc.send_signal(signal.SIGTERM)
    return up.wait_exit(STOP_TIMEOUT_S)


def test_up_serves_stops_cleanly_and_keeps_data_across_restarts(launcher):
    ports, tmp, run_id, started = launcher
    env = environment(ports, tmp, run_id)
    base = f"http://127.0.0.1:{ports.api}"

    # (a) First start, with the designer: up within 60 s, URLs printed, demo seeded.
    up = Up(env)
    started.append(up)
    assert up.wait_for_stdout("Lincah is up", UP_TIMEOUT_S), up.describe()
    assert up.wait_for_stdout("Logs", 5), up.describe()
    out = up.stdout
    assert f"API docs         http://127.0.0.1:{ports.api}/docs" in out
    assert f"Temporal Web UI  http://127.0.0.1:{ports.ui}" in out
    assert f"Designer         http://127.0.0.1:{ports.designer}" in out
    assert httpx.get(f"http://127.0.0.1:{ports.designer}/_stcore/health").status_code == 200
    assert httpx.get(f"http://127.0.0.1:{ports.ui}", follow_redirects=True).status_code == 200
    assert (tmp / "var" / "temporal.db").exists()

    with httpx.Client(base_url=base, timeout=30) as api:
        services = catalogue(api)
        assert {s["service_id"] for s in services} == DEMO_SERVICES

        # (b) A citizen applies; the officer approves.
        citizen = headers(api, CITIZEN)
        r = api.post("/applications", json=SAMPLE_APPLICATION, headers=citizen)
        assert r.status_code == 201, r.text
        app_id = r.json()["application_id"]
        assert r.json()["status"] == "in_review"
        r = api.post(
            f"/tasks/{app_id}.verify_residence.1/complete",
            json={"outcome": "approve", "comment": "Alamat sesuai KK"},
            headers=headers(api, OFFICER),
        )
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "approved"
        r = api.get(f"/applications/{app_id}?min_position={r.json()['position']}", headers=citizen)
        assert r.status_code == 200, r.text
        before = r.json()
        assert before["status"] == "approved"
        assert [e["type"] for e in before["timeline"]][-1] == "ApplicationCompleted"

    # (c) SIGTERM: exit 0 within 20 s, "Stopped.", no child left, every port free again.
    children = marked(run_id)
    kinds = ["temporal server start-dev", "lincah.cli worker", "lincah.cli projections run"]
    kinds += ["lincah.cli api", "streamlit run"]
    for kind in kinds:
        assert any(kind in cmd for cmd in children.values()), (kind, children)
    assert stop(up) == 0, up.describe()
    assert "Stopped." in up.stdout
    assert marked(run_id) == {}
    assert all(port_free(p) for p in ports.all()), ports

    # (d) Second start on the same var dir and ports (no designer this time).
    up2 = Up(env, "--no-designer")
    started.append(up2)
    assert up2.wait_for_stdout("Lincah is up", UP_TIMEOUT_S), up2.describe()
    assert "Designer" not in up2.stdout and "Seeded demo" not in up2.stdout
    with httpx.Client(base_url=base, timeout=30) as api:
        r = api.get(f"/applications/{app_id}", headers=headers(api, CITIZEN))
        assert r.status_code == 200, r.text
        after = r.json()
        assert after["status"] == "approved"
        assert after["timeline"] == before["timeline"]
        assert after == before
        services = catalogue(api)
        assert sorted(s["service_id"] for s in services) == sorted(DEMO_SERVICES)
        for s in services:
            assert (s["latest_published_version"], s["draft_version"]) == (1, None), s
            detail = api.get(f"/services/{s['service_id']}", headers=headers(api, ADMIN)).json()
            assert [v["version"] for v in detail["versions"]] == [1], detail
    assert stop(up2) == 0, up2.describe()
    assert "Stopped." in up2.stdout
    assert marked(run_id) == {}


def test_up_refuses_a_port_in_use_without_a_traceback(launcher):
    ports, tmp, run_id, started = launcher
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", ports.api))
        holder.listen()
        up = Up(environment(ports, tmp, run_id))
        started.append(up)
        assert up.wait_exit(15) == 2, up.describe()
    err = up.stderr
    assert str(ports.api) in err and "already in use" in err, err
    assert "LINCAH_API_PORT" in err
    assert "Traceback" not in err
    assert "Lincah is up" not in up.stdout
    assert marked(run_id) == {}


# -- supervision -------------------------------------------------------------------------

RESTART_TIMEOUT_S = 60.0


def part_pids(var: Path) -> dict:
    """name -> pid of each part, from the var/run/parts.json `up` keeps current."""
    try:
        body = json.loads((var / "run" / "parts.json").read_text())
    except (OSError, ValueError):
        return {}
    return {name: part["pid"] for name, part in body["parts"].items()}


def wait_for_new_pid(var: Path, name: str, old: int, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pid = part_pids(var).get(name)
        if pid is not None and pid != old:
            return pid
        time.sleep(0.2)
    raise AssertionError(f"{name} did not come back within {timeout} s: {part_pids(var)}")


def wait_until(check, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = check()
            if last:
                return last
        except httpx.HTTPError as e:
            last = e
        time.sleep(0.3)
    raise AssertionError(f"{what} within {timeout} s; last: {last!r}")


def submit(api: httpx.Client) -> str:
    """Apply as the citizen; retried while a part is coming back (a 503 or a 202 says
    nothing was lost, and the same request may be sent again)."""

    def attempt():
        r = api.post("/applications", json=SAMPLE_APPLICATION, headers=headers(api, CITIZEN))
        if r.status_code == 201:
            return r.json()["application_id"]
        assert r.status_code in (202, 503), r.text
        return None

    return wait_until(attempt, RESTART_TIMEOUT_S, "the application was not accepted")


def approve(api: httpx.Client, app_id: str) -> dict:
    def attempt():
        r = api.post(
            f"/tasks/{app_id}.verify_residence.1/complete",
            json={"outcome": "approve", "comment": "Alamat sesuai KK"},
            headers=headers(api, OFFICER),
        )
        if r.status_code == 200:
            return r.json()
        assert r.status_code in (503, 504), r.text
        return None

    done = wait_until(attempt, RESTART_TIMEOUT_S, f"{app_id}'s task was not completed")
    assert done["status"] == "approved", done
    return done


def test_up_restarts_a_killed_part_while_the_others_keep_serving(launcher):
    ports, tmp, run_id, started = launcher
    env = environment(ports, tmp, run_id)
    var = tmp / "var"
    up = Up(env, "--no-designer")
    started.append(up)
    assert up.wait_for_stdout("Lincah is up", UP_TIMEOUT_S), up.describe()
    pids = part_pids(var)
    assert {"temporal", "worker", "projector", "api"} <= set(pids), pids
    assert all(isinstance(pid, int) for pid in pids.values()), pids
    assert set(pids.values()) <= set(marked(run_id)), (pids, marked(run_id))

    with httpx.Client(base_url=f"http://127.0.0.1:{ports.api}", timeout=30) as api:
        catalogue(api)
        before = submit(api)  # in review when Temporal dies below

        # (a) The worker, killed with SIGKILL, comes back with a new pid; an application
        # submitted afterwards goes to its end.
        os.kill(pids["worker"], signal.SIGKILL)
        worker = wait_for_new_pid(var, "worker", pids["worker"], RESTART_TIMEOUT_S)
        assert up.wait_for_stdout(f"worker (pid {pids['worker']}) killed by SIGKILL", 5)
        assert up.wait_for_stdout(f"worker restarted (pid {worker})", 5), up.describe()
        app_id = submit(api)
        approve(api, app_id)

        # (b) The API, killed, answers /health again; the other parts kept their pids.
        os.kill(pids["api"], signal.SIGKILL)
        wait_for_new_pid(var, "api", pids["api"], RESTART_TIMEOUT_S)
        wait_until(lambda: api.get("/health").status_code == 200, RESTART_TIMEOUT_S, "no /health")
        now = part_pids(var)
        assert (now["temporal"], now["projector"], now["worker"]) == (
            pids["temporal"],
            pids["projector"],
            worker,
        )

        # (c) Temporal itself comes back on its SQLite file: the application in review
        # since before the kill is still there and can be completed.
        os.kill(pids["temporal"], signal.SIGKILL)
        wait_for_new_pid(var, "temporal", pids["temporal"], RESTART_TIMEOUT_S)
        wait_until(
            lambda: api.get("/health").json()["temporal"]["status"] == "ok",
            RESTART_TIMEOUT_S,
            "the API did not reach Temporal again",
        )
        done = approve(api, before)
        r = api.get(
            f"/applications/{before}?min_position={done['position']}",
            headers=headers(api, CITIZEN),
        )
        assert r.status_code == 200 and r.json()["status"] == "approved", r.text

    log = (var / "logs" / "up.log").read_text()
    assert f"worker (pid {pids['worker']}) killed by SIGKILL" in log, log
    assert "api restarted" in log and "temporal restarted" in log, log
    assert up.proc.poll() is None, up.describe()
    assert stop(up) == 0, up.describe()
    assert "Stopped." in up.stdout
    assert marked(run_id) == {}
    assert not (var / "run" / "parts.json").exists()


def test_up_gives_up_on_a_part_that_can_never_start(launcher):
    ports, tmp, run_id, started = launcher
    env = environment(ports, tmp, run_id)
    env["LINCAH_EVENTSTORE"] = "no-such-backend"  # every part that opens the store exits
    up = Up(env, "--no-designer", "--no-demo")
    started.append(up)
    assert up.wait_exit(UP_TIMEOUT_S + 60) == 1, up.describe()
    err = up.stderr
    found = re.search(
        r"lincah up: ([\w-]+) failed to start 5 times in a row .* See (\S+\.log)", err
    )
    assert found, up.describe()
    part, log = found.groups()
    assert part in ("worker", "projector", "api"), err
    assert Path(log) == tmp / "var" / "logs" / f"{part}.log"
    assert "no-such-backend" in Path(log).read_text()
    assert "Traceback" not in err
    assert "Lincah is up" not in up.stdout
    assert up.stdout.count(f"lincah up: {part} (pid ") >= 4, up.describe()
    assert marked(run_id) == {}
