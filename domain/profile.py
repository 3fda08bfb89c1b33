"""A citizen's profile: the identity data the KTP and the KK carry, kept once so that
no form has to ask for it again.

Each field has a value, a provenance and a history. A value the citizen (or an officer
on their behalf) declares is ``self-declared``; an officer who has seen the documents
at the counter makes it ``verified-counter`` (the officer is recorded); a selfie that
matches the citizen's enrolled face makes the identity fields ``verified-face``. A value
that changes loses its verification: it is self-declared again.

The profile is a stream of past-tense events (``ProfileDeclared``, ``ProfileVerified``)
folded here; the stream, its encryption and its concurrency are ``commands.profile``'s.
Pure: no I/O, no clock (events carry their time).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, ClassVar, Final, Literal

from pydantic import BaseModel, ConfigDict

from domain.checks import Problem
from domain.nik import NikError, validate_nik
from domain.refusals import Invalid

SELF_DECLARED: Final = "self-declared"
VERIFIED_COUNTER: Final = "verified-counter"
VERIFIED_FACE: Final = "verified-face"
CHANGED_VERIFIED: Final = "changed-verified"
"""Not a profile state: an application's field whose submitted value replaced a
verified one (``prefill_provenance``)."""
VERIFIED: Final = frozenset({VERIFIED_COUNTER, VERIFIED_FACE})

Method = Literal["counter", "face"]
PROVENANCE_OF: Final[dict[str, str]] = {"counter": VERIFIED_COUNTER, "face": VERIFIED_FACE}

ADDRESS_PARTS: Final = (
    "street",
    "rt",
    "rw",
    "kelurahan_desa",
    "kecamatan",
    "kabupaten_kota",
    "province",
)
FIELDS: Final = (
    "nik",
    "kk_number",
    "full_name",
    "birth_place",
    "birth_date",
    "sex",
    *(f"address.{part}" for part in ADDRESS_PARTS),
    "religion",
    "marital_status",
    "occupation",
    "phone",
    "email",
)
"""Every field of a profile, in the KTP's order; the address's parts are ``address.<part>``."""
IDENTITY_FIELDS: Final = ("nik", "full_name", "birth_place", "birth_date", "sex")
"""What a face match verifies: the person, not where they live."""

# The KTP's vocabularies (UU 24/2013 as amended; the KTP prints them in capitals).
SEXES: Final = ("L", "P")
"""L laki-laki, P perempuan: as the NIK encodes it (``domain.nik``)."""
RELIGIONS: Final = (
    "Islam",
    "Kristen",
    "Katolik",
    "Hindu",
    "Buddha",
    "Konghucu",
    "Kepercayaan terhadap Tuhan YME",
)
MARITAL_STATUSES: Final = ("Belum Kawin", "Kawin", "Cerai Hidup", "Cerai Mati")

PREFILL_PREFIX: Final = "profile."
COMPOSITES: Final = {"address": tuple(f"address.{part}" for part in ADDRESS_PARTS)}
"""Prefill paths that stand for several fields, filled as one line of text."""

_KK = re.compile(r"[0-9]{16}")
_RT_RW = re.compile(r"[0-9]{1,3}")
_PHONE = re.compile(r"\+?[0-9]{8,15}")
_EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]+\.[^@\s]+")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_MAX_TEXT: Final = {"full_name": 100, "birth_place": 60, "occupation": 60, "address.street": 200}
_DEFAULT_MAX: Final = 60
"""Names of places (kelurahan, kecamatan, ...) are short; longer text is a mistake."""


# -- validation -----------------------------------------------------------------------


def _check(name: str, value: str) -> str | None:
    """Why ``value`` cannot be the field ``name``, or None. Messages never repeat a NIK
    or a KK number."""
    if name == "nik":
        try:
            validate_nik(value)
        except NikError as e:
            return str(e)
        return None
    if name == "kk_number":
        return None if _KK.fullmatch(value) else "the KK number must have exactly 16 digits"
    if name == "sex":
        return None if value in SEXES else "sex must be L (laki-laki) or P (perempuan)"
    if name == "religion":
        return None if value in RELIGIONS else f"religion must be one of: {', '.join(RELIGIONS)}"
    if name == "marital_status":
        return (
            None
            if value in MARITAL_STATUSES
            else f"marital status must be one of: {', '.join(MARITAL_STATUSES)}"
        )
    if name in ("address.rt", "address.rw"):
        return None if _RT_RW.fullmatch(value) else f"{name[8:].upper()} must be 1 to 3 digits"
    if name == "birth_date":
        try:
            born = date.fromisoformat(value) if _DATE.fullmatch(value) else None
        except ValueError:
            born = None
        return None if born is not None else "the date of birth must be a date like 1990-08-08"
    if name == "phone":
        return None if _PHONE.fullmatch(value) else "a phone number is 8 to 15 digits, e.g. 0812…"
    if name == "email":
        ok = len(value) <= 254 and _EMAIL.fullmatch(value)
        return None if ok else "that is not an e-mail address (name@domain)"
    limit = _MAX_TEXT.get(name, _DEFAULT_MAX)
    if len(value) > limit:
        return f"at most {limit} characters"
    if any(not c.isprintable() for c in value):
        return "only printable characters, on one line"
    return None


def validate_changes(changes: Mapping[str, object]) -> list[Problem]:
    """Problems in a set of declared values, each at its field's path."""
    problems = []
    for name, value in changes.items():
        if name not in FIELDS:
            shown = str(name)[:60].encode("utf-8", "backslashreplace").decode()
            problems.append(Problem(shown, f"a profile has no field {shown!r}"))
        elif not isinstance(value, str) or not value.strip():
            problems.append(Problem(name, "must be a non-empty text"))
        else:
            why = _check(name, value)
            if why:
                problems.append(Problem(name, why))
    return problems


