"""The health port of the parts without an HTTP API of their own: the workers, the
projector and the notifier (README "Health and metrics").

One tiny HTTP server per process on ``health_port`` (0, the default: none), in a daemon
thread so that it answers while the part's own loop is busy:

- ``GET /health``: 200 while the process runs (liveness: restart it when this fails);
- ``GET /ready``: 200, or 503 with one line per problem (Temporal or a store that does
  not answer, a shutdown under way);
- ``GET /metrics``: the process's Prometheus metrics.

A port rather than a heartbeat file: the compose healthcheck, a Kubernetes probe and
Prometheus read the same endpoint, and a probe learns why a part is not ready.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from temporalio.client import Client

from config import metrics
from config.settings import Settings
from eventstore.port import EventStore
from projections.projector import Projector, lag

log = logging.getLogger(__name__)

Check = Callable[[], list[str]]
"""What keeps the part from working, one sentence each; empty when ready."""


class HealthServer:
    def __init__(
        self, host: str, port: int, ready: Check, before_scrape: Callable[[], None] | None = None
    ) -> None:
        self.ready = ready
        self.before_scrape = before_scrape
        self.stopping = False
        """Set on SIGTERM: /ready answers 503 while running work finishes."""
        self._server = ThreadingHTTPServer((host, port), _handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def start(self) -> HealthServer:
        self._thread.start()
        return self

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def problems(self) -> list[str]:
        if self.stopping:
            return ["shutting down (SIGTERM): finishing the work in hand"]
        try:
            return self.ready()
        except Exception as e:  # a failing check is a problem to report, not a crash
            return [f"the readiness check failed ({type(e).__name__}: {e})"]


def _handler(health: HealthServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/health":
                self._answer(200, "application/json", b'{"status": "ok"}')
            elif self.path == "/ready":
                problems = health.problems()
                body = json.dumps({"ready": not problems, "problems": problems}).encode()
                self._answer(503 if problems else 200, "application/json", body)
            elif self.path == "/metrics":
                if health.before_scrape is not None:
                    health.before_scrape()
                self._answer(200, CONTENT_TYPE_LATEST, generate_latest())
            else:
                self._answer(404, "text/plain", b"/health, /ready or /metrics\n")

        def _answer(self, code: int, media_type: str, body: bytes) -> None:
            self.send_response(code)
            self.send_header("Content-Type", media_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # no log line per probe

    return Handler


def serve(
    settings: Settings, part: str, ready: Check, before_scrape: Callable[[], None] | None = None
) -> HealthServer | None:
    """Start the health port of ``part`` if ``health_port`` is set."""
    if not settings.health_port:
        return None
    server = HealthServer(settings.health_host, settings.health_port, ready, before_scrape)
    log.info("%s answers /health, /ready and /metrics on port %d", part, server.port)
    return server.start()


def temporal_check(client: Client, loop: asyncio.AbstractEventLoop) -> Check:
    """Whether Temporal answers, asked on the part's own event loop (the client's)."""

    def check() -> list[str]:
        asking = asyncio.run_coroutine_threadsafe(client.service_client.check_health(), loop)
        try:
            asking.result(timeout=3)
        except Exception:
            asking.cancel()
            return [f"Temporal at {client.service_client.config.target_host} does not answer"]
        return []

    return check


def all_of(*checks: Check) -> Check:
    return lambda: [problem for check in checks for problem in check()]


def store_check(store: EventStore) -> Check:
    """Whether the event store can be read."""

    def check() -> list[str]:
        try:
            store.head_position()
        except Exception as e:
            return [f"the event store cannot be read ({type(e).__name__})"]
        return []

    return check


def serve_projector(settings: Settings, projector: Projector) -> HealthServer | None:
    """The projector's port: ready while the store and the read models can be read; each
    scrape reads the lag first."""

    def ready() -> list[str]:
        try:
            lag(projector.store, projector.models)
        except Exception as e:
            return [f"the event store or the read models cannot be read ({type(e).__name__})"]
        return []

    def before_scrape() -> None:
        behind = lag(projector.store, projector.models)
        metrics.EVENTSTORE_HEAD.set(behind.head)
        metrics.PROJECTION_CHECKPOINT.set(behind.checkpoint)
        metrics.PROJECTION_LAG_EVENTS.set(behind.events)
        metrics.PROJECTION_LAG_SECONDS.set(round(behind.seconds, 3))
        metrics.PROJECTION_PARKED.set(behind.parked)

    return serve(settings, "projector", ready, before_scrape)
