"""The satisfaction surveys (survei kepuasan masyarakat) of finished applications."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from portal.client import detail
from portal.web import SignedIn, ThePortal, redirect, to_login
from portal.words import SCORES, UNSUR

router = APIRouter()


@router.get("/surveys", response_class=HTMLResponse)
async def surveys(request: Request, portal: ThePortal, session: SignedIn) -> Response:
    r = await portal.api.call(session, "GET", "/me/surveys")
    return portal.render(request, "surveys.html", ended=r.json())


@router.get("/applications/{application_id}/survey", response_class=HTMLResponse)
async def survey_form(
    request: Request, portal: ThePortal, session: SignedIn, application_id: str
) -> Response:
    return portal.render(
        request,
        "survey.html",
        application_id=application_id,
        unsur=UNSUR,
        scores=SCORES,
        chosen={},
    )


@router.post("/applications/{application_id}/survey", response_class=HTMLResponse)
async def answer_survey(request: Request, portal: ThePortal, application_id: str) -> Response:
    got = await portal.posted(request)
    if isinstance(got, Response):
        return got
    session, form = got
    if not session.signed_in:
        return to_login(request)
    chosen = {u: str(form.get(u, "")) for u in UNSUR}
    answers: dict[str, Any] = {u: int(v) for u, v in chosen.items() if v in SCORES}
    answers["suggestion"] = str(form.get("suggestion", ""))
    r = await portal.api.call(
        session, "POST", f"/applications/{quote(application_id)}/survey", json=answers
    )
    if r.status_code != 201:
        return portal.render(
            request,
            "survey.html",
            status=422,
            application_id=application_id,
            unsur=UNSUR,
            scores=SCORES,
            chosen=chosen,
            problem=detail(r),
        )
    session.flash = "survey-answered"
    return redirect("/surveys")
