"""The portal's pages. Every page is a plain HTML form or link, so the core paths (log
in, apply, track) work without JavaScript; htmx only enhances them."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

import httpx
from fastapi import Depends, FastAPI, Request
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.datastructures import UploadFile

from config.settings import Settings
from portal import i18n
from portal.client import Api, SignedOut, detail
from portal.sessions import COOKIE, CSRF_FIELD, Session, Sessions

HERE = Path(__file__).resolve().parent
STATUS_WORDS = {
    "submitted": "Submitted",
    "in_review": "Being processed",
    "approved": "Finished: approved",
    "rejected": "Finished: rejected",
    "cancelled": "Cancelled",
}
"""Each status in words (msgids; the catalogues translate them)."""
PROVENANCE_WORDS = {
    "self-declared": "Declared by you",
    "verified-counter": "Verified at the counter",
    "verified-face": "Verified by face",
}


def environments() -> dict[str, Environment]:
    """One template environment per language, with its catalogue installed."""
    out = {}
    for language in i18n.LANGUAGES:
        env = Environment(
            loader=FileSystemLoader(HERE / "templates"),
            autoescape=select_autoescape(["html"]),
            extensions=["jinja2.ext.i18n"],
        )
        env.install_gettext_translations(i18n.catalogue(language), newstyle=True)  # type: ignore[attr-defined]
        out[language] = env
    return out


class Portal:
    def __init__(self, settings: Settings, transport: httpx.AsyncBaseTransport | None) -> None:
        self.settings = settings
        self.api = Api(settings.api_base_url, transport)
        self.sessions = Sessions()
        self.templates = environments()
        self.secure = settings.environment == "production"

    def session(self, request: Request) -> tuple[Session, bool]:
        """The request's session, or a new one (True: its cookie must be set)."""
        found = self.sessions.get(request.cookies.get(COOKIE))
        return (found, False) if found else (self.sessions.new(), True)

    def set_cookie(self, response: Response, session: Session) -> None:
        response.set_cookie(
            COOKIE, session.id, httponly=True, samesite="lax", secure=self.secure, path="/"
        )

    def render(
        self, request: Request, name: str, status: int = 200, **context: Any
    ) -> HTMLResponse:
        session, fresh = self.session(request)
        language = i18n.language_of(request.cookies.get(i18n.COOKIE))
        zone = self.settings.portal_time_zone
        flash, session.flash = session.flash, None
        html = (
            self.templates[language]
            .get_template(name)
            .render(
                lang=language,
                other_lang="en" if language == "id" else "id",
                here=quote(request.url.path),
                session=session,
                csrf_field=CSRF_FIELD,
                flash=flash,
                when=lambda at: i18n.when(at, zone),
                day=lambda at: i18n.day(at, zone),
                when_in=i18n.when,
                rupiah=i18n.rupiah,
                status_words=STATUS_WORDS,
                provenance_words=PROVENANCE_WORDS,
                **context,
            )
        )
        response = HTMLResponse(html, status_code=status)
        if fresh:
            self.set_cookie(response, session)
        return response

    async def posted(self, request: Request) -> tuple[Session, Any] | HTMLResponse:
        """The form of a POST whose CSRF token matches the session's; else a 403 page."""
        session = self.sessions.get(request.cookies.get(COOKIE))
        form = await request.form()
        sent = form.get(CSRF_FIELD)
        if session is None or not session.csrf_ok(sent if isinstance(sent, str) else None):
            return self.render(request, "refused.html", status=403)
        return session, form


PROFILE_FIELDS = {
    "full_name": "Full name",
    "kk_number": "Family card (KK) number",
    "birth_place": "Place of birth",
    "birth_date": "Date of birth",
    "sex": "Sex",
    "address.street": "Street and number",
    "address.rt": "RT",
    "address.rw": "RW",
    "address.kelurahan_desa": "Kelurahan/desa",
    "address.kecamatan": "Kecamatan",
    "address.kabupaten_kota": "Kabupaten/kota",
    "address.province": "Province",
    "religion": "Religion",
    "marital_status": "Marital status",
    "occupation": "Occupation",
    "phone": "Phone",
    "email": "E-mail",
}
"""The profile's fields a citizen declares (the NIK is fixed at registration), with
their labels (msgids); the address's parts as ``address.<part>``, as the API names them."""

