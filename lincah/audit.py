"""Audit: verify the event store's hash chains, and replay an application's history.

``lincah audit verify [--stream S]`` walks every stream (or one) and reports every
broken link; over the whole log it also checks the published checkpoints (their chain
and signatures) and that the log still produces the last one's root, naming each
rewritten stream; exit 1 on any problem (0 when intact). ``lincah audit checkpoint``
publishes a signed checkpoint of the log (``audit.checkpoints``).
``lincah audit replay APPLICATION_ID`` prints the application's timeline from the event
store, the state of its hash chain, and replays its Temporal workflow history against
the current workflow code, reporting any non-determinism. The logic lives in
``audit/``, shared with the HTTP side (``api/routers/audit.py``); this module only
parses the command and prints.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from audit.anchor import Discontinuity
from audit.checkpoints import verify_anchored, write_checkpoint
from audit.ledger import Ledger
from audit.replay import fetch_history, load_history, replay_history
from audit.trail import application_events, audit_trail
from audit.verify import verify_store
from config.settings import Settings
from eventstore.personal import stored
from eventstore.port import EventStore

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

# -- the command ---------------------------------------------------------------------


def cmd_verify(
    store: EventStore,
    stream: str | None,
    out: TextIO,
    anchors: tuple[Ledger, Ed25519PrivateKey] | None = None,
) -> int:
    """The chains, and with ``anchors`` (the ledger and the signing key) and no
    ``stream`` the log against the published checkpoints."""
    report = verify_store(store, stream)
    where = f"stream {stream!r}" if stream else f"the {store.backend} event store"
    if stream is not None and report.events == 0:
        print(f"stream {stream!r} has no events", file=out)
        return 2
    print(f"{where}: {report.describe()}", file=out)
    intact = report.intact
    if anchors is not None and stream is None:
        ledger, key = anchors
        anchored = verify_anchored(store, ledger, key.public_key())
        print(anchored.describe(), file=out)
        intact = intact and anchored.intact
    return 0 if intact else 1


def cmd_checkpoint(store: EventStore, ledger: Ledger, key: Ed25519PrivateKey, out: TextIO) -> int:
    """Publish a checkpoint; 1 when the log no longer continues the last one."""
    try:
        signed = write_checkpoint(store, ledger, key)
    except Discontinuity as e:
        print(f"TAMPERED: {e}", file=out)
        return 1
    if signed is None:
        print(f"no event since the last checkpoint in {ledger.where}; nothing written", file=out)
        return 0
    c = signed.checkpoint
    print(
        f"checkpoint {c.seq}: position {c.position}, {c.streams} streams, root {c.root}, "
        f"signed with key {c.key_id}, published to {ledger.where}",
        file=out,
    )
    return 0


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
    as_stored = await asyncio.to_thread(application_events, stored(store), application_id)
    trail, broken = audit_trail(events, as_stored)
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


async def cmd_consistency(
    store: EventStore, out: TextIO, *, client: Any = None, settings: Any = None, repair: bool
) -> int:
    """Compare every application in the store with its Temporal workflow (after a
    restore): 0 when they agree (or ``--repair`` mended every difference it can), 1 when
    something is left to an operator."""
    from audit import consistency

    if client is None:
        from config.temporal import connect

        client = await asyncio.wait_for(connect(settings), timeout=10)
    findings = await consistency.check(store, client)
    for finding in findings:
        print(str(finding), file=out)
    if repair:
        mendable = [f for f in findings if f.kind == "workflow ahead"]
        n = await asyncio.to_thread(consistency.repair, store, mendable)
        if mendable:
            print(f"repaired: appended {n} events the workflows had recorded", file=out)
        findings = [f for f in findings if f.kind != "workflow ahead"]
    if not findings:
        print("the event store and Temporal agree about every application", file=out)
    return 1 if findings else 0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", required=True)
    verify = sub.add_parser("verify", help="verify the hash chains; exit 1 at a broken link")
    verify.add_argument("--stream", default=None, help="only this stream")
    sub.add_parser(
        "checkpoint",
        help="publish a signed checkpoint of the log (audit_anchor_path); exit 1 when the "
        "log no longer continues the last one",
    )
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
    consistency = sub.add_parser(
        "consistency",
        help="after a restore: applications without a workflow run, or with events on one "
        "side only (exit 1 when any is left)",
    )
    consistency.add_argument(
        "--repair",
        action="store_true",
        help="append the events workflows recorded that the store lacks",
    )


def main(args: argparse.Namespace, settings: Any, out: TextIO) -> int:
    from audit.checkpoints import ledger_for, signing_key
    from eventstore.factory import open_store

    store = open_store(settings)
    try:
        if args.action == "verify":
            return cmd_verify(
                store, args.stream, out, (ledger_for(settings), signing_key(settings))
            )
        if args.action == "checkpoint":
            return cmd_checkpoint(store, ledger_for(settings), signing_key(settings), out)
        if args.action == "consistency":
            return asyncio.run(cmd_consistency(store, out, settings=settings, repair=args.repair))
        return asyncio.run(
            replay_application(
                store, args.application_id, out, settings=settings, history_file=args.history
            )
        )
    finally:
        store.close()
