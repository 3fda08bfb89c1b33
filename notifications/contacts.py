"""Where a citizen is reached: the one place that says so. The phone number and e-mail
address the citizen keeps in their profile (``commands.profile``) come first, as the
ones they chose to be reached at; else those of their account
(``domain.accounts.Account``). A subject without an account (a development token) has
neither."""

from __future__ import annotations

from dataclasses import dataclass

from commands.profile import profile_of
from config.settings import Settings
from domain import accounts as acc
from eventstore.port import EventStore


@dataclass(frozen=True)
class Contact:
    email: str | None = None
    phone: str | None = None


def contact(store: EventStore, settings: Settings, citizen: str) -> Contact:
    account = acc.fold_account(store.read_stream(acc.account_stream(citizen)))
    if account is None:
        return Contact()
    kept = profile_of(store, settings, citizen).values()
    return Contact(
        email=kept.get("email") or account.email or None,
        phone=kept.get("phone") or account.phone or None,
    )
