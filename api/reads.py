"""Read-your-writes: a command answers with its event-store position; a read that passes
it as ``min_position`` waits (bounded) until the projections have applied it."""

from __future__ import annotations

from fastapi import HTTPException, status

from projections.readmodels import ReadModels


def wait_for_position(models: ReadModels, min_position: int | None, timeout_s: float) -> None:
    if min_position is None:
        return
    if not models.wait_for(min_position, timeout_s):
        raise HTTPException(
            status.HTTP_504_GATEWAY_TIMEOUT,
            f"the read models are at position {models.checkpoint()} and did not reach "
            f"{min_position} within {timeout_s:g} s; the write is safe, retry the read "
            "shortly",
        )
