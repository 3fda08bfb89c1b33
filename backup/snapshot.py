"""``lincah backup``: a consistent snapshot of a running installation.

Every SQLite database under var/ (and the event store and Temporal's database wherever
they are) is copied with SQLite's online backup API, which reads one consistent state
of a live WAL database; a plain file copy could catch a page half written. The read
models are left out: a restore rebuilds them from the events. Other files under var/
(issued documents, encrypted uploads, retired public keys) are copied as they are. The
keys go into a separate file the operator stores apart from the data.

The order is deliberate (README "Backup and restore", consistency):

1. Temporal's database first. Then the event store holds everything the workflows in
   the snapshot appended, and perhaps more. A workflow restored behind the store re-runs
   its append activities with the same deterministic event ids, and the store's
   idempotency absorbs the overlap; an application whose events are in the store but
   whose workflow started after Temporal's snapshot is reported by
   ``lincah audit orphans``. The reverse (a workflow ahead of the store) would leave the
   workflow expecting stream versions the store does not have.
2. Databases derived from the event log with their own checkpoint (the notification
   outbox) before the event store: a checkpoint ahead of the restored log would skip the
   new events that take those positions again.
3. The event store.
4. Everything that events point to (issued PDFs, uploads, face enrolments, ...) after
   the store: every file an event in the snapshot names was written before its event.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

from backup import keys as key_registry
from backup.manifest import Entry, Manifest, lincah_version, sha256_of
from config.settings import SECRET_FILES, Settings
from eventstore.factory import _sqlite_path, open_event_store

DATA: Final = "data"
SQLITE_SIDECARS: Final = ("-wal", "-shm", "-journal")
SKIPPED_DIRS: Final = frozenset({"logs", "run"})
"""Under var/: what `lincah up` writes about its own processes."""
STATUS_FILE: Final = "backup-status.json"
"""Under var/: the last backup's outcome (``backup/schedule.py``); not backed up."""
PREFIX: Final = "lincah-"


class BackupFailed(Exception):
    pass


@dataclass(frozen=True)
class Source:
    path: Path
    restore_to: str


def copy_sqlite(source: Path, target: Path) -> None:
    """One consistent copy of a (possibly live, WAL) SQLite database, in one step: the
    copy holds a read transaction on the source for its whole length, so writers go on
    and the copy is the state at its start. The copy is a single file (rollback journal)."""
    src = sqlite3.connect(source, timeout=30)
    try:
        dst = sqlite3.connect(target)
        try:
            src.backup(dst)
            dst.execute("PRAGMA journal_mode=DELETE")
        finally:
            dst.close()
    finally:
        src.close()


def sqlite_head(path: Path) -> int:
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        row = db.execute("SELECT coalesce(max(position), 0) FROM events").fetchone()
    finally:
        db.close()
    return int(row[0])


def _is_db(path: Path) -> bool:
    return path.suffix == ".db"


def _is_sidecar(path: Path) -> bool:
    """SQLite's journals, and the lease files of the projector and notifier (held by
    the running processes, meaningless in a backup)."""
    return path.name.endswith(".lock") or any(
        path.name.endswith(f".db{s}") for s in SQLITE_SIDECARS
    )


def _same(a: Path, b: Path) -> bool:
    return a.resolve() == b.resolve()


def plan(settings: Settings, exclude: Path | None = None) -> tuple[list[Source], ...]:
    """(temporal, before the store, the store, after the store): what to copy, in order.
    ``exclude``: a directory never to walk (the backups themselves, if under var/)."""
    var = settings.var_dir
    # Read models are rebuilt from the events, never copied; on PostgreSQL they are not
    # under var/ at all.
    location = settings.readmodel_location
    readmodels = [location] if isinstance(location, Path) else []
    temporal_db = settings.temporal.dev_server.db_filename
    store_db = (
        Path(_sqlite_path(settings.eventstore_location))
        if settings.eventstore == "sqlite"
        else None
    )
    key_paths = [k.path for k in key_registry.key_files(settings)]
    temporal = (
        [Source(temporal_db, "temporal")]
        if settings.temporal.dev_server.enabled and temporal_db.is_file()
        else []
    )
    store = [Source(store_db, "eventstore")] if store_db is not None and store_db.is_file() else []
    derived = {settings.outbox_location.resolve()}
    before: list[Source] = []
    after: list[Source] = []
    handled = [s.path for s in temporal + store] + [*readmodels, *key_paths]
    roots = [(var, "var")]
    uploads = settings.uploads_dir
    if not uploads.resolve().is_relative_to(var.resolve()):
        roots.append((uploads, "uploads"))
    for root, label in roots:
        if not root.is_dir():
            continue
        for path in sorted(root.rglob("*")):
            rel = path.relative_to(root)
            if not path.is_file() or path.is_symlink():
                continue
            if label == "var" and (rel.parts[0] in SKIPPED_DIRS or rel.as_posix() == STATUS_FILE):
                continue
            if exclude is not None and path.resolve().is_relative_to(exclude.resolve()):
                continue
            if _is_sidecar(path) or path.name.startswith("."):
                continue  # WAL and journals are in the online copy; dotfiles are temporary
            if any(_same(path, h) for h in handled if h.exists()):
                continue
            if label == "var" and len(rel.parts) == 1 and _looks_secret(path.name):
                continue  # an unregistered secret: reported, never copied with the data
            source = Source(path, f"{label}/{rel.as_posix()}")
            (before if path.resolve() in derived else after).append(source)
    return temporal, before, store, after


