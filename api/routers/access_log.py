"""The access log, read back (``domain.access_log``; written by ``api.access``): the
citizen sees who looked at their data ("siapa yang melihat data saya"), the auditor
every read of their agency's records."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from api import errors, security
from api.deps import (
    MAX_POSITION,
    AgencyScope,
    Citizen,
    Consistent,
    ModelsDep,
    RuntimeDep,
    require_role,
)
from commands import access_log
from domain.access_log import What
from domain.checks import Problem
from domain.refusals import Invalid

router = APIRouter(tags=["access log"])

Auditor = Annotated[security.Principal, Depends(require_role("auditor"))]
Limit = Annotated[int, Query(ge=1, le=500)]
Offset = Annotated[int, Query(ge=0, le=MAX_POSITION)]


class ReadOfMyData(BaseModel):
    """One read of your data by someone at an agency. The reader is named by their
    role and agency, as on every other page of yours; the agency's auditor can name
    the person."""

    at: datetime
    role: str
    """officer, supervisor, cashier, agency_admin, auditor, ..."""
    agency: str | None
    agency_name: str | None
    what: What
    application: str | None
    document: str | None
    """The document or attachment read, where it was one."""
    task: str | None
    """The task the reader held on your application."""
    reason: str | None
    """The reason the reader gave."""


class MyAccessLog(BaseModel):
    items: list[ReadOfMyData]
    total: int
    limit: int
    offset: int


@router.get("/me/access-log", response_model=MyAccessLog, responses=errors.answers(422))
def my_access_log(
    user: Citizen, rt: RuntimeDep, limit: Limit = 50, offset: Offset = 0
) -> MyAccessLog:
    """Who looked at your data: every read of your applications, documents and profile
    by agency staff and auditors, newest first, with why (the task they held, or the
    reason they gave). Read from your own log, so a read shows here at once."""
    reads, total = access_log.reads_of(rt.store, user.subject, limit=limit, offset=offset)
    names: dict[str, str | None] = {}

    def agency_name(code: str | None) -> str | None:
        if code is None:
            return None
        if code not in names:
            agency = rt.accounts.agency(code)
            names[code] = agency.name if agency else None
        return names[code]

    return MyAccessLog(
        items=[
            ReadOfMyData(
                at=at,
                role=r.role,
                agency=r.agency,
                agency_name=agency_name(r.agency),
                what=r.what,
                application=r.application,
                document=r.item,
                task=r.task,
                reason=r.reason,
            )
            for at, r in reads
        ],
        total=total,
        limit=limit,
        offset=offset,
    )


class AccessEntry(BaseModel):
    position: int
    """The read's event-store position (its event is on the stream ``access-<citizen>``)."""
    at: datetime
    citizen: str
    what: What
    application: str | None
    item: str | None
    agency: str | None
    """The agency whose records were read."""
    staff: str
    """The reader's account."""
    role: str
    staff_agency: str | None
    task: str | None
    reason: str | None


class AccessLogPage(BaseModel):
    items: list[AccessEntry]
    total: int
    """How many reads match the filters, over all pages."""
    limit: int
    offset: int


def _utc(moment: datetime | None, name: str) -> str | None:
    if moment is None:
        return None
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    try:
        return aware.astimezone(UTC).isoformat(timespec="microseconds")
    except OverflowError:  # e.g. 9999-12-31T23:00-05:00 is past datetime's range in UTC
        raise Invalid(
            f"{name} is out of range", [Problem(f"query.{name}", "not a time Lincah can hold")]
        ) from None


@router.get("/audit/access-log", response_model=AccessLogPage, responses=errors.answers(422))
async def access_log_for_auditors(
    _: Auditor,
    scope: AgencyScope,
    models: ModelsDep,
    __: Consistent,
    application: Annotated[str | None, Query(max_length=64)] = None,
    staff: Annotated[str | None, Query(max_length=200, description="The reader's account")] = None,
    citizen: Annotated[str | None, Query(max_length=200)] = None,
    since: Annotated[
        datetime | None, Query(description="From this time (inclusive; UTC without offset)")
    ] = None,
    until: Annotated[
        datetime | None, Query(description="Before this time (exclusive; UTC without offset)")
    ] = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> AccessLogPage:
    """Every read of personal data in your agency's records (your region's agencies',
    for a region's auditor), newest first: who (account, role, agency), when, whose,
    what, and why (the task held, the reason given: a read with neither deserves a look)."""
    rows, total = await run_in_threadpool(
        models.access_log,
        agencies=scope,
        application=application,
        staff=staff,
        citizen=citizen,
        since=_utc(since, "since"),
        until=_utc(until, "until"),
        limit=limit,
        offset=offset,
    )
    return AccessLogPage(
        items=[AccessEntry.model_validate(r) for r in rows], total=total, limit=limit, offset=offset
    )
