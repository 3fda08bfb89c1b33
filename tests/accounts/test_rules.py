"""The registry's pure rules (domain/accounts.py) and the sign-in backoff."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from accounts.limits import Backoff, SignInLimits
from domain import accounts as acc

NOW = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)
BWI = acc.Agency("BWI", "DPMPTSP Banyuwangi", "35.10", 0)
JMB = acc.Agency("JMB", "DPMPTSP Jember", "35.09", 0)
BANYUWANGI = acc.Region("35.10", "Kabupaten Banyuwangi", 0)


def account(**kw) -> acc.Account:
    base: dict[str, Any] = dict(
        account_id="s-1", kind="staff", role="officer", full_name="Budi", email="budi@x.id",
        status="active", version=3, agency="BWI", password_hash="h", epoch=2,
    )  # fmt: skip
    return acc.Account(**(base | kw))


def session(**kw) -> acc.Session:
    base: dict[str, Any] = dict(
        family="f" * 32, account_id="s-1", epoch=2, expires_at=NOW + timedelta(days=1),
        current_hash="new", version=1, used_hashes=frozenset({"old"}),
    )  # fmt: skip
    return acc.Session(**(base | kw))


def test_a_refresh_is_ok_only_for_the_current_token_of_a_live_account():
    assert acc.judge_refresh(session(), "new", account(), NOW) == "ok"
    assert acc.judge_refresh(session(), "old", account(), NOW) == "reused"
    assert acc.judge_refresh(session(), "other", account(), NOW) == "invalid"
    assert acc.judge_refresh(session(revoked="logout"), "new", account(), NOW) == "invalid"
    assert acc.judge_refresh(session(), "new", account(), NOW + timedelta(days=2)) == "invalid"
    assert acc.judge_refresh(session(), "new", account(epoch=3), NOW) == "invalid"
    assert acc.judge_refresh(session(), "new", account(status="suspended"), NOW) == "invalid"
    assert acc.judge_refresh(None, "new", account(), NOW) == "invalid"


def test_who_may_invite_whom():
    bwi_admin = acc.Inviter("agency_admin", "BWI", None)
    region_admin = acc.Inviter("region_admin", None, "35.10")
    assert acc.invitation_refused(bwi_admin, "officer", BWI, BANYUWANGI) is None
    assert acc.invitation_refused(bwi_admin, "cashier", BWI, BANYUWANGI) is None
    assert "BWI, not JMB" in str(acc.invitation_refused(bwi_admin, "officer", JMB, None))
    assert acc.invitation_refused(bwi_admin, "region_admin", None, BANYUWANGI) is not None
    assert acc.invitation_refused(region_admin, "agency_admin", BWI, BANYUWANGI) is None
    assert acc.invitation_refused(region_admin, "auditor", None, BANYUWANGI) is None
    assert acc.invitation_refused(region_admin, "officer", BWI, BANYUWANGI) is not None
    assert acc.invitation_refused(region_admin, "agency_admin", JMB, None) is not None
    officer = acc.Inviter("officer", "BWI", None)
    assert acc.invitation_refused(officer, "officer", BWI, BANYUWANGI) is not None
    assert acc.invitation_refused(bwi_admin, "citizen", BWI, BANYUWANGI) is not None


def test_an_administrator_manages_staff_of_their_own_scope_only():
    bwi_admin = acc.Inviter("agency_admin", "BWI", None)
    assert acc.may_manage(bwi_admin, account(), BWI)
    assert not acc.may_manage(bwi_admin, account(agency="JMB"), JMB)
    assert acc.may_manage(acc.Inviter("region_admin", None, "35.10"), account(), BWI)
    assert not acc.may_manage(acc.Inviter("region_admin", None, "35.09"), account(), BWI)
    citizen = account(kind="citizen", role="citizen", agency=None)
    assert not acc.may_manage(bwi_admin, citizen, None)


def test_the_nik_is_masked_to_its_last_four_digits():
    assert acc.mask_nik("3510154808900003") == "************0003"


def test_backoff_doubles_after_the_free_failures_and_a_success_clears_it():
    t = [0.0]
    b = Backoff(free=2, clock=lambda: t[0])
    b.failed("k")
    b.failed("k")
    assert b.retry_after("k") == 0
    b.failed("k")
    assert b.retry_after("k") == 1
    b.failed("k")
    assert b.retry_after("k") == 2
    t[0] = 2.0
    assert b.retry_after("k") == 0
    b.succeeded("k")
    b.failed("k")
    assert b.retry_after("k") == 0


def test_an_address_that_sprays_many_accounts_is_slowed_down():
    t = [0.0]
    limits = SignInLimits(clock=lambda: t[0])
    for i in range(21):
        limits.failed(f"user{i}@x.id", "10.0.0.7")
    assert limits.retry_after("new@x.id", "10.0.0.7") > 0
    assert limits.retry_after("new@x.id", "10.0.0.8") == 0
