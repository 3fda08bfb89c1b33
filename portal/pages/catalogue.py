"""The service catalogue and each service's standard (public pages)."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from portal.client import detail
from portal.web import ThePortal

router = APIRouter()


@router.get("/", response_class=HTMLResponse)
async def catalogue(request: Request, portal: ThePortal) -> Response:
    r = await portal.api.public("GET", "/public/services")
    return portal.render(request, "catalogue.html", agencies=r.json())


@router.get("/services/{service_id}", response_class=HTMLResponse)
async def standard(request: Request, portal: ThePortal, service_id: str) -> Response:
    r = await portal.api.public("GET", f"/public/services/{quote(service_id)}/standard")
    if r.status_code != 200:
        return portal.render(request, "problem.html", status=r.status_code, problem=detail(r))
    return portal.render(request, "standard.html", service_id=service_id, std=r.json())
