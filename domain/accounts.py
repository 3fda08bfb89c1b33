"""Who exists and who may act: regions (kabupaten/kota), their agencies (OPD), staff and
citizens' accounts, and sign-in sessions, each folded from its own event stream.

Pure rules only: the commands that read and append the store live in ``accounts/``.
No stream name or event here holds a NIK or an e-mail address in the clear: lookups go
through keyed hashes the caller computes (``accounts.registry``), and the NIK is kept
masked.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Final, Literal

from domain.recorded import Recorded

# -- roles -------------------------------------------------------------------------------

CITIZEN: Final = "citizen"
AGENCY_ROLES: Final = frozenset(
    {"officer", "supervisor", "cashier", "agency_admin", "complaint_officer"}
)
"""Staff who belong to one agency and act for it (``complaint_officer``: the agency's
complaint desk, pengaduan)."""
REGION_ADMIN: Final = "region_admin"
AUDITOR: Final = "auditor"
"""Read-only; scoped to one agency or, with no agency, to one region."""
ROLES: Final = frozenset({CITIZEN, REGION_ADMIN, AUDITOR}) | AGENCY_ROLES
STAFF_ROLES: Final = AGENCY_ROLES | {REGION_ADMIN, AUDITOR}

REGION_CODE = re.compile(r"^\d{2}\.\d{2}$")
"""Kemendagri code of a kabupaten/kota: province.regency, e.g. ``35.10`` Banyuwangi."""
AGENCY_CODE = re.compile(r"^[A-Z]{2,6}$")
"""The code in application numbers, e.g. ``BWI`` in ``BWI-2026-000001``."""

# -- event types -------------------------------------------------------------------------

REGION_CREATED: Final = "RegionCreated"
AGENCY_CREATED: Final = "AgencyCreated"
STAFF_ADDED: Final = "StaffAdded"  # on the agency's (or region's) registry stream
AGENCY_ADDED: Final = "AgencyAdded"  # on the region's stream
LOGIN_CLAIMED: Final = "LoginClaimed"
LOGIN_RELEASED: Final = "LoginReleased"
CITIZEN_REGISTERED: Final = "CitizenRegistered"
EMAIL_CONFIRMED: Final = "EmailConfirmed"
STAFF_INVITED: Final = "StaffInvited"
INVITATION_ACCEPTED: Final = "InvitationAccepted"
PASSWORD_CHANGED: Final = "PasswordChanged"  # noqa: S105 - an event type
ACCOUNT_SUSPENDED: Final = "AccountSuspended"
ACCOUNT_REINSTATED: Final = "AccountReinstated"
SESSION_STARTED: Final = "SessionStarted"
SESSION_ROTATED: Final = "SessionRotated"
SESSION_REVOKED: Final = "SessionRevoked"
ALL_SESSIONS_ENDED: Final = "AllSessionsEnded"
"""The JWT secret was rotated (``lincah keys rotate jwt``): every refresh-token family
started before this event is over; its data says why and who."""
ALL_SESSIONS_STREAM: Final = "sessions-all"
CITIZEN_FEDERATED: Final = "CitizenRegisteredThroughProvider"
CITIZEN_WALKED_IN: Final = "WalkInCitizenRecorded"
"""An officer recorded a citizen without an account who came to the counter (or the
mobile service): no e-mail, no password, until they register with the same NIK."""
IDENTITY_LINKED: Final = "IdentityLinked"  # on the account's stream
FEDERATED_LINK: Final = "FederatedIdentityLinked"  # on the provider+subject's stream


def region_stream(code: str) -> str:
    return f"region-{code}"


def agency_registry_stream(code: str) -> str:
    # Not ``agency-<code>``: that stream holds the agency's working calendar.
    return f"agency-registry-{code}"


def account_stream(account_id: str) -> str:
    return f"account-{account_id}"


def login_stream(login_key: str) -> str:
    """Who owns a login name (an e-mail address), by its keyed hash."""
    return f"login-{login_key}"


def session_stream(family: str) -> str:
    return f"session-{family}"


def federated_stream(provider: str, subject_sha256: str) -> str:
    """Which account a provider's subject is (``accounts.federation``); the subject only
    by its hash."""
    return f"federated-{provider}-{subject_sha256}"


def citizen_account_id(nik_key: str) -> str:
    """A citizen's account id is their NIK's keyed hash: the account stream itself then
    guarantees one account per NIK (the first append expects an empty stream)."""
    return f"c-{nik_key[:40]}"


def mask_nik(nik: str) -> str:
    """All but the last four digits hidden: ``************0003``."""
    return "*" * (len(nik) - 4) + nik[-4:]


# -- regions and agencies -----------------------------------------------------------------


@dataclass(frozen=True)
class Region:
    code: str
    name: str
    version: int
    members: tuple[str, ...] = ()
    """Region-scoped staff (region_admin, region auditors)."""
    agencies: tuple[str, ...] = ()


@dataclass(frozen=True)
class Agency:
    code: str
    name: str
    region: str
    version: int
    members: tuple[str, ...] = ()
    """Account ids of the agency's staff, in the order they were invited."""


