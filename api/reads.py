"""Read-your-writes: a command answers with its event-store position; a read that passes
it as ``min_position`` waits (bounded) until the projections have applied it.

The wait holds no thread: it polls the read models' checkpoint between ``await``s, so
any number of waiting reads leave the threadpool (and /health) free. A position past the
event store's head answers at once: no command has written it, so waiting cannot help.
"""

from __future__ import annotations

from typing import Protocol

from fastapi import HTTPException, status
from starlette.concurrency import run_in_threadpool

from eventstore.port import EventStore


class Follower(Protocol):
    """What follows the event store with a checkpoint: the read models, the outbox."""

    def checkpoint(self) -> int: ...
    async def reached(self, position: int, timeout_s: float) -> bool: ...


async def wait_for_position(
    models: Follower,
    store: EventStore,
    min_position: int | None,
    timeout_s: float,
    what: str = "the read models",
) -> None:
    if min_position is None or models.checkpoint() >= min_position:
        return
    head = await run_in_threadpool(store.head_position)
    if min_position > head:
        raise HTTPException(
            status.HTTP_409_CONFLICT,
            f"position {min_position} does not exist yet: the event store's last position "
            f"is {head}; pass the position a command answered with",
        )
    if not await models.reached(min_position, timeout_s):
        raise HTTPException(
            status.HTTP_504_GATEWAY_TIMEOUT,
            f"{what} are at position {models.checkpoint()} and did not reach "
            f"{min_position} within {timeout_s:g} s; the write is safe, retry the read "
            "shortly",
        )
