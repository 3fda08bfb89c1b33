"""What a client is told when Temporal or the worker fails: ``503`` with ``Retry-After``,
and truthfully whether the command may have been recorded and how to find out.

Only a failure to reach Temporal before anything was sent is certain to have recorded
nothing. Once a command went out, a timeout, a cancelled update or an RPC error can
come after Temporal took it (the worker records it when it is back), so the answer says
"may have been recorded", names the read that tells, and points to Idempotency-Key: a
retry with the same key never records a command twice.
"""

from __future__ import annotations

from typing import Final

from fastapi import FastAPI, HTTPException, Request, status
from fastapi.responses import JSONResponse
from temporalio.client import WorkflowUpdateRPCTimeoutOrCancelledError
from temporalio.service import RPCError

from api.idempotency import HEADER

RETRY_AFTER_S: Final = 5
"""Seconds a client should wait before retrying; a worker or server restart takes a few."""

FAILURES: Final = (RPCError, WorkflowUpdateRPCTimeoutOrCancelledError, TimeoutError)
"""What a call to Temporal raises when the server or the worker is down or slow."""


class TemporalUnavailable(HTTPException):
    """A 503 with Retry-After (FastAPI renders it as ``{"detail": ...}``)."""

    def __init__(self, detail: str) -> None:
        super().__init__(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            detail,
            headers={"Retry-After": str(RETRY_AFTER_S)},
        )


def unreachable(address: str) -> TemporalUnavailable:
    """Temporal could not be reached before anything was sent."""
    return TemporalUnavailable(
        f"Temporal at {address} is not reachable, so nothing was recorded; try again in "
        f"{RETRY_AFTER_S} seconds."
    )


def reason(error: BaseException, waited_s: float) -> str:
    """What went wrong, for the person reading the answer."""
    if isinstance(error, RPCError):
        return f"Temporal answered {error.status.name if error.status else 'an error'}: {error}"
    return (
        f"the workflow did not answer within {waited_s:g} s (the worker or Temporal may "
        "be restarting)"
    )


def may_have_been_recorded(
    what: str,
    error: BaseException,
    waited_s: float,
    check: str,
    keyed: bool,
    verb: str = "recorded",
) -> TemporalUnavailable:
    """``what`` (e.g. "the completion of task X") may have been ``verb``; ``check`` is
    the read that tells (e.g. "GET /applications/X")."""
    retry = (
        f"or retry with the same {HEADER}: you get the first answer if it was recorded, "
        "and it is recorded now if not."
        if keyed
        else f"send an {HEADER} header with commands, so that a retry can never record one twice."
    )
    return TemporalUnavailable(
        f"{what[0].upper()}{what[1:]} may have been {verb}: {reason(error, waited_s)}. "
        f"{check} tells whether it was; {retry} Try again in {RETRY_AFTER_S} seconds."
    )


async def _failed(_: Request, exc: Exception) -> JSONResponse:
    # The net under every route: one that called Temporal without mapping its errors
    # still answers a truthful 503, never a 500.
    return JSONResponse(
        {
            "detail": f"Temporal failed ({type(exc).__name__}: {exc}); the command may "
            "have been recorded. Read what it changes to find out, or retry with the "
            f"same {HEADER}."
        },
        status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
        headers={"Retry-After": str(RETRY_AFTER_S)},
    )


def install(app: FastAPI) -> None:
    app.add_exception_handler(RPCError, _failed)
    app.add_exception_handler(WorkflowUpdateRPCTimeoutOrCancelledError, _failed)