def fold_region(events: Iterable[Recorded]) -> Region | None:
    region: Region | None = None
    for e in events:
        if e.type == REGION_CREATED:
            region = Region(e.data["code"], e.data["name"], e.version)
        elif region is not None and e.type == STAFF_ADDED:
            region = replace(region, members=(*region.members, e.data["account_id"]))
        elif region is not None and e.type == AGENCY_ADDED:
            region = replace(region, agencies=(*region.agencies, e.data["code"]))
        if region is not None:
            region = replace(region, version=e.version)
    return region


def fold_agency(events: Iterable[Recorded]) -> Agency | None:
    agency: Agency | None = None
    for e in events:
        if e.type == AGENCY_CREATED:
            agency = Agency(e.data["code"], e.data["name"], e.data["region"], e.version)
        elif agency is not None and e.type == STAFF_ADDED:
            agency = replace(agency, members=(*agency.members, e.data["account_id"]))
        if agency is not None:
            agency = replace(agency, version=e.version)
    return agency


# -- logins ------------------------------------------------------------------------------


@dataclass(frozen=True)
class LoginClaim:
    account_id: str | None
    version: int


def fold_login(events: Iterable[Recorded]) -> LoginClaim:
    claim = LoginClaim(None, -1)
    for e in events:
        owner = e.data["account_id"] if e.type == LOGIN_CLAIMED else None
        claim = LoginClaim(owner, e.version)
    return claim


# -- accounts ----------------------------------------------------------------------------

Status = Literal["unconfirmed", "invited", "active", "suspended"]


@dataclass(frozen=True)
class Account:
    account_id: str
    kind: Literal["citizen", "staff"]
    role: str
    full_name: str
    email: str
    status: Status
    version: int
    agency: str | None = None
    region: str | None = None
    services: tuple[str, ...] = ()
    """For an officer limited to some services: their ids; empty means all."""
    phone: str | None = None
    nik_masked: str | None = None
    password_hash: str | None = None
    code_hash: str | None = None
    """Hash of the pending one-time code (e-mail confirmation or invitation)."""
    code_expires_at: datetime | None = None
    epoch: int = 0
    """Raised by every password change and suspension: sessions and tokens issued under
    an older epoch stop working."""
    federated: frozenset[str] = frozenset()
    """``<provider>:<sha256 of the subject>`` of each identity-provider login linked to
    the account; such a login signs in without a password."""
    history: tuple[dict[str, Any], ...] = field(default=(), compare=False)

    @property
    def can_sign_in(self) -> bool:
        return self.status == "active" and (self.password_hash is not None or bool(self.federated))

    def public(self) -> dict[str, Any]:
        """What the account's holder and their administrators may see."""
        return {
            "account_id": self.account_id,
            "role": self.role,
            "full_name": self.full_name,
            "email": self.email,
            "status": self.status,
            "agency": self.agency,
            "region": self.region,
            "services": list(self.services),
            **({"nik": self.nik_masked} if self.nik_masked else {}),
            **({"phone": self.phone} if self.phone else {}),
        }


def fold_account(events: Iterable[Recorded]) -> Account | None:
    account: Account | None = None
    for e in events:
        account = apply_account(account, e)
    return account


