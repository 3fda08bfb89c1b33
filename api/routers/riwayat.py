"""Riwayat, the citizen's own history: their applications (filtered and paged), each in
full with its timeline in their words, and the download of all their data (the right
of access under UU 27/2022, ``GET /me/export``)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Final

from fastapi import APIRouter, Depends, HTTPException, Query, status
from fastapi.responses import StreamingResponse
from pydantic import BaseModel
from starlette.concurrency import iterate_in_threadpool

from api import errors, limits
from api.deps import MAX_POSITION, Citizen, Consistent, RuntimeDep, current_user
from api.routers.face import FaceStoreDep
from domain.checks import Problem
from domain.refusals import Invalid
from projections.export import ExportContext, export_document
from projections.riwayat import Detail, Riwayat, Summary

router = APIRouter(tags=["riwayat"])

EARLIEST: Final = date(2000, 1, 1)
LATEST: Final = date(2099, 12, 31)
DAY: Final = "A day (YYYY-MM-DD, on the WIB calendar), inclusive"


class Page(BaseModel):
    items: list[Summary]
    total: int
    """How many applications match the filters, over all pages."""
    limit: int
    offset: int


@router.get("/me/applications", response_model=Page, responses=errors.answers(422))
def my_applications(
    user: Citizen,
    rt: RuntimeDep,
    _: Consistent,
    status_is: Annotated[
        str | None,
        Query(alias="status", pattern=r"^[a-z_]{1,40}$", examples=["in_review", "approved"]),
    ] = None,
    service: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=64,
            description="A service id",
            examples=["surat-keterangan-domisili"],
        ),
    ] = None,
    start: Annotated[
        date | None, Query(alias="from", ge=EARLIEST, le=LATEST, description=DAY)
    ] = None,
    end: Annotated[date | None, Query(alias="to", ge=EARLIEST, le=LATEST, description=DAY)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0, le=MAX_POSITION)] = 0,
) -> Page:
    """Your applications, newest first, each as a summary. Narrow them by ``status``,
    ``service`` and the period they were submitted in (``from``/``to``, days on the WIB
    calendar, both inclusive)."""
    if start is not None and end is not None and start > end:
        raise Invalid(
            f"the period ends ({end}) before it starts ({start}); give a 'to' day on or "
            "after the 'from' day",
            [Problem("query.to", "is before query.from")],
        )
    items, total = Riwayat(rt.store, rt.models, rt.settings).summaries(
        user.subject,
        status=status_is,
        service_id=service,
        start=start,
        end=end,
        limit=limit,
        offset=offset,
    )
    return Page(items=items, total=total, limit=limit, offset=offset)


@router.get(
    "/me/applications/{application_id}", response_model=Detail, responses=errors.answers(404)
)
def my_application(application_id: str, user: Citizen, rt: RuntimeDep, _: Consistent) -> Detail:
    """One of your applications in full: its timeline in words (who did what, by their
    part: you, an officer, the cashier), its data, the documents issued with their
    download and verification addresses, and its payments."""
    detail = Riwayat(rt.store, rt.models, rt.settings).of(user.subject, application_id)
    if detail is None:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, f"there is no application {application_id} you may see"
        )
    return detail


@router.get(
    "/me/export",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "All your data as one JSON document (an attachment)",
            "content": {"application/json": {"schema": {"type": "object"}}},
        }
    },
)
async def export_my_data(
    user: Citizen,
    _limit: Annotated[None, Depends(limits.per_account("export", current_user))],
    rt: RuntimeDep,
    faces: FaceStoreDep,
    _: Consistent,
) -> StreamingResponse:
    """Download all of your data as one JSON document: your account, applications
    (with their timelines and data), complaints, survey answers, notifications, issued
    documents and whether you enrolled a face (your right of access under UU 27/2022
    tentang Pelindungan Data Pribadi). ``sections`` lists what it holds; a section with
    more than ``export_max_items`` items is cut there and marked ``truncated``. Limited
    per account (``rate_limit_export``)."""
    ctx = ExportContext(
        store=rt.store,
        models=rt.models,
        settings=rt.settings,
        accounts=rt.accounts,
        faces=faces,
        riwayat=Riwayat(rt.store, rt.models, rt.settings),
        outbox=rt.outbox,
        limit=rt.settings.export_max_items,
    )
    now = datetime.now(UTC)
    return StreamingResponse(
        iterate_in_threadpool(export_document(ctx, user.subject, now=now)),
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="lincah-data-{now:%Y-%m-%d}.json"'},
    )
