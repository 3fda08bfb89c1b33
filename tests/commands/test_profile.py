"""The profile commands on a real SQLite event store: values rest encrypted and bound
to their stream, a change decided on a stale profile is refused, a registered citizen's
NIK is theirs, and a submission's provenance is worked out from the profile."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from accounts.registry import Registry
from commands import profile as commands
from config.settings import Settings
from domain import profile as pf
from domain.definition import ServiceDefinition
from domain.refusals import Conflict, Invalid
from eventstore.port import NewEvent
from eventstore.sqlite import SqliteEventStore
from lincah.demo import DOMISILI

NIK = "3510154808900003"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteEventStore]:
    s = SqliteEventStore(tmp_path / "events.db")
    yield s
    s.close()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(var_dir=tmp_path / "var", profile_key="k" * 48)


def test_values_are_sealed_and_bound_to_their_stream(store, settings):
    commands.declare(store, settings, "siti", {"full_name": "Siti Aminah", "nik": NIK}, "siti")
    [event] = store.read_stream(commands.profile_stream("siti"))
    assert "Siti" not in str(event.data) and NIK not in str(event.data)
    assert event.data["fields"] == ["nik", "full_name"]
    # The same sealed values copied to another citizen's stream do not open.
    copied = NewEvent(uuid.uuid4(), event.type, event.data)
    store.append(commands.profile_stream("agus"), [copied], -1)
    with pytest.raises(RuntimeError, match="profile_key"):
        commands.profile_of(store, settings, "agus")
    # Nor under another key.
    other = settings.model_copy(update={"profile_key": "x" * 48})
    with pytest.raises(RuntimeError, match="profile_key"):
        commands.profile_of(store, other, "siti")
    assert commands.profile_of(store, settings, "siti").values() == {
        "nik": NIK,
        "full_name": "Siti Aminah",
    }


def test_a_change_decided_on_a_stale_profile_is_refused(store, settings):
    commands.declare(store, settings, "siti", {"full_name": "Siti Aminah"}, "siti")
    stale = commands.profile_of(store, settings, "siti")
    commands.verify(store, settings, "siti", ["full_name"], "counter", "s-budi")
    event = pf.declaration(stale, {"full_name": "Siti A."}, "siti")
    with pytest.raises(Conflict, match="changed by someone else"):
        commands._append(store, settings, stale, event)
    assert commands.profile_of(store, settings, "siti").fields["full_name"].verified


def test_a_registered_citizen_declares_only_their_own_nik(store, settings):
    account = (
        Registry(store, settings)
        .register(NIK, "Siti Aminah", "siti@example.id", None, "kata-sandi-uji-2026")
        .account_id
    )
    with pytest.raises(Invalid) as e:
        commands.declare(store, settings, account, {"nik": "3509011203850002"}, account)
    assert [p.path for p in e.value.problems] == ["nik"]
    written = commands.declare(store, settings, account, {"nik": NIK}, account)
    assert written.position is not None


def test_submission_provenance(store, settings):
    definition = ServiceDefinition.model_validate(DOMISILI)
    commands.declare(store, settings, "siti", {"nik": NIK, "full_name": "Siti Aminah"}, "siti")
    commands.verify(store, settings, "siti", ["nik", "full_name"], "face", "siti")
    data = {"nik": NIK, "full_name": "Siti", "address": "Jl. Baru 1", "kelurahan": "Penganjuran"}
    assert commands.submission_provenance(store, settings, "siti", definition, data) == {
        "nik": pf.VERIFIED_FACE,
        "full_name": pf.CHANGED_VERIFIED,
        "address": pf.SELF_DECLARED,
        "kelurahan": pf.SELF_DECLARED,
    }
    plain = ServiceDefinition.model_validate(
        {
            **DOMISILI,
            "fields": [{k: v for k, v in f.items() if k != "prefill"} for f in DOMISILI["fields"]],
        }  # fmt: skip
    )
    assert commands.submission_provenance(store, settings, "siti", plain, data) == {}