def apply_account(account: Account | None, e: Recorded) -> Account:
    d = e.data
    step = {"type": e.type, "by": d.get("by"), "at": e.recorded_at.isoformat()}
    if e.type == CITIZEN_REGISTERED:
        # A new registration replaces an unconfirmed one (nobody proved the e-mail yet).
        return Account(
            account_id=d["account_id"],
            kind="citizen",
            role=CITIZEN,
            full_name=d["full_name"],
            email=d["email"],
            phone=d.get("phone"),
            nik_masked=d["nik_masked"],
            status="unconfirmed",
            password_hash=d["password_hash"],
            code_hash=d["code_hash"],
            code_expires_at=datetime.fromisoformat(d["code_expires_at"]),
            version=e.version,
            history=(step,),
        )
    if e.type == CITIZEN_FEDERATED:
        # The provider verified the e-mail address: active at once, without a password.
        # Like a registration, it replaces an unconfirmed one of the same NIK.
        return Account(
            account_id=d["account_id"],
            kind="citizen",
            role=CITIZEN,
            full_name=d["full_name"],
            email=d["email"],
            nik_masked=d.get("nik_masked"),
            status="active",
            federated=frozenset({d["link"]}),
            version=e.version,
            history=(step,),
        )
    if e.type == CITIZEN_WALKED_IN:
        # Unconfirmed: nobody can sign in to it, and a registration with the same NIK
        # replaces it (the citizen claims it) and keeps its account id, so the
        # applications filed for them at the counter are theirs.
        return Account(
            account_id=d["account_id"],
            kind="citizen",
            role=CITIZEN,
            full_name=d["full_name"],
            email="",
            nik_masked=d["nik_masked"],
            status="unconfirmed",
            version=e.version,
            history=(step,),
        )
    if e.type == STAFF_INVITED:
        return Account(
            account_id=d["account_id"],
            kind="staff",
            role=d["role"],
            full_name=d["full_name"],
            email=d["email"],
            agency=d.get("agency"),
            region=d.get("region"),
            services=tuple(d.get("services") or ()),
            status="invited",
            code_hash=d["code_hash"],
            code_expires_at=datetime.fromisoformat(d["code_expires_at"]),
            version=e.version,
            history=(step,),
        )
    if account is None:
        raise ValueError(f"{e.type} before the account was created")
    a = replace(account, version=e.version, history=(*account.history, step))
    if e.type == EMAIL_CONFIRMED:
        return replace(a, status="active", code_hash=None, code_expires_at=None)
    if e.type == INVITATION_ACCEPTED:
        return replace(
            a, status="active", password_hash=d["password_hash"], code_hash=None,
            code_expires_at=None,
        )  # fmt: skip
    if e.type == PASSWORD_CHANGED:
        return replace(a, password_hash=d["password_hash"], epoch=a.epoch + 1)
    if e.type == ACCOUNT_SUSPENDED:
        return replace(a, status="suspended", epoch=a.epoch + 1)
    if e.type == IDENTITY_LINKED:
        # An invitee whose e-mail the provider verified has taken up the invitation.
        status: Status = "active" if a.status == "invited" else a.status
        return replace(
            a, status=status, federated=a.federated | {d["link"]},
            code_hash=None if status != a.status else a.code_hash,
            code_expires_at=None if status != a.status else a.code_expires_at,
        )  # fmt: skip
    if e.type == ACCOUNT_REINSTATED:
        signs_in = a.password_hash is not None or bool(a.federated)
        return replace(a, status="active" if signs_in else "invited")
    return a


def code_usable(account: Account, now: datetime) -> bool:
    """A pending one-time code exists and has not expired."""
    return (
        account.code_hash is not None
        and account.code_expires_at is not None
        and now < account.code_expires_at
    )


# -- identity providers' subjects ---------------------------------------------------------


@dataclass(frozen=True)
class FederatedLink:
    """A provider's subject -> the account it is. ``new_citizen``: the link was made for
    a citizen account its login creates (the creation's details, in case the API stopped
    before it was recorded); None when it names an existing account."""

    account_id: str
    version: int
    new_citizen: dict[str, Any] | None = None


def fold_federated(events: Iterable[Recorded]) -> FederatedLink | None:
    """The latest link wins: a link whose new account could not be made (its e-mail went
    to another account meanwhile) is replaced by a later one."""
    link: FederatedLink | None = None
    for e in events:
        if e.type == FEDERATED_LINK:
            link = FederatedLink(e.data["account_id"], e.version, e.data.get("new_citizen"))
    return link


def link_key(provider: str, subject_sha256: str) -> str:
    return f"{provider}:{subject_sha256}"


