"""The Lincah API over HTTP, as the signed-in citizen: their access token goes with
every call, and an expired one is renewed once with the refresh token."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from domain.wording.problems import explain
from portal.sessions import Session


class SignedOut(Exception):
    """The API no longer accepts the session's tokens: the citizen must log in again."""


def detail(r: httpx.Response) -> str:
    """The API's own message of a refusal (what happened, what to do)."""
    try:
        body = r.json()
    except ValueError:
        return r.text
    found = body.get("detail") if isinstance(body, dict) else None
    if isinstance(found, list):  # validation errors: each names its field
        return "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', [])[1:])}: {e.get('msg', '')}" for e in found
        )
    return str(found or body)


def problems(r: httpx.Response, language: str, form: Mapping[str, Any]) -> list[str]:
    """Each problem the API listed with a refusal (``problems``: path and technical
    message), as a sentence for the citizen in ``language``, naming the field by its
    label on ``form``; [] when the answer lists none."""
    try:
        body = r.json()
    except ValueError:
        return []
    listed = body.get("problems") if isinstance(body, dict) else None
    return [
        explain(str(p.get("path", "")), str(p.get("message", "")), language, definition=form)
        for p in listed or []
        if isinstance(p, dict)
    ]


class Api:
    def __init__(self, base_url: str, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.http = httpx.AsyncClient(base_url=base_url, timeout=30, transport=transport)

    async def aclose(self) -> None:
        await self.http.aclose()

    async def public(self, method: str, path: str, **kw: Any) -> httpx.Response:
        return await self.http.request(method, path, **kw)

    async def call(self, session: Session, method: str, path: str, **kw: Any) -> httpx.Response:
        if session.access_token is None:
            raise SignedOut
        r = await self._as(session, method, path, **kw)
        if r.status_code == 401 and await self._refresh(session):
            r = await self._as(session, method, path, **kw)
        if r.status_code == 401:
            session.access_token = session.refresh_token = None
            raise SignedOut
        return r

    async def _as(self, session: Session, method: str, path: str, **kw: Any) -> httpx.Response:
        headers = {**kw.pop("headers", {}), "Authorization": f"Bearer {session.access_token}"}
        return await self.http.request(method, path, headers=headers, **kw)

    async def _refresh(self, session: Session) -> bool:
        if session.refresh_token is None:
            return False
        r = await self.http.post("/auth/refresh", json={"refresh_token": session.refresh_token})
        if r.status_code != 200:
            return False
        session.access_token = r.json()["access_token"]
        session.refresh_token = r.json()["refresh_token"]
        return True
