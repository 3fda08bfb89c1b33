"""The citizen's account: register, confirm the e-mail, log in and out, the language."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from portal import i18n
from portal.client import detail
from portal.sessions import COOKIE
from portal.web import ThePortal, redirect

router = APIRouter()


@router.get("/lang/{language}")
async def choose_language(portal: ThePortal, language: str, next: str = "/") -> Response:
    response = redirect(next if next.startswith("/") and not next.startswith("//") else "/")
    response.set_cookie(
        i18n.COOKIE,
        i18n.language_of(language),
        max_age=365 * 86400,
        samesite="lax",
        secure=portal.secure,
    )
    return response


@router.get("/register", response_class=HTMLResponse)
async def register_form(request: Request, portal: ThePortal) -> Response:
    return portal.render(request, "register.html", values={})


@router.post("/register", response_class=HTMLResponse)
async def register(request: Request, portal: ThePortal) -> Response:
    got = await portal.posted(request)
    if isinstance(got, Response):
        return got
    _, form = got
    values = {k: str(form.get(k, "")) for k in ("nik", "full_name", "email", "phone")}
    body: dict[str, Any] = {**values, "password": str(form.get("password", ""))}
    if not body["phone"]:
        del body["phone"]
    r = await portal.api.public("POST", "/auth/register", json=body)
    if r.status_code != 202:
        return portal.render(request, "register.html", status=422, values=values, problem=detail(r))
    return portal.render(request, "confirm.html", account=r.json())


@router.post("/confirm", response_class=HTMLResponse)
async def confirm(request: Request, portal: ThePortal) -> Response:
    got = await portal.posted(request)
    if isinstance(got, Response):
        return got
    session, form = got
    account = {"account_id": str(form.get("account_id", "")), "email": form.get("email")}
    r = await portal.api.public(
        "POST",
        "/auth/confirm",
        json={"account_id": account["account_id"], "code": str(form.get("code", "")).strip()},
    )
    if r.status_code != 200:
        return portal.render(
            request, "confirm.html", status=422, account=account, problem=detail(r)
        )
    session.flash = "confirmed"
    return redirect("/login")


@router.get("/login", response_class=HTMLResponse)
async def login_form(request: Request, portal: ThePortal, next: str = "/applications") -> Response:
    return portal.render(request, "login.html", next=next)


@router.post("/login", response_class=HTMLResponse)
async def login(request: Request, portal: ThePortal) -> Response:
    got = await portal.posted(request)
    if isinstance(got, Response):
        return got
    session, form = got
    target = str(form.get("next", "/applications"))
    if not target.startswith("/") or target.startswith("//"):
        target = "/applications"
    r = await portal.api.public(
        "POST",
        "/auth/login",
        json={
            "login": str(form.get("login", "")).strip(),
            "password": str(form.get("password", "")),
        },
    )
    if r.status_code != 200:
        return portal.render(
            request, "login.html", status=r.status_code, next=target, problem=detail(r)
        )
    fresh = portal.sessions.renew(session)
    fresh.access_token = r.json()["access_token"]
    fresh.refresh_token = r.json().get("refresh_token")
    me = await portal.api.call(fresh, "GET", "/auth/me")
    if me.json().get("role") != "citizen":
        # Staff work in the designer; the portal's pages read a citizen's own data.
        portal.sessions.drop(fresh)
        return portal.render(request, "login.html", status=403, next=target, staff=True)
    response = redirect(target)
    portal.set_cookie(response, fresh)
    return response


@router.post("/logout")
async def logout(request: Request, portal: ThePortal) -> Response:
    got = await portal.posted(request)
    if isinstance(got, Response):
        return got
    session, _ = got
    if session.refresh_token:
        await portal.api.public(
            "POST", "/auth/logout", json={"refresh_token": session.refresh_token}
        )
    portal.sessions.drop(session)
    response = redirect("/")
    response.delete_cookie(COOKIE, path="/")
    return response
