"""``GET /bench/ping``: the floor ``lincah bench api`` measures the read path against,
the same app, middleware and server with no work behind it. Mounted only in
development with ``bench_ping`` set, so no other deployment serves it."""

from __future__ import annotations

from fastapi import APIRouter

from config.settings import Settings

router = APIRouter(prefix="/bench", tags=["bench"], include_in_schema=False)


@router.get("/ping")
async def ping() -> dict[str, bool]:
    return {"ok": True}


def routers(settings: Settings) -> list[APIRouter]:
    """The bench routes this environment serves: none unless asked for in development."""
    return [router] if settings.bench_ping and settings.environment == "development" else []
