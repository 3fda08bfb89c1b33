"""The provider+subject -> Lincah account link, on the real SQLite event store."""

from __future__ import annotations

import threading
import uuid

import pytest

from accounts import federation
from accounts.federation import FederationRefused, link_or_create
from config.settings import OidcProvider
from eventstore.port import NO_STREAM, NewEvent
from eventstore.sqlite import SqliteEventStore

REGION = OidcProvider(name="region", issuer="https://idp.example.id", client_id="lincah")
STAFF = OidcProvider(
    name="staff", issuer="https://idp.example.id", client_id="lincah", role="officer", agency="BWI"
)
SITI = {"sub": "s-1", "email": "siti@example.id", "email_verified": True}


@pytest.fixture
def store(tmp_path):
    s = SqliteEventStore(str(tmp_path / "events.db"))
    yield s
    s.close()


def test_first_login_creates_a_citizen_and_later_ones_find_it(store):
    first = link_or_create(store, REGION, "s-1", SITI)
    assert first.created and first.role == "citizen" and first.agency is None
    again = link_or_create(store, REGION, "s-1", {"sub": "s-1"})  # claims no longer needed
    assert (again.account_id, again.created) == (first.account_id, False)
    # The same subject at another provider is another person.
    other = OidcProvider(name="other", issuer="https://other.example.id", client_id="lincah")
    assert link_or_create(store, other, "s-1", SITI).account_id != first.account_id
    created = store.read_stream(federation.account_stream(first.account_id))
    assert [(e.type, e.data["email"]) for e in created] == [
        (federation.ACCOUNT_CREATED, "siti@example.id")
    ]


def test_racing_first_logins_make_one_link(store):
    results, errors = [], []
    barrier = threading.Barrier(8)

    def login() -> None:
        barrier.wait()
        try:
            results.append(link_or_create(store, REGION, "s-race", SITI))
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=login) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len({r.account_id for r in results}) == 1
    assert sum(r.created for r in results) == 1
    assert len(store.read_stream(federation.link_stream("region", "s-race"))) == 1
    (account_id,) = {r.account_id for r in results}
    assert len(store.read_stream(federation.account_stream(account_id))) == 1


def test_a_link_without_its_account_is_repaired_by_the_next_login(store):
    # As if the API stopped between the two appends of a first login.
    account_id = str(uuid.uuid4())
    link = {
        "provider": "region",
        "subject_sha256": "x",
        "account_id": account_id,
        "role": "citizen",
        "agency": None,
        "created_account": True,
        "identity": {"email": "siti@example.id"},
    }
    store.append(
        federation.link_stream("region", "s-1"),
        [NewEvent(uuid.uuid4(), federation.LINKED, link)],
        expected_version=NO_STREAM,
    )
    assert store.stream_version(federation.account_stream(account_id)) == NO_STREAM
    assert link_or_create(store, REGION, "s-1", SITI).account_id == account_id
    (created,) = store.read_stream(federation.account_stream(account_id))
    assert created.data["email"] == "siti@example.id"


def test_the_stream_names_hide_the_subject_and_the_address(store):
    link_or_create(store, REGION, "s-1", SITI)
    federation.invite(store, STAFF, "budi@banyuwangikab.go.id")
    streams = {e.stream for e in store.read_all()}
    assert not any("s-1" in s or "budi" in s or "siti" in s for s in streams), streams


def test_staff_roles_need_an_invitation(store):
    budi = {"sub": "b-1", "email": "budi@banyuwangikab.go.id", "email_verified": True}
    with pytest.raises(FederationRefused, match="only when invited"):
        link_or_create(store, STAFF, "b-1", budi)
    federation.invite(store, STAFF, " Budi@BanyuwangiKab.go.id ")
    federation.invite(store, STAFF, "budi@banyuwangikab.go.id")  # twice changes nothing
    account = link_or_create(store, STAFF, "b-1", budi)
    assert (account.role, account.agency) == ("officer", "BWI")
    with pytest.raises(ValueError, match="only staff logins are invited"):
        federation.invite(store, REGION, "siti@example.id")


@pytest.mark.parametrize(
    ("claims", "message"),
    [
        ({"sub": "s-2"}, "carries no 'email' claim"),
        ({"sub": "s-2", "email": "  "}, "carries no 'email' claim"),
        ({"sub": "s-2", "email": "a@b.id", "email_verified": False}, "has not verified"),
    ],
)
def test_a_login_without_a_usable_identity_claim_is_refused(store, claims, message):
    with pytest.raises(FederationRefused, match=message):
        link_or_create(store, REGION, "s-2", claims)
    assert store.stream_version(federation.link_stream("region", "s-2")) == NO_STREAM


def test_provider_settings_are_checked():
    with pytest.raises(ValueError, match="must include 'openid'"):
        OidcProvider(name="x", issuer="https://a.id", client_id="c", scopes=["email"])
    with pytest.raises(ValueError, match="needs an agency code"):
        OidcProvider(name="x", issuer="https://a.id", client_id="c", role="officer")
    with pytest.raises(ValueError, match="https://"):
        OidcProvider(name="x", issuer="http://idp.example.id", client_id="c")
    with pytest.raises(ValueError, match="not one of"):
        OidcProvider(name="x", issuer="https://a.id", client_id="c", role="king")
