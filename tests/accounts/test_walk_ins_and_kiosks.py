"""Walk-in citizens and kiosk devices on a real SQLite event store (no API): a walk-in
is one account per NIK that nobody signs in to until a registration claims it; a kiosk
key opens nothing once revoked, and nothing but the exact key opens it."""

from __future__ import annotations

import pytest

from accounts import passwords
from accounts.kiosks import Kiosks
from accounts.registry import Registry
from config.settings import Settings
from domain import accounts as acc
from domain.refusals import Conflict, Invalid, NotFound, Unauthenticated
from eventstore.factory import open_event_store
from tests.accounts.test_registry import Captured

NIK = "3510151203850001"


@pytest.fixture
def store(tmp_path):
    settings = Settings(var_dir=tmp_path / "var", jwt_secret="x" * 40)
    s = open_event_store("sqlite", settings.eventstore_location)
    yield s, settings
    s.close()


def test_a_walk_in_is_recorded_once_and_claimed_by_registering(store):
    s, settings = store
    mail = Captured(settings)
    registry = Registry(s, settings, mail)
    walk_in, created = registry.walk_in_citizen(NIK, "Agus Salim", "s-officer")
    assert created and walk_in.status == "unconfirmed" and not walk_in.can_sign_in
    assert walk_in.account_id == acc.citizen_account_id(registry.lookup("nik", NIK))
    assert walk_in.nik_masked == "************0001" and walk_in.history[0]["by"] == "s-officer"
    again, created = registry.walk_in_citizen(NIK, "Agus", "s-other")
    assert not created and again == walk_in  # found by NIK, not recorded twice
    assert registry.for_login(NIK) == walk_in
    assert not passwords.verify(walk_in.password_hash, "")
    with pytest.raises(Invalid):
        registry.walk_in_citizen("123", "X", "s-officer")

    # Registering with the NIK claims the walk-in's account: the same id, no e-mail to
    # "the holder" (there was none), a code to the new address.
    r = registry.register(NIK, "Agus Salim", "agus@example.id", None, "kopi-luwak-2026")
    assert r.account_id == walk_in.account_id
    (to, body), = mail.sent  # fmt: skip
    code = body.split("confirmation code: ")[1][:6]
    assert to == "agus@example.id"
    claimed = registry.confirm(walk_in.account_id, code)
    assert claimed.status == "active" and claimed.can_sign_in
    assert registry.for_login("agus@example.id") == claimed
    # Once claimed, the counter finds the account as it is.
    found, created = registry.walk_in_citizen(NIK, "Agus Salim", "s-officer")
    assert not created and found.email == "agus@example.id"


def test_a_kiosk_key_opens_only_its_unrevoked_kiosk(store):
    s, _ = store
    kiosks = Kiosks(s)
    kiosk, key = kiosks.register("BWI", "MPP lantai 1", "s-admin")
    assert kiosks.authenticate(key) == kiosk and kiosk.agency == "BWI"
    kiosk_id, _, secret = key.partition(".")
    for wrong in (None, "", kiosk_id, f"{kiosk_id}.{secret[:-1]}x", f"../{key}", secret):
        with pytest.raises(Unauthenticated):
            kiosks.authenticate(wrong)
    with pytest.raises(NotFound):
        kiosks.revoke("DKS", kiosk.kiosk_id, "s-other-admin")  # another agency's kiosk
    assert kiosks.revoke("BWI", kiosk.kiosk_id, "s-admin").revoked
    with pytest.raises(Unauthenticated):
        kiosks.authenticate(key)
    with pytest.raises(Conflict):
        kiosks.revoke("BWI", kiosk.kiosk_id, "s-admin")