def normalise(changes: Mapping[str, str]) -> dict[str, str]:
    """Values as stored: stripped; the e-mail address in lower case."""
    out = {name: value.strip() for name, value in changes.items()}
    if "email" in out:
        out["email"] = out["email"].lower()
    return out


def nik_disagreements(values: Mapping[str, str]) -> list[Problem]:
    """The NIK encodes the date of birth and the sex (women add 40 to the day): declared
    ones must agree with it. Messages name the field, never the NIK's digits."""
    nik = values.get("nik")
    if not nik:
        return []
    try:
        parsed = validate_nik(nik)
    except NikError:
        return []  # reported by validate_changes
    problems = []
    born = values.get("birth_date")
    if born and born != parsed.birth_date.isoformat():
        problems.append(
            Problem(
                "birth_date",
                "the date of birth does not agree with the one in the NIK (digits 7 to 12, "
                "day + 40 for women); check both against the KTP",
            )
        )
    sex = values.get("sex")
    if sex and sex != parsed.sex:
        problems.append(
            Problem(
                "sex",
                "the sex does not agree with the NIK (a woman's NIK has 40 added to the "
                "day of birth, digits 7 and 8); check both against the KTP",
            )
        )
    return problems


# -- events -----------------------------------------------------------------------------

PROFILE_DECLARED: Final = "ProfileDeclared"
PROFILE_VERIFIED: Final = "ProfileVerified"