UNSUR = {
    "u1": "Requirements",
    "u2": "System, mechanism and procedure",
    "u3": "Time to finish",
    "u4": "Cost or fee",
    "u5": "The product as the standard specifies it",
    "u6": "Competence of the staff",
    "u7": "Conduct of the staff",
    "u8": "Handling of complaints, suggestions and input",
    "u9": "Facilities and infrastructure",
}
"""The satisfaction survey's nine unsur (PermenPAN-RB 14/2017), as the API names them."""
SCORES = {"1": "Not good", "2": "Fairly good", "3": "Good", "4": "Very good"}

COMPLAINT_STATUS_WORDS = {
    "received": "Received; waiting for verification",
    "info_requested": "The agency asks you for more information",
    "verified": "Accepted; being followed up",
    "followed_up": "Followed up; waiting for your answer",
    "closed": "Closed",
    "rejected": "Not accepted",
}
COMPLAINT_SUBJECTS = {
    "service": "A service",
    "application": "An application",
    "officer": "An officer",
    "unit": "A unit of the agency",
}
ANONYMITY = {
    "named": "With my name",
    "confidential": "Confidential: only the complaint officers see my name",
}


def redirect(to: str) -> RedirectResponse:
    return RedirectResponse(to, status_code=303)


def to_login(request: Request) -> RedirectResponse:
    return redirect(f"/login?next={quote(request.url.path)}")


async def signed_session(request: Request) -> Session:
    """The signed-in citizen's session; anyone else is sent to log in, and back (the
    app answers ``SignedOut`` with ``to_login``)."""
    portal: Portal = request.app.state.portal
    session, _ = portal.session(request)
    if not session.signed_in:
        raise SignedOut
    return session


SignedIn = Annotated[Session, Depends(signed_session)]


