"""The alert when the last good backup is older than its interval: ``GET /health`` and
``GET /metrics`` read the status file every backup writes."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import httpx

from api.main import create_app
from backup import schedule


def backed_up(settings, hours_ago: float, interval_h: float) -> None:
    schedule.record(settings, interval_s=interval_h * 3600, ok_path=settings.var_dir / "b")
    path = schedule.status_path(settings)
    status = json.loads(path.read_text())
    status["last_ok_at"] = (datetime.now(UTC) - timedelta(hours=hours_ago)).isoformat()
    path.write_text(json.dumps(status))


async def read(settings) -> tuple[dict, str]:
    app = create_app(settings)
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://lincah.test") as c:
            health = (await c.get("/health")).json()
            metrics = (await c.get("/metrics")).text
    finally:
        app.state.runtime.close()
    return health, metrics


async def test_health_and_metrics_say_when_the_backup_is_overdue(settings):
    health, metrics = await read(settings)
    assert health["backup"]["overdue"] is False and health["backup"]["last_ok_at"] is None
    # No scheduled backup here: nothing to alert.
    assert "lincah_backup_overdue 0.0\n" in metrics and "lincah_backup_age_seconds -1.0" in metrics

    backed_up(settings, hours_ago=1, interval_h=6)
    health, metrics = await read(settings)
    assert health["backup"]["overdue"] is False and health["backup"]["interval_s"] == 21600
    assert "lincah_backup_overdue 0.0\n" in metrics

    backed_up(settings, hours_ago=10, interval_h=6)
    health, metrics = await read(settings)
    assert health["backup"]["overdue"] is True and health["backup"]["age_s"] > 9 * 3600
    assert "lincah_backup_overdue 1.0\n" in metrics


def test_up_runs_the_scheduled_backup_when_a_backup_dir_is_set(settings, tmp_path):
    from lincah.up import plan

    assert "backup" not in [p.name for p in plan(settings, with_designer=False, with_face=False)]
    scheduled = settings.model_copy(
        update={"backup_dir": tmp_path / "backups", "backup_every": "1d", "backup_keep": 7}
    )
    [part] = [
        p for p in plan(scheduled, with_designer=False, with_face=False) if p.name == "backup"
    ]
    assert part.cmd[-6:] == ["backup", str(tmp_path / "backups"), "--every", "1d", "--keep", "7"]
