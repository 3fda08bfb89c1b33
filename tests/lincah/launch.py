"""Running `lincah up` from a test: a subprocess from the repository root on free ports
and a temporary var/, its output read by threads, and every process it starts marked in
its environment, so a test can find (and, on failure, kill) exactly its own processes,
even those `lincah up` starts in their own sessions. Shared by tests/lincah/test_up.py
and tests/chaos."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parents[2]
MARK = "LINCAH_UP_TEST_RUN_ID"  # ends up in every child's environment
UP_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 20.0


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
    portal: int

    @classmethod
    def pick(cls) -> Ports:
        ports: list[int] = []
        while len(ports) < 5:
            p = free_port()
            if p not in ports:
                ports.append(p)
        return cls(*ports)

    def all(self) -> list[int]:
        return [self.temporal, self.ui, self.api, self.designer, self.portal]


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
            "LINCAH_PORTAL_PORT": str(ports.portal),
            "XDG_CONFIG_HOME": str(tmp / "xdg"),
            "PYTHONUNBUFFERED": "1",
            MARK: run_id,
        }
    )
    return env


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
