"""Citizens' profiles: one stream per citizen, ``profile-<account id>`` (never the NIK:
stream names are not encrypted), appended with the version the decision was made on,
so two racing changes cannot both be recorded on a stale profile.

The values are personal data, so they rest encrypted: a ``ProfileDeclared`` event stores
the names of the fields it changed in the clear (the history needs them) and their
values sealed with AES-256-GCM under the ``profile_key`` setting, bound to the stream
(a sealed blob copied to another citizen's stream does not open). Verifications carry
no values. The event store seals that blob once more under the citizen's own data key
(``domain.personal_data``), so erasing the citizen erases their profile.

Other commands use these too: the counter (channels) declares and verifies the profile
of a walk-in citizen with ``declare`` and ``verify``, ``by`` the officer.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from accounts.registry import Registry
from config.settings import Settings
from domain import profile as pf
from domain.accounts import citizen_account_id
from domain.checks import Problem
from domain.definition import ServiceDefinition
from domain.personal_data import ERASED
from domain.refusals import Conflict, Invalid
from eventstore.port import EventStore, NewEvent, RecordedEvent, WrongExpectedVersion
from face.store import Sealer

_INFO = b"lincah profile data v1"


def profile_stream(account_id: str) -> str:
    return f"profile-{account_id}"


@dataclass(frozen=True)
class Written:
    profile: pf.Profile
    position: int | None
    """Where the change was recorded; None when it changed nothing."""


def _sealer(settings: Settings) -> Sealer:
    return Sealer(settings.profile_secret(), _INFO)


def _stored(event: pf.ProfileEvent, stream: str, sealer: Sealer) -> dict[str, Any]:
    data = event.model_dump(mode="json")
    if isinstance(event, pf.ProfileDeclared):
        plain = orjson.dumps(data.pop("changes"))
        data["fields"] = list(event.changes)
        data["sealed"] = base64.b64encode(sealer.seal(plain, stream)).decode()
    return data


def _event(e: RecordedEvent, sealer: Sealer) -> pf.ProfileEvent:
    data = e.data
    if e.type == pf.PROFILE_DECLARED and data.get("sealed") == ERASED:
        # The citizen was erased (crypto-shredding): the values are gone for good, only
        # that a declaration happened remains.
        return pf.ProfileDeclared(changes={}, by=data["by"])
    if e.type == pf.PROFILE_DECLARED:
        plain = sealer.open(base64.b64decode(data.pop("sealed")), e.stream)
        if plain is None:
            raise RuntimeError(
                f"the profile event at position {e.position} does not open with the "
                "profile_key setting (LINCAH_PROFILE_KEY): was the key changed?"
            )
        data["changes"] = orjson.loads(plain)
    return pf.EVENT_TYPES[e.type].model_validate(data)


def profile_of(store: EventStore, settings: Settings, account_id: str) -> pf.Profile:
    """The citizen's profile, folded from its stream (empty when nothing was declared)."""
    sealer = _sealer(settings)
    events = store.read_stream(profile_stream(account_id))
    return pf.fold(
        account_id,
        ((_event(e, sealer), e.recorded_at) for e in events if e.type in pf.EVENT_TYPES),
    )


def _append(
    store: EventStore, settings: Settings, profile: pf.Profile, event: pf.ProfileEvent | None
) -> Written:
    if event is None:
        return Written(profile, None)
    stream = profile_stream(profile.account_id)
    data = _stored(event, stream, _sealer(settings))
    try:
        result = store.append(stream, [NewEvent(uuid.uuid4(), event.TYPE, data)], profile.version)
    except WrongExpectedVersion as e:
        raise Conflict(
            "the profile was changed by someone else just now; read it again and retry"
        ) from e
    return Written(profile_of(store, settings, profile.account_id), result.last_position)


def _own_nik(store: EventStore, settings: Settings, account_id: str, nik: str) -> None:
    """A registered citizen's profile carries the NIK they registered with: its keyed
    hash names their account."""
    if not account_id.startswith("c-"):
        return  # not an account named by its NIK (a development token): nothing to match
    key = Registry(store, settings).lookup("nik", nik)
    if citizen_account_id(key) != account_id:
        raise Invalid(
            "the profile has problems",
            [Problem("nik", "this is not the NIK this account was registered with")],
        )


def declare(
    store: EventStore,
    settings: Settings,
    account_id: str,
    changes: Mapping[str, Any],
    by: str,
) -> Written:
    """Record declared values (self-declared; a changed verified value loses its
    verification). Values equal to the profile's record nothing."""
    profile = profile_of(store, settings, account_id)
    event = pf.declaration(profile, changes, by)
    if event is not None and "nik" in event.changes:
        _own_nik(store, settings, account_id, event.changes["nik"])
    return _append(store, settings, profile, event)


def verify(
    store: EventStore,
    settings: Settings,
    account_id: str,
    fields: Iterable[str],
    method: pf.Method,
    by: str,
) -> Written:
    """Mark fields verified (``counter``: by the officer ``by``; ``face``: by a face
    match). Fields already verified so record nothing."""
    profile = profile_of(store, settings, account_id)
    return _append(store, settings, profile, pf.verification(profile, fields, method, by))


def submission_provenance(
    store: EventStore,
    settings: Settings,
    account_id: str,
    definition: ServiceDefinition,
    data: Mapping[str, Any],
) -> dict[str, str]:
    """Each prefilled field's provenance in a submission: the verified value kept, a
    verified value changed (``changed-verified``), or self-declared. Empty when the
    form prefills nothing (the profile is then not read)."""
    prefilled = [f for f in definition.fields if f.prefill]
    if not prefilled:
        return {}
    profile = profile_of(store, settings, account_id)
    return {
        f.id: pf.submitted_provenance(pf.prefilled(profile, f.prefill or ""), data.get(f.id))
        for f in prefilled
    }
