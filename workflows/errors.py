"""ApplicationError types the workflow raises to refuse an update, and the refusal kind
(``domain.refusals``) each one is; only ``api/errors.py`` turns a kind into HTTP."""

from collections.abc import Mapping
from typing import Final

from domain.refusals import Conflict, Forbidden, Invalid, NotFound, Refusal

TASK_NOT_FOUND: Final = "TaskNotFound"
TASK_NOT_OPEN: Final = "TaskNotOpen"  # completed already, or being completed
ROLE_MISMATCH: Final = "RoleMismatch"
OUTCOME_NOT_ALLOWED: Final = "OutcomeNotAllowed"
NOT_WAITING: Final = "NotWaiting"  # the flow does not wait for this now
NOT_ALLOWED: Final = "NotAllowed"  # not this actor's application or role
INVALID_INPUT: Final = "InvalidInput"  # data that breaks the definition's rules
# No application this actor may see (unknown, or another party's), answered as the API
# answers an unknown application, before any state is looked at.
NOT_FOUND: Final = "NotFound"

KIND: Final[Mapping[str, type[Refusal]]] = {
    TASK_NOT_FOUND: NotFound,
    TASK_NOT_OPEN: Conflict,
    ROLE_MISMATCH: Forbidden,
    OUTCOME_NOT_ALLOWED: Invalid,
    NOT_WAITING: Conflict,
    NOT_ALLOWED: Forbidden,
    INVALID_INPUT: Invalid,
    NOT_FOUND: NotFound,
}
"""The refusal each update error type is."""
