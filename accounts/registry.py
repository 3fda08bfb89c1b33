"""The registry's commands: each folds the streams it decides on (``domain.accounts``)
and appends with their expected versions, so two racing commands cannot both win. Every
event names its actor (``by``): an account id, or ``cli:<user>`` for the bootstrap."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from accounts import passwords
from accounts.mail import Mailer
from config.settings import Settings
from domain import accounts as acc
from domain import events as ev
from domain import services as catalogue
from domain.nik import NikError, validate_nik
from domain.refusals import Conflict, Forbidden, Invalid, NotFound, Refusal, Unavailable, Unverified
from eventstore.port import EventStore, NewEvent, WrongExpectedVersion

_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")
_NIK_LIKE = re.compile(r"^[0-9]{16}$")


@dataclass(frozen=True)
class Registration:
    account_id: str
    nik: str
    """Masked: only the last four digits."""
    email: str


@dataclass(frozen=True)
class Invitation:
    account_id: str
    email: str
    code: str
    expires_at: datetime
    position: int


def _now() -> datetime:
    return datetime.now(UTC)


def normalise_email(email: str) -> str:
    e = email.strip().lower()
    if len(e) > 254 or not _EMAIL.match(e):
        raise Invalid("that is not an e-mail address (name@domain)")
    return e


class Registry:
    def __init__(self, store: EventStore, settings: Settings, mailer: Mailer | None = None):
        self.store = store
        self.settings = settings
        self.mailer = mailer or Mailer(settings)
        self._key = settings.lookup_secret().encode()

    # -- keyed hashes ---------------------------------------------------------------
    def lookup(self, kind: str, value: str) -> str:
        """The keyed hash that stands for a NIK, an e-mail address or a one-time code."""
        return hmac.new(self._key, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()

    def _code_hash(self, account_id: str, code: str) -> str:
        return self.lookup("code", f"{account_id}:{code}")

    def _code_matches(self, account: acc.Account, code: str) -> bool:
        return (
            acc.code_usable(account, _now())
            and account.code_hash is not None
            and hmac.compare_digest(account.code_hash, self._code_hash(account.account_id, code))
        )

    # -- reads ----------------------------------------------------------------------
    def account(self, account_id: str) -> acc.Account | None:
        return acc.fold_account(self.store.read_stream(acc.account_stream(account_id)))

    def agency(self, code: str) -> acc.Agency | None:
        return acc.fold_agency(self.store.read_stream(acc.agency_registry_stream(code)))

    def region(self, code: str) -> acc.Region | None:
        return acc.fold_region(self.store.read_stream(acc.region_stream(code)))

    def _claim(self, email: str) -> acc.LoginClaim:
        stream = acc.login_stream(self.lookup("email", email))
        return acc.fold_login(self.store.read_stream(stream))

    def for_login(self, login: str) -> acc.Account | None:
        """The account a login name (e-mail address, or a citizen's NIK) names."""
        name = login.strip()
        if _NIK_LIKE.match(name):
            return self.account(acc.citizen_account_id(self.lookup("nik", name)))
        email = name.lower()
        claim = self._claim(email)
        account = self.account(claim.account_id) if claim.account_id else None
        # A claim left by a registration that was replaced before it was confirmed
        # points at an account that now has another address.
        return account if account is not None and account.email == email else None

    # -- regions and agencies -------------------------------------------------------
    def create_region(self, code: str, name: str, by: str) -> acc.Region:
        if not acc.REGION_CODE.match(code):
            raise Invalid(f"{code!r} is not a Kemendagri kabupaten/kota code like 35.10")
        data = {"code": code, "name": name, "by": by}
        self._create(acc.region_stream(code), acc.REGION_CREATED, data, f"region {code} exists")
        region = self.region(code)
        assert region is not None
        return region

    def create_agency(self, code: str, name: str, region_code: str, by: str) -> acc.Agency:
        if not acc.AGENCY_CODE.match(code):
            raise Invalid(f"{code!r} is not an agency code: 2 to 6 capital letters, e.g. BWI")
        if self.region(region_code) is None:
            raise NotFound(f"there is no region {region_code}; create it first")
        self._create(
            acc.agency_registry_stream(code),
            acc.AGENCY_CREATED,
            {"code": code, "name": name, "region": region_code, "by": by},
            f"agency {code} already exists",
        )
        self._add(acc.region_stream(region_code), acc.AGENCY_ADDED, {"code": code, "by": by})
        agency = self.agency(code)
        assert agency is not None
        return agency

    def _create(self, stream: str, type_: str, data: dict[str, Any], taken: str) -> int:
        try:
            result = self.store.append(stream, [NewEvent(uuid.uuid4(), type_, data)], -1)
        except WrongExpectedVersion as e:
            raise Conflict(taken) from e
        return result.last_position

    def _add(self, stream: str, type_: str, data: dict[str, Any]) -> None:
        """Append to a roster whatever else was appended meanwhile (a roster has no rule
        that two additions could break)."""
        for _ in range(20):
            version = self.store.stream_version(stream)
            event = NewEvent(uuid.uuid4(), type_, data)
            try:
                self.store.append(stream, [event], version)
                return
            except WrongExpectedVersion:
                continue
        raise Unavailable("too many simultaneous changes to this roster; try again")

    # -- staff ----------------------------------------------------------------------
    def invite(
        self,
        inviter: acc.Inviter | None,
        by: str,
        email: str,
        full_name: str,
        role: str,
        agency_code: str | None = None,
        region_code: str | None = None,
        services: list[str] | None = None,
    ) -> Invitation:
        """Invite someone to join as staff; ``inviter`` None is the bootstrap (the CLI).
        The code goes by e-mail and is also returned, for the CLI to print."""
        email = normalise_email(email)
        agency = self.agency(agency_code) if agency_code else None
        if agency_code and agency is None:
            raise NotFound(f"there is no agency {agency_code}; create it first")
        region_code = region_code or (agency.region if agency else None)
        region = self.region(region_code) if region_code else None
        if region_code and region is None:
            raise NotFound(f"there is no region {region_code}; create it first")
        if role == acc.REGION_ADMIN or (role == acc.AUDITOR and agency is None):
            agency = None  # region staff
        if inviter is not None:
            why = acc.invitation_refused(inviter, role, agency, region)
            if why:
                raise Forbidden(why)
        elif role not in acc.STAFF_ROLES:
            raise Invalid(f"staff roles are {', '.join(sorted(acc.STAFF_ROLES))}")
        scoped = self._services(services or [], agency, role)

        claim = self._claim(email)
        existing = self.account(claim.account_id) if claim.account_id else None
        if existing is not None and existing.status != "invited":
            raise Conflict(f"{email} already has an account")
        target = (agency.code if agency else None, None if agency else region_code)
        moved = existing is not None and (existing.agency, existing.region) != target
        if existing is not None and moved and acc.code_usable(existing, _now()):
            raise Conflict(f"{email} has an open invitation elsewhere until "
                f"{existing.code_expires_at:%Y-%m-%d %H:%M} UTC",
            )  # fmt: skip
        account_id = existing.account_id if existing else f"s-{uuid.uuid4().hex[:24]}"
        if existing is None:
            self._append_claim(email, account_id, claim.version)
        code = secrets.token_urlsafe(12)
        expires = _now() + timedelta(seconds=self.settings.invitation_ttl_s)
        data = {
            "account_id": account_id,
            "email": email,
            "full_name": full_name,
            "role": role,
            "agency": agency.code if agency else None,
            "region": region.code if region and agency is None else None,
            "services": scoped,
            "code_hash": self._code_hash(account_id, code),
            "code_expires_at": expires.isoformat(),
            "by": by,
        }
        try:
            result = self.store.append(
                acc.account_stream(account_id),
                [NewEvent(uuid.uuid4(), acc.STAFF_INVITED, data)],
                existing.version if existing else -1,
            )
        except WrongExpectedVersion as e:
            raise Conflict(f"{email} was invited by someone else just now") from e
        if existing is None or moved:
            roster = (
                acc.agency_registry_stream(agency.code)
                if agency
                else acc.region_stream(str(region_code))
            )
            self._add(roster, acc.STAFF_ADDED, {"account_id": account_id, "by": by})
        where = f"agency {agency.code}" if agency else f"region {region_code}"
        self.mailer.send(
            email,
            "Your invitation to Lincah",
            f"Hello {full_name},\n\nyou are invited to join {where} on Lincah as {role}.\n"
            f"Your invitation code: {code}\nIt is valid until {expires:%Y-%m-%d %H:%M} UTC.\n"
            "Accept it with POST /staff/accept (your e-mail, this code and a new password).\n",
        )
        return Invitation(account_id, email, code, expires, result.last_position)

    def _services(self, ids: list[str], agency: acc.Agency | None, role: str) -> list[str]:
        if ids and (agency is None or role not in acc.AGENCY_ROLES - {"agency_admin"}):
            raise Invalid("only an agency's officers, supervisors and cashiers can be "
                               "limited to named services")  # fmt: skip
        for service_id in ids:
            state = catalogue.fold(self.store.read_stream(ev.service_stream(service_id)))
            if state is None or agency is None or state.agency_code != agency.code:
                raise Invalid(f"agency {agency.code if agency else '?'} has no service "
                                   f"{service_id!r}")  # fmt: skip
        return sorted(set(ids))

    def _append_claim(self, email: str, account_id: str, version: int) -> None:
        stream = acc.login_stream(self.lookup("email", email))
        event = NewEvent(uuid.uuid4(), acc.LOGIN_CLAIMED, {"account_id": account_id})
        try:
            self.store.append(stream, [event], version)
        except WrongExpectedVersion as e:
            raise Conflict(f"{email} was taken by another account just now") from e

    def accept_invitation(self, email: str, code: str, password: str) -> acc.Account:
        passwords.check_new(password)
        account = self.for_login(email)
        if account is None or account.status != "invited" or not self._code_matches(account, code):
            raise Unverified(
                "this invitation code is not valid or has expired; ask your administrator "
                "to invite you again",
            )
        self._append(account, acc.INVITATION_ACCEPTED,
                     {"password_hash": passwords.hash_password(password),
                      "by": account.account_id})  # fmt: skip
        return self._reload(account)

    def set_suspended(
        self, manager: acc.Inviter, by: str, account_id: str, suspend: bool, reason: str = ""
    ) -> acc.Account:
        account = self.account(account_id)
        agency = self.agency(account.agency) if account and account.agency else None
        if account is None or not acc.may_manage(manager, account, agency):
            raise NotFound(f"you administer no staff account {account_id}")
        if suspend and account.status == "suspended":
            raise Conflict(f"{account_id} is already suspended")
        if not suspend and account.status != "suspended":
            raise Conflict(f"{account_id} is not suspended")
        if suspend:
            self._append(account, acc.ACCOUNT_SUSPENDED, {"reason": reason, "by": by})
        else:
            self._append(account, acc.ACCOUNT_REINSTATED, {"by": by})
        return self._reload(account)

    def staff(self, manager: acc.Inviter) -> list[acc.Account]:
        """The staff a manager administers: an agency's, or a region's and its agencies'."""
        ids: list[str] = []
        agencies: set[str] = set()
        if manager.role == "agency_admin" and manager.agency:
            agencies = {manager.agency}
        elif manager.role == acc.REGION_ADMIN and manager.region:
            region = self.region(manager.region)
            ids = list(region.members) if region else []
            agencies = set(region.agencies) if region else set()
        else:
            raise Forbidden("only agency and region administrators list staff")
        for code in sorted(agencies):
            agency = self.agency(code)
            ids += agency.members if agency else ()
        # A lapsed invitation taken over elsewhere stays on its old roster: skip it there.
        return [
            a
            for a in map(self.account, dict.fromkeys(ids))
            if a is not None
            and (a.agency in agencies or (a.agency is None and a.region == manager.region))
        ]

    # -- citizens -------------------------------------------------------------------
    def register(
        self, nik: str, full_name: str, email: str, phone: str | None, password: str
    ) -> Registration:
        """Register a citizen and mail a confirmation code. The answer is the same when
        the NIK already has an account (its holder is told by e-mail instead), so
        registration cannot be used to learn who has one."""
        try:
            validate_nik(nik)
        except NikError as e:
            raise Invalid(str(e)) from None
        email = normalise_email(email)
        passwords.check_new(password)
        account_id = acc.citizen_account_id(self.lookup("nik", nik))
        answer = Registration(account_id, acc.mask_nik(nik), email)
        password_hash = passwords.hash_password(password)
        current = self.account(account_id)
        if current is not None and current.status != "unconfirmed":
            self.mailer.send(
                current.email,
                "Someone tried to register with your NIK",
                "Someone tried to register a new Lincah account with your NIK. If that was "
                "you: you already have an account; log in with this e-mail address, or "
                "contact the service desk. If it was not you, nothing has changed.\n",
            )
            return answer
        code = f"{secrets.randbelow(10**6):06d}"
        expires = _now() + timedelta(seconds=self.settings.confirmation_ttl_s)
        data = {
            "account_id": account_id,
            "full_name": full_name,
            "email": email,
            "phone": phone,
            "nik_masked": acc.mask_nik(nik),
            "password_hash": password_hash,
            "code_hash": self._code_hash(account_id, code),
            "code_expires_at": expires.isoformat(),
            "by": account_id,
        }
        try:
            self.store.append(
                acc.account_stream(account_id),
                [NewEvent(uuid.uuid4(), acc.CITIZEN_REGISTERED, data)],
                current.version if current else -1,
            )
        except WrongExpectedVersion as e:
            raise Conflict("another registration for this NIK arrived at the same "
                               "moment; wait a minute and try again") from e  # fmt: skip
        self.mailer.send(
            email,
            "Your Lincah confirmation code",
            f"Hello {full_name},\n\nyour confirmation code: {code}\n"
            f"It is valid until {expires:%Y-%m-%d %H:%M} UTC. If you did not register on "
            "Lincah, ignore this message.\n",
        )
        return answer

    def walk_in_citizen(self, nik: str, full_name: str, by: str) -> tuple[acc.Account, bool]:
        """The citizen of ``nik`` for an officer filing on their behalf: their account
        when they have one, else a new one recorded by ``by`` with neither e-mail nor
        password (they claim it by registering with the same NIK). True when it was
        created now."""
        try:
            validate_nik(nik)
        except NikError as e:
            raise Invalid(str(e)) from None
        account_id = acc.citizen_account_id(self.lookup("nik", nik))
        current = self.account(account_id)
        if current is not None:
            return current, False
        data = {
            "account_id": account_id,
            "full_name": full_name,
            "nik_masked": acc.mask_nik(nik),
            "by": by,
        }
        try:
            self.store.append(
                acc.account_stream(account_id),
                [NewEvent(uuid.uuid4(), acc.CITIZEN_WALKED_IN, data)],
                -1,
            )
        except WrongExpectedVersion:
            return self._reload_id(account_id), False  # registered, or filed, just now
        return self._reload_id(account_id), True

    def confirm(self, account_id: str, code: str) -> acc.Account:
        account = self.account(account_id)
        if (
            account is None
            or account.status != "unconfirmed"
            or not self._code_matches(account, code)
        ):
            raise Unverified("this code is not right or has expired; register again for a "
                               "new one")  # fmt: skip
        claim = self._claim(account.email)
        if claim.account_id != account.account_id:
            owner = self.account(claim.account_id) if claim.account_id else None
            if owner is not None and owner.email == account.email:
                raise Conflict(f"{account.email} belongs to another account; register "
                                   "with another address")  # fmt: skip
            self._append_claim(account.email, account.account_id, claim.version)
        self._append(account, acc.EMAIL_CONFIRMED, {"by": account.account_id})
        return self._reload(account)

    # -- identity providers (accounts.federation) -------------------------------------
    def federated_citizen(
        self, account_id: str, link: str, full_name: str, email: str, nik_masked: str | None
    ) -> acc.Account | None:
        """The citizen account a provider's first login creates, active at once (the
        provider verified ``email``); made already: the account as it is. None when
        ``email`` belongs to another account by now, so this one cannot be made."""
        email = normalise_email(email)
        for _ in range(10):
            current = self.account(account_id)
            if current is not None and current.status != "unconfirmed":
                return current
            claim = self._claim(email)
            if claim.account_id is not None and claim.account_id != account_id:
                owner = self.account(claim.account_id)
                if owner is not None and owner.email == email:
                    return None
            data = {
                "account_id": account_id,
                "full_name": full_name,
                "email": email,
                "nik_masked": nik_masked,
                "link": link,
                "by": account_id,
            }
            try:
                if claim.account_id != account_id:
                    self._append_claim(email, account_id, claim.version)
                self.store.append(
                    acc.account_stream(account_id),
                    [NewEvent(uuid.uuid4(), acc.CITIZEN_FEDERATED, data)],
                    current.version if current else -1,
                )
            except (WrongExpectedVersion, Refusal):
                continue  # a racing login (or registration) got there first: look again
            return self._reload_id(account_id)
        raise Unavailable("too many sign-ins to this account at once; try again")

    def refuse_federated(self, account: acc.Account, kind: str) -> None:
        """Raise Forbidden when a provider that logs in ``kind`` accounts may not sign
        in to ``account`` (``domain.accounts.federated_login_refused``)."""
        why = acc.federated_login_refused(account, kind, _now())
        if why:
            raise Forbidden(why)

    def link_identity(self, account_id: str, link: str, kind: str) -> acc.Account:
        """Let the provider login ``link`` (``domain.accounts.link_key``) sign in to
        the account, a ``kind`` one; an invitee's open invitation is taken up by it.
        Raises a refusal while the account may not sign in that way."""
        for _ in range(10):
            account = self.account(account_id)
            if account is None:
                raise NotFound("the account linked to this login does not exist")
            self.refuse_federated(account, kind)
            if link in account.federated:
                return account
            event = NewEvent(uuid.uuid4(), acc.IDENTITY_LINKED, {"link": link, "by": account_id})
            try:
                self.store.append(acc.account_stream(account_id), [event], account.version)
            except WrongExpectedVersion:
                continue  # changed meanwhile (suspended?): judge it again
            return self._reload_id(account_id)
        raise Unavailable("too many changes to this account at once; try again")

    # -- any account ----------------------------------------------------------------
    def change_password(self, account_id: str, current: str, new: str) -> acc.Account:
        account = self.account(account_id)
        if account is None or not passwords.verify(account.password_hash, current):
            raise Forbidden("the current password is not right")
        passwords.check_new(new)
        self._append(account, acc.PASSWORD_CHANGED,
                     {"password_hash": passwords.hash_password(new), "by": account_id})  # fmt: skip
        return self._reload(account)

    def _append(self, account: acc.Account, type_: str, data: dict[str, Any]) -> None:
        try:
            self.store.append(
                acc.account_stream(account.account_id),
                [NewEvent(uuid.uuid4(), type_, data)],
                account.version,
            )
        except WrongExpectedVersion as e:
            raise Conflict("the account changed meanwhile; try again") from e

    def _reload(self, account: acc.Account) -> acc.Account:
        return self._reload_id(account.account_id)

    def _reload_id(self, account_id: str) -> acc.Account:
        fresh = self.account(account_id)
        assert fresh is not None
        return fresh
