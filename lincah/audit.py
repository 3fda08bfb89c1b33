"""Audit: verify the event store's hash chains, and replay an application's history.

``lincah audit verify [--stream S]`` walks every stream (or one) and reports the first
broken link, exiting 1 (0 when intact). ``lincah audit replay APPLICATION_ID`` prints
the application's timeline from the event store, the state of its hash chain, and
replays its Temporal workflow history against the current workflow code, reporting any
non-determinism. The HTTP side is ``api/routers/audit.py``; both fold events with the
projection's own fold (``domain.state.apply``), so what an auditor reconstructs is what
citizens and officers saw.
"""

from __future__ import annotations

import argparse
import asyncio
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from domain import events as ev
from domain import state as application_fold
from eventstore import chain
from eventstore.port import EventStore, RecordedEvent

PAGE = 2000
"""Events per read while walking the global log."""


# -- verifying the chains ------------------------------------------------------------


SHOWN = 20
"""Broken links listed by ``describe``; the count says how many more there are."""


@dataclass
class VerifyReport:
    events: int = 0
    streams: int = 0
    problems: list[chain.Break] = field(default_factory=list)
    """Every broken link, in the order walked."""
    missing_positions: list[int] = field(default_factory=list)
    """Holes in the global positions of a store whose positions are dense."""

    @property
    def problem(self) -> chain.Break | None:
        """The first broken link."""
        return self.problems[0] if self.problems else None

    @property
    def intact(self) -> bool:
        return not self.problems and not self.missing_positions

    def describe(self) -> str:
        if self.intact:
            return f"intact: {self.events} events in {self.streams} streams verify"
        lines: list[str] = []
        if len(self.problems) == 1:
            lines.append(f"TAMPERED: {self.problems[0]}")
        elif self.problems:
            more = len(self.problems) - SHOWN
            lines.append(
                f"TAMPERED: {len(self.problems)} broken links in {self.events} events"
                + (f" (the first {SHOWN} shown)" if more > 0 else "")
                + ":"
            )
            lines += [f"  {p}" for p in self.problems[:SHOWN]]
        if self.missing_positions:
            missing = self.missing_positions
            shown = ", ".join(str(p) for p in missing[:10])
            more_text = f" and {len(missing) - 10} more" if len(missing) > 10 else ""
            what = (
                f"position {shown} is" if len(missing) == 1 else f"positions {shown}{more_text} are"
            )
            prefix = "" if lines else "TAMPERED: "
            lines.append(f"{prefix}{what} missing from the global log: events were deleted")
        return "\n".join(lines)


def verify_store(store: EventStore, stream: str | None = None) -> VerifyReport:
    """Walk one stream, or the whole log (every stream at once), to the end; every
    broken link is reported, unreadable rows included."""
    walker = chain.ChainWalker()
    report = VerifyReport()
    expected_position = None
    for event in _walk(store, stream):
        if stream is None and store.dense_positions:
            expected_position = 1 if expected_position is None else expected_position
            if event.position != expected_position:
                report.missing_positions.extend(range(expected_position, event.position))
            expected_position = event.position + 1
        problem = walker.check(event)
        if problem is not None:
            report.problems.append(problem)
    report.events, report.streams = walker.events, walker.streams
    return report


def _walk(store: EventStore, stream: str | None) -> Iterator[RecordedEvent]:
    if stream is not None:
        yield from store.read_stream(stream)
        return
    after = 0
    while page := store.read_all(after=after, limit=PAGE):
        yield from page
        after = page[-1].position


# -- an application's events ---------------------------------------------------------


@dataclass(frozen=True)
class AuditedEvent:
    position: int
    version: int
    type: str
    recorded_at: datetime
    actor: str | None
    hash: str
    prev_hash: str
    verified: bool
    """Whether the chain verifies up to and including this event."""
    summary: str


def application_events(store: EventStore, application_id: str) -> list[RecordedEvent]:
    return store.read_stream(ev.application_stream(application_id))


