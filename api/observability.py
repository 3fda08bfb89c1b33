"""The API's request metrics and traces (README "Health and metrics").

:class:`RequestMetrics` times every request into ``lincah_http_request_duration_seconds``
labelled by the route's template (``/applications/{application_id}``), never the raw
path: one series per route, however many applications there are. Paths no route
matches share the label ``unmatched``. While tracing is on (``config.telemetry``) each
request is a server span, the parent of the Temporal client's spans.
"""

from __future__ import annotations

import time

from fastapi import FastAPI
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from config import metrics, telemetry


class RequestMetrics:
    """ASGI middleware; the route template is known once the router has matched (it
    sets ``scope["route"]``), so it is read after the app answered."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # an exception that escapes every handler answers 500

        async def send_noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_noting_status)
        finally:
            route: BaseRoute | None = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            metrics.REQUEST_SECONDS.labels(scope["method"], template, str(status)).observe(
                time.perf_counter() - started
            )


def install(app: FastAPI) -> None:
    """Request metrics always; a server span per request while tracing is on."""
    app.add_middleware(RequestMetrics)
    provider = telemetry.tracer_provider()
    if provider is not None:
        from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

        FastAPIInstrumentor.instrument_app(
            app, tracer_provider=provider, excluded_urls="/health,/ready,/metrics"
        )
