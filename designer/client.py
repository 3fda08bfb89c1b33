"""The designer's only way to the data: the Lincah HTTP API, with the caller's token.

Every call raises ``ApiError`` with a message fit to show a person: the API's own reason
(and its list of problems, each with a path), or why the API could not be reached.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from designer.i18n import _

DEFAULT_URL = "http://127.0.0.1:8000"


def api_url() -> str:
    return os.environ.get("LINCAH_API_URL", DEFAULT_URL).rstrip("/")


@dataclass
class ApiError(Exception):
    status: int
    """HTTP status; 0 when the API could not be reached."""
    message: str
    problems: list[dict[str, str]] = field(default_factory=list)
    endpoint: str = ""

    def __str__(self) -> str:
        return self.message

    @property
    def endpoint_missing(self) -> bool:
        """The API has no such endpoint (yet): FastAPI's own 404/405, not a refusal."""
        return self.status in (404, 405) and self.message in ("Not Found", "Method Not Allowed")


class Api:
    def __init__(
        self,
        token: str | None = None,
        base_url: str | None = None,
        renew: Callable[[], str | None] | None = None,
    ) -> None:
        """``renew`` gives a fresh access token when the API says the current one has
        expired (an account's sign-in refreshes); None when it cannot."""
        self.base_url = base_url or api_url()
        self.token = token
        self.renew = renew

    # Plumbing ---------------------------------------------------------------
    def call(self, method: str, path: str, **kw: Any) -> Any:
        endpoint = f"{method} {path}"
        r = self._send(method, path, endpoint, **kw)
        if r.status_code == 401 and self.token and self.renew:
            fresh = self.renew()
            if fresh:
                self.token = fresh
                r = self._send(method, path, endpoint, **kw)
        if r.status_code >= 400:
            message, problems = _reason(r)
            raise ApiError(r.status_code, message, problems, endpoint)
        if not r.content:
            return None
        try:
            return r.json()
        except ValueError:
            return r.text

    def _send(self, method: str, path: str, endpoint: str, **kw: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        headers.update(kw.pop("headers", None) or {})
        try:
            return httpx.request(
                method, f"{self.base_url}{path}", headers=headers, timeout=20, **kw
            )
        except httpx.HTTPError as e:
            reason = _("The API at {url} is not reachable: {error}")
            raise ApiError(0, reason.format(url=self.base_url, error=e), [], endpoint) from None

    # Auth -------------------------------------------------------------------
    def login(self, login: str, password: str) -> dict[str, Any]:
        """An account's sign-in: ``access_token`` and ``refresh_token``."""
        tokens: dict[str, Any] = self.call(
            "POST", "/auth/login", json={"login": login, "password": password}
        )
        return tokens

    def refresh(self, refresh_token: str) -> dict[str, Any]:
        tokens: dict[str, Any] = self.call(
            "POST", "/auth/refresh", json={"refresh_token": refresh_token}
        )
        return tokens

    def logout(self, refresh_token: str) -> None:
        self.call("POST", "/auth/logout", json={"refresh_token": refresh_token})

    def me(self) -> dict[str, Any]:
        found: dict[str, Any] = self.call("GET", "/auth/me")
        return found

    def dev_token(self, subject: str, role: str, agency: str | None) -> str:
        """Development fallback: a token for any subject (the API has this route in
        development only)."""
        body = {"subject": subject, "role": role, "agency": agency}
        token: str = self.call("POST", "/auth/dev-token", json=body)["access_token"]
        return token

    # Services ---------------------------------------------------------------
    def services(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self.call("GET", "/services")
        return found

    def service(self, service_id: str, min_position: int | None = None) -> dict[str, Any]:
        params = {"min_position": min_position} if min_position else None
        found: dict[str, Any] = self.call("GET", f"/services/{service_id}", params=params)
        return found

    def save_draft(self, definition: dict[str, Any], new: bool = False) -> dict[str, Any]:
        """``new``: creating a service, so an id already in use is refused (409)."""
        params = {"new": "true"} if new else None
        saved: dict[str, Any] = self.call("POST", "/services", json=definition, params=params)
        return saved

    def validate(self, definition: dict[str, Any]) -> list[dict[str, str]]:
        answer = self.call("POST", "/services/validate", json=definition)
        problems: list[dict[str, str]] = answer["problems"]
        return problems

    def save_work(self, service_id: str, definition: dict[str, Any]) -> dict[str, Any]:
        """Keep the work in progress on the server, problems and all."""
        done: dict[str, Any] = self.call("PUT", f"/services/{service_id}/work", json=definition)
        return done

    def work(self, service_id: str) -> dict[str, Any] | None:
        """The work in progress on a service; None when there is none."""
        try:
            found: dict[str, Any] = self.call("GET", f"/services/{service_id}/work")
        except ApiError as e:
            if e.status == 404 and not e.endpoint_missing:
                return None
            raise
        return found

    def works(self) -> list[dict[str, Any]]:
        """The agency's services with work in progress not saved as a draft yet."""
        found: list[dict[str, Any]] = self.call("GET", "/services/work")
        return found

    def discard_work(self, service_id: str, why: str = "discarded") -> None:
        self.call("DELETE", f"/services/{service_id}/work", params={"why": why})

    def import_bpmn(self, xml: bytes) -> dict[str, Any]:
        """A BPMN file read into a definition, with what was left out and why."""
        found: dict[str, Any] = self.call(
            "POST",
            "/services/import/bpmn",
            content=xml,
            headers={"Content-Type": "application/xml"},
        )
        return found

    def export_bpmn(self, definition: dict[str, Any]) -> str:
        xml: str = self.call("POST", "/services/export/bpmn", json=definition)
        return xml

    def version_bpmn(self, service_id: str, version: int) -> str:
        xml: str = self.call("GET", f"/services/{service_id}/versions/{version}/bpmn")
        return xml

    # Audit ------------------------------------------------------------------
    def audit_events(self, application_id: str) -> dict[str, Any]:
        """Every event of an application with its actor, time and hash, and whether its
        hash chain verifies."""
        found: dict[str, Any] = self.call("GET", f"/audit/applications/{application_id}/events")
        return found

    def audit_state(self, application_id: str, at: str | None) -> dict[str, Any]:
        """The application as it stood at ``at`` (an ISO time or a position)."""
        params = {"at": at} if at else None
        found: dict[str, Any] = self.call(
            "GET", f"/audit/applications/{application_id}", params=params
        )
        return found

    def audit_replay(self, application_id: str) -> dict[str, Any]:
        """The application's Temporal history replayed against today's workflow code:
        ``replayed``, ``events``, ``failure``, ``workflow_id``, ``run_id``."""
        found: dict[str, Any] = self.call("POST", f"/audit/applications/{application_id}/replay")
        return found

    def audit_verification(self) -> dict[str, Any]:
        """The whole log's hash chains, checked against the last signed checkpoint."""
        found: dict[str, Any] = self.call("GET", "/audit/verification")
        return found

    def publish(self, service_id: str, version: int) -> dict[str, Any]:
        done: dict[str, Any] = self.call(
            "POST", f"/services/{service_id}/versions/{version}/publish"
        )
        return done

    def archive(self, service_id: str) -> dict[str, Any]:
        done: dict[str, Any] = self.call("POST", f"/services/{service_id}/archive")
        return done

    def diff(self, service_id: str, a: int, b: int) -> dict[str, Any]:
        found: dict[str, Any] = self.call("GET", f"/services/{service_id}/versions/{a}/diff/{b}")
        return found

    def calendar(self, agency: str) -> dict[str, Any]:
        found: dict[str, Any] = self.call("GET", f"/agencies/{agency}/calendar")
        return found

    # Applications and tasks -------------------------------------------------
    def submit(self, service_id: str, data: dict[str, Any]) -> dict[str, Any]:
        body = {"service_id": service_id, "data": data}
        done: dict[str, Any] = self.call("POST", "/applications", json=body)
        return done

    def applications(self, status: str | None = None, limit: int = 500) -> list[dict[str, Any]]:
        params: dict[str, Any] = {"limit": limit}
        if status:
            params["status"] = status
        found: list[dict[str, Any]] = self.call("GET", "/applications", params=params)
        return found

    def application(
        self, application_id: str, min_position: int | None = None, reason: str | None = None
    ) -> dict[str, Any]:
        """``reason``: why a member of staff reads it, for the citizen's access log."""
        params: dict[str, Any] = {"min_position": min_position} if min_position else {}
        if reason:
            params["reason"] = reason
        found: dict[str, Any] = self.call(
            "GET", f"/applications/{application_id}", params=params or None
        )
        return found

    def tasks(self, min_position: int | None = None) -> list[dict[str, Any]]:
        params = {"min_position": min_position} if min_position else None
        found: list[dict[str, Any]] = self.call("GET", "/tasks", params=params)
        return found

    def claim(self, task_id: str) -> dict[str, Any]:
        done: dict[str, Any] = self.call("POST", f"/tasks/{task_id}/claim")
        return done

    def complete(
        self, task_id: str, outcome: str, comment: str, fields: list[str] | None = None
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"outcome": outcome, "comment": comment}
        if fields:
            body["fields"] = fields  # what the citizen must fix, for a return

        done: dict[str, Any] = self.call("POST", f"/tasks/{task_id}/complete", json=body)
        return done

    def stats(self) -> dict[str, Any]:
        found: dict[str, Any] = self.call("GET", "/stats/applications")
        return found

    def queue_stats(self, start: str, end: str) -> dict[str, Any]:
        """The counter queue's figures of the caller's locations over local days."""
        found: dict[str, Any] = self.call("GET", "/stats/queue", params={"from": start, "to": end})
        return found

    def standard_reviews(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self.call("GET", "/stats/standard-reviews")
        return found


def _reason(r: httpx.Response) -> tuple[str, list[dict[str, str]]]:
    """The API's reason, whatever its shape (text, ours with problems, FastAPI's 422)."""
    try:
        body = r.json()
    except ValueError:
        return f"{r.status_code}: {r.text[:300]}", []
    if not isinstance(body, dict):
        return f"{r.status_code}: {str(body)[:300]}", []
    problems = [
        {"path": str(p.get("path", "")), "message": str(p.get("message", ""))}
        for p in body.get("problems") or []
        if isinstance(p, dict)
    ]
    detail = body.get("detail", body.get("message", body))
    if isinstance(detail, list):  # FastAPI request validation
        for p in detail:
            if isinstance(p, dict):
                loc = ".".join(str(x) for x in p.get("loc", []) if x != "body")
                problems.append({"path": loc, "message": str(p.get("msg", ""))})
        return _("the request has problems"), problems
    return str(detail), problems
