"""The registry's commands on a real SQLite event store (no API): invitations, their
codes and expiry, suspension rights, and the bootstrap CLI's answers."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass

import pytest

from accounts.mail import Mailer
from accounts.registry import Registry
from api.errors import status_of
from config.settings import Settings
from domain import accounts as acc
from domain.refusals import Refusal
from eventstore.factory import open_event_store
from lincah import admin, cli


class Captured(Mailer):
    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self.sent: list[tuple[str, str]] = []

    def send(self, to: str, subject: str, body: str) -> None:
        self.sent.append((to, body))


@pytest.fixture
def reg(tmp_path):
    settings = Settings(var_dir=tmp_path / "var", jwt_secret="x" * 40)
    store = open_event_store("sqlite", settings.eventstore_location)
    registry = Registry(store, settings, Captured(settings))
    registry.create_region("35.10", "Kabupaten Banyuwangi", "test")
    registry.create_region("35.09", "Kabupaten Jember", "test")
    registry.create_agency("BWI", "DPMPTSP Banyuwangi", "35.10", "test")
    registry.create_agency("JMB", "DPMPTSP Jember", "35.09", "test")
    yield registry
    store.close()


BWI_ADMIN = acc.Inviter("agency_admin", "BWI", None)
JMB_ADMIN = acc.Inviter("agency_admin", "JMB", None)


@dataclass(frozen=True)
class Refused:
    status: int
    """The status the API answers the refusal with (``api.errors.STATUS``)."""
    message: str


def refused(call, *args) -> Refused:
    with pytest.raises(Refusal) as e:
        call(*args)
    return Refused(status_of(e.value), e.value.message)


def test_codes_are_one_time_and_expire(reg, monkeypatch):
    inv = reg.invite(BWI_ADMIN, "s-admin", "Budi@Banyuwangikab.go.id", "Budi", "officer", "BWI")
    assert reg.mailer.sent[-1] == ("budi@banyuwangikab.go.id", reg.mailer.sent[-1][1])
    assert inv.code in reg.mailer.sent[-1][1]
    stored = reg.account(inv.account_id)
    assert stored.code_hash is not None and inv.code not in stored.code_hash
    assert refused(reg.accept_invitation, inv.email, "not-the-code", "budi-pass-2026").status == 400
    reg.accept_invitation(inv.email, inv.code, "budi-pass-2026")
    again = refused(reg.accept_invitation, inv.email, inv.code, "budi-pass-2027")
    assert again.status == 400

    late = reg.invite(BWI_ADMIN, "s-admin", "sari@banyuwangikab.go.id", "Sari", "cashier", "BWI")
    monkeypatch.setattr("accounts.registry._now", lambda: late.expires_at)
    assert refused(reg.accept_invitation, late.email, late.code, "sari-pass-2026").status == 400


def test_an_open_invitation_is_not_taken_by_another_agency(reg, monkeypatch):
    first = reg.invite(BWI_ADMIN, "s-admin", "eko@x.id", "Eko", "officer", "BWI")
    assert (
        refused(reg.invite, JMB_ADMIN, "s-jmb", "eko@x.id", "Eko", "officer", "JMB").status == 409
    )
    # Inviting again from the same agency sends a new code; the old one stops working.
    second = reg.invite(BWI_ADMIN, "s-admin", "eko@x.id", "Eko", "officer", "BWI")
    assert second.account_id == first.account_id and second.code != first.code
    assert refused(reg.accept_invitation, "eko@x.id", first.code, "eko-pass-2026").status == 400
    # Once it has lapsed, another agency may invite the address.
    monkeypatch.setattr("accounts.registry._now", lambda: second.expires_at)
    moved = reg.invite(JMB_ADMIN, "s-jmb", "eko@x.id", "Eko", "officer", "JMB")
    monkeypatch.undo()
    reg.accept_invitation("eko@x.id", moved.code, "eko-pass-2026")
    assert [a.email for a in reg.staff(JMB_ADMIN)] == ["eko@x.id"]
    assert [a.email for a in reg.staff(BWI_ADMIN)] == []
    taken = refused(reg.invite, BWI_ADMIN, "s-admin", "eko@x.id", "Eko", "officer", "BWI")
    assert taken.status == 409


def test_only_their_own_administrators_suspend_staff(reg):
    inv = reg.invite(BWI_ADMIN, "s-admin", "budi@x.id", "Budi", "officer", "BWI")
    reg.accept_invitation(inv.email, inv.code, "budi-pass-2026")
    assert refused(reg.set_suspended, JMB_ADMIN, "s-jmb", inv.account_id, True).status == 404
    jember = acc.Inviter("region_admin", None, "35.09")
    assert refused(reg.set_suspended, jember, "s-r", inv.account_id, True).status == 404
    banyuwangi = acc.Inviter("region_admin", None, "35.10")
    suspended = reg.set_suspended(banyuwangi, "s-r", inv.account_id, True, "audit finding")
    assert suspended.status == "suspended" and suspended.epoch == 1
    assert refused(reg.set_suspended, BWI_ADMIN, "s-admin", inv.account_id, True).status == 409
    assert reg.set_suspended(BWI_ADMIN, "s-admin", inv.account_id, False).status == "active"
    assert [h["by"] for h in reg.account(inv.account_id).history] == [
        "s-admin", inv.account_id, "s-r", "s-admin",
    ]  # fmt: skip


def test_officers_are_limited_to_services_of_their_own_agency(reg):
    e = refused(reg.invite, BWI_ADMIN, "s-a", "x@x.id", "X", "officer", "BWI", None, ["nope"])
    assert e.status == 422 and "nope" in e.message
    e = refused(reg.invite, BWI_ADMIN, "s-a", "y@x.id", "Y", "agency_admin", "BWI", None, ["a"])
    assert e.status == 422


def test_the_bootstrap_cli_answers_for_people(reg):
    out = io.StringIO()
    args = cli.build_parser().parse_args(["admin", "create-region", "3510", "Banyuwangi"])
    assert admin.main(args, reg.settings, out) == 1
    assert "35.10" in out.getvalue()  # says what a region code looks like
    out = io.StringIO()
    argv = ["admin", "invite", "ratna@x.id", "--name", "Ratna", "--agency", "BWI"]
    assert admin.main(cli.build_parser().parse_args(argv), reg.settings, out) == 0
    code = re.search(r"One-time code: (\S+)", out.getvalue())
    assert code and reg.accept_invitation("ratna@x.id", code.group(1), "ratna-pass-2026")
    assert reg.account(reg.for_login("ratna@x.id").account_id).history[0]["by"].startswith("cli:")
