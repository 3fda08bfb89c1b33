"""Where a citizen is reached: the one place that says so. Today the e-mail address
and the phone number of the citizen's account (``domain.accounts.Account``); a subject
without an account (a development token) has neither."""

from __future__ import annotations

from dataclasses import dataclass

from domain import accounts as acc
from eventstore.port import EventStore


@dataclass(frozen=True)
class Contact:
    email: str | None = None
    phone: str | None = None


def contact(store: EventStore, citizen: str) -> Contact:
    account = acc.fold_account(store.read_stream(acc.account_stream(citizen)))
    if account is None:
        return Contact()
    return Contact(email=account.email or None, phone=account.phone or None)
