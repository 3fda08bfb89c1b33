"""``lincah backup``, ``lincah restore`` and ``lincah keys rotate``: thin entry points;
the logic is in ``backup/`` (README "Backup and restore")."""

from __future__ import annotations

import argparse
import sys
import threading
from pathlib import Path
from typing import TextIO

from config.settings import Settings, get_settings

ROTATABLE = ("document-signing", "face", "jwt")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    b = sub.add_parser(
        "backup",
        help="back up the running installation into DIR (or `backup status`)",
        description="Write DIR/lincah-<time>/ : data/, manifest.json and "
        "KEYS-store-apart.tar (store that file apart from the rest). With --every, "
        "keep backing up at that interval. `lincah backup status` says whether the last "
        "good backup is older than its interval (exit 1).",
    )
    b.add_argument("dir", help="where backups go; or `status`")
    b.add_argument("--every", default=None, help="back up at this interval: 30m, 6h, 1d")
    b.add_argument("--keep", type=int, default=None, help="keep only the newest N backups")
    b.add_argument(
        "--interval",
        default=None,
        help="for a one-shot backup run by cron: the cron interval (6h), so that a missed "
        "run raises the overdue alert",
    )
    b.set_defaults(func=lambda a: cmd_backup(a, get_settings(), sys.stdout))
    r = sub.add_parser(
        "restore",
        help="restore a backup into an empty var/ (checks it first)",
        description="Verify the backup (checksums, keys file, database integrity, hash "
        "chains) and only then lay it down into the empty var/ and rebuild the read models.",
    )
    r.add_argument("dir", type=Path, help="a backup (lincah-<time>/) or the directory of backups")
    r.add_argument(
        "--keys", type=Path, default=None, help="the keys file (default: inside the backup)"
    )
    r.set_defaults(func=lambda a: cmd_restore(a, get_settings(), sys.stdout))
    k = sub.add_parser("keys", help="rotate a key without losing what it protects")
    ksub = k.add_subparsers(dest="keys_command", required=True)
    rot = ksub.add_parser(
        "rotate",
        help="document-signing: earlier documents still verify; face: enrolments are "
        "re-encrypted (stop the API and face worker first); jwt: everyone is logged out",
    )
    rot.add_argument("key", choices=ROTATABLE)
    rot.set_defaults(func=lambda a: cmd_rotate(a, get_settings(), sys.stdout))


def cmd_backup(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    from backup import schedule

    def say(line: str) -> None:
        print(f"lincah backup: {line}", file=out, flush=True)

    if args.dir == "status":
        state = schedule.current(settings)
        print(state.describe(), file=out)
        return 1 if state.overdue else 0
    try:
        every = schedule.parse_duration(args.every) if args.every else None
        interval = schedule.parse_duration(args.interval) if args.interval else every
    except ValueError as e:
        print(f"lincah backup: {e}", file=sys.stderr)
        return 2
    if args.keep is not None and args.keep < 1:
        print("lincah backup: --keep must be at least 1", file=sys.stderr)
        return 2
    into = Path(args.dir)
    if every is None:
        done = schedule.once(settings, into, keep=args.keep, interval_s=interval, say=say)
        if done is not None:
            say(
                "store the keys file (KEYS-store-apart.tar) apart from the data: whoever "
                "holds both can read everything"
            )
        return 0 if done is not None else 1
    from lincah.cli import _stop_event_on_signals

    stop: threading.Event = _stop_event_on_signals()
    schedule.run_every(settings, into, every, args.keep, stop, say)
    return 0


def cmd_restore(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    from backup.restore import RestoreRefused, restore

    def say(line: str) -> None:
        print(f"lincah restore: {line}", file=out, flush=True)

    try:
        done = restore(settings, args.dir, args.keys, say=say)
    except RestoreRefused as e:
        print(f"lincah restore: REFUSED: {e}", file=out, flush=True)
        return 1
    m = done.manifest
    say(
        f"restored {done.backup} (taken {m.created_at}, Lincah {m.lincah_version}): "
        f"{done.files} files, {done.events} events up to position {m.head_position}, "
        f"keys {', '.join(done.keys) or 'none'}"
    )
    for note in m.notes:
        say(f"note: {note}")
    if m.configured_secrets:
        say(
            "these secrets were set in the configuration, not in files, and are not in the "
            f"backup: set them again as before: {', '.join(m.configured_secrets)}"
        )
    say(
        "start Lincah (lincah up), then run `lincah audit consistency`: it lists "
        "applications on which the event store and Temporal disagree (see README 'Backup "
        "and restore')"
    )
    return 0


def cmd_rotate(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    from backup import rotation

    try:
        message = rotation.ROTATIONS[args.key](settings)
    except rotation.CannotRotate as e:
        print(f"lincah keys rotate: {e}", file=sys.stderr)
        return 1
    print(f"lincah keys rotate {args.key}: {message}", file=out)
    return 0
