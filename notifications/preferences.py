"""A citizen's notification preferences: which channels besides in-app (always on) and
which language. Stored as events on the citizen's own stream, so the outbox subscriber
folds them in log order and every message goes out under the preferences that held
when its event was written."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable
from typing import Any, ClassVar, Final, Literal

from pydantic import BaseModel, ConfigDict

from domain.events import Event
from eventstore.port import EventStore, NewEvent

PREFERENCES_SET: Final = "NotificationPreferencesSet"
STREAM_PREFIX: Final = "notifyprefs-"
Language = Literal["id", "en"]


class Preferences(BaseModel):
    """What the citizen chose; a citizen who never chose gets these defaults."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    email: bool = True
    sms: bool = False
    whatsapp: bool = True
    language: Language = "id"


class NotificationPreferencesSet(Event):
    TYPE: ClassVar[str] = PREFERENCES_SET
    citizen: str
    email: bool
    sms: bool
    whatsapp: bool
    language: Language
    by: str


def stream(citizen: str) -> str:
    """The citizen's preference stream. A hash of the subject: subjects may be e-mail
    addresses (development tokens), and stream names are not the place for them."""
    return STREAM_PREFIX + hashlib.sha256(citizen.encode()).hexdigest()[:40]


def from_event(data: dict[str, Any]) -> tuple[str, Preferences]:
    e = NotificationPreferencesSet.model_validate(data)
    return e.citizen, Preferences(
        email=e.email, sms=e.sms, whatsapp=e.whatsapp, language=e.language
    )


def fold(events: Iterable[Any]) -> Preferences:
    prefs = Preferences()
    for e in events:
        if e.type == PREFERENCES_SET:
            prefs = from_event(e.data)[1]
    return prefs


def load(store: EventStore, citizen: str) -> Preferences:
    return fold(store.read_stream(stream(citizen)))


def save(store: EventStore, citizen: str, prefs: Preferences) -> int:
    """Record the citizen's choice; returns the event's position."""
    event = NotificationPreferencesSet(citizen=citizen, by=citizen, **prefs.model_dump())
    result = store.append(
        stream(citizen), [NewEvent(uuid.uuid4(), PREFERENCES_SET, event.payload())]
    )
    return result.last_position
