"""``lincah backup`` and ``lincah restore`` without Temporal: the online copy of a live
database, what goes into the keys file, and every reason a restore refuses before it
writes anything. (With Temporal and the whole stack: test_backup_restore_e2e.py.)"""

from __future__ import annotations

import argparse
import io
import json
import shutil
import sqlite3
import threading
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from backup import keys, schedule
from backup.manifest import Manifest
from backup.restore import RestoreRefused, restore
from backup.snapshot import take
from config.settings import SECRET_FILES, Settings
from eventstore.port import NewEvent
from eventstore.sqlite import SqliteEventStore
from lincah import backup_cli
from projections.readmodels import ReadModels


@pytest.fixture
def installation(tmp_path) -> Settings:
    """An installation with events, an issued document, every generated secret and the
    signing key; Temporal's database where `lincah up` keeps it."""
    settings = Settings(var_dir=tmp_path / "var")
    settings = settings.model_copy(
        update={
            "temporal": settings.temporal.model_copy(
                update={
                    "dev_server": settings.temporal.dev_server.model_copy(
                        update={"db_filename": settings.var_dir / "temporal.db"}
                    )
                }
            )
        }
    )
    store = SqliteEventStore(settings.eventstore_location)
    for i in range(20):
        store.append(f"thing-{i % 3}", [NewEvent(uuid.uuid4(), "Happened", {"i": i})])
    store.close()
    for name in SECRET_FILES:
        settings.generated_secret(name)
    from documents.signing import load_signing_key

    load_signing_key(settings.document_key_location)
    (settings.documents_dir / "BWI").mkdir(parents=True)
    (settings.documents_dir / "BWI" / "letter.pdf").write_bytes(b"%PDF-1.7 a letter")
    db = sqlite3.connect(settings.var_dir / "temporal.db")
    db.execute("CREATE TABLE executions (workflow_id TEXT)")
    db.execute("INSERT INTO executions VALUES ('BWI-2026-000001')")
    db.commit()
    db.close()
    (settings.var_dir / "logs").mkdir()
    (settings.var_dir / "logs" / "api.log").write_text("not backed up")
    return settings


def empty_like(settings: Settings, var: Path) -> Settings:
    ds = settings.temporal.dev_server.model_copy(update={"db_filename": var / "temporal.db"})
    return settings.model_copy(
        update={
            "var_dir": var,
            "temporal": settings.temporal.model_copy(update={"dev_server": ds}),
        }
    )


def test_a_backup_holds_every_database_file_and_key_and_restores_them(installation, tmp_path):
    backup, manifest = take(installation, tmp_path / "backups")

    assert manifest.head_position == 20
    where = {f.restore_to for f in manifest.files}
    assert where == {"temporal", "eventstore", "var/documents/BWI/letter.pdf"}
    assert sorted(manifest.keys) == sorted([*SECRET_FILES, keys.DOCUMENT_KEY])
    assert oct((backup / keys.KEYS_FILE).stat().st_mode & 0o777) == "0o600"
    assert "letter" not in (backup / keys.KEYS_FILE).read_bytes().decode(errors="replace")

    target = empty_like(installation, tmp_path / "new" / "var")
    done = restore(target, tmp_path / "backups")

    assert done.events == 20
    for name in [*SECRET_FILES, "document-signing-key.pem", "events.db", "temporal.db"]:
        assert (target.var_dir / name).exists(), name
    for name in SECRET_FILES:
        assert (target.var_dir / name).read_text() == (installation.var_dir / name).read_text()
        assert (target.var_dir / name).stat().st_mode & 0o777 == 0o600
    assert (target.documents_dir / "BWI" / "letter.pdf").read_bytes() == b"%PDF-1.7 a letter"
    assert not (target.var_dir / "logs").exists()
    assert ReadModels(target.readmodel_location).checkpoint() == 20  # rebuilt
    db = sqlite3.connect(target.var_dir / "temporal.db")
    assert db.execute("SELECT workflow_id FROM executions").fetchall() == [("BWI-2026-000001",)]
    db.close()


def test_the_copy_of_a_live_database_is_one_consistent_state(installation, tmp_path):
    store = SqliteEventStore(installation.eventstore_location)
    stop = threading.Event()

    def write() -> None:
        while not stop.is_set():  # two-event batches: a torn copy would show an odd one
            store.append("busy", [NewEvent(uuid.uuid4(), "A", {}), NewEvent(uuid.uuid4(), "B", {})])

    writer = threading.Thread(target=write)
    writer.start()
    try:
        _, manifests = zip(*[take(installation, tmp_path / "b") for _ in range(3)], strict=True)
    finally:
        stop.set()
        writer.join()
        store.close()
    for n, m in enumerate(manifests):
        target = empty_like(installation, tmp_path / f"r{n}" / "var")
        backup = tmp_path / "b" / sorted(p.name for p in (tmp_path / "b").glob("lincah-*"))[n]
        assert restore(target, backup).events == m.head_position  # chains verified too
        assert (m.head_position - 20) % 2 == 0


def test_secrets_come_from_one_list(installation):
    with pytest.raises(ValueError, match="SECRET_FILES"):
        installation.generated_secret("forgotten-key")
    assert {k.name for k in keys.key_files(installation)} == {*SECRET_FILES, keys.DOCUMENT_KEY}


