"""Which registry account a provider's subject signs in to, on the real SQLite event
store and the real registry (no API)."""

from __future__ import annotations

import re
import threading
import uuid

import pytest

from accounts import federation
from accounts.federation import sign_in
from accounts.registry import Registry
from accounts.sessions import Sessions
from config.settings import OidcProvider, Settings
from domain import accounts as acc
from eventstore.factory import open_event_store
from eventstore.port import NO_STREAM, NewEvent
from tests.accounts.test_registry import BWI_ADMIN, Captured, refused

CITIZENS = OidcProvider(name="region", issuer="https://idp.example.id", client_id="lincah")
STAFF = OidcProvider(
    name="staff", issuer="https://idp.example.id", client_id="lincah", accounts="staff"
)
DUKCAPIL = OidcProvider(
    name="dukcapil", issuer="https://idp.example.id", client_id="lincah", nik_claim="nik"
)
SITI = {"sub": "s-1", "email": "Siti@Example.id", "email_verified": True, "name": "Siti Aminah"}
NIK = "3510154808900003"


@pytest.fixture
def reg(tmp_path):
    settings = Settings(var_dir=tmp_path / "var", jwt_secret="x" * 40)
    store = open_event_store("sqlite", settings.eventstore_location)
    registry = Registry(store, settings, Captured(settings))
    registry.create_region("35.10", "Kabupaten Banyuwangi", "test")
    registry.create_agency("BWI", "DPMPTSP Banyuwangi", "35.10", "test")
    yield registry
    store.close()


def test_a_first_login_creates_an_active_citizen_account_and_later_ones_find_it(reg):
    siti = sign_in(reg, CITIZENS, "s-1", SITI)
    assert (siti.kind, siti.role, siti.status, siti.email) == (
        "citizen", "citizen", "active", "siti@example.id",
    )  # fmt: skip
    assert siti.full_name == "Siti Aminah" and siti.password_hash is None and siti.can_sign_in
    # A registry account like any other: found by its e-mail address, one event long.
    assert reg.for_login("siti@example.id") == siti
    assert [e.type for e in reg.store.read_stream(acc.account_stream(siti.account_id))] == [
        acc.CITIZEN_FEDERATED
    ]
    assert sign_in(reg, CITIZENS, "s-1", {"sub": "s-1"}) == siti  # claims no longer needed
    # Nobody else can take the address: registering it is refused at confirmation.
    other = reg.register("3510151203850001", "Impostor", "siti@example.id", None, "imp-pass-1")
    code = re.search(r"code: (\d{6})", reg.mailer.sent[-1][1])
    assert code and refused(reg.confirm, other.account_id, code.group(1)).status == 409


def test_another_provider_with_the_same_verified_email_reaches_the_same_account(reg):
    siti = sign_in(reg, CITIZENS, "s-1", SITI)
    other = OidcProvider(name="other", issuer="https://other.example.id", client_id="lincah")
    assert sign_in(reg, other, "another-subject", SITI).account_id == siti.account_id
    assert reg.account(siti.account_id).federated == {
        acc.link_key("region", federation.subject_digest("s-1")),
        acc.link_key("other", federation.subject_digest("another-subject")),
    }


def test_a_password_account_is_linked_by_its_verified_email(reg):
    inv = reg.invite(BWI_ADMIN, "s-admin", "budi@banyuwangikab.go.id", "Budi", "officer", "BWI")
    budi = reg.accept_invitation(inv.email, inv.code, "budi-pass-2026")
    claims = {"sub": "b-1", "email": "budi@banyuwangikab.go.id", "email_verified": True}
    linked = sign_in(reg, STAFF, "b-1", claims)
    assert linked.account_id == budi.account_id and linked.password_hash == budi.password_hash
    assert (linked.role, linked.agency) == ("officer", "BWI")


class Racing:
    """The real store, holding each thread's first append to ``stream`` until every
    thread is there: the first logins have then all found no link, and really race."""

    def __init__(self, store, stream: str, parties: int) -> None:
        self.store, self.stream = store, stream
        self.barrier = threading.Barrier(parties, timeout=30)
        self.waited: set[int] = set()

    def __getattr__(self, name: str):
        return getattr(self.store, name)

    def append(self, stream: str, *args, **kwargs):
        if stream == self.stream and threading.get_ident() not in self.waited:
            self.waited.add(threading.get_ident())
            self.barrier.wait()
        return self.store.append(stream, *args, **kwargs)


