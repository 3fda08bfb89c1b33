"""``lincah restore``: a backup laid down into an empty var/, checked before anything is
written there: every file's SHA-256 against the manifest, the keys file's too, each
database's integrity, and the event store's hash chains and head position. Then the files
move into place and the read models are rebuilt from the events."""

from __future__ import annotations

import os
import shutil
import sqlite3
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from audit.verify import verify_store
from backup import keys as key_registry
from backup.manifest import MANIFEST, Manifest, sha256_of
from backup.snapshot import PREFIX, sqlite_head
from config.settings import Settings
from eventstore.factory import _sqlite_path, open_store
from eventstore.sqlite import SqliteEventStore
from projections.projector import Projector
from projections.readmodels import ReadModels


class RestoreRefused(Exception):
    """Nothing was written; the message says why and what to do."""


@dataclass
class Restored:
    backup: Path
    manifest: Manifest
    events: int
    files: int
    keys: list[str] = field(default_factory=list)


def find_backup(path: Path) -> Path:
    """``path`` itself when it holds a manifest, else its newest ``lincah-*`` backup."""
    if (path / MANIFEST).is_file():
        return path
    candidates = sorted(p for p in path.glob(f"{PREFIX}*") if (p / MANIFEST).is_file())
    if not candidates:
        raise RestoreRefused(
            f"{path} holds no backup (no {MANIFEST} in it or in a {PREFIX}* in it)"
        )
    return candidates[-1]


def _targets(settings: Settings, restore_to: str) -> Path:
    if restore_to == "eventstore":
        return Path(_sqlite_path(settings.eventstore_location))
    if restore_to == "temporal":
        return settings.temporal.dev_server.db_filename
    label, _, rel = restore_to.partition("/")
    if not rel or ".." in Path(rel).parts or Path(rel).is_absolute():
        raise RestoreRefused(f"the manifest names an unsafe place {restore_to!r}; refused")
    if label == "var":
        return settings.var_dir / rel
    if label == "uploads":
        return settings.uploads_dir / rel
    raise RestoreRefused(f"the manifest names an unknown place {restore_to!r}; refused")


def _occupied(path: Path) -> bool:
    return path.exists() and (not path.is_dir() or any(path.iterdir()))


def check_target(settings: Settings, manifest: Manifest) -> None:
    var = settings.var_dir
    if _occupied(var):
        raise RestoreRefused(
            f"{var} is not empty: a restore only writes into an empty one, so that nothing "
            f"is mixed. Move it aside first (mv {var} {var}.before-restore), then run the "
            "restore again"
        )
    for entry in manifest.files:
        target = _targets(settings, entry.restore_to)
        if target.exists():
            raise RestoreRefused(
                f"{target} exists already; move it aside, then run the restore again"
            )


def verify(
    backup: Path, keys_file: Path, say: Callable[[str], None]
) -> tuple[Manifest, dict[str, bytes]]:
    """The manifest and the keys, once every checksum holds; RestoreRefused otherwise,
    naming each file that does not."""
    try:
        manifest = Manifest.read(backup)
    except (OSError, ValueError, TypeError) as e:
        raise RestoreRefused(f"cannot read the backup's manifest: {e}") from e
    problems = []
    for entry in manifest.files:
        path = backup / entry.path
        if not path.is_file():
            problems.append(f"{entry.path} is missing")
        elif path.stat().st_size != entry.bytes or sha256_of(path) != entry.sha256:
            problems.append(f"{entry.path} does not match its checksum: it was altered or damaged")
    keys: dict[str, bytes] = {}
    if not keys_file.is_file():
        problems.append(
            f"the keys file {keys_file} is missing; pass --keys with the place you stored "
            f"{key_registry.KEYS_FILE} apart"
        )
    elif sha256_of(keys_file) != manifest.keys_sha256:
        problems.append(
            f"the keys file {keys_file} does not match the manifest's checksum: it belongs "
            "to another backup, or was altered"
        )
    else:
        keys = key_registry.unpack(keys_file.read_bytes())
    if problems:
        raise RestoreRefused(
            "the backup does not verify; nothing was restored:\n  - " + "\n  - ".join(problems)
        )
    say(f"checksums: {len(manifest.files)} files and the keys file verify")
    return manifest, keys


def _check_databases(
    staged: dict[str, Path], manifest: Manifest, say: Callable[[str], None]
) -> int:
    """Integrity of each staged database; the event store's chains and head. The number
    of events."""
    for restore_to, path in staged.items():
        if restore_to in ("eventstore", "temporal") or path.suffix == ".db":
            db = sqlite3.connect(path)
            try:
                result = db.execute("PRAGMA integrity_check").fetchone()[0]
            except sqlite3.DatabaseError as e:
                result = str(e)
            finally:
                db.close()
            if result != "ok":
                raise RestoreRefused(f"{restore_to}: the database is damaged ({result})")
    if "eventstore" not in staged:
        return 0
    store = SqliteEventStore(str(staged["eventstore"]))
    try:
        report = verify_store(store)
    finally:
        store.close()
    if not report.intact:
        raise RestoreRefused(f"the event store's hash chains do not verify: {report.describe()}")
    head = sqlite_head(staged["eventstore"])
    if head != manifest.head_position:
        raise RestoreRefused(
            f"the event store ends at position {head}, the manifest says {manifest.head_position}"
        )
    say(f"hash chains: {report.describe()}")
    return report.events


def restore(
    settings: Settings,
    backup: Path,
    keys_file: Path | None = None,
    *,
    say: Callable[[str], None] = lambda _: None,
) -> Restored:
    backup = find_backup(backup)
    keys_file = keys_file or backup / key_registry.KEYS_FILE
    manifest, keys = verify(backup, keys_file, say)
    check_target(settings, manifest)
    if manifest.eventstore_backend != settings.eventstore:
        raise RestoreRefused(
            f"the backup is of a {manifest.eventstore_backend} installation; these settings "
            f"use {settings.eventstore}"
        )
    var = settings.var_dir
    var.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{var.name}.restoring-", dir=var.parent))
    try:
        staged = {}
        for entry in manifest.files:
            path = staging / entry.path
            path.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(backup / entry.path, path)
            if sha256_of(path) != entry.sha256:  # the copy itself went wrong
                raise RestoreRefused(f"{entry.path} changed while it was copied; try again")
            staged[entry.restore_to] = path
        events = _check_databases(staged, manifest, say)
        for entry in manifest.files:
            _place(staged[entry.restore_to], _targets(settings, entry.restore_to))
        for key in key_registry.key_files(settings):
            if key.name in keys:
                _write_private(key.path, keys[key.name])
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    if settings.eventstore == "sqlite":
        store = open_store(settings)  # personal fields read through their keys
        try:
            Projector(store, ReadModels(settings.readmodel_location)).rebuild()
        finally:
            store.close()
        say(f"read models rebuilt from {events} events")
    else:
        say(
            f"the {settings.eventstore} event store is restored from its own dump (README "
            f"'Backup and restore'); it must reach position {manifest.head_position}. Then "
            "run `lincah audit verify` and `lincah projections rebuild`"
        )
    return Restored(backup, manifest, events, len(manifest.files), sorted(keys))


def _place(staged: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(staged, target)


def _write_private(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
