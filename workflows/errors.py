"""ApplicationError types the workflow raises to refuse an update; the API maps each to
an HTTP status (``api.errors``)."""

from typing import Final

TASK_NOT_FOUND: Final = "TaskNotFound"  # 404
TASK_NOT_OPEN: Final = "TaskNotOpen"  # 409: completed already, or being completed
ROLE_MISMATCH: Final = "RoleMismatch"  # 403
OUTCOME_NOT_ALLOWED: Final = "OutcomeNotAllowed"  # 422
NOT_WAITING: Final = "NotWaiting"  # 409: the flow does not wait for this now
NOT_ALLOWED: Final = "NotAllowed"  # 403: not this actor's application or role
INVALID_INPUT: Final = "InvalidInput"  # 422: data that breaks the definition's rules
# 404: no application this actor may see (unknown, or another party's), answered as
# the API answers an unknown application, before any state is looked at
NOT_FOUND: Final = "NotFound"