def federated_login_refused(account: Account, kind: str, now: datetime) -> str | None:
    """Why a provider that logs in ``kind`` accounts (citizen or staff) may not sign in
    to ``account``; None when it may."""
    if account.kind != kind:
        if account.kind == "staff":
            return (
                "this e-mail address belongs to a staff account; log in through your "
                "agency's identity provider or with your password"
            )
        return (
            "this e-mail address belongs to a citizen account, and this identity provider "
            "is for staff; log in through the citizens' provider or with your password"
        )
    if account.status == "suspended":
        return "this account is suspended; ask your administrator"
    if account.status == "invited" and not code_usable(account, now):
        return "your invitation has expired; ask your administrator to invite you again"
    if account.status == "unconfirmed":
        return "this account's e-mail address is not confirmed yet; confirm it, then log in"
    return None


# -- who may invite whom -----------------------------------------------------------------


@dataclass(frozen=True)
class Inviter:
    role: str
    agency: str | None
    region: str | None


def invitation_refused(
    inviter: Inviter, role: str, agency: Agency | None, region: Region | None
) -> str | None:
    """Why ``inviter`` may not invite someone as ``role`` into ``agency`` (agency staff)
    or ``region`` (region staff); None when they may. The bootstrap (``lincah admin
    invite``) is the only way in without an inviter."""
    if role not in STAFF_ROLES:
        return f"staff roles are {', '.join(sorted(STAFF_ROLES))}; {role!r} is not one"
    region_scoped = role == REGION_ADMIN or (role == AUDITOR and agency is None)
    if region_scoped and region is None:
        return f"role {role} belongs to a region; name the region"
    if not region_scoped and agency is None:
        return f"role {role} belongs to an agency; name the agency"
    if inviter.role == "agency_admin":
        if region_scoped:
            return "an agency administrator invites staff of their own agency only"
        if agency is not None and agency.code != inviter.agency:
            return f"you administer agency {inviter.agency}, not {agency.code}"
        return None
    if inviter.role == REGION_ADMIN:
        target_region = region.code if region_scoped and region else (agency and agency.region)
        if target_region != inviter.region:
            return f"you administer region {inviter.region}, not {target_region}"
        if role not in {"agency_admin", AUDITOR, REGION_ADMIN}:
            return (
                "a region administrator invites agency administrators and auditors; "
                "the agency administrator invites the agency's other staff"
            )
        return None
    return "only an agency or region administrator may invite staff"


def may_manage(manager: Inviter, account: Account, agency: Agency | None) -> bool:
    """Whether ``manager`` may suspend or reinstate ``account``."""
    if account.kind != "staff":
        return False
    if manager.role == "agency_admin":
        return account.agency is not None and account.agency == manager.agency
    if manager.role == REGION_ADMIN:
        region = agency.region if agency else account.region
        return region == manager.region
    return False


# -- sessions ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Session:
    family: str
    account_id: str
    epoch: int
    expires_at: datetime
    current_hash: str
    version: int
    used_hashes: frozenset[str] = frozenset()
    revoked: str | None = None
    """Why the family was revoked (logout, reuse, ...); None while it is live."""


def fold_session(events: Iterable[Recorded]) -> Session | None:
    session: Session | None = None
    for e in events:
        d = e.data
        if e.type == SESSION_STARTED:
            session = Session(
                family=d["family"],
                account_id=d["account_id"],
                epoch=d["epoch"],
                expires_at=datetime.fromisoformat(d["expires_at"]),
                current_hash=d["token_hash"],
                version=e.version,
            )
            continue
        if session is None:
            raise ValueError(f"{e.type} before the session started")
        if e.type == SESSION_ROTATED:
            session = replace(
                session,
                used_hashes=session.used_hashes | {session.current_hash},
                current_hash=d["token_hash"],
            )
        elif e.type == SESSION_REVOKED:
            session = replace(session, revoked=d["reason"])
        session = replace(session, version=e.version)
    return session


RefreshVerdict = Literal["ok", "reused", "invalid"]


def judge_refresh(
    session: Session | None, token_hash: str, account: Account | None, now: datetime
) -> RefreshVerdict:
    """``reused``: an already rotated token came back, so someone kept a copy; the
    caller revokes the whole family. ``invalid``: unknown, expired or revoked."""
    if session is None or session.revoked is not None:
        return "invalid"
    if token_hash in session.used_hashes:
        return "reused"
    if token_hash != session.current_hash or now >= session.expires_at:
        return "invalid"
    if account is None or not account.can_sign_in or account.epoch != session.epoch:
        return "invalid"
    return "ok"
