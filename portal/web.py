"""What every page shares: the ``Portal`` (API client, sessions, templates), the CSRF
check of posted forms, redirects, and the dependencies that hand a route the Portal
and the signed-in citizen's session."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

import httpx
from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape

from config.settings import Settings
from portal import i18n
from portal.client import Api, SignedOut
from portal.sessions import COOKIE, CSRF_FIELD, Session, Sessions
from portal.words import PROVENANCE_WORDS, STATUS_WORDS

HERE = Path(__file__).resolve().parent


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


def redirect(to: str) -> RedirectResponse:
    return RedirectResponse(to, status_code=303)


def to_login(request: Request) -> RedirectResponse:
    return redirect(f"/login?next={quote(request.url.path)}")


def the_portal(request: Request) -> Portal:
    """The app's one Portal (``create_app`` puts it on the app's state)."""
    portal: Portal = request.app.state.portal
    return portal


async def signed_session(request: Request) -> Session:
    """The signed-in citizen's session; anyone else is sent to log in, and back (the
    app answers ``SignedOut`` with ``to_login``)."""
    session, _ = the_portal(request).session(request)
    if not session.signed_in:
        raise SignedOut
    return session


ThePortal = Annotated[Portal, Depends(the_portal)]
SignedIn = Annotated[Session, Depends(signed_session)]
