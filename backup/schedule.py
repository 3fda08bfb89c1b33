"""Scheduled backups, their retention, and the alert when the last good one is too old.

Every `lincah backup` writes its outcome to ``var/backup-status.json`` (the time of the
last good backup, its place, the interval it promises). The alert reads only that file:
``lincah backup status`` (exit 1), ``GET /health`` (``backup.overdue``), ``GET /metrics``
(``lincah_backup_age_seconds``, ``lincah_backup_overdue``) and a log line of the
scheduler each round, so a backup that stopped running (a dead cron job too) is noticed.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from backup.manifest import MANIFEST
from backup.snapshot import PREFIX, STATUS_FILE, take
from config.settings import Settings

log = logging.getLogger("lincah.backup")

GRACE: Final = 1.5
"""A backup is overdue once the last good one is older than this many intervals: a
backup that runs a little late is no alarm, one that missed its turn is."""
_DURATION: Final = re.compile(r"^(\d+(?:\.\d+)?)([smhd])$")
_UNIT_S: Final = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> float:
    """``90s``, ``30m``, ``6h``, ``1d`` in seconds."""
    match = _DURATION.match(text.strip())
    if not match or float(match.group(1)) <= 0:
        raise ValueError(f"{text!r} is not a duration; write it like 30m, 6h or 1d")
    return float(match.group(1)) * _UNIT_S[match.group(2)]


def status_path(settings: Settings) -> Path:
    return settings.var_dir / STATUS_FILE


def record(
    settings: Settings,
    *,
    interval_s: float | None,
    ok_path: Path | None = None,
    error: str | None = None,
) -> None:
    """Record one backup's outcome, keeping the last good one when this one failed (and
    the interval, when a one-off backup names none: it must not silence the alert)."""
    path = status_path(settings)
    previous = _read(path) or {}
    now = datetime.now(UTC).isoformat()
    status: dict[str, Any] = {
        "interval_s": interval_s or previous.get("interval_s"),
        "last_attempt_at": now,
        "last_ok_at": now if ok_path else previous.get("last_ok_at"),
        "last_ok_path": str(ok_path) if ok_path else previous.get("last_ok_path"),
        "last_error": error,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(status, indent=1))
    os.replace(tmp, path)


def _read(path: Path) -> dict[str, Any] | None:
    try:
        raw = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return raw if isinstance(raw, dict) else None


@dataclass(frozen=True)
class BackupStatus:
    configured: bool
    """A backup has run here with an interval; without one nothing can be overdue."""
    last_ok_at: str | None
    age_s: float | None
    interval_s: float | None
    last_error: str | None
    overdue: bool

    def describe(self) -> str:
        if not self.configured:
            return "no scheduled backup has run here (lincah backup DIR --every 6h --keep 14)"
        if self.last_ok_at is None:
            return f"OVERDUE: no backup has succeeded yet (last error: {self.last_error})"
        age = f"the last good backup is {self.age_s or 0:.0f} s old ({self.last_ok_at})"
        if self.overdue:
            return (
                f"OVERDUE: {age}, its interval is {self.interval_s:.0f} s"
                + (f"; last error: {self.last_error}" if self.last_error else "")
                + "; check the backup job"
            )
        return f"ok: {age}, within its interval of {self.interval_s:.0f} s"

    def as_dict(self) -> dict[str, Any]:
        return {
            "last_ok_at": self.last_ok_at,
            "age_s": None if self.age_s is None else round(self.age_s, 1),
            "interval_s": self.interval_s,
            "overdue": self.overdue,
            "last_error": self.last_error,
        }


def current(settings: Settings, now: datetime | None = None) -> BackupStatus:
    raw = _read(status_path(settings))
    now = now or datetime.now(UTC)
    if raw is None or not raw.get("interval_s"):
        return BackupStatus(False, None, None, None, None, overdue=False)
    interval = float(raw["interval_s"])
    last_ok = raw.get("last_ok_at")
    age = None if last_ok is None else (now - datetime.fromisoformat(last_ok)).total_seconds()
    overdue = age is None or age > GRACE * interval
    return BackupStatus(True, last_ok, age, interval, raw.get("last_error"), overdue)


def prune(into: Path, keep: int) -> list[Path]:
    """Delete all but the newest ``keep`` complete backups in ``into``; the deleted ones."""
    complete = sorted(p for p in into.glob(f"{PREFIX}*") if (p / MANIFEST).is_file())
    gone = complete[: max(len(complete) - keep, 0)]
    for path in gone:
        shutil.rmtree(path)
    return gone


def once(
    settings: Settings,
    into: Path,
    *,
    keep: int | None,
    interval_s: float | None,
    say: Callable[[str], None],
) -> Path | None:
    """One backup, its status recorded and old ones pruned; None when it failed (said)."""
    try:
        path, manifest = take(settings, into, say=say)
    except Exception as e:
        record(settings, interval_s=interval_s, error=f"{type(e).__name__}: {e}")
        say(f"backup FAILED: {type(e).__name__}: {e}")
        return None
    record(settings, interval_s=interval_s, ok_path=path)
    say(f"backup written to {path} (event store head {manifest.head_position})")
    if keep is not None:
        for old in prune(into, keep):
            say(f"deleted the old backup {old} (keeping {keep})")
    return path


def run_every(
    settings: Settings,
    into: Path,
    interval_s: float,
    keep: int | None,
    stop: threading.Event,
    say: Callable[[str], None],
) -> None:
    """Back up now and then every ``interval_s`` until ``stop``; each minute, log a
    warning while the last good backup is overdue."""
    next_at = time.monotonic()
    while not stop.is_set():
        if time.monotonic() >= next_at:
            once(settings, into, keep=keep, interval_s=interval_s, say=say)
            next_at = time.monotonic() + interval_s
        state = current(settings)
        if state.overdue:
            log.warning("backup %s", state.describe())
        stop.wait(min(60.0, max(next_at - time.monotonic(), 0.1)))
