"""The crypto-shredding event store (eventstore/personal.py) over the SQLite and the
PostgreSQL backends: personal fields rest as ciphertext, read back as written, an
idempotent retry is still absorbed, the chain covers what is stored, and after erasure
every reader gets ERASED while the chain still verifies."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from crypto.data_keys import DataKeys
from domain import events as ev
from domain.personal_data import ERASED
from eventstore import chain
from eventstore.factory import open_event_store
from eventstore.personal import PersonalDataStore, is_sealed, stored
from eventstore.port import DuplicateEventIds, EventStore, NewEvent

SITI = "c-siti"
FORM = {"nik": "3510154808900003", "full_name": "Siti Aminah", "rt": 2, "note": None}


@pytest.fixture
def keys(tmp_path: Path) -> Iterator[DataKeys]:
    k = DataKeys(tmp_path / "data-keys.db", "a-master-key-for-the-tests-of-32-chars+")
    yield k
    k.close()


@pytest.fixture
def store(eventstore_backend: tuple[str, str], keys: DataKeys) -> Iterator[PersonalDataStore]:
    s = PersonalDataStore(open_event_store(*eventstore_backend), keys)
    yield s
    s.close()


def submitted(
    citizen: str = SITI, form: dict | None = None, number: str = "BWI-2026-000001"
) -> NewEvent:
    payload = ev.ApplicationSubmitted(
        application_id=number,
        service=ev.ServiceRef(id="domisili", version=1, name="Surat Keterangan Domisili"),
        agency=ev.AgencyRef(code="BWI", name="DPMPTSP Banyuwangi"),
        citizen=citizen,
        data=dict(FORM if form is None else form),
    ).payload()
    return NewEvent(ev.event_id(f"application-{number}", 0), ev.APPLICATION_SUBMITTED, payload)


def completed(comment: str) -> NewEvent:
    payload = ev.TaskCompleted(
        task_id="t1",
        step="verify",
        outcome="approve",
        comment=comment,
        actor=ev.ActorRef(subject="budi", role="officer"),
    ).payload()
    return NewEvent(ev.event_id("application-BWI-2026-000001", 1), ev.TASK_COMPLETED, payload)


STREAM = "application-BWI-2026-000001"


def raw_bytes(store: EventStore) -> bytes:
    return b"".join(orjson.dumps(e.data) for e in stored(store).read_all())


def test_personal_fields_rest_encrypted_and_read_back_as_written(store: PersonalDataStore):
    store.append(STREAM, [submitted()], -1)
    store.append(STREAM, [completed("KTP Siti Aminah sudah dicek")], 0)
    [first, second] = store.read_stream(STREAM)
    assert first.data["data"] == FORM
    assert first.data["citizen"] == SITI  # whose it is stays readable: views need it
    assert second.data["comment"] == "KTP Siti Aminah sudah dicek"
    raw = raw_bytes(store)
    assert b"Siti Aminah" not in raw and b"3510154808900003" not in raw
    as_stored = stored(store).read_stream(STREAM)
    assert all(is_sealed(v) for k, v in as_stored[0].data["data"].items() if k != "note")
    assert as_stored[0].data["data"]["note"] is None  # nothing to protect
    # The later event was sealed under the key of the citizen the stream's first names.
    assert as_stored[1].data["comment"]["k"] == as_stored[0].data["data"]["nik"]["k"]
    assert chain.verify(stored(store).read_all()) is None
    assert [e.data for e in store.read_all()] == [first.data, second.data]


def test_an_idempotent_retry_is_still_absorbed(store: PersonalDataStore):
    one = store.append(STREAM, [submitted()], -1)
    again = store.append(STREAM, [submitted()], -1)  # the activity retried
    assert again.positions == one.positions and store.head_position() == 1
    with pytest.raises(DuplicateEventIds):
        store.append(STREAM, [submitted(form={**FORM, "full_name": "Someone Else"})], -1)


def test_erasure_leaves_the_log_and_its_chain_and_shreds_the_values(
    store: PersonalDataStore, keys: DataKeys
):
    store.append(STREAM, [submitted(), completed("ok")], -1)
    dewi = submitted(citizen="c-dewi", number="BWI-2026-000002")
    store.append("application-BWI-2026-000002", [dewi], -1)
    before = [e.hash for e in stored(store).read_all()]
    erasure = keys.erase(SITI, "the citizen asked (DELETE /me)", "c-siti")
    assert erasure.keys == 1 and keys.erasures(SITI)[0].reason.startswith("the citizen")
    [first, second] = store.read_stream(STREAM)
    assert first.data["data"] == {k: (None if v is None else ERASED) for k, v in FORM.items()}
    assert second.data["comment"] == ERASED
    assert store.read_stream("application-BWI-2026-000002")[0].data["data"] == FORM
    assert [e.hash for e in stored(store).read_all()] == before
    assert chain.verify(stored(store).read_all()) is None
    # A later event of the same citizen gets a fresh key, readable again.
    store.append(
        "profile-c-siti",
        [
            NewEvent(
                uuid.uuid4(), "ProfileDeclared", {"fields": ["phone"], "sealed": "x", "by": SITI}
            )
        ],
    )
    assert store.read_stream("profile-c-siti")[0].data["sealed"] == "x"


def test_events_written_before_encryption_read_as_they_are(
    eventstore_backend: tuple[str, str], keys: DataKeys
):
    bare = open_event_store(*eventstore_backend)
    bare.append(STREAM, [submitted()], -1)
    wrapped = PersonalDataStore(bare, keys)
    assert wrapped.read_stream(STREAM)[0].data["data"] == FORM
    wrapped.close()


def test_an_anonymous_complaint_names_nobody_and_stays_as_written(store: PersonalDataStore):
    data = {
        "complaint_id": "K1",
        "agency": "BWI",
        "subject": {"kind": "unit", "ref": "x"},
        "text": "Loket tutup",
        "anonymity": "anonymous",
    }
    store.append("complaint-K1", [NewEvent(uuid.uuid4(), "ComplaintFiled", data)])
    assert stored(store).read_stream("complaint-K1")[0].data["text"] == "Loket tutup"


def test_a_moved_ciphertext_does_not_open(store: PersonalDataStore):
    store.append(STREAM, [submitted()], -1)
    sealed = stored(store).read_stream(STREAM)[0].data["data"]
    other = NewEvent(
        uuid.uuid4(),
        ev.CORRECTION_SUBMITTED,
        {"step": "s", "fields": ["nik"], "data": {"nik": sealed["nik"]}, "by": SITI},
    )
    stored(store).append(STREAM, [other])  # written bare: the ciphertext copied as it is
    with pytest.raises(ValueError, match="does not decrypt"):
        store.read_stream(STREAM)
