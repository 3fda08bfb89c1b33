"""What the law makes public, without a token (UU 25/2009 art. 15 and 22): the catalogue
of published services by agency, each version's Standar Pelayanan (JSON or a printable
page), and each agency's maklumat pelayanan."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, HTTPException, Query, status
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from api import errors
from api.deps import Consistent, ModelsDep, StoreDep
from commands.agencies import calendar_of, maklumat_of
from commands.catalogue import load_service
from domain import ikm, ikm_report, standard
from domain.services import ServiceState, VersionInfo
from projections.readmodels import ReadModels

router = APIRouter(prefix="/public", tags=["public"])


@router.get("/services")
def catalogue(models: ModelsDep, _: Consistent) -> list[dict[str, Any]]:
    """Published services that take applications, grouped by agency."""
    agencies: dict[str, dict[str, Any]] = {}
    for s in models.services():
        latest = s.latest_published
        if latest is None or s.archived:
            continue
        agency = latest.definition.agency
        entry = agencies.setdefault(
            agency.code, {"agency_code": agency.code, "agency_name": agency.name, "services": []}
        )
        entry["services"].append(
            {
                "service_id": s.service_id,
                "name": latest.definition.name,
                "description": latest.definition.description,
                "version": latest.version,
                "published_at": latest.published_at.isoformat() if latest.published_at else None,
                "standard_url": f"/public/services/{s.service_id}/standard",
            }
        )
    return sorted(agencies.values(), key=lambda a: str(a["agency_name"]))


def _published(state: ServiceState | None, service_id: str, version: int | None) -> VersionInfo:
    published = {
        v: info for v, info in (state.versions if state else {}).items() if info.published_at
    }
    if not published:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, f"there is no published service {service_id!r}"
        )
    chosen = max(published) if version is None else version
    if chosen not in published:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND,
            f"service {service_id!r} has no published version {version}; published: "
            + ", ".join(str(v) for v in sorted(published)),
        )
    return published[chosen]


def skm_results(models: ReadModels, service_id: str) -> dict[str, Any] | None:
    """The service's Survei Kepuasan Masyarakat (PermenPANRB 14/2017) of this year so
    far, shown beside its standard: the IKM, its grade and the sample; None before its
    first answer. The whole report: GET /stats/ikm?service=..."""
    year = str(ikm.local_day(datetime.now(ikm.WIB)).year)
    start, end = (d.isoformat() for d in ikm.period_bounds(year))
    answers = models.survey_responses(None, service_id, start, end)
    if not answers:
        return None
    population = models.ended_count(None, service_id, start, end)
    report = ikm_report.build(
        answers, population, period=year, agency=None, service=service_id,
        with_suggestions=False,
    )  # fmt: skip
    shown = ("period", "respondents", "population", "minimum_sample", "sample_reached",
             "ikm", "grade", "kinerja", "priority")  # fmt: skip
    return {k: report[k] for k in shown}


def _wants_html(fmt: str | None, accept: str | None) -> bool:
    if fmt is not None:
        return fmt == "html"
    return "text/html" in (accept or "")


@router.get(
    "/services/{service_id}/standard",
    responses={200: {"content": {"text/html": {}}}, **errors.answers(404)},
)
async def service_standard(
    service_id: str,
    store: StoreDep,
    models: ModelsDep,
    version: Annotated[int | None, Query(ge=1, description="Default: the latest")] = None,
    fmt: Annotated[Literal["json", "html"] | None, Query(alias="format")] = None,
    accept: Annotated[str | None, Header()] = None,
) -> Any:
    """The Standar Pelayanan of a published version (the latest, or ``version``: the
    version an application was made under stays retrievable). JSON by default; a
    printable page with ``?format=html`` or ``Accept: text/html``."""
    state = await run_in_threadpool(load_service, store, service_id)
    info = _published(state, service_id, version)
    # The publication date as the agency's own calendar day (WIB, WITA or WIT).
    calendar = await run_in_threadpool(calendar_of, store, info.definition.agency.code)
    local = timezone(timedelta(hours=calendar.utc_offset_hours))
    published_at = info.published_at.astimezone(local) if info.published_at else None
    std = standard.generate(info.definition, published_at)
    if _wants_html(fmt, accept):
        promise = await run_in_threadpool(maklumat_of, store, std.agency_code)
        if promise is None:
            return HTMLResponse(standard.html_page(std))
        signer = f"{promise['position_title']}, {promise['signed_by']}"
        return HTMLResponse(standard.html_page(std, promise["text"], signer))
    return {
        **std.as_json(),
        "archived": bool(state and state.archived),
        "versions": sorted(
            v for v, i in (state.versions if state else {}).items() if i.published_at
        ),
        "skm": await run_in_threadpool(skm_results, models, service_id),
        "maklumat_url": f"/public/agencies/{std.agency_code}/maklumat",
    }


@router.get("/agencies/{agency_code}/maklumat", responses=errors.answers(404))
async def maklumat(agency_code: str, store: StoreDep) -> dict[str, Any]:
    """The agency head's maklumat pelayanan (set with PUT /agencies/{code}/maklumat)."""
    found = await run_in_threadpool(maklumat_of, store, agency_code)
    if found is None:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, f"agency {agency_code!r} has not published a maklumat"
        )
    return found
