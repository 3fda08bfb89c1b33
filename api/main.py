"""The FastAPI application: commands go to Temporal (or, for catalogue edits, straight
to the event store); queries read the projections."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from api import errors, limits, observability, temporal_errors
from api.routers import (
    access_log,
    agencies,
    applications,
    appointments,
    audit,
    auth,
    bench,
    bpmn,
    codec,
    complaints,
    counter,
    dashboard,
    documents,
    erasure,
    face,
    health,
    kiosk,
    locations,
    notifications,
    oidc,
    payments,
    profile,
    public,
    queue,
    riwayat,
    services,
    staff,
    steps,
    survey,
    tasks,
    visits,
    wallet,
)
from api.runtime import Runtime
from config import telemetry
from config.settings import Settings, get_settings

UPLOADS = (
    "/me/face",
    "/me/selfies",
    "/counter/face",
    "/documents/verify",
    "/auth/kiosk",
    "/me/documents",
    "/services/import/bpmn",
)
"""Paths whose bodies are photos, PDFs or BPMN files, bounded by their routes
(face_max_upload_bytes, MAX_PDF_BYTES, upload_max_bytes, the BPMN importer's MAX_BYTES)
rather than by max_json_body_bytes."""


def create_app(settings: Settings | None = None) -> FastAPI:
    runtime = Runtime(settings or get_settings())
    telemetry.install_tracing(runtime.settings, "api")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        runtime.close()
        telemetry.stop_tracing()  # export the spans still buffered before the process ends

    app = FastAPI(
        title="Lincah API",
        description="Public-service applications for MPP Digital: services, applications, "
        "officer tasks. Log in with POST /auth/login, then use the access token "
        "as a bearer token. Every error answer has the body `Error`: `detail` says what "
        "happened and what to do, `problems` lists each problem with its path.",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.runtime = runtime
    errors.install(app)
    temporal_errors.install(app)
    routers = (
        *auth.routers(runtime.settings),
        *bench.routers(runtime.settings),
        staff.router,
        health.router,
        agencies.router,
        services.router,
        bpmn.router,
        applications.router,
        steps.router,
        tasks.router,
        payments.router,
        dashboard.router,
        documents.router,
        face.router,
        audit.router,
        public.router,
        survey.router,
        oidc.router,
        complaints.router,
        riwayat.router,
        profile.router,
        counter.router,
        kiosk.router,
        kiosk.sign_in,
        notifications.router,
        wallet.router,
        visits.router,
        locations.router,
        appointments.router,
        queue.router,
        access_log.router,
        codec.router,
        erasure.router,  # last: the authorization matrix calls it after the rest
    )
    for r in routers:
        app.include_router(r)
    errors.document(app, routers)
    limits.install(app, runtime.settings, uploads=UPLOADS)
    codec.install(app, runtime.settings)
    observability.install(app)  # last: the outermost middleware times the others too
    return app
