"""Which registry account (``accounts/registry.py``) a person logging in through an
OpenID Connect provider is.

A provider names each person by a ``sub`` (subject) that is stable for that provider
only. The first login of a subject records a link, provider + subject -> account, as
``FederatedIdentityLinked`` in its own stream ``federated-<provider>-<sha256 of the
subject>``; later logins read that stream and need no claims. The link is appended with
the stream's expected version (-1 for the first), so racing first logins make one link
and all end on its account.

Which account a first login links to, by the provider's *verified* e-mail address
(``email`` with ``email_verified: true``; unverified ones are refused):

- a citizens' provider: the citizen account of that address (registered with a password
  or through another provider); else, when the provider is authoritative for NIKs
  (``nik_claim``), the account of that NIK; else a new citizen account, active at once
  (the provider verified the address, as the confirmation code would have).
- a staff provider: only the staff account an administrator invited with that address
  (``POST /staff/invitations``); the login takes up an open invitation.

Suspended accounts are refused, and an account of the other kind is never reached.
Linking on a verified address trusts the provider as much as the code Lincah mails to
that address: configure only providers that verify addresses themselves.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from accounts.registry import Registry, normalise_email
from config.settings import OidcProvider
from domain import accounts as acc
from domain.nik import NikError, validate_nik
from domain.refusals import Conflict, Forbidden, Unavailable
from eventstore.port import NO_STREAM, NewEvent, WrongExpectedVersion


@dataclass(frozen=True)
class Identity:
    """What a first login's verified claims say about the person."""

    email: str
    full_name: str
    nik: str | None


def subject_digest(subject: str) -> str:
    # Subjects can be long, hold any character and identify a person; stream names and
    # events carry their hash only.
    return hashlib.sha256(subject.encode()).hexdigest()


def link_stream(provider: str, subject: str) -> str:
    return acc.federated_stream(provider, subject_digest(subject))


def sign_in(
    registry: Registry, provider: OidcProvider, subject: str, claims: Mapping[str, Any]
) -> acc.Account:
    """The account ``subject`` at ``provider`` signs in to: linked before, or linked now.
    ``claims`` are the verified ID token's (and UserInfo's). Raises a refusal."""
    if not subject:
        raise Forbidden(f"the ID token of {provider.name!r} names no subject (sub)")
    digest = subject_digest(subject)
    key = acc.link_key(provider.name, digest)
    stream = acc.federated_stream(provider.name, digest)
    for _ in range(10):
        link = acc.fold_federated(registry.store.read_stream(stream))
        account = _linked(registry, link, key) if link else None
        if account is not None:
            return registry.link_identity(account.account_id, key, provider.accounts)
        target = _target(registry, provider, _identity(provider, claims))
        data = {"provider": provider.name, "subject_sha256": digest, **target}
        try:
            registry.store.append(
                stream,
                [NewEvent(uuid.uuid4(), acc.FEDERATED_LINK, data)],
                link.version if link else NO_STREAM,
            )
        except WrongExpectedVersion:
            continue  # another login of this subject linked it just now: follow that link
    raise Unavailable("too many logins of this person at once; try again")


def _linked(registry: Registry, link: acc.FederatedLink, key: str) -> acc.Account | None:
    """The link's account; for a link made to create one, created now if a login
    stopped before it did. None when it can no longer be created (its e-mail address
    went to another account meanwhile): the login links again."""
    if link.new_citizen is None:
        return registry.account(link.account_id)
    return registry.federated_citizen(link.account_id, key, **link.new_citizen)


def _identity(provider: OidcProvider, claims: Mapping[str, Any]) -> Identity:
    email = claims.get("email")
    if not isinstance(email, str) or not email.strip():
        raise Forbidden(
            f"the ID token of {provider.name!r} carries no 'email' claim; the provider's "
            f"scopes ({' '.join(provider.scopes)}) must ask for it",
        )
    if claims.get("email_verified") is not True:
        raise Forbidden(
            f"{provider.name!r} has not verified the e-mail address {email}; verify it "
            "there, then log in again",
        )
    nik = claims.get(provider.nik_claim) if provider.nik_claim else None
    if nik is not None:
        try:
            validate_nik(str(nik))
        except NikError as e:
            raise Forbidden(f"{provider.name!r} sent a NIK Lincah cannot use: {e}") from None
    email = normalise_email(email)
    name = claims.get("name")
    full_name = name.strip() if isinstance(name, str) and name.strip() else email
    return Identity(email, full_name, None if nik is None else str(nik))


def _target(registry: Registry, provider: OidcProvider, who: Identity) -> dict[str, Any]:
    """What a first login links to: ``account_id``, plus ``new_citizen`` when the login
    creates that account. Raises a refusal."""
    by_email = registry.for_login(who.email)
    if provider.accounts == "staff":
        if by_email is None:
            raise Forbidden(
                f"no Lincah staff account has the e-mail address {who.email}; ask your "
                "administrator to invite it (POST /staff/invitations), then log in again",
            )
        return _existing(registry, by_email, provider)
    nik_id = acc.citizen_account_id(registry.lookup("nik", who.nik)) if who.nik else None
    by_nik = registry.account(nik_id) if nik_id else None
    if by_nik is not None and by_nik.status != "unconfirmed":
        if by_email is not None and by_email.account_id != by_nik.account_id:
            raise _two_accounts(who)
        return _existing(registry, by_nik, provider)
    if by_email is not None:
        if nik_id is not None and by_email.nik_masked is not None:
            raise _two_accounts(who)  # the address's account is another NIK's
        return _existing(registry, by_email, provider)
    # A NIK's unconfirmed registration is replaced, as a new registration would.
    return {
        "account_id": nik_id or f"c-{uuid.uuid4().hex}",
        "new_citizen": {
            "full_name": who.full_name,
            "email": who.email,
            "nik_masked": acc.mask_nik(who.nik) if who.nik else None,
        },
    }


def _existing(registry: Registry, account: acc.Account, provider: OidcProvider) -> dict[str, Any]:
    # Refused before the link is made, so a refused login leaves no link behind.
    registry.refuse_federated(account, provider.accounts)
    return {"account_id": account.account_id}


def _two_accounts(who: Identity) -> Conflict:
    return Conflict(
        f"the e-mail address {who.email} and your NIK belong to two different Lincah "
        "accounts; contact the service desk to merge them",
    )
