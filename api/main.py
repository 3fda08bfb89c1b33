"""The FastAPI application: commands go to Temporal (or, for catalogue edits, straight
to the event store); queries read the projections."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from api import errors
from api.routers import (
    agencies,
    applications,
    audit,
    auth,
    dashboard,
    documents,
    face,
    health,
    payments,
    services,
    staff,
    steps,
    tasks,
)
from api.runtime import Runtime
from lincah.settings import Settings, get_settings


def create_app(settings: Settings | None = None) -> FastAPI:
    runtime = Runtime(settings or get_settings())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        runtime.close()

    app = FastAPI(
        title="Lincah API",
        description="Public-service applications for MPP Digital: services, applications, "
        "officer tasks. Log in with POST /auth/login, then use the access token "
        "as a bearer token.",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.runtime = runtime
    errors.install(app)
    for r in (
        *auth.routers(runtime.settings),
        staff.router,
        health.router,
        agencies.router,
        services.router,
        applications.router,
        steps.router,
        tasks.router,
        payments.router,
        dashboard.router,
    ):
        app.include_router(r)
    app.include_router(documents.router)
    app.include_router(face.router)
    app.include_router(audit.router)
    return app
