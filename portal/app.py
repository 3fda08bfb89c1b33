"""The portal's app. Every page is a plain HTML form or link, so the core paths (log
in, apply, track) work without JavaScript; htmx only enhances them. The pages live in
``portal.pages``, a router per resource; what they share in ``portal.web``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI, Request
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles

from config.settings import Settings
from portal.client import SignedOut
from portal.pages import (
    account,
    applications,
    appointments,
    catalogue,
    complaints,
    face,
    notifications,
    profile,
    surveys,
    visits,
)
from portal.web import HERE, Portal, to_login


def create_app(settings: Settings, transport: httpx.AsyncBaseTransport | None = None) -> FastAPI:
    """``transport``: the API's, for tests of the portal itself (a stub API)."""
    portal = Portal(settings, transport)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        await portal.api.aclose()

    app = FastAPI(
        title="Lincah portal", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None
    )
    app.state.portal = portal
    # Slow mobile data: htmx and the pages travel compressed (htmx 51 KB -> 16 KB).
    app.add_middleware(GZipMiddleware, minimum_size=1000)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    @app.exception_handler(SignedOut)
    async def signed_out(request: Request, _: SignedOut) -> Response:
        return to_login(request)

    app.include_router(account.router)
    app.include_router(catalogue.router)
    app.include_router(profile.router)
    app.include_router(notifications.router)
    app.include_router(appointments.router)
    app.include_router(visits.router)
    app.include_router(face.router)
    app.include_router(complaints.router)
    app.include_router(surveys.router)
    app.include_router(applications.router)
    return app
