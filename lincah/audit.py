"""Audit: verify the event store's hash chains, and replay an application's history.

``lincah audit verify [--stream S]`` walks every stream (or one) and reports the first
broken link, exiting 1 (0 when intact). ``lincah audit replay APPLICATION_ID`` prints
the application's timeline from the event store, the state of its hash chain, and
replays its Temporal workflow history against the current workflow code, reporting any
non-determinism. The logic lives in ``audit/``, shared with the HTTP side
(``api/routers/audit.py``); this module only parses the command and prints.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from audit.replay import fetch_history, load_history, replay_history
from audit.trail import application_events, audit_trail
from audit.verify import verify_store
from config.settings import Settings
from eventstore.port import EventStore

# -- the command ---------------------------------------------------------------------


def cmd_verify(store: EventStore, stream: str | None, out: TextIO) -> int:
    report = verify_store(store, stream)
    where = f"stream {stream!r}" if stream else f"the {store.backend} event store"
    if stream is not None and report.events == 0:
        print(f"stream {stream!r} has no events", file=out)
        return 2
    print(f"{where}: {report.describe()}", file=out)
    return 0 if report.intact else 1


async def replay_application(
    store: EventStore,
    application_id: str,
    out: TextIO,
    *,
    client: Any = None,
    settings: Any = None,
    history_file: Path | None = None,
    workflows: Sequence[type] | None = None,
    workflow_runner: Any = None,
) -> int:
    """Print the timeline and the chain's state, then replay the Temporal history (from
    ``history_file``, else fetched through ``client`` or a client for ``settings``).
    0: all good; 1: a broken chain or non-determinism; 2: could not check."""
    events = await asyncio.to_thread(application_events, store, application_id)
    if not events:
        print(f"there is no application {application_id} in the event store", file=out)
        return 2
    trail, broken = audit_trail(events)
    print(f"Application {application_id}: {len(trail)} events", file=out)
    for e in trail:
        mark = "ok " if e.verified else "BAD"
        print(
            f"  {e.position:>8}  {e.recorded_at.isoformat(timespec='seconds')}  {mark} "
            f"{e.type:<24} {e.actor or '-':<28} {e.summary}",
            file=out,
        )
    code = 0
    if broken is None:
        print("Hash chain: intact", file=out)
    else:
        print(f"Hash chain: TAMPERED, {broken}", file=out)
        code = 1
    try:
        if history_file is not None:
            history = load_history(history_file, application_id)
        else:
            if client is None:
                from config.temporal import connect

                client = await asyncio.wait_for(connect(settings), timeout=10)
            history = await fetch_history(client, application_id)
        if workflows is None:
            from lincah.worker import WORKFLOWS

            workflows = WORKFLOWS
        if client is not None:
            converter = client.data_converter
        else:
            from config.temporal import data_converter

            converter = data_converter(settings or Settings())
        report = await replay_history(history, workflows, converter, workflow_runner)
    except Exception as exc:
        print(
            f"Temporal history: could not be replayed ({type(exc).__name__}: {exc})",
            file=out,
        )
        return code or 2
    if report.deterministic:
        print(
            f"Temporal history: {report.events} events replay deterministically on the "
            "current workflow code",
            file=out,
        )
        return code
    print(f"Temporal history: NON-DETERMINISM on the current code: {report.failure}", file=out)
    return 1


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", required=True)
    verify = sub.add_parser("verify", help="verify the hash chains; exit 1 at a broken link")
    verify.add_argument("--stream", default=None, help="only this stream")
    replay = sub.add_parser(
        "replay", help="an application's timeline, and its Temporal history replayed"
    )
    replay.add_argument("application_id")
    replay.add_argument(
        "--history",
        type=Path,
        default=None,
        help="replay this history JSON (as exported by Temporal) instead of fetching it",
    )


def main(args: argparse.Namespace, settings: Any, out: TextIO) -> int:
    from eventstore.factory import open_event_store

    store = open_event_store(settings.eventstore, settings.eventstore_location)
    try:
        if args.action == "verify":
            return cmd_verify(store, args.stream, out)
        return asyncio.run(
            replay_application(
                store, args.application_id, out, settings=settings, history_file=args.history
            )
        )
    finally:
        store.close()
