"""Server-side sessions: the API's tokens never reach the browser. The browser holds only
a random session id in an httpOnly, SameSite=Lax cookie (Secure in production); every
form carries the session's CSRF token, which a POST must return."""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Final

COOKIE: Final = "lincah_portal"
CSRF_FIELD: Final = "csrf_token"
IDLE_S: Final = 8 * 3600
"""A session nobody used for this long is forgotten (as the API's refresh token ages)."""


@dataclass
class Session:
    id: str
    csrf: str
    access_token: str | None = None
    refresh_token: str | None = None
    flash: str | None = None
    """A message for the next page shown (e.g. after a redirect)."""
    used_at: float = field(default_factory=time.monotonic)

    @property
    def signed_in(self) -> bool:
        return self.access_token is not None

    def csrf_ok(self, sent: str | None) -> bool:
        return sent is not None and hmac.compare_digest(sent, self.csrf)


class Sessions:
    """In the portal process's memory: a restart signs everyone out, and several portal
    processes would each need the citizen to sign in (run one, or put a shared store
    behind this class)."""

    def __init__(self) -> None:
        self._by_id: dict[str, Session] = {}
        self._lock = threading.Lock()

    def new(self) -> Session:
        s = Session(id=secrets.token_urlsafe(32), csrf=secrets.token_urlsafe(32))
        with self._lock:
            self._forget_idle()
            self._by_id[s.id] = s
        return s

    def get(self, session_id: str | None) -> Session | None:
        if not session_id:
            return None
        with self._lock:
            s = self._by_id.get(session_id)
            if s is None or time.monotonic() - s.used_at > IDLE_S:
                self._by_id.pop(session_id, None)
                return None
            s.used_at = time.monotonic()
            return s

    def renew(self, old: Session) -> Session:
        """A new id and CSRF token at sign-in, so an id planted before it is worthless."""
        with self._lock:
            self._by_id.pop(old.id, None)
        return self.new()

    def drop(self, session: Session) -> None:
        with self._lock:
            self._by_id.pop(session.id, None)

    def _forget_idle(self) -> None:
        now = time.monotonic()
        for sid in [k for k, s in self._by_id.items() if now - s.used_at > IDLE_S]:
            del self._by_id[sid]