def test_a_file_that_looks_like_an_unlisted_secret_is_named_not_copied(installation, tmp_path):
    (installation.var_dir / "codec-key").write_text("s3cret")
    backup, manifest = take(installation, tmp_path / "backups")
    assert any("var/codec-key" in note and "NOT in this backup" in note for note in manifest.notes)
    assert not list(backup.rglob("codec-key"))


def refused(settings: Settings, backup: Path, keys_file: Path | None = None) -> str:
    with pytest.raises(RestoreRefused) as e:
        restore(settings, backup, keys_file)
    assert not settings.var_dir.exists() or not any(settings.var_dir.iterdir())
    return str(e.value)


def test_a_restore_refuses_what_does_not_verify_and_writes_nothing(installation, tmp_path):
    backup, _ = take(installation, tmp_path / "backups")
    target = empty_like(installation, tmp_path / "new" / "var")

    # The keys file stored apart: the restore needs it, and the right one.
    apart = tmp_path / "safe" / keys.KEYS_FILE
    apart.parent.mkdir()
    shutil.move(backup / keys.KEYS_FILE, apart)
    assert "pass --keys" in refused(target, backup)
    (installation.var_dir / "ticket-key").write_text("another key, another backup")
    other, _ = take(installation, tmp_path / "other")
    assert "belongs to another backup" in refused(target, backup, other / keys.KEYS_FILE)
    shutil.move(apart, backup / keys.KEYS_FILE)

    # One altered byte in an issued document.
    letter = backup / "data" / "var" / "documents" / "BWI" / "letter.pdf"
    good = letter.read_bytes()
    letter.write_bytes(good.replace(b"a letter", b"A letter"))
    message = refused(target, backup)
    assert "data/var/documents/BWI/letter.pdf does not match its checksum" in message
    letter.write_bytes(good)

    # An event edited and its checksum forged: the hash chain still tells.
    db_path = backup / "data" / "eventstore.db"
    db = sqlite3.connect(db_path)
    db.execute("UPDATE events SET data = ? WHERE position = 7", (b'{"i":99}',))
    db.commit()
    db.close()
    manifest = Manifest.read(backup)
    from backup.manifest import Entry, sha256_of

    manifest.files = [
        Entry(f.path, f.restore_to, sha256_of(db_path), db_path.stat().st_size)
        if f.restore_to == "eventstore"
        else f
        for f in manifest.files
    ]
    manifest.write(backup)
    assert "hash chains do not verify" in refused(target, backup)

    # Never into a var/ that holds something.
    target.var_dir.mkdir(parents=True)
    (target.var_dir / "events.db").write_bytes(b"")
    with pytest.raises(RestoreRefused, match="is not empty"):
        restore(target, other)


def test_backups_are_pruned_to_the_newest_and_the_status_tells_when_one_is_late(
    installation, tmp_path
):
    into = tmp_path / "backups"
    said: list[str] = []
    paths = [
        schedule.once(installation, into, keep=2, interval_s=3600, say=said.append)
        for _ in range(3)
    ]
    assert sorted(into.glob("lincah-*")) == paths[1:]
    assert any("deleted the old backup" in line for line in said)

    fresh = schedule.current(installation)
    assert fresh.configured and not fresh.overdue and fresh.interval_s == 3600
    later = datetime.now(UTC) + timedelta(hours=2)
    assert schedule.current(installation, now=later).overdue  # 1.5 intervals passed

    # A failed backup is recorded, and the last good one stays the last good one.
    broken = installation.model_copy(update={"eventstore_url": str(tmp_path / "gone.db")})
    assert schedule.once(broken, into, keep=2, interval_s=3600, say=said.append) is None
    status = json.loads(schedule.status_path(installation).read_text())
    assert status["last_ok_path"] == str(paths[-1]) and "no event store" in status["last_error"]

    out = io.StringIO()
    args = argparse.Namespace(dir="status", every=None, keep=None, interval=None)
    assert backup_cli.cmd_backup(args, installation, out) == 0 and out.getvalue().startswith("ok")


def test_durations():
    assert schedule.parse_duration("6h") == 6 * 3600
    assert schedule.parse_duration("30m") == 1800
    assert schedule.parse_duration("1d") == 86400
    for bad in ("6", "h", "-1h", "0s", "6 hours"):
        with pytest.raises(ValueError, match="not a duration"):
            schedule.parse_duration(bad)


def test_the_scheduler_backs_up_at_once_then_waits_for_its_interval(installation, tmp_path):
    stop = threading.Event()
    said: list[str] = []

    def say(line: str) -> None:
        said.append(line)
        if line.startswith("backup written"):
            stop.set()  # one round is enough to see

    runner = threading.Thread(
        target=schedule.run_every,
        args=(installation, tmp_path / "backups", 3600.0, 2, stop, say),
    )
    runner.start()
    runner.join(60)
    assert not runner.is_alive()
    assert len(list((tmp_path / "backups").glob("lincah-*"))) == 1
    # A one-off backup afterwards (no interval given) keeps the schedule's interval.
    schedule.once(installation, tmp_path / "backups", keep=None, interval_s=None, say=said.append)
    assert schedule.current(installation).interval_s == 3600.0
