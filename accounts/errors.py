"""The one refusal every account command raises."""

from __future__ import annotations


class Refused(Exception):
    """A command that cannot be done; ``status`` is the HTTP status to answer with and
    ``message`` says what to do, written for the person who asked."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
