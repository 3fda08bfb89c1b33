"""What a fold reads of a stored event: the shape every event store's recorded events
have (``eventstore.port.RecordedEvent``), so that ``domain`` folds them without
importing a store."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol


class Recorded(Protocol):
    @property
    def type(self) -> str: ...
    @property
    def data(self) -> dict[str, Any]: ...
    @property
    def version(self) -> int: ...
    @property
    def position(self) -> int: ...
    @property
    def recorded_at(self) -> datetime: ...
