"""Refresh-token families: a login starts one, each refresh rotates its token, logout
revokes it. Only SHA-256 hashes of tokens are stored (a token is 256 random bits, so a
plain hash is enough). A rotated token presented again means a copy exists: the whole
family is revoked. Password changes and suspensions raise the account's epoch, which
ends every family started before (``domain.accounts.judge_refresh``)."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from domain import accounts as acc
from domain.refusals import Unauthenticated, Unavailable
from eventstore.port import EventStore, NewEvent, WrongExpectedVersion

_INVALID = "the refresh token is not valid (expired, revoked or unknown); log in again"


@dataclass(frozen=True)
class Issued:
    account: acc.Account
    refresh_token: str


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _new_token(family: str) -> str:
    return f"{family}.{secrets.token_urlsafe(32)}"


def _family_of(token: str) -> str | None:
    family, _, rest = token.partition(".")
    return family if len(family) == 32 and rest else None


class Sessions:
    def __init__(self, store: EventStore, ttl_s: int) -> None:
        self.store = store
        self.ttl_s = ttl_s

    def _session(self, family: str) -> acc.Session | None:
        events = self.store.read_stream(acc.session_stream(family))
        if events and self._all_ended_after(events[0].position):
            return None  # started before everyone was logged out: as good as unknown
        return acc.fold_session(events)

    def _all_ended_after(self, position: int) -> bool:
        last = self.store.read_stream(acc.ALL_SESSIONS_STREAM, backwards=True, limit=1)
        return bool(last) and last[0].position > position

    def end_all(self, reason: str, by: str) -> int:
        """Log everyone out: every family started so far is over (one event, however
        many sessions there are). The event's position."""
        event = NewEvent(uuid.uuid4(), acc.ALL_SESSIONS_ENDED, {"reason": reason, "by": by})
        return self.store.append(acc.ALL_SESSIONS_STREAM, [event]).positions[-1]

    def start(self, account: acc.Account) -> Issued:
        family = uuid.uuid4().hex
        token = _new_token(family)
        expires = datetime.now(UTC) + timedelta(seconds=self.ttl_s)
        data = {
            "family": family,
            "account_id": account.account_id,
            "epoch": account.epoch,
            "expires_at": expires.isoformat(),
            "token_hash": _hash(token),
        }
        event = NewEvent(uuid.uuid4(), acc.SESSION_STARTED, data)
        self.store.append(acc.session_stream(family), [event], -1)
        return Issued(account, token)

    def rotate(self, token: str) -> Issued:
        family = _family_of(token)
        session = self._session(family) if family else None
        account = (
            acc.fold_account(self.store.read_stream(acc.account_stream(session.account_id)))
            if session
            else None
        )
        verdict = acc.judge_refresh(session, _hash(token), account, datetime.now(UTC))
        if verdict == "reused" and session is not None:
            self._revoke(session, "a rotated refresh token was used again", "system")
        if verdict != "ok" or session is None or account is None:
            raise Unauthenticated(_INVALID)
        new = _new_token(session.family)
        event = NewEvent(uuid.uuid4(), acc.SESSION_ROTATED, {"token_hash": _hash(new)})
        try:
            self.store.append(acc.session_stream(session.family), [event], session.version)
        except WrongExpectedVersion:
            # The same token was just rotated by another request: one of them is a copy.
            self._revoke(session, "a refresh token was used twice at once", "system")
            raise Unauthenticated(_INVALID) from None
        return Issued(account, new)

    def revoke(self, token: str) -> None:
        """Logout: end the family the (current) token belongs to. Unknown, old or
        already revoked tokens are ignored, so logging out twice does no harm."""
        family = _family_of(token)
        session = self._session(family) if family else None
        if session is None or session.revoked or session.current_hash != _hash(token):
            return
        self._revoke(session, "logout", session.account_id)

    def _revoke(self, session: acc.Session, reason: str, by: str) -> None:
        stream = acc.session_stream(session.family)
        for _ in range(10):
            current = self._session(session.family)
            if current is None or current.revoked:
                return
            event = NewEvent(uuid.uuid4(), acc.SESSION_REVOKED, {"reason": reason, "by": by})
            try:
                self.store.append(stream, [event], current.version)
                return
            except WrongExpectedVersion:
                continue
        raise Unavailable("could not revoke the session just now; try again")