def audit_trail(events: Sequence[RecordedEvent]) -> tuple[list[AuditedEvent], chain.Break | None]:
    """Every event with its actor and summary (from the projection's fold) and whether
    the chain verifies up to it; and the first break, if any."""
    walker = chain.ChainWalker()
    first_break: chain.Break | None = None
    state: application_fold.ApplicationState | None = None
    out: list[AuditedEvent] = []
    for event in events:
        problem = walker.check(event)
        if problem is not None and first_break is None:
            first_break = problem
        actor, summary = _actor(event), event.type
        try:
            state = application_fold.apply(state, event)
            entry = state.timeline[-1] if state.timeline else None
            if entry is not None and entry.position == event.position:
                actor, summary = entry.actor or actor, entry.summary
        except Exception:  # noqa: S110 - a malformed event is still listed, as stored
            pass
        out.append(
            AuditedEvent(
                position=event.position,
                version=event.version,
                type=event.type,
                recorded_at=event.recorded_at,
                actor=actor,
                hash=event.hash,
                prev_hash=event.prev_hash,
                verified=first_break is None,
                summary=summary,
            )
        )
    return out, first_break


def _actor(event: RecordedEvent) -> str | None:
    """Who caused the event, where the event says so (None for an unreadable row)."""
    try:
        data, metadata = event.data, event.metadata
    except (ValueError, TypeError):  # reported by the chain check as a broken link
        return None
    if not isinstance(data, dict) or not isinstance(metadata, dict):
        return None
    actor = data.get("actor")
    if isinstance(actor, dict) and isinstance(actor.get("subject"), str):
        return str(actor["subject"])
    for candidate in (actor, data.get("by"), metadata.get("actor")):
        if isinstance(candidate, str):
            return candidate
    if event.type == ev.APPLICATION_SUBMITTED and isinstance(data.get("citizen"), str):
        return str(data["citizen"])
    return None


# -- state at a point in time --------------------------------------------------------

_POSITION = re.compile(r"^\d+$")


class BadPointInTime(ValueError):
    pass


def parse_at(text: str) -> int | datetime:
    """``at``: an event-store position (digits) or an ISO 8601 timestamp (UTC when it
    carries no offset)."""
    value = text.strip()
    if _POSITION.match(value):
        return int(value)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise BadPointInTime(
            "at must be an event-store position (an integer) or an ISO 8601 timestamp "
            f"such as 2026-11-28T08:00:00Z, got {text!r}"
        ) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


@dataclass(frozen=True)
class StateAt:
    state: application_fold.ApplicationState | None
    """None when the point lies before the application was submitted."""
    events_applied: int
    last_position: int | None


def state_at(events: Sequence[RecordedEvent], at: int | datetime | None) -> StateAt:
    """Fold the events up to ``at`` (a position, or a time: events recorded at or
    before it) with the projection's fold."""
    state: application_fold.ApplicationState | None = None
    applied: list[RecordedEvent] = []
    for event in events:
        if isinstance(at, int) and event.position > at:
            break
        if isinstance(at, datetime) and event.recorded_at > at:
            break
        state = application_fold.apply(state, event)
        applied.append(event)
    return StateAt(state, len(applied), applied[-1].position if applied else None)


# -- replaying the Temporal history --------------------------------------------------


@dataclass(frozen=True)
class ReplayReport:
    workflow_id: str
    events: int
    failure: str | None

    @property
    def deterministic(self) -> bool:
        return self.failure is None


async def replay_history(
    history: Any, workflows: Sequence[type] | None = None, workflow_runner: Any = None
) -> ReplayReport:
    """Replay one ``temporalio.client.WorkflowHistory`` against the current workflow
    code (``lincah.worker.WORKFLOWS``, or ``workflows``)."""
    from temporalio.contrib.pydantic import pydantic_data_converter
    from temporalio.worker import Replayer

    if workflows is None:
        from lincah.worker import WORKFLOWS

        workflows = WORKFLOWS
    options: dict[str, Any] = {}
    if workflow_runner is not None:
        options["workflow_runner"] = workflow_runner
    replayer = Replayer(
        workflows=list(workflows), data_converter=pydantic_data_converter, **options
    )
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    failure = result.replay_failure
    return ReplayReport(
        workflow_id=history.workflow_id,
        events=len(history.events),
        failure=None if failure is None else f"{type(failure).__name__}: {failure}",
    )


async def fetch_history(client: Any, workflow_id: str) -> Any:
    return await client.get_workflow_handle(workflow_id).fetch_history()


def load_history(path: Path, workflow_id: str) -> Any:
    from temporalio.client import WorkflowHistory

    return WorkflowHistory.from_json(workflow_id, path.read_text())


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
        report = await replay_history(history, workflows, workflow_runner)
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
