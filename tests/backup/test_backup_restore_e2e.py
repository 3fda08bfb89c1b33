"""Acceptance of issue 21: a region loses its machine and loses no application.

Lincah runs (real Temporal dev server on ``var/temporal.db``, worker, projector, notifier,
API, SQLite event store); applications are ended, waiting for an officer, waiting with a
deadline; `lincah backup` runs while everything runs; more is submitted; everything
stops and var/ is deleted; `lincah restore` lays the backup down and Lincah starts again
on it. Every application of the backup is there with its timeline, the waiting ones
complete to their end, the deadline's timer fires, the letter issued before verifies,
`lincah audit verify` passes; a backup with one altered byte is refused, naming the
file."""

from __future__ import annotations

import json
import shutil
import uuid
from pathlib import Path

import pytest

from config.settings import TaskQueues
from tests.api.test_e2e import publish
from tests.backup.helpers import (
    apply,
    deadline_service,
    letter_service,
    lincah,
    start_temporal,
)
from tests.support import Stack, run_stack

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

DEADLINE_S = 30.0
"""The deadline application's review escalates this long after it starts: well after
the backup, and it fires after the restore (at once, if it is overdue by then)."""


async def decide(s: Stack, who: dict, app: str, outcome: str) -> None:
    r = await s.http.post(
        f"/tasks/{app}.verify_residence.1/complete",
        headers=who,
        json={"outcome": outcome, "comment": "Sesuai KK"},
    )
    assert r.status_code == 200, r.text


def ended(view: dict) -> bool:
    return view.get("status") in ("approved", "rejected")


