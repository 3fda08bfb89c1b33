"""Verifying the event store's hash chains: every stream, or one, walked to the end, every
broken link reported (unreadable rows included), and holes in the global log of a store
whose positions are dense."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from eventstore import chain
from eventstore.personal import stored
from eventstore.port import EventStore, RecordedEvent

PAGE = 2000
"""Events per read while walking the global log."""


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
    # The chain covers what the backend stores: personal fields as ciphertext.
    for event in _walk(stored(store), stream):
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