@pytest.mark.parametrize("nik", [None, NIK])
def test_racing_first_logins_make_one_link_and_one_account(reg, nik):
    provider, claims = (DUKCAPIL, {**SITI, "nik": nik}) if nik else (CITIZENS, SITI)
    stream = federation.link_stream(provider.name, "s-race")
    store, reg.store = reg.store, Racing(reg.store, stream, 8)
    results, errors = [], []

    def login() -> None:
        try:
            results.append(sign_in(reg, provider, "s-race", claims))
        except Exception as e:  # reported below
            errors.append(e)

    threads = [threading.Thread(target=login) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    reg.store = store
    assert errors == []
    (account_id,) = {r.account_id for r in results}
    assert len(reg.store.read_stream(stream)) == 1
    assert len(reg.store.read_stream(acc.account_stream(account_id))) == 1
    claim = reg.store.read_stream(acc.login_stream(reg.lookup("email", "siti@example.id")))
    assert [e.data["account_id"] for e in claim] == [account_id]
    citizens = {e.stream for e in reg.store.read_all() if e.type == acc.CITIZEN_FEDERATED}
    assert citizens == {acc.account_stream(account_id)}


def test_a_link_without_its_account_is_completed_by_the_next_login(reg):
    # As if the API stopped between the link and the account of a first login.
    link = {
        "provider": "region",
        "subject_sha256": federation.subject_digest("s-1"),
        "account_id": "c-stopped",
        "new_citizen": {"full_name": "Siti", "email": "siti@example.id", "nik_masked": None},
    }
    reg.store.append(
        federation.link_stream("region", "s-1"),
        [NewEvent(uuid.uuid4(), acc.FEDERATED_LINK, link)],
        expected_version=NO_STREAM,
    )
    assert reg.account("c-stopped") is None
    assert sign_in(reg, CITIZENS, "s-1", {"sub": "s-1"}).account_id == "c-stopped"
    assert reg.for_login("siti@example.id").account_id == "c-stopped"


def test_a_link_whose_address_went_elsewhere_links_again(reg):
    # The API stopped after a link; before the next login the address was registered
    # and confirmed with a password.
    link = {
        "provider": "region",
        "subject_sha256": federation.subject_digest("s-1"),
        "account_id": "c-lost",
        "new_citizen": {"full_name": "Siti", "email": "siti@example.id", "nik_masked": None},
    }
    stream = federation.link_stream("region", "s-1")
    reg.store.append(stream, [NewEvent(uuid.uuid4(), acc.FEDERATED_LINK, link)], NO_STREAM)
    registered = reg.register(NIK, "Siti Aminah", "siti@example.id", None, "siti-pass-2026")
    code = re.search(r"code: (\d{6})", reg.mailer.sent[-1][1])
    assert code and reg.confirm(registered.account_id, code.group(1)).status == "active"
    assert sign_in(reg, CITIZENS, "s-1", SITI).account_id == registered.account_id
    assert reg.account("c-lost") is None
    relinked = acc.fold_federated(reg.store.read_stream(stream))
    assert relinked is not None and relinked.account_id == registered.account_id


def test_stream_names_hide_the_subject_the_address_and_the_nik(reg):
    sign_in(reg, CITIZENS, "s-1", SITI)
    sign_in(reg, DUKCAPIL, "d-1", {"sub": "d-1", "email": "ani@x.id", "email_verified": True,
                                   "nik": NIK})  # fmt: skip
    streams = {e.stream for e in reg.store.read_all()}
    assert not any(x in s for s in streams for x in ("s-1", "d-1", "siti", "ani", NIK)), streams
    assert all(NIK not in str(e.data) for e in reg.store.read_all())


def test_staff_sign_in_only_to_the_account_an_administrator_invited(reg):
    budi = {"sub": "b-1", "email": "budi@banyuwangikab.go.id", "email_verified": True}
    no_invitation = refused(sign_in, reg, STAFF, "b-1", budi)
    assert (
        no_invitation.status == 403 and "ask your administrator to invite" in no_invitation.message
    )
    assert reg.store.stream_version(federation.link_stream("staff", "b-1")) == NO_STREAM

    inv = reg.invite(BWI_ADMIN, "s-admin", "Budi@BanyuwangiKab.go.id", "Budi", "cashier", "BWI")
    account = sign_in(reg, STAFF, "b-1", budi)  # takes up the invitation: no password needed
    assert (account.account_id, account.status) == (inv.account_id, "active")
    assert (account.role, account.agency, account.code_hash) == ("cashier", "BWI", None)
    # A staff account is not reached through the citizens' provider, nor a citizen's
    # through the staff one.
    assert "staff account" in refused(sign_in, reg, CITIZENS, "b-1", budi).message
    sign_in(reg, CITIZENS, "s-1", SITI)
    assert "citizen account" in refused(sign_in, reg, STAFF, "s-9", SITI).message


def test_an_expired_invitation_is_not_taken_up(reg, monkeypatch):
    inv = reg.invite(BWI_ADMIN, "s-admin", "budi@x.id", "Budi", "officer", "BWI")
    monkeypatch.setattr("accounts.registry._now", lambda: inv.expires_at)
    late = refused(sign_in, reg, STAFF, "b-1", {"sub": "b-1", "email": "budi@x.id",
                                                "email_verified": True})  # fmt: skip
    assert late.status == 403 and "invitation has expired" in late.message
    assert reg.account(inv.account_id).status == "invited"


def test_suspension_refuses_the_login_and_ends_its_sessions(reg):
    inv = reg.invite(BWI_ADMIN, "s-admin", "budi@x.id", "Budi", "officer", "BWI")
    budi = {"sub": "b-1", "email": "budi@x.id", "email_verified": True}
    sessions = Sessions(reg.store, 3600)
    issued = sessions.start(sign_in(reg, STAFF, "b-1", budi))
    issued = sessions.rotate(issued.refresh_token)  # a federated session refreshes
    reg.set_suspended(BWI_ADMIN, "s-admin", inv.account_id, True, "audit finding")
    assert refused(sessions.rotate, issued.refresh_token).status == 401
    suspended = refused(sign_in, reg, STAFF, "b-1", {"sub": "b-1"})
    assert suspended.status == 403 and "suspended" in suspended.message
    reg.set_suspended(BWI_ADMIN, "s-admin", inv.account_id, False)
    assert reg.account(inv.account_id).status == "active"  # federated: no password needed
    assert sign_in(reg, STAFF, "b-1", {"sub": "b-1"}).account_id == inv.account_id


def test_a_nik_authoritative_provider_reaches_the_nik_s_account(reg):
    reg.register(NIK, "Siti Aminah", "siti@example.id", None, "siti-pass-2026")
    nik_account = acc.citizen_account_id(reg.lookup("nik", NIK))
    ani = {"sub": "d-1", "email": "ani@x.id", "email_verified": True, "nik": NIK}
    # The registration was never confirmed: the provider's login replaces it.
    account = sign_in(reg, DUKCAPIL, "d-1", ani)
    assert (account.account_id, account.email) == (nik_account, "ani@x.id")
    assert account.status == "active" and account.nik_masked == "************0003"
    # A provider that is not authoritative for NIKs: its NIK claim is not looked at.
    other = sign_in(reg, CITIZENS, "c-1", {**ani, "sub": "c-1", "email": "ani2@x.id"})
    assert other.account_id != nik_account and other.nik_masked is None
    # The address of one account and the NIK of another: nobody guesses which.
    two = refused(sign_in, reg, DUKCAPIL, "d-2", {**ani, "sub": "d-2", "email": "ani2@x.id"})
    assert two.status == 409
    bad = refused(sign_in, reg, DUKCAPIL, "d-3", {**ani, "sub": "d-3", "nik": "123"})
    assert bad.status == 403 and "NIK" in bad.message


@pytest.mark.parametrize(
    ("claims", "message"),
    [
        ({"sub": "s-2"}, "carries no 'email' claim"),
        ({"sub": "s-2", "email": "  "}, "carries no 'email' claim"),
        ({"sub": "s-2", "email": "a@b.id", "email_verified": False}, "has not verified"),
        ({"sub": "s-2", "email": "a@b.id"}, "has not verified"),
    ],
)
def test_a_login_without_a_verified_email_is_refused(reg, claims, message):
    e = refused(sign_in, reg, CITIZENS, "s-2", claims)
    assert e.status == 403 and message in e.message
    assert reg.store.stream_version(federation.link_stream("region", "s-2")) == NO_STREAM


def test_provider_settings_are_checked():
    with pytest.raises(ValueError, match="must include 'openid' and 'email'"):
        OidcProvider(name="x", issuer="https://a.id", client_id="c", scopes=["openid"])
    with pytest.raises(ValueError, match="only citizens have a NIK"):
        OidcProvider(name="x", issuer="https://a.id", client_id="c", accounts="staff",
                     nik_claim="nik")  # fmt: skip
    with pytest.raises(ValueError, match="https://"):
        OidcProvider(name="x", issuer="http://idp.example.id", client_id="c")
    with pytest.raises(ValueError, match="accounts"):
        OidcProvider(name="x", issuer="https://a.id", client_id="c", accounts="officer")
