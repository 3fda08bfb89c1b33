"""Which Lincah account a person logging in through an OpenID Connect provider is.

A provider names each person by a ``sub`` (subject) that is stable for that provider
only. The first login of a subject records a link, provider + subject -> Lincah account,
as an event in its own stream ``federated-<provider>-<sha256 of the subject>``; later
logins read that stream. The link is appended with expected version NO_STREAM, so two
first logins racing each other create one link and both end up on the winner's account.

Citizens get an account on their first login. Staff roles are never handed out by a
login alone: an agency administrator first invites the person's e-mail address or NIK
(``invite``), and the first login whose identity claim matches takes up the invitation.

The events here are a minimal stand-in for the accounts of ``domain/accounts.py``
(``AccountCreated`` in stream ``account-<id>``); the README's federation section says
what the integration of both needs.
"""

from __future__ import annotations

import contextlib
import hashlib
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from config.settings import OidcProvider
from domain.accounts import AGENCY_ROLES as STAFF
from domain.refusals import Forbidden
from eventstore.port import NO_STREAM, EventStore, NewEvent, WrongExpectedVersion

LINKED = "FederatedIdentityLinked"
INVITED = "FederatedLoginInvited"
ACCOUNT_CREATED = "AccountCreated"


class FederationRefused(Forbidden):
    """The login is genuine, but it does not lead to a Lincah account; the message says
    why and what to do."""


@dataclass(frozen=True)
class FederatedAccount:
    account_id: str
    role: str
    agency: str | None
    created: bool
    """True when this login created the Lincah account."""


def _digest(value: str) -> str:
    # Subjects and e-mail addresses can be long, hold any character and identify a
    # person; stream names carry their hash only.
    return hashlib.sha256(value.encode()).hexdigest()


def link_stream(provider: str, subject: str) -> str:
    return f"federated-{provider}-{_digest(subject)}"


def invite_stream(provider: str, identity: str) -> str:
    return f"federated-invite-{provider}-{_digest(_normalised(identity))}"


def account_stream(account_id: str) -> str:
    return f"account-{account_id}"


def _normalised(identity: str) -> str:
    return identity.strip().lower()


def link_or_create(
    store: EventStore, provider: OidcProvider, subject: str, claims: Mapping[str, Any]
) -> FederatedAccount:
    """The Lincah account of ``subject`` at ``provider``: linked before, or linked now
    (a new citizen account, or the staff account of an invitation). ``claims`` are the
    verified ID token's. Raises FederationRefused."""
    if not subject:
        raise FederationRefused(f"the ID token of {provider.name!r} names no subject (sub)")
    stream = link_stream(provider.name, subject)
    link = _read_link(store, stream)
    if link is not None:
        return _ensure_account(store, link)
    identity = _identity(provider, claims)
    role: str = provider.role
    agency: str | None = provider.agency
    if role in STAFF:
        invitation = _read_invitation(store, provider.name, identity)
        if invitation is None:
            raise FederationRefused(
                f"{provider.name!r} accounts get the role {provider.role!r} only when invited; "
                "ask your agency administrator to invite your "
                f"{provider.identity_claim}, then log in again"
            )
        role, agency = invitation
    data: dict[str, Any] = {
        "provider": provider.name,
        "subject_sha256": _digest(subject),
        "account_id": str(uuid.uuid4()),
        "role": role,
        "agency": agency,
        "created_account": True,
        "identity": {provider.identity_claim: identity},
    }
    try:
        store.append(stream, [NewEvent(uuid.uuid4(), LINKED, data)], expected_version=NO_STREAM)
    except WrongExpectedVersion:
        # Another first login of the same subject won the race: take its account.
        data = _read_link(store, stream) or data
        return _ensure_account(store, data)
    return _ensure_account(store, data, created=True)


def invite(store: EventStore, provider: OidcProvider, identity: str) -> None:
    """Let the person whose identity claim (e-mail or NIK) is ``identity`` log in through
    ``provider`` with its staff role and agency. Inviting twice changes nothing."""
    if provider.role not in STAFF:
        raise ValueError(
            f"{provider.name!r} gives the role {provider.role!r}; only staff logins are invited"
        )
    stream = invite_stream(provider.name, identity)
    data = {"provider": provider.name, "role": provider.role, "agency": provider.agency}
    with contextlib.suppress(WrongExpectedVersion):  # invited before
        store.append(stream, [NewEvent(uuid.uuid4(), INVITED, data)], expected_version=NO_STREAM)


def _identity(provider: OidcProvider, claims: Mapping[str, Any]) -> str:
    value = claims.get(provider.identity_claim)
    if not isinstance(value, str) or not value.strip():
        raise FederationRefused(
            f"the ID token of {provider.name!r} carries no {provider.identity_claim!r} claim; "
            f"the provider's scopes ({' '.join(provider.scopes)}) must ask for it"
        )
    if provider.identity_claim == "email" and claims.get("email_verified") is False:
        raise FederationRefused(
            f"{provider.name!r} has not verified the e-mail address {value}; verify it "
            "there, then log in again"
        )
    return _normalised(value)


def _read_link(store: EventStore, stream: str) -> dict[str, Any] | None:
    for event in store.read_stream(stream):
        if event.type == LINKED:
            return event.data
    return None


def _read_invitation(
    store: EventStore, provider: str, identity: str
) -> tuple[str, str | None] | None:
    for event in store.read_stream(invite_stream(provider, identity)):
        if event.type == INVITED:
            return event.data["role"], event.data["agency"]
    return None


def _ensure_account(
    store: EventStore, link: Mapping[str, Any], *, created: bool = False
) -> FederatedAccount:
    """The linked account, its creation recorded if the link created it. The creation is
    appended after the link, so a crash in between is repaired by the next login instead
    of leaving an account that no login reaches."""
    account = FederatedAccount(link["account_id"], link["role"], link["agency"], created)
    stream = account_stream(account.account_id)
    if not link.get("created_account") or store.stream_version(stream) != NO_STREAM:
        return account
    data = {
        "account_id": account.account_id,
        "role": account.role,
        "agency": account.agency,
        "source": f"oidc:{link['provider']}",
        **link["identity"],
    }
    with contextlib.suppress(WrongExpectedVersion):  # a racing login recorded it
        store.append(
            stream, [NewEvent(uuid.uuid4(), ACCOUNT_CREATED, data)], expected_version=NO_STREAM
        )
    return account
