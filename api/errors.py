"""Turning refusals into HTTP answers a person can act on; never a 500 for a client's
mistake."""

from __future__ import annotations

from dataclasses import asdict

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError

from api.commands import CommandRefused
from workflows import errors as wf

_UPDATE_STATUS = {
    wf.TASK_NOT_FOUND: 404,
    wf.TASK_NOT_OPEN: 409,
    wf.ROLE_MISMATCH: 403,
    wf.OUTCOME_NOT_ALLOWED: 422,
    wf.NOT_WAITING: 409,
    wf.NOT_ALLOWED: 403,
    wf.INVALID_INPUT: 422,
}


def refusal_from_update(err: WorkflowUpdateFailedError) -> CommandRefused:
    cause = err.cause
    if isinstance(cause, ApplicationError) and cause.type in _UPDATE_STATUS:
        return CommandRefused(_UPDATE_STATUS[cause.type], cause.message)
    return CommandRefused(409, f"the application refused the command: {cause}")


async def _refused(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, CommandRefused)
    body: dict[str, object] = {"detail": exc.message}
    if exc.problems:
        body["problems"] = [asdict(p) for p in exc.problems]
    return JSONResponse(body, status_code=exc.status)


def install(app: FastAPI) -> None:
    app.add_exception_handler(CommandRefused, _refused)
