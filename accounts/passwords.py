"""Passwords: argon2id (argon2-cffi's defaults, RFC 9106's second recommendation) and
the rule a new password must meet."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from domain.refusals import Invalid

MIN_LENGTH = 10
MAX_LENGTH = 256  # argon2 takes any length; a cap keeps a huge body from costing much

_hasher = PasswordHasher()
# Verified against when no account matches, so an unknown login costs what a known one
# does and timing does not tell them apart.
_DUMMY = _hasher.hash("no account has this password")


def check_new(password: str) -> None:
    if len(password) < MIN_LENGTH:
        raise Invalid(f"the password needs at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        raise Invalid(f"the password may have at most {MAX_LENGTH} characters")
    if len(set(password)) < 4:
        raise Invalid("the password repeats too few characters; choose another")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify(stored: str | None, password: str) -> bool:
    """True when ``password`` matches ``stored``; with no stored hash, the same work is
    done against a dummy and the answer is False."""
    try:
        return _hasher.verify(stored or _DUMMY, password[:MAX_LENGTH]) and stored is not None
    except (VerificationError, InvalidHashError):
        return False
