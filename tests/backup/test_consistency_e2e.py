"""The two stores after a restore (issue 21, part 3): Temporal's snapshot and the event
store's may be taken at different moments, and both directions are defined.

``lincah backup`` copies Temporal's database first and the event store last, so the
store is never behind: what the workflows appended after Temporal's copy is either
re-appended with the same event ids (absorbed by the store's idempotency) or reported
by ``lincah audit consistency`` (an application without a workflow run; a decision
given after the copy, to give again). A store copy *older* than Temporal's (an
operator's mistake, a PostgreSQL dump taken first) leaves workflows ahead of the store:
``lincah audit consistency --repair`` appends what their histories recorded, and they go
on."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

import pytest

from backup.snapshot import copy_sqlite
from config.settings import Settings, TaskQueues
from tests.api.test_e2e import publish
from tests.backup.helpers import apply, lincah, start_temporal, two_reviews_service
from tests.support import Stack, run_stack

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]


async def complete(s: Stack, who: dict, task: str) -> int:
    r = await s.http.post(
        f"/tasks/{task}/complete", headers=who, json={"outcome": "approve", "comment": "ok"}
    )
    return r.status_code


def lay_down(var: Path, temporal: Path, events: Path) -> None:
    """A restore by hand: these two copies and the keys (the citizens' data keys, copied
    after every event store as a backup does, and their master key), nothing derived
    (the read models and the outbox are rebuilt from the events)."""
    keys = temporal.parent
    shutil.rmtree(var)
    var.mkdir()
    shutil.copyfile(temporal, var / "temporal.db")
    shutil.copyfile(events, var / "events.db")
    shutil.copyfile(keys / "data-keys.db", var / "data-keys.db")
    shutil.copyfile(keys / "data-master-key", var / "data-master-key")


def with_temporal_db(settings: Settings) -> Settings:
    ds = settings.temporal.dev_server.model_copy(
        update={"db_filename": settings.var_dir / "temporal.db"}
    )
    return settings.model_copy(
        update={"temporal": settings.temporal.model_copy(update={"dev_server": ds})}
    )


async def test_workflows_ahead_of_and_behind_the_event_store(settings, tmp_path: Path):
    settings = with_temporal_db(settings)
    var = settings.var_dir
    queues = TaskQueues(applications=f"tq-{uuid.uuid4()}", face=f"face-{uuid.uuid4()}")
    service = two_reviews_service()
    snaps = tmp_path / "snaps"
    snaps.mkdir()

    env = await start_temporal(var / "temporal.db")
    try:
        async with run_stack(env, settings, task_queues=queues) as s:
            siti = await s.token("siti@example.id", "citizen")
            officer = await s.token("budi@banyuwangikab.go.id", "officer", "BWI")
            await publish(s, service)
            ahead = await apply(s, siti, service["id"])  # its workflow gets ahead
            behind = await apply(s, siti, service["id"])  # its workflow falls behind
            for app in (ahead, behind):
                await s.until(f"/applications/{app}", siti, lambda v: v.get("current_step"))
            copy_sqlite(var / "events.db", snaps / "events-early.db")
            assert await complete(s, officer, f"{ahead}.verify_residence.1") == 200
            copy_sqlite(var / "temporal.db", snaps / "temporal.db")
            assert await complete(s, officer, f"{behind}.verify_residence.1") == 200
            unknown = await apply(s, siti, service["id"])  # after Temporal's copy
            await s.until(f"/applications/{unknown}", siti, lambda v: v.get("current_step"))
            copy_sqlite(var / "events.db", snaps / "events-late.db")
            copy_sqlite(var / "data-keys.db", snaps / "data-keys.db")
            shutil.copyfile(var / "data-master-key", snaps / "data-master-key")
    finally:
        await env.shutdown()

    # 1. The event store older than Temporal: the workflow is ahead of it.
    lay_down(var, snaps / "temporal.db", snaps / "events-early.db")
    env = await start_temporal(var / "temporal.db")
    try:
        target = env.client.service_client.config.target_host
        ran = await lincah(settings, "audit", "consistency", temporal=target)
        assert ran.code == 1, ran.out
        assert f"{ahead}: workflow ahead" in ran.out, ran.out
        ran = await lincah(settings, "audit", "consistency", "--repair", temporal=target)
        assert ran.code == 0 and "repaired: appended" in ran.out, ran.out
        async with run_stack(env, settings, task_queues=queues) as s:
            siti = await s.token("siti@example.id", "citizen")
            head = await s.token("kadis@banyuwangikab.go.id", "supervisor", "BWI")
            view = await s.until(
                f"/applications/{ahead}", siti, lambda v: v.get("current_step") == "sign"
            )
            assert [e["type"] for e in view["timeline"]].count("TaskCompleted") == 1
            assert await complete(s, head, f"{ahead}.sign.1") == 200
            view = await s.until(
                f"/applications/{ahead}", siti, lambda v: v["status"] != "in_review"
            )
            assert view["status"] == "approved"
        ran = await lincah(settings, "audit", "verify")
        assert ran.code == 0, ran.out
    finally:
        await env.shutdown()

    # 2. The event store newer than Temporal (what `lincah backup` can produce): the
    # workflow is behind it, and an application has no workflow at all.
    lay_down(var, snaps / "temporal.db", snaps / "events-late.db")
    env = await start_temporal(var / "temporal.db")
    try:
        target = env.client.service_client.config.target_host
        ran = await lincah(settings, "audit", "consistency", temporal=target)
        assert ran.code == 1, ran.out
        assert f"{unknown}: no workflow" in ran.out, ran.out
        assert f"{behind}: store ahead" in ran.out, ran.out
        assert f"{ahead}:" not in ran.out  # Temporal's copy and the late store agree
        async with run_stack(env, settings, task_queues=queues) as s:
            siti = await s.token("siti@example.id", "citizen")
            officer = await s.token("budi@banyuwangikab.go.id", "officer", "BWI")
            head = await s.token("kadis@banyuwangikab.go.id", "supervisor", "BWI")
            # The officer's decision after Temporal's copy is given again, the same: the
            # store already holds its event, absorbs it, and the application goes on.
            assert await complete(s, officer, f"{behind}.verify_residence.1") == 200
            assert await complete(s, head, f"{behind}.sign.1") == 200
            view = await s.until(
                f"/applications/{behind}", siti, lambda v: v["status"] != "in_review"
            )
            assert view["status"] == "approved"
            assert [e["type"] for e in view["timeline"]].count("TaskCompleted") == 2
        ran = await lincah(settings, "audit", "verify")
        assert ran.code == 0, ran.out
    finally:
        await env.shutdown()
