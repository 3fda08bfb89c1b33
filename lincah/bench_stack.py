"""The stack the end-to-end and API benchmarks measure: Lincah's own processes (the
Temporal dev server, the application worker, the projector, the API under uvicorn) on
free ports in a temporary var/ directory, started as `lincah up` starts them, each in
its own process, and stopped (SIGTERM, then SIGKILL) when the bench ends. Also the
figures every bench prints: latency percentiles and the machine it ran on."""

from __future__ import annotations

import contextlib
import math
import os
import platform
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

import httpx

from config.settings import DevServer, Settings, TemporalSettings
from lincah import devserver

START_TIMEOUT_S = 120.0
STOP_GRACE_S = 10.0
JWT_SECRET = "bench-secret-of-at-least-32-bytes-long!"  # noqa: S105 - a throw-away dev stack


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def machine() -> str:
    """One line naming where and when the figures were taken."""
    cpus = os.cpu_count() or 0
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return (
        f"{now}; {platform.node()}: {cpus} CPUs {model}, load average {load}; "
        f"Python {platform.python_version()}"
    )


def percentile(sorted_values: list[float], p: float) -> float:
    """The nearest-rank percentile of already sorted values (0 when there are none)."""
    if not sorted_values:
        return 0.0
    rank = max(1, min(len(sorted_values), math.ceil(p / 100 * len(sorted_values))))
    return sorted_values[rank - 1]


@dataclass
class Latencies:
    """Seconds per operation; printed in milliseconds."""

    values: list[float] = field(default_factory=list)

    def summary(self) -> str:
        v = sorted(self.values)
        p50, p95, p99 = (percentile(v, p) * 1000 for p in (50, 95, 99))
        return f"p50 {p50:,.0f} ms, p95 {p95:,.0f} ms, p99 {p99:,.0f} ms"


@dataclass
class Process:
    name: str
    proc: subprocess.Popen[bytes]
    log: IO[bytes]
    log_path: Path


@dataclass
class BenchStack:
    """A running stack; ``api`` is its base URL."""

    var: Path
    settings: Settings
    env: dict[str, str]
    processes: list[Process] = field(default_factory=list)

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.settings.api_port}"

    @property
    def temporal_address(self) -> str:
        return self.settings.temporal.address

    def start(self, name: str, cmd: list[str], env: dict[str, str] | None = None) -> Process:
        log_path = self.var / "logs" / f"{name}.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        log = log_path.open("ab")
        proc = subprocess.Popen(
            cmd, env=env or self.env, stdout=log, stderr=subprocess.STDOUT, cwd=Path.cwd()
        )
        part = Process(name, proc, log, log_path)
        self.processes.append(part)
        return part

    def wait_until(self, what: str, check: Callable[[], bool]) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            for part in self.processes:
                if part.proc.poll() is not None:
                    raise RuntimeError(
                        f"the bench stack's {part.name} exited with code {part.proc.returncode} "
                        f"while waiting for {what}; its log: {part.log_path}\n"
                        + _tail(part.log_path)
                    )
            if check():
                return
            time.sleep(0.2)
        raise RuntimeError(
            f"{what} was not ready within {START_TIMEOUT_S:.0f} s (logs in {self.var})"
        )

    def stop(self) -> None:
        for part in reversed(self.processes):
            if part.proc.poll() is None:
                part.proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_S
        for part in reversed(self.processes):
            with contextlib.suppress(subprocess.TimeoutExpired):
                part.proc.wait(max(0.1, deadline - time.monotonic()))
            if part.proc.poll() is None:
                part.proc.kill()
                part.proc.wait()
            part.log.close()
        self.processes.clear()


def _tail(path: Path, lines: int = 20) -> str:
    with contextlib.suppress(OSError):
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    return ""


def _lincah(*args: str) -> list[str]:
    return [sys.executable, "-m", "lincah.cli", *args]


def _api_ok(url: str) -> Callable[[], bool]:
    def check() -> bool:
        try:
            # /public/services answers without Temporal; /health would wait on it.
            return httpx.get(f"{url}/public/services", timeout=2.0).status_code == 200
        except httpx.HTTPError:
            return False

    return check


def _temporal_ok(address: str) -> Callable[[], bool]:
    host, port = address.rsplit(":", 1)

    def check() -> bool:
        try:
            with socket.create_connection((host, int(port)), timeout=1.0):
                return True
        except OSError:
            return False

    return check


@contextlib.contextmanager
def bench_stack(
    var: Path,
    *,
    eventstore: str = "sqlite",
    eventstore_url: str = "",
    temporal: bool = True,
    worker: bool = True,
    projector: bool = True,
    api_workers: int = 1,
    extra_env: dict[str, str] | None = None,
) -> Iterator[BenchStack]:
    """Start the parts asked for, in `lincah up`'s order, each once the one before is
    ready; stop them all on leaving, whatever happened."""
    var.mkdir(parents=True, exist_ok=True)
    temporal_port, api_port = free_port(), free_port()
    env = dict(os.environ)
    env.update(
        {
            "PYTHONUNBUFFERED": "1",
            "LINCAH_VAR_DIR": str(var),
            "LINCAH_ENVIRONMENT": "development",
            "LINCAH_JWT_SECRET": JWT_SECRET,
            "LINCAH_API_PORT": str(api_port),
            "LINCAH_EVENTSTORE": eventstore,
            "LINCAH_EVENTSTORE_URL": eventstore_url,
            "LINCAH_TEMPORAL__ADDRESS": f"127.0.0.1:{temporal_port}",
            "LINCAH_TEMPORAL__DEV_SERVER__PORT": str(temporal_port),
            "LINCAH_TEMPORAL__DEV_SERVER__UI_PORT": str(free_port()),
            "LINCAH_TEMPORAL__DEV_SERVER__DB_FILENAME": str(var / "temporal.db"),
            **(extra_env or {}),
        }
    )
    settings = Settings(
        var_dir=var,
        jwt_secret=JWT_SECRET,
        api_port=api_port,
        eventstore=eventstore,
        eventstore_url=eventstore_url,
        temporal=TemporalSettings(
            address=f"127.0.0.1:{temporal_port}",
            dev_server=DevServer(
                port=temporal_port,
                ui_port=int(env["LINCAH_TEMPORAL__DEV_SERVER__UI_PORT"]),
                db_filename=var / "temporal.db",
            ),
        ),
    )
    stack = BenchStack(var, settings, env)
    try:
        if temporal:
            stack.start("temporal", devserver.command(settings), devserver.environment(settings))
            stack.wait_until("the Temporal dev server", _temporal_ok(settings.temporal.address))
        if worker:
            stack.start("worker", _lincah("worker"))
        if projector:
            stack.start("projector", _lincah("projections", "run"))
        if api_workers == 1:
            stack.start("api", _lincah("api"))
        else:
            stack.start(
                "api",
                [
                    sys.executable,
                    "-m",
                    "uvicorn",
                    "api.main:create_app",
                    "--factory",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(api_port),
                    "--workers",
                    str(api_workers),
                    "--log-level",
                    "warning",
                ],
            )
        stack.wait_until("the API", _api_ok(stack.api))
        yield stack
    finally:
        stack.stop()
