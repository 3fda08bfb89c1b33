"""Why a command is refused, as kinds of the domain: every package raises these (the
catalogue and agency commands, the account registry, the workflow's update validators by
name), and only ``api/errors.py`` turns a kind into an HTTP status. Each carries a
message written for the person who asked (what happened, what to do) and, where there is
a list to give, each problem with its path."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # validation imports much of the domain; refusals stay light
    from domain.validation import Problem


class Refusal(Exception):
    """A command that cannot be done. Raise one of the kinds below, never this."""

    def __init__(self, message: str, problems: Sequence[Problem] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.problems: list[Problem] = list(problems)


class Invalid(Refusal):
    """What was sent breaks a rule: a definition, application data, a password."""


class NotFound(Refusal):
    """Nothing with this id that the caller may see."""


class Forbidden(Refusal):
    """The caller's role, agency or account may not do this."""


class Conflict(Refusal):
    """The request conflicts with the current state (done already, taken, archived)."""


class Unauthenticated(Refusal):
    """The credentials (password, refresh token, the provider's answer) do not hold."""


class Unverified(Refusal):
    """A one-time code, cookie or callback that cannot be verified: start again."""


class Unavailable(Refusal):
    """Not possible now (too many simultaneous changes, a part Lincah needs is unreachable);
    the same request may succeed later."""


class UpstreamFailed(Refusal):
    """A system Lincah relies on (an identity provider) answered something unusable."""


KINDS: tuple[type[Refusal], ...] = (
    Invalid,
    NotFound,
    Forbidden,
    Conflict,
    Unauthenticated,
    Unverified,
    Unavailable,
    UpstreamFailed,
)
"""Every kind; ``api/errors.py`` maps each to its status (a test holds it complete)."""