def _looks_secret(name: str) -> bool:
    return name.endswith(("-key", "-secret", ".pem", ".key")) and name not in SECRET_FILES


def unregistered_secrets(settings: Settings) -> list[str]:
    var = settings.var_dir
    if not var.is_dir():
        return []
    return sorted(p.name for p in var.iterdir() if p.is_file() and _looks_secret(p.name))


def configured_secrets(settings: Settings) -> list[str]:
    names = [
        "jwt_secret", "payment_webhook_secret", "face_key", "profile_key", "lookup_key",
        "notify_webhook_secret", "upload_key", "ticket_key",
    ]  # fmt: skip
    return [n for n in names if getattr(settings, n, "")]


def take(
    settings: Settings, into: Path, *, say: Callable[[str], None] = lambda _: None
) -> tuple[Path, Manifest]:
    """Write a complete backup under ``into/lincah-<UTC time>/`` and return its directory
    and manifest. The directory appears under its final name only when complete."""
    into.mkdir(parents=True, exist_ok=True)
    now = datetime.now(UTC)
    final = into / f"{PREFIX}{now.strftime('%Y%m%dT%H%M%S.%fZ')}"
    work = Path(tempfile.mkdtemp(prefix=".partial-", dir=into))
    try:
        manifest = _fill(settings, work, now, into, say)
        manifest.write(work)
        os.chmod(work, 0o700)
        os.replace(work, final)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return final, manifest


def _fill(
    settings: Settings, work: Path, now: datetime, into: Path, say: Callable[[str], None]
) -> Manifest:
    data = work / DATA
    data.mkdir()
    temporal, before, store, after = plan(settings, exclude=into)
    manifest = Manifest(
        created_at=now.isoformat(),
        lincah_version=lincah_version(),
        eventstore_backend=settings.eventstore,
        head_position=0,
        configured_secrets=configured_secrets(settings),
    )
    if settings.eventstore != "sqlite":
        remote = open_event_store(settings.eventstore, settings.eventstore_location)
        try:
            manifest.head_position = remote.head_position()
        finally:
            remote.close()
        manifest.notes.append(
            f"the {settings.eventstore} event store is not in this backup: dump it now, "
            f"after this backup (README 'Backup and restore'); the dump must hold at least "
            f"position {manifest.head_position}"
        )
    elif not store:
        raise BackupFailed(
            f"there is no event store at {settings.eventstore_location}: nothing to back up"
        )
    if settings.temporal.dev_server.enabled and not temporal:
        manifest.notes.append(
            f"no Temporal database at {settings.temporal.dev_server.db_filename}: "
            "running applications are not in this backup"
        )
    for group in (temporal, before, store, after):
        for source in group:
            manifest.files.append(_copy(source, data, say))
            if source.restore_to == "eventstore":
                manifest.head_position = sqlite_head(data / stored_name(source.restore_to))
    packed, names = key_registry.pack(key_registry.key_files(settings))
    keys_path = work / key_registry.KEYS_FILE
    fd = os.open(keys_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(packed)
    manifest.keys_file, manifest.keys = key_registry.KEYS_FILE, names
    manifest.keys_sha256 = sha256_of(keys_path)
    for name in unregistered_secrets(settings):
        manifest.notes.append(
            f"var/{name} looks like a secret but is not listed in "
            "config.settings.SECRET_FILES: it is NOT in this backup; copy it yourself and "
            "have it added to that list"
        )
    for note in manifest.notes:
        say(f"note: {note}")
    return manifest


def stored_name(restore_to: str) -> str:
    """Where a file lies under data/: ``eventstore.db``, ``temporal.db``, or its path."""
    return restore_to if "/" in restore_to else f"{restore_to}.db"


def _copy(source: Source, data: Path, say: Callable[[str], None]) -> Entry:
    target = data / stored_name(source.restore_to)
    target.parent.mkdir(parents=True, exist_ok=True)
    if source.restore_to in ("eventstore", "temporal") or _is_db(source.path):
        copy_sqlite(source.path, target)
    else:
        shutil.copyfile(source.path, target)
    size = target.stat().st_size
    say(f"copied {source.path} ({size} bytes)")
    return Entry(
        path=target.relative_to(data.parent).as_posix(),
        restore_to=source.restore_to,
        sha256=sha256_of(target),
        bytes=size,
    )
