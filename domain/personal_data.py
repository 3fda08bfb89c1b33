"""Which fields of which events are a citizen's personal data, and whose.

One table (``PERSONAL``) names, per event type, the fields that hold personal data and
how to find the citizen they belong to. The event store encrypts exactly these fields
with that citizen's data key (``eventstore.personal``); erasing the citizen deletes the
key, and from then on every reader gets ``ERASED`` in their place (crypto-shredding:
the events stay in the log, and the hash chain, computed over the ciphertext, still
verifies). A new event type that carries personal data states it here, in one line.

Field paths are a top-level key (``"message"``: its value) or a key and ``.*``
(``"data.*"``: each value of the dict at ``data``; the dict's keys, form field ids,
stay readable so that views can still say which fields were erased). A ``None`` value
is left as it is: there is nothing to protect.

The owner of an event is named by one of three rules:

- ``Owner(field="citizen")``: the payload's key holding the citizen's account id (an
  anonymous complaint has none there, and is not encrypted);
- ``Owner(stream_prefix="profile-")``: the stream's name after the prefix;
- ``STREAM_OWNER``: whoever owns the stream's first event (an application's later
  events belong to the citizen named by its ``ApplicationSubmitted``).

Pure: no I/O, no keys; ``eventstore.personal`` applies it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Final

from domain import accounts as acc
from domain import complaints as c
from domain import events as ev
from domain import profile as pf
from domain import wallet

ERASED: Final = "[dihapus]"
"""What a reader gets in place of a value whose citizen was erased ("deleted")."""

CITIZEN_DATA_ERASED: Final = "CitizenDataErased"
"""On the stream ``erasure-<citizen>``: the citizen's data key was deleted. Carries who
erased, when, why and what was removed; never personal data."""
ERASURE_PREFIX: Final = "erasure-"


def erasure_stream(citizen: str) -> str:
    return f"{ERASURE_PREFIX}{citizen}"


@dataclass(frozen=True)
class Owner:
    """How to find the citizen an event's personal data belongs to (see the module)."""

    field: str | None = None
    stream_prefix: str | None = None


STREAM_OWNER: Final = Owner()
"""The owner of the stream's first event."""


@dataclass(frozen=True)
class Personal:
    paths: tuple[str, ...]
    owner: Owner


_APPLICATION = Owner(field="citizen")

PERSONAL: Final[Mapping[str, Personal]] = {
    # Applications: the form's values, what external systems answered about the
    # citizen, and the free texts written to or about them.
    ev.APPLICATION_SUBMITTED: Personal(("data.*",), _APPLICATION),
    ev.CORRECTION_SUBMITTED: Personal(("data.*",), STREAM_OWNER),
    ev.CORRECTION_REQUESTED: Personal(("reason",), _APPLICATION),
    ev.CITIZEN_NOTIFIED: Personal(("message",), _APPLICATION),
    ev.EXTERNAL_EVENT_RECEIVED: Personal(("data.*",), STREAM_OWNER),
    ev.TASK_COMPLETED: Personal(("comment",), STREAM_OWNER),
    ev.VISIT_RECORDED: Personal(("note",), STREAM_OWNER),
    ev.CANCELLATION_REQUESTED: Personal(("reason",), STREAM_OWNER),
    # Citizens' accounts: name and contact details (the NIK is only ever kept masked).
    acc.CITIZEN_REGISTERED: Personal(("full_name", "email", "phone"), Owner(field="account_id")),
    acc.CITIZEN_FEDERATED: Personal(("full_name", "email"), Owner(field="account_id")),
    acc.CITIZEN_WALKED_IN: Personal(("full_name",), Owner(field="account_id")),
    # The profile's values are sealed under profile_key already; the per-citizen key
    # around them is what erasure deletes.
    pf.PROFILE_DECLARED: Personal(("sealed",), Owner(stream_prefix="profile-")),
    # The wallet: the name the citizen gave a file ("KTP Siti.pdf"); the file itself
    # rests outside the event store, deleted by the erasure.
    wallet.DOCUMENT_UPLOADED: Personal(("filename",), Owner(field="citizen")),
    # Complaints of a named complainant (an anonymous one names nobody to erase).
    c.COMPLAINT_FILED: Personal(("text",), Owner(field="complainant")),
    c.COMPLAINT_INFO_PROVIDED: Personal(("text",), STREAM_OWNER),
    c.COMPLAINT_RESPONDED: Personal(("comment",), STREAM_OWNER),
}
"""Event type -> its personal fields and their owner."""


def owner_of(event_type: str, stream: str, data: Mapping[str, Any]) -> str | None:
    """The citizen named by the event itself, or None: nobody (an anonymous complaint),
    or the stream's first event decides (``STREAM_OWNER``: the caller looks it up)."""
    spec = PERSONAL.get(event_type)
    if spec is None:
        return None
    if spec.owner.field is not None:
        value = data.get(spec.owner.field)
        return value if isinstance(value, str) and value else None
    if spec.owner.stream_prefix is not None and stream.startswith(spec.owner.stream_prefix):
        return stream.removeprefix(spec.owner.stream_prefix) or None
    return None


def values(data: Mapping[str, Any], paths: tuple[str, ...]) -> Iterator[tuple[str, Any]]:
    """(concrete path, value) of each personal value of ``data``, None values skipped."""
    for path in paths:
        key, _, rest = path.partition(".")
        value = data.get(key)
        if rest == "*":
            if isinstance(value, dict):
                for name, item in value.items():
                    if item is not None:
                        yield f"{key}.{name}", item
        elif value is not None:
            yield key, value


def transform(
    data: dict[str, Any], paths: tuple[str, ...], change: Callable[[str, Any], Any]
) -> dict[str, Any]:
    """A copy of ``data`` with each personal value replaced by ``change(path, value)``."""
    out = dict(data)
    for path in paths:
        key, _, rest = path.partition(".")
        value = out.get(key)
        if rest == "*":
            if isinstance(value, dict):
                out[key] = {
                    name: item if item is None else change(f"{key}.{name}", item)
                    for name, item in value.items()
                }
        elif value is not None:
            out[key] = change(key, value)
    return out