async def test_backup_while_running_then_restore_on_an_empty_machine(settings, tmp_path: Path):
    var = settings.var_dir
    settings = settings.model_copy(
        update={
            "temporal": settings.temporal.model_copy(
                update={
                    "dev_server": settings.temporal.dev_server.model_copy(
                        update={"db_filename": var / "temporal.db"}
                    )
                }
            )
        }
    )
    queues = TaskQueues(applications=f"tq-{uuid.uuid4()}", face=f"face-{uuid.uuid4()}")
    backups = tmp_path / "backups"
    letter, kilat = letter_service(), deadline_service(DEADLINE_S)

    # -- Lincah runs; applications in every state; the backup while it runs -------------
    env = await start_temporal(var / "temporal.db")
    try:
        async with run_stack(env, settings, task_queues=queues) as s:
            siti = await s.token("siti@example.id", "citizen")
            officer = await s.token("budi@banyuwangikab.go.id", "officer", "BWI")
            await publish(s, letter)
            await publish(s, kilat)
            approved = await apply(s, siti, letter["id"])
            rejected = await apply(s, siti, letter["id"])
            waiting = [await apply(s, siti, letter["id"]) for _ in range(2)]
            await decide(s, officer, approved, "approve")
            await decide(s, officer, rejected, "reject")
            timed = await apply(s, siti, kilat["id"])
            before: dict[str, dict] = {}
            for app in [approved, rejected]:
                before[app] = await s.until(f"/applications/{app}", siti, ended)
            for app in [*waiting, timed]:
                before[app] = await s.until(
                    f"/applications/{app}", siti, lambda v: v.get("current_step") is not None
                )
            letter_number = before[approved]["documents"][0]["number"]
            r = await s.http.get(f"/documents/{letter_number}/verify")
            assert r.json()["valid"] is True

            ran = await lincah(settings, "backup", str(backups), "--keep", "3")
            assert ran.code == 0, ran.out
            assert "KEYS-store-apart.tar" in ran.out

            after_backup = await apply(s, siti, letter["id"])  # not in the backup
    finally:
        await env.shutdown()

    [backup] = list(backups.glob("lincah-*"))
    manifest = json.loads((backup / "manifest.json").read_text())
    restored_to = {f["restore_to"] for f in manifest["files"]}
    assert {"temporal", "eventstore", "var/outbox.db"} <= restored_to
    assert any(t.startswith("var/documents/") for t in restored_to)  # the issued PDF
    assert "var/readmodels.db" not in restored_to  # rebuilt instead
    assert "document-signing-key.pem" in manifest["keys"]
    assert manifest["head_position"] > 0

    # -- the machine is lost; a new one is restored from the backup ---------------------
    shutil.rmtree(var)
    ran = await lincah(settings, "restore", str(backups))
    assert ran.code == 0, ran.out
    assert "read models rebuilt" in ran.out

    ran = await lincah(settings, "restore", str(backups))
    assert ran.code == 1 and "is not empty" in ran.out  # never over a live var/

    env = await start_temporal(var / "temporal.db")
    try:
        async with run_stack(env, settings, task_queues=queues) as s:
            siti = await s.token("siti@example.id", "citizen")
            officer = await s.token("budi@banyuwangikab.go.id", "officer", "BWI")
            head = await s.token("kadis@banyuwangikab.go.id", "supervisor", "BWI")

            # Every application of the backup, with its timeline; none taken after it.
            for app, view in before.items():
                now = (await s.http.get(f"/applications/{app}", headers=siti)).json()
                assert now["status"] == view["status"], (app, now)
                assert now["timeline"][: len(view["timeline"])] == view["timeline"]
            r = await s.http.get(f"/applications/{after_backup}", headers=siti)
            assert r.status_code == 404

            # The waiting ones complete to their end.
            await decide(s, officer, waiting[0], "approve")
            await decide(s, officer, waiting[1], "reject")
            done = await s.until(f"/applications/{waiting[0]}", siti, ended)
            assert done["status"] == "approved" and done["documents"]
            done = await s.until(f"/applications/{waiting[1]}", siti, ended)
            assert done["status"] == "rejected"

            # The deadline's timer fires: the task moves to the supervisor, who ends it.
            escalated = await s.until(
                f"/applications/{timed}",
                siti,
                lambda v: any(e["type"] == "TaskReassigned" for e in v["timeline"]),
                timeout_s=DEADLINE_S + 60,
            )
            assert escalated["breaches"][0]["step"] == "verify_residence"
            await decide(s, head, timed, "approve")
            assert (await s.until(f"/applications/{timed}", siti, ended))["status"] == "approved"

            # The letter issued before the loss still verifies, by number and by file.
            r = await s.http.get(f"/documents/{letter_number}/verify")
            assert r.json()["valid"] is True, r.json()
            pdf = (await s.http.get(f"/documents/{letter_number}", headers=siti)).content
            r = await s.http.post(
                "/documents/verify", content=pdf, headers={"content-type": "application/pdf"}
            )
            assert r.json()["valid"] is True, r.json()

            target = env.client.service_client.config.target_host
            ran = await lincah(settings, "audit", "consistency", temporal=target)
            assert ran.code == 0, ran.out
        ran = await lincah(settings, "audit", "verify")
        assert ran.code == 0 and "intact" in ran.out, ran.out
    finally:
        await env.shutdown()

    # -- one altered byte: refused with the reason, nothing written ----------------------
    altered = tmp_path / "altered"
    shutil.copytree(backup, altered)
    store_copy = altered / "data" / "eventstore.db"
    raw = bytearray(store_copy.read_bytes())
    raw[len(raw) // 2] ^= 0x01
    store_copy.write_bytes(bytes(raw))
    elsewhere = settings.model_copy(update={"var_dir": tmp_path / "var2"})
    elsewhere = elsewhere.model_copy(
        update={
            "temporal": elsewhere.temporal.model_copy(
                update={
                    "dev_server": elsewhere.temporal.dev_server.model_copy(
                        update={"db_filename": tmp_path / "var2" / "temporal.db"}
                    )
                }
            )
        }
    )
    ran = await lincah(elsewhere, "restore", str(altered))
    assert ran.code == 1, ran.out
    assert "REFUSED" in ran.out and "data/eventstore.db does not match its checksum" in ran.out
    assert not (tmp_path / "var2").exists() or not any((tmp_path / "var2").iterdir())