def create_app(settings: Settings, transport: httpx.AsyncBaseTransport | None = None) -> FastAPI:
    """``transport``: the API's, for tests of the portal itself (a stub API)."""
    portal = Portal(settings, transport)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        await portal.api.aclose()

    app = FastAPI(
        title="Lincah portal", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None
    )
    app.state.portal = portal
    # Slow mobile data: htmx and the pages travel compressed (htmx 51 KB -> 16 KB).
    app.add_middleware(GZipMiddleware, minimum_size=1000)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    @app.exception_handler(SignedOut)
    async def signed_out(request: Request, _: SignedOut) -> Response:
        return to_login(request)

    @app.get("/lang/{language}")
    async def choose_language(language: str, next: str = "/") -> Response:
        response = redirect(next if next.startswith("/") and not next.startswith("//") else "/")
        response.set_cookie(
            i18n.COOKIE,
            i18n.language_of(language),
            max_age=365 * 86400,
            samesite="lax",
            secure=portal.secure,
        )
        return response

    @app.get("/", response_class=HTMLResponse)
    async def catalogue(request: Request) -> Response:
        r = await portal.api.public("GET", "/public/services")
        return portal.render(request, "catalogue.html", agencies=r.json())

    @app.get("/services/{service_id}", response_class=HTMLResponse)
    async def standard(request: Request, service_id: str) -> Response:
        r = await portal.api.public("GET", f"/public/services/{quote(service_id)}/standard")
        if r.status_code != 200:
            return portal.render(request, "problem.html", status=r.status_code, problem=detail(r))
        return portal.render(request, "standard.html", service_id=service_id, std=r.json())

    # -- accounts -----------------------------------------------------------------

    @app.get("/register", response_class=HTMLResponse)
    async def register_form(request: Request) -> Response:
        return portal.render(request, "register.html", values={})

    @app.post("/register", response_class=HTMLResponse)
    async def register(request: Request) -> Response:
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
            return portal.render(
                request, "register.html", status=422, values=values, problem=detail(r)
            )
        return portal.render(request, "confirm.html", account=r.json())

    @app.post("/confirm", response_class=HTMLResponse)
    async def confirm(request: Request) -> Response:
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

    @app.get("/login", response_class=HTMLResponse)
    async def login_form(request: Request, next: str = "/applications") -> Response:
        return portal.render(request, "login.html", next=next)

    @app.post("/login", response_class=HTMLResponse)
    async def login(request: Request) -> Response:
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

    @app.post("/logout")
    async def logout(request: Request) -> Response:
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

    # -- profile and notifications -------------------------------------------------

    @app.get("/profile", response_class=HTMLResponse)
    async def profile(request: Request, session: SignedIn) -> Response:
        r = await portal.api.call(session, "GET", "/me/profile")
        return portal.render(request, "profile.html", profile=r.json(), fields=PROFILE_FIELDS)

    @app.post("/profile", response_class=HTMLResponse)
    async def change_profile(request: Request) -> Response:
        got = await portal.posted(request)
        if isinstance(got, Response):
            return got
        session, form = got
        if not session.signed_in:
            return to_login(request)
        changes: dict[str, Any] = {}
        for name in PROFILE_FIELDS:
            # An empty box keeps the stored value: the API has no "forget this field".
            if value := str(form.get(name, "")).strip():
                top, _, part = name.partition(".")
                if part:
                    changes.setdefault(top, {})[part] = value
                else:
                    changes[top] = value
        r = await portal.api.call(session, "PATCH", "/me/profile", json=changes)
        if r.status_code != 200:
            current = (await portal.api.call(session, "GET", "/me/profile")).json()
            return portal.render(
                request,
                "profile.html",
                status=422,
                profile=current,
                fields=PROFILE_FIELDS,
                problem=detail(r),
            )
        session.flash = "profile-saved"
        return redirect("/profile")

    @app.get("/notifications", response_class=HTMLResponse)
    async def notifications(request: Request, session: SignedIn) -> Response:
        r = await portal.api.call(session, "GET", "/me/notifications")
        return portal.render(request, "notifications.html", notes=r.json())

    @app.get("/appointments", response_class=HTMLResponse)
    async def appointments(request: Request, session: SignedIn) -> Response:
        r = await portal.api.call(session, "GET", "/me/appointments")
        return portal.render(request, "appointments.html", appointments=r.json())

    @app.get("/applications/{application_id}/visit/{step}", response_class=HTMLResponse)
    async def visit_slots(
        request: Request, session: SignedIn, application_id: str, step: str
    ) -> Response:
        return await slots_page(request, session, application_id, step)

    async def slots_page(
        request: Request,
        session: Session,
        application_id: str,
        step: str,
        problem: str | None = None,
    ) -> Response:
        r = await portal.api.call(session, "GET", f"/me/applications/{quote(application_id)}")
        asked = r.json().get("waiting_for_you", []) if r.status_code == 200 else []
        waiting = next((w for w in asked if w.get("step") == step), None)
        if not waiting or waiting.get("kind") != "visit":
            return portal.render(
                request,
                "problem.html",
                status=404,
                problem=detail(r) if r.status_code != 200 else None,
            )
        slots = []
        for location in waiting.get("locations", []):
            found = await portal.api.public(
                "GET",
                f"/public/locations/{quote(location)}/slots",
                params={"service": r.json()["service_id"], "days": 14},
            )
            if found.status_code == 200:
                slots += [s for s in found.json() if s["remaining"] > 0]
        slots.sort(key=lambda s: s["start"])
        return portal.render(
            request,
            "visit.html",
            status=422 if problem else 200,
            app=r.json(),
            step=step,
            visit=waiting,
            slots=slots[:40],
            problem=problem,
        )

    @app.post("/applications/{application_id}/visit/{step}", response_class=HTMLResponse)
    async def book_visit(request: Request, application_id: str, step: str) -> Response:
        got = await portal.posted(request)
        if isinstance(got, Response):
            return got
        session, form = got
        if not session.signed_in:
            return to_login(request)
        booked = await portal.api.call(
            session,
            "POST",
            "/me/appointments",
            json={
                "application_id": application_id,
                "step": step,
                "slot_id": str(form.get("slot_id", "")),
            },
        )
        if booked.status_code != 201:
            return await slots_page(request, session, application_id, step, detail(booked))
        # Choosing the time is the confirmation: the citizen gets the QR ticket at once.
        appointment = booked.json()["appointment_id"]
        confirmed = await portal.api.call(
            session, "POST", f"/me/appointments/{quote(appointment)}/confirm"
        )
        if confirmed.status_code != 200:
            return await slots_page(request, session, application_id, step, detail(confirmed))
        session.flash = "visit-booked"
        return redirect("/appointments")

    @app.get("/appointments/{appointment_id}/ticket.png")
    async def ticket(request: Request, appointment_id: str) -> Response:
        """The API's QR ticket, fetched with the session's token (an <img> cannot send it)."""
        session, _ = portal.session(request)
        if not session.signed_in:
            return Response(status_code=404)
        r = await portal.api.call(
            session, "GET", f"/me/appointments/{quote(appointment_id)}/ticket.png"
        )
        return Response(
            r.content,
            status_code=r.status_code,
            media_type="image/png",
            headers={"Cache-Control": "private, no-store"},
        )

    @app.get("/face", response_class=HTMLResponse)
    async def face(request: Request, session: SignedIn) -> Response:
        r = await portal.api.call(session, "GET", "/me/face")
        return portal.render(request, "face.html", face=r.json())

    @app.post("/face", response_class=HTMLResponse)
    async def enrol_face(request: Request) -> Response:
        got = await portal.posted(request)
        if isinstance(got, Response):
            return got
        session, form = got
        if not session.signed_in:
            return to_login(request)
        photo = form.get("photo")
        if not isinstance(photo, UploadFile) or not photo.filename:
            current = (await portal.api.call(session, "GET", "/me/face")).json()
            return portal.render(request, "face.html", status=422, face=current, missing_photo=True)
        r = await portal.api.call(
            session,
            "POST",
            "/me/face",
            files={"photo": (photo.filename, await photo.read(), photo.content_type)},
        )
        if r.status_code != 201:
            current = (await portal.api.call(session, "GET", "/me/face")).json()
            return portal.render(request, "face.html", status=422, face=current, problem=detail(r))
        session.flash = "face-enrolled"
        return redirect("/face")

    @app.get("/complaints", response_class=HTMLResponse)
    async def complaints(request: Request, session: SignedIn, at: int = 0) -> Response:
        return await complaints_page(request, session, {}, at=at)

    async def complaints_page(
        request: Request,
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

    @app.post("/complaints", response_class=HTMLResponse)
    async def complain(request: Request) -> Response:
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
            return await complaints_page(request, session, values, detail(r))
        session.flash = "complaint-filed"
        return redirect(f"/complaints?at={r.json()['position']}")

    @app.get("/surveys", response_class=HTMLResponse)
    async def surveys(request: Request, session: SignedIn) -> Response:
        r = await portal.api.call(session, "GET", "/me/surveys")
        return portal.render(request, "surveys.html", ended=r.json())

    @app.get("/applications/{application_id}/survey", response_class=HTMLResponse)
    async def survey_form(request: Request, session: SignedIn, application_id: str) -> Response:
        return portal.render(
            request,
            "survey.html",
            application_id=application_id,
            unsur=UNSUR,
            scores=SCORES,
            chosen={},
        )

    @app.post("/applications/{application_id}/survey", response_class=HTMLResponse)
    async def answer_survey(request: Request, application_id: str) -> Response:
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

    # -- applications -------------------------------------------------------------

    @app.get("/applications", response_class=HTMLResponse)
    async def my_applications(request: Request, session: SignedIn) -> Response:
        r = await portal.api.call(session, "GET", "/applications")
        return portal.render(request, "applications.html", applications=r.json())

    @app.get("/applications/{application_id}", response_class=HTMLResponse)
    async def application(
        request: Request, session: SignedIn, application_id: str, at: int = 0
    ) -> Response:
        params = {"min_position": at} if at else {}
        # The citizen's own view: the timeline worded for them, what is needed from them.
        r = await portal.api.call(
            session, "GET", f"/me/applications/{quote(application_id)}", params=params
        )
        if r.status_code != 200:
            return portal.render(request, "problem.html", status=r.status_code, problem=detail(r))
        return portal.render(request, "application.html", app=r.json())

    @app.get("/documents/{number:path}")
    async def document(request: Request, session: SignedIn, number: str) -> Response:
        """The issued PDF, fetched with the session's token, as a download."""
        r = await portal.api.call(session, "GET", f"/documents/{quote(number)}")
        if r.status_code != 200:
            return portal.render(request, "problem.html", status=r.status_code, problem=detail(r))
        disposition = r.headers.get("content-disposition", "attachment")
        return Response(
            r.content, media_type="application/pdf", headers={"Content-Disposition": disposition}
        )

    @app.get("/services/{service_id}/apply", response_class=HTMLResponse)
    async def apply_form(request: Request, session: SignedIn, service_id: str) -> Response:
        r = await portal.api.call(
            session, "GET", f"/services/{quote(service_id)}/form", params={"prefill": "true"}
        )
        if r.status_code != 200:
            return portal.render(request, "problem.html", status=r.status_code, problem=detail(r))
        return portal.render(
            request,
            "apply.html",
            form=r.json(),
            values={},
            idempotency_key=secrets.token_urlsafe(16),
        )

    @app.post("/services/{service_id}/apply", response_class=HTMLResponse)
    async def apply(request: Request, service_id: str) -> Response:
        got = await portal.posted(request)
        if isinstance(got, Response):
            return got
        session, form = got
        if not session.signed_in:
            return to_login(request)
        r = await portal.api.call(
            session, "GET", f"/services/{quote(service_id)}/form", params={"prefill": "true"}
        )
        if r.status_code != 200:
            return portal.render(request, "problem.html", status=r.status_code, problem=detail(r))
        definition = r.json()
        key = str(form.get("idempotency_key", "")) or None
        data: dict[str, str] = {}
        attachments: dict[str, str] = {}
        for field in definition["fields"]:
            fid = field["id"]
            if field["type"] != "file":
                if value := str(form.get(fid, "")).strip():
                    data[fid] = value
                continue
            upload = form.get(fid)
            if isinstance(upload, UploadFile) and upload.filename:
                up = await portal.api.call(
                    session,
                    "POST",
                    "/me/documents",
                    data={"kind": (field.get("kinds") or ["other"])[0]},
                    files={"file": (upload.filename, await upload.read(), upload.content_type)},
                )
                if up.status_code != 201:
                    return portal.render(
                        request,
                        "apply.html",
                        status=422,
                        form=definition,
                        values=data,
                        problem=detail(up),
                        idempotency_key=key,
                    )
                attachments[fid] = up.json()["document_id"]
            elif chosen := str(form.get(f"{fid}__wallet", "")):
                attachments[fid] = chosen
        r = await portal.api.call(
            session,
            "POST",
            "/applications",
            json={"service_id": service_id, "data": data, "attachments": attachments},
            headers={"Idempotency-Key": key} if key else {},
        )
        if r.status_code not in (201, 202):
            return portal.render(
                request,
                "apply.html",
                status=422,
                form=definition,
                values=data,
                problem=detail(r),
                idempotency_key=key,
            )
        submitted = r.json()
        at = f"?at={submitted['position']}" if submitted.get("position") else ""
        return redirect(f"/applications/{quote(submitted['application_id'])}{at}")

    return app
