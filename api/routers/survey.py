"""The satisfaction survey (SKM) and its index (IKM) over HTTP: what the portal offers a
citizen to answer, the answer (``commands/survey.py``), the IKM for staff and auditors
as JSON and CSV, and the page an agency publishes."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, status
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from api import errors, idempotency
from api.deps import (
    AgencyScope,
    Citizen,
    Consistent,
    CurrentUser,
    ModelsDep,
    RuntimeDep,
    StoreDep,
)
from api.idempotency import IdempotencyKey, Key
from api.security import Principal
from commands import survey
from domain import ikm, ikm_report
from domain.refusals import Forbidden, NotFound
from projections.readmodels import ReadModels

router = APIRouter(tags=["survey"])

Period = Annotated[
    str | None,
    Query(
        pattern=r"^(19|20)\d{2}(-S[12])?$",
        description="A year (1900-2099: 2026) or a semester (2026-S1, 2026-S2); default: this year",
        examples=["2026", "2026-S2"],
    ),
]
Code = Annotated[str | None, Query(min_length=1, max_length=64)]
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]")


@router.get("/me/surveys")
def my_surveys(user: Citizen, models: ModelsDep, _: Consistent) -> list[dict[str, Any]]:
    """The caller's ended applications, each with whether its survey has been answered
    (what the portal offers to answer)."""
    return [
        {**row, "survey_url": f"/applications/{row['application_id']}/survey"}
        for row in models.ended_applications(user.subject)
    ]


@router.post(
    "/applications/{application_id}/survey",
    status_code=status.HTTP_201_CREATED,
    responses=errors.answers(
        404, 409, _409="The application has not ended yet, or its survey was answered"
    ),
)
async def answer_survey(
    application_id: str,
    answers: survey.Answers,
    user: Citizen,
    rt: RuntimeDep,
    store: StoreDep,
    idempotency_key: IdempotencyKey = None,
) -> dict[str, Any]:
    """The citizen answers the survey of their ended application, once."""
    request = {"application_id": application_id, "answers": answers}
    key = Key.of(idempotency_key, user.subject, "answer-survey", request)

    def region_of(agency_code: str) -> str | None:
        agency = rt.accounts.agency(agency_code)
        return agency.region if agency else None

    async def run() -> dict[str, Any]:
        position = await run_in_threadpool(
            survey.answer,
            store,
            application_id,
            user.subject,
            answers,
            region_of,
            key.event_id if key else None,
        )
        return {"application_id": application_id, "position": position}

    return await idempotency.once(store, key, run, idempotency.as_dict)


def _period(period: str | None) -> str:
    return period or str(ikm.local_day(datetime.now(ikm.WIB)).year)


def _report(
    models: ReadModels,
    agencies: frozenset[str] | None,
    agency: str | None,
    service: str | None,
    period: str,
    *,
    with_suggestions: bool,
) -> dict[str, Any]:
    start, end = (d.isoformat() for d in ikm.period_bounds(period))
    answers = models.survey_responses(agencies, service, start, end)
    population = models.ended_count(agencies, service, start, end)
    return ikm_report.build(
        answers,
        population,
        period=period,
        agency=agency,
        service=service,
        with_suggestions=with_suggestions,
    )


def _scoped(
    user: Principal, scope: frozenset[str] | None, agency: str | None
) -> frozenset[str] | None:
    """The agencies the caller's report covers: ``agency`` when they may read it, else
    every agency of their scope."""
    if not (user.is_staff or user.role in ("auditor", "region_admin")):
        raise Forbidden("the IKM reports are for agency staff, region administrators and auditors")
    if agency is None:
        return scope
    if scope is not None and agency not in scope:
        raise Forbidden(f"agency {agency} is outside what you oversee")
    return frozenset({agency})


@router.get("/stats/ikm", responses=errors.answers(403))
def ikm_stats(
    user: CurrentUser,
    scope: AgencyScope,
    models: ModelsDep,
    _: Consistent,
    agency: Code = None,
    service: Code = None,
    period: Period = None,
) -> dict[str, Any]:
    """The IKM of an agency (default: every agency the caller oversees: theirs, or their
    region's), optionally of one service, for a year or semester: NRR per unsur, the
    IKM and its grade, respondents beside the population and the minimum sample, and
    the priority unsur. Suggestions are listed as texts only."""
    agencies = _scoped(user, scope, agency)
    return _report(models, agencies, agency, service, _period(period), with_suggestions=True)


@router.get(
    "/stats/ikm.csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}}, **errors.answers(403)},
)
def ikm_csv(
    user: CurrentUser,
    scope: AgencyScope,
    models: ModelsDep,
    _: Consistent,
    agency: Code = None,
    service: Code = None,
    period: Period = None,
) -> Response:
    """GET /stats/ikm as CSV: one row per unsur."""
    agencies = _scoped(user, scope, agency)
    report = _report(models, agencies, agency, service, _period(period), with_suggestions=False)
    # Any text may be asked as an agency code; the file name keeps only what a header
    # and every file system take (a non-Latin-1 code once made this answer 500).
    name = _SAFE_NAME.sub("_", f"ikm-{agency or 'semua'}-{report['period']}.csv")
    return Response(
        ikm_report.as_csv(report),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get(
    "/public/agencies/{agency_code}/ikm",
    response_class=HTMLResponse,
    responses={200: {"content": {"text/html": {}}}, **errors.answers(404)},
)
def public_ikm(
    agency_code: str, rt: RuntimeDep, models: ModelsDep, period: Period = None
) -> HTMLResponse:
    """The agency's IKM as a printable page in Bahasa Indonesia (public, as its
    Standar Pelayanan): the table per unsur, the IKM and its grade, a chart, and the
    priority unsur."""
    registered = rt.accounts.agency(agency_code)
    services = models.services(agency_code)
    if registered is None and not services:
        raise NotFound(f"there is no agency {agency_code!r}")
    if registered is not None:
        name = registered.name
    else:  # an agency known only from its services' definitions
        latest = services[0].latest_published
        name = latest.definition.agency.name if latest else agency_code
    report = _report(
        models, frozenset({agency_code}), agency_code, None, _period(period), with_suggestions=False
    )
    return HTMLResponse(ikm_report.html_page(report, name))
