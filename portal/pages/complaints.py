"""The citizen's complaints (pengaduan): those filed, and filing one."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from portal.client import detail
from portal.sessions import Session
from portal.web import Portal, SignedIn, ThePortal, redirect, to_login
from portal.words import ANONYMITY, COMPLAINT_STATUS_WORDS, COMPLAINT_SUBJECTS

router = APIRouter()


@router.get("/complaints", response_class=HTMLResponse)
async def complaints(
    request: Request, portal: ThePortal, session: SignedIn, at: int = 0
) -> Response:
    return await complaints_page(request, portal, session, {}, at=at)


async def complaints_page(
    request: Request,
    portal: Portal,
    session: Session,
    values: dict[str, str],
    problem: str | None = None,
    at: int = 0,
) -> Response:
    params = {"min_position": at} if at else {}
    mine = (await portal.api.call(session, "GET", "/me/complaints", params=params)).json()
    agencies = (await portal.api.public("GET", "/public/services")).json()
    return portal.render(
        request,
        "complaints.html",
        status=422 if problem else 200,
        complaints=mine,
        agencies=agencies,
        values=values,
        problem=problem,
        subjects=COMPLAINT_SUBJECTS,
        anonymity=ANONYMITY,
        complaint_words=COMPLAINT_STATUS_WORDS,
    )


@router.post("/complaints", response_class=HTMLResponse)
async def complain(request: Request, portal: ThePortal) -> Response:
    got = await portal.posted(request)
    if isinstance(got, Response):
        return got
    session, form = got
    if not session.signed_in:
        return to_login(request)
    values = {
        k: str(form.get(k, "")).strip() for k in ("agency", "kind", "ref", "text", "anonymity")
    }
    r = await portal.api.call(
        session,
        "POST",
        "/complaints",
        json={
            "agency": values["agency"],
            "text": values["text"],
            "subject": {"kind": values["kind"], "ref": values["ref"]},
            "anonymity": values["anonymity"] or "named",
        },
    )
    if r.status_code != 201:
        return await complaints_page(request, portal, session, values, detail(r))
    session.flash = "complaint-filed"
    return redirect(f"/complaints?at={r.json()['position']}")