class ProfileEvent(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore", hide_input_in_errors=True)
    TYPE: ClassVar[str]


class ProfileDeclared(ProfileEvent):
    """Values were declared: by the citizen, or by an officer for a walk-in citizen."""

    TYPE: ClassVar[str] = PROFILE_DECLARED
    changes: dict[str, str]
    by: str


class ProfileVerified(ProfileEvent):
    """Fields were checked: at the counter against the KTP/KK by an officer (``by``), or
    by a face match against the citizen's enrolment."""

    TYPE: ClassVar[str] = PROFILE_VERIFIED
    fields: list[str]
    method: Method
    by: str


EVENT_TYPES: Final[dict[str, type[ProfileEvent]]] = {
    PROFILE_DECLARED: ProfileDeclared,
    PROFILE_VERIFIED: ProfileVerified,
}


# -- the fold ---------------------------------------------------------------------------


@dataclass
class FieldState:
    value: str
    provenance: str = SELF_DECLARED
    verified_by: str | None = None
    verified_at: datetime | None = None
    changed_at: datetime | None = None

    @property
    def verified(self) -> bool:
        return self.provenance in VERIFIED


@dataclass
class Change:
    """One entry of the history the citizen sees."""

    at: datetime
    kind: Literal["declared", "verified"]
    by: str
    fields: list[str]
    values: dict[str, str] = field(default_factory=dict)
    """Declared: the new values."""
    method: Method | None = None
    """Verified: how."""
    unverified: list[str] = field(default_factory=list)
    """Declared: verified fields whose value changed, so are self-declared again."""


@dataclass
class Profile:
    account_id: str
    fields: dict[str, FieldState] = field(default_factory=dict)
    history: list[Change] = field(default_factory=list)
    version: int = -1
    """The stream's version: -1 while nothing was declared."""

    def values(self) -> dict[str, str]:
        return {name: f.value for name, f in self.fields.items()}


def apply(profile: Profile, event: ProfileEvent, at: datetime, version: int) -> Profile:
    """``profile`` after ``event`` (changed in place and returned)."""
    if isinstance(event, ProfileDeclared):
        unverified = []
        for name, value in event.changes.items():
            before = profile.fields.get(name)
            if before is not None and before.value == value:
                continue
            if before is not None and before.verified:
                unverified.append(name)
            profile.fields[name] = FieldState(value=value, changed_at=at)
        profile.history.append(
            Change(at, "declared", event.by, list(event.changes), dict(event.changes),
                   unverified=unverified)
        )  # fmt: skip
    elif isinstance(event, ProfileVerified):
        for name in event.fields:
            current = profile.fields.get(name)
            if current is not None:
                current.provenance = PROVENANCE_OF[event.method]
                current.verified_by = event.by
                current.verified_at = at
        profile.history.append(
            Change(at, "verified", event.by, list(event.fields), method=event.method)
        )
    profile.version = version
    return profile


def fold(account_id: str, events: Iterable[tuple[ProfileEvent, datetime]]) -> Profile:
    profile = Profile(account_id)
    for version, (event, at) in enumerate(events):
        apply(profile, event, at, version)
    return profile


# -- decisions --------------------------------------------------------------------------


def declaration(profile: Profile, changes: Mapping[str, Any], by: str) -> ProfileDeclared | None:
    """The event that records ``changes``, or None when they change nothing (so a
    repeated declaration records nothing). Raises ``Invalid`` with every problem."""
    problems = validate_changes(changes)
    if problems:
        raise Invalid("the profile has problems", problems)
    values = normalise(changes)
    new = {n: v for n, v in values.items() if n not in profile.fields or
           profile.fields[n].value != v}  # fmt: skip
    problems = nik_disagreements({**profile.values(), **values})
    if problems:
        raise Invalid("the profile does not agree with the NIK", problems)
    if not new:
        return None
    return ProfileDeclared(changes={n: new[n] for n in FIELDS if n in new}, by=by)


def verification(
    profile: Profile, fields: Iterable[str], method: Method, by: str
) -> ProfileVerified | None:
    """The event that marks ``fields`` verified by ``method``, or None when they all are
    already. Raises ``Invalid`` for a field that is unknown or has no value."""
    wanted = list(dict.fromkeys(fields))
    problems = [
        Problem(name, "a profile has no such field")
        if name not in FIELDS
        else Problem(name, "has no value to verify; declare it first")
        for name in wanted
        if name not in profile.fields
    ]
    if problems or not wanted:
        raise Invalid("these fields cannot be verified", problems or
                      [Problem("fields", "name at least one field")])  # fmt: skip
    target = PROVENANCE_OF[method]
    todo = [n for n in wanted if profile.fields[n].provenance != target]
    if not todo:
        return None
    return ProfileVerified(fields=[n for n in FIELDS if n in todo], method=method, by=by)


# -- prefill ----------------------------------------------------------------------------


def prefill_paths() -> list[str]:
    """Every ``prefill`` a form field may name."""
    return [PREFILL_PREFIX + p for p in (*FIELDS, *COMPOSITES)]


def prefill_problem(path: str) -> str | None:
    """Why ``path`` cannot be a form field's ``prefill``, or None."""
    name = path.removeprefix(PREFILL_PREFIX)
    if path.startswith(PREFILL_PREFIX) and (name in FIELDS or name in COMPOSITES):
        return None
    return (
        f"unknown profile field {path!r}; write profile.<field>, one of: "
        f"{', '.join(prefill_paths())}"
    )


@dataclass(frozen=True)
class Prefilled:
    value: str
    provenance: str


def _address_line(parts: Mapping[str, str]) -> str:
    street, rt, rw = parts.get("street"), parts.get("rt"), parts.get("rw")
    pieces = [street] if street else []
    if rt or rw:
        pieces.append(f"RT {(rt or '-').zfill(3)}/RW {(rw or '-').zfill(3)}")
    pieces += [parts[p] for p in ADDRESS_PARTS[3:] if parts.get(p)]
    return ", ".join(pieces)


def prefilled(profile: Profile, path: str) -> Prefilled | None:
    """The value a form field with ``prefill: path`` starts with, and its provenance;
    None when the profile has no value for it. A composite (the address) is verified
    only when every part it shows is, with the same method."""
    name = path.removeprefix(PREFILL_PREFIX)
    if name in COMPOSITES:
        present = [f for f in COMPOSITES[name] if f in profile.fields]
        if not present:
            return None
        value = _address_line({f.split(".", 1)[1]: profile.fields[f].value for f in present})
        kinds = {profile.fields[f].provenance for f in present}
        return Prefilled(value, kinds.pop() if len(kinds) == 1 else SELF_DECLARED)
    state = profile.fields.get(name)
    return None if state is None else Prefilled(state.value, state.provenance)


def submitted_provenance(offered: Prefilled | None, submitted: object) -> str:
    """What an application records for a prefilled field: the verified value kept (its
    verification), a verified value changed (``changed-verified``, flagged for the
    officer), or anything else ``self-declared``."""
    if offered is None or offered.provenance not in VERIFIED:
        return SELF_DECLARED
    kept = isinstance(submitted, str) and submitted.strip() == offered.value
    return offered.provenance if kept else CHANGED_VERIFIED
