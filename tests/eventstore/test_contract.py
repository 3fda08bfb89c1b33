"""The event-store contract: every backend in backends.BACKENDS must pass all of it.

The last section holds the few checks that only make sense for SQLite.
"""

from __future__ import annotations

import importlib.util
import os
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType

import pytest

from eventstore import chain
from eventstore.factory import open_event_store
from eventstore.port import (
    ANY,
    MAX_EVENT_BYTES,
    MAX_STREAM_NAME,
    NO_STREAM,
    AppendResult,
    DuplicateEventIds,
    EventStore,
    EventStoreError,
    InvalidEvent,
    NewEvent,
    RecordedEvent,
    WrongExpectedVersion,
)

REPO_ROOT = Path(__file__).resolve().parents[2]


def _load_backends() -> ModuleType:
    name = "lincah_tests_eventstore_backends"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name("backends.py"))
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


backends = _load_backends()


@pytest.fixture(params=list(backends.BACKENDS))
def backend(request):
    with backends.BACKENDS[request.param](request) as target:
        yield target


@pytest.fixture
def store(backend):
    opened = open_event_store(backend.kind, backend.url)
    yield opened
    opened.close()


def ev(event_type: str = "Happened", data: dict | None = None, **metadata) -> NewEvent:
    return NewEvent(
        id=uuid.uuid4(), type=event_type, data={"n": 0} if data is None else data, metadata=metadata
    )


def batch(n: int, event_type: str = "Happened") -> list[NewEvent]:
    return [ev(event_type, {"n": i}) for i in range(n)]


def assert_positions_increase(events: list[RecordedEvent]) -> None:
    positions = [e.position for e in events]
    assert all(a < b for a, b in zip(positions, positions[1:], strict=False)), positions


def append_with_retry(store: EventStore, stream: str, event: NewEvent) -> int:
    """Optimistic-concurrency loop: read the version, append expecting it, retry on conflict."""
    attempts = 0
    while True:
        attempts += 1
        try:
            store.append(stream, [event], expected_version=store.stream_version(stream))
            return attempts
        except WrongExpectedVersion:
            assert attempts < 10_000


def run_threads(count: int, target) -> None:
    errors: list[BaseException] = []
    barrier = threading.Barrier(count)

    def body(index: int) -> None:
        try:
            barrier.wait(timeout=30)
            target(index)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=body, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
        assert not thread.is_alive(), "a writer thread hung"
    if errors:
        raise errors[0]


# -- empty store and simple appends ----------------------------------------------------


def test_empty_store(store):
    assert store.head_position() == 0
    assert store.stream_version("nothing-here") == NO_STREAM
    assert store.read_stream("nothing-here") == []
    assert store.read_stream("nothing-here", backwards=True) == []
    assert store.read_all() == []


def test_append_to_new_stream(store):
    events = [ev("Submitted", {"n": i}, actor=f"u{i}") for i in range(3)]
    before = datetime.now(UTC) - timedelta(seconds=5)

    result = store.append("permit-1", events, expected_version=NO_STREAM)

    assert result.stream_version == 2
    assert len(result.positions) == 3
    assert all(p > 0 for p in result.positions)
    assert result.positions == sorted(set(result.positions))
    assert result.last_position == result.positions[-1] == store.head_position()
    assert store.stream_version("permit-1") == 2

    stored = store.read_stream("permit-1")
    assert [e.version for e in stored] == [0, 1, 2]
    assert [e.position for e in stored] == result.positions
    assert [e.id for e in stored] == [e.id for e in events]
    assert all(e.stream == "permit-1" and e.type == "Submitted" for e in stored)
    assert [e.data for e in stored] == [{"n": 0}, {"n": 1}, {"n": 2}]
    assert [e.metadata for e in stored] == [{"actor": "u0"}, {"actor": "u1"}, {"actor": "u2"}]
    for e in stored:
        assert e.recorded_at.tzinfo is not None
        assert e.recorded_at.utcoffset() == timedelta(0)
        assert before <= e.recorded_at <= datetime.now(UTC) + timedelta(seconds=5)


def test_append_with_matching_expected_version(store):
    store.append("s", batch(3), expected_version=NO_STREAM)
    result = store.append("s", batch(2), expected_version=2)
    assert result.stream_version == 4
    result = store.append("s", batch(1), expected_version=4)
    assert result.stream_version == 5
    assert [e.version for e in store.read_stream("s")] == list(range(6))


def test_any_appends_at_whatever_version(store):
    assert store.append("s", batch(2), expected_version=ANY).stream_version == 1
    assert store.append("s", batch(2)).stream_version == 3


@pytest.mark.parametrize("expected", [0, 2, 7])
def test_wrong_expected_version_carries_current(store, expected):
    store.append("s", batch(2))
    head = store.head_position()
    with pytest.raises(WrongExpectedVersion) as info:
        store.append("s", batch(1), expected_version=expected)
    assert info.value.stream == "s"
    assert info.value.expected == expected
    assert info.value.current == 1
    assert store.head_position() == head
    assert store.stream_version("s") == 1


def test_expected_version_on_missing_stream(store):
    with pytest.raises(WrongExpectedVersion) as info:
        store.append("missing", batch(1), expected_version=0)
    assert info.value.current == NO_STREAM
    assert store.head_position() == 0


def test_no_stream_on_existing_stream_fails(store):
    store.append("s", batch(1), expected_version=NO_STREAM)
    with pytest.raises(WrongExpectedVersion) as info:
        store.append("s", batch(1), expected_version=NO_STREAM)
    assert info.value.expected == NO_STREAM
    assert info.value.current == 0
    assert store.stream_version("s") == 0


# -- idempotency -----------------------------------------------------------------------


def test_idempotent_retry_returns_stored_result(store):
    first = batch(3)
    result = store.append("s", first, expected_version=NO_STREAM)
    store.append("s", batch(2))  # the stream moves on
    store.append("other", batch(1))
    head = store.head_position()

    # The retry's expected version is stale, yet it succeeds with the stored result.
    again = store.append("s", first, expected_version=NO_STREAM)

    assert again == result
    assert store.head_position() == head
    assert len(store.read_stream("s")) == 5
    assert len(store.read_all()) == 6


def test_idempotent_retry_ignores_key_order_and_metadata(store):
    original = NewEvent(uuid.uuid4(), "Filed", {"a": 1, "b": {"x": 1, "y": 2}}, {"try": 1})
    result = store.append("s", [original])
    retry = NewEvent(original.id, "Filed", {"b": {"y": 2, "x": 1}, "a": 1}, {"try": 2})
    assert store.append("s", [retry], expected_version=NO_STREAM) == result
    assert store.head_position() == result.last_position
    assert store.read_stream("s")[0].metadata == {"try": 1}


def test_idempotent_retries_racing_in_threads(store):
    rounds, racers = 10, 4
    for r in range(rounds):
        stream = f"race-{r}"
        events = batch(2)
        results = [None] * racers

        def race(i: int, stream=stream, events=events, results=results) -> None:
            results[i] = store.append(stream, events, expected_version=NO_STREAM)

        run_threads(racers, race)
        assert all(res == results[0] for res in results), results
        assert [e.id for e in store.read_stream(stream)] == [e.id for e in events]
    assert store.head_position() == rounds * 2
    assert len(store.read_all()) == rounds * 2


def test_batch_mixing_stored_and_new_ids_is_refused(store):
    stored = batch(2)
    store.append("s", stored)
    fresh = ev()
    head = store.head_position()
    with pytest.raises(DuplicateEventIds) as info:
        store.append("s", [*stored, fresh])
    message = str(info.value)
    assert str(stored[0].id) in message
    assert str(fresh.id) in message
    assert store.head_position() == head
    assert store.stream_version("s") == 1


def test_same_id_with_different_content_is_refused(store):
    original = ev("Filed", {"a": 1})
    store.append("s", [original])
    head = store.head_position()
    clashes = [
        ("s", NewEvent(original.id, "Filed", {"a": 2})),  # other data
        ("s", NewEvent(original.id, "Withdrawn", {"a": 1})),  # other type
        ("elsewhere", NewEvent(original.id, "Filed", {"a": 1})),  # other stream
    ]
    for stream, clash in clashes:
        with pytest.raises(DuplicateEventIds, match=str(original.id)):
            store.append(stream, [clash])
    assert store.head_position() == head
    assert store.stream_version("elsewhere") == NO_STREAM


# -- atomicity and validation ----------------------------------------------------------


def _set_data() -> dict:
    return {"tags": {"a", "b"}}


def _object_data() -> dict:
    return {"thing": object()}


def _oversized_data() -> dict:
    return {"blob": "x" * MAX_EVENT_BYTES}


@pytest.mark.parametrize("bad", [_set_data, _object_data, _oversized_data])
def test_batch_with_one_invalid_event_stores_nothing(store, bad):
    store.append("s", batch(1))
    head = store.head_position()
    with pytest.raises(InvalidEvent):
        store.append("s", [ev(), ev("Bad", bad()), ev()])
    assert store.head_position() == head
    assert store.stream_version("s") == 0


def test_batch_repeating_an_id_stores_nothing(store):
    event = ev()
    with pytest.raises(InvalidEvent, match=str(event.id)):
        store.append("s", [event, ev(), event])
    assert store.head_position() == 0


@pytest.mark.parametrize(
    ("stream", "events", "match"),
    [
        pytest.param("", lambda: [ev()], "stream", id="empty-stream-name"),
        pytest.param("s" * (MAX_STREAM_NAME + 1), lambda: [ev()], "stream", id="long-stream-name"),
        pytest.param("a\x00b", lambda: [ev()], "NUL", id="nul-in-stream-name"),
        pytest.param("s", lambda: [ev("T", _set_data())], "JSON", id="set-payload"),
        pytest.param("s", lambda: [ev("T", _object_data())], "JSON", id="object-payload"),
        pytest.param(
            "s",
            lambda: [NewEvent(uuid.uuid4(), "T", {}, {"when": {1, 2}})],
            "JSON",
            id="set-metadata",
        ),
        pytest.param("s", lambda: [ev("T", _oversized_data())], "bytes", id="oversized-event"),
        pytest.param("s", lambda: [], "non-empty", id="empty-batch"),
        pytest.param("s", lambda: [ev("")], "type", id="empty-type"),
        pytest.param("s", lambda: [ev("T" * 201)], "type", id="long-type"),
    ],
)
def test_bad_input_is_refused(store, stream, events, match):
    with pytest.raises(InvalidEvent, match=match):
        store.append(stream, events())
    assert store.head_position() == 0


def test_longest_stream_name_is_accepted(store):
    name = "🏛" * MAX_STREAM_NAME
    store.append(name, batch(1))
    assert store.read_stream(name)[0].stream == name


# -- reading ---------------------------------------------------------------------------


def test_read_stream_forwards_and_backwards(store):
    store.append("s", batch(10))
    store.append("t", batch(3))

    def versions(**kwargs) -> list[int]:
        return [e.version for e in store.read_stream("s", **kwargs)]

    assert versions() == list(range(10))
    assert versions(from_version=3) == list(range(3, 10))
    assert versions(from_version=3, limit=4) == [3, 4, 5, 6]
    assert versions(from_version=10) == []
    assert versions(limit=0) == []
    assert versions(backwards=True) == list(range(9, -1, -1))
    assert versions(backwards=True, limit=2) == [9, 8]
    assert versions(from_version=5, backwards=True, limit=3) == [5, 4, 3]
    assert versions(from_version=1, backwards=True) == [1, 0]
    assert versions(from_version=50, backwards=True, limit=1) == [9]
    assert [e.data["n"] for e in store.read_stream("s", from_version=2, limit=2)] == [2, 3]
    assert all(e.stream == "s" for e in store.read_stream("s"))


def test_read_all_from_a_position_with_limit(store):
    for i in range(5):
        store.append("a", batch(2))
        store.append(f"b-{i}", batch(1))
    everything = store.read_all()
    assert len(everything) == 15
    assert_positions_increase(everything)
    assert everything[-1].position == store.head_position()

    middle = everything[4].position
    page = store.read_all(after=middle, limit=3)
    assert [e.id for e in page] == [e.id for e in everything[5:8]]
    assert store.read_all(after=store.head_position()) == []
    assert store.read_all(limit=0) == []

    paged: list[RecordedEvent] = []
    after = 0
    while chunk := store.read_all(after=after, limit=4):
        paged.extend(chunk)
        after = chunk[-1].position
    assert [e.id for e in paged] == [e.id for e in everything]


def test_positions_strictly_increase(store):
    last = 0
    for i in range(20):
        result = store.append(f"s-{i % 3}", batch(1 + i % 4))
        assert result.positions[0] > last
        assert_positions_increase(store.read_all(after=last))
        last = result.last_position
    everything = store.read_all()
    assert_positions_increase(everything)
    assert len({e.id for e in everything}) == len(everything) == sum(1 + i % 4 for i in range(20))


def test_reopened_store_sees_the_events(backend, store):
    result = store.append("s", batch(3))
    again = open_event_store(backend.kind, backend.url)
    try:
        assert again.head_position() == result.last_position
        assert [e.version for e in again.read_stream("s")] == [0, 1, 2]
        assert again.append("s", batch(1), expected_version=2).stream_version == 3
    finally:
        again.close()
    assert store.stream_version("s") == 3


# -- payloads --------------------------------------------------------------------------


def test_one_megabyte_payload_round_trips(store):
    blob = ("Surat Keterangan Domisili 🏛️ " * 40_000)[: 1024 * 1024]
    event = ev("DocumentAttached", {"blob": blob, "size": len(blob)})
    store.append("s", [event])
    (stored,) = store.read_stream("s")
    assert stored.data == {"blob": blob, "size": len(blob)}


def test_unicode_in_stream_names_and_data(store):
    stream = "Surat Keterangan Domisili — Kecamatan Giri 🏛️"
    data = {
        "pemohon": "Ni Luh Putu Ayu Ṡaraswatī",
        "alamat": "Jl. Ahmad Yani № 7, Banyuwangi",
        "catatan": "日本語 · العربية · emoji 🏛️✅",
        "kunci 🔑": ["ü", "ß", "\u200b"],
    }
    store.append(stream, [ev("Diajukan", data)])
    (stored,) = store.read_stream(stream)
    assert stored.stream == stream
    assert stored.data == data
    assert store.stream_version(stream) == 0
    assert store.read_all()[0].stream == stream


def test_metadata_round_trips(store):
    metadata = {
        "actor": {"id": "u-17", "roles": ["petugas", "verifikator"]},
        "correlation_id": str(uuid.uuid4()),
        "attempt": 3,
        "ratio": 0.25,
        "flags": [True, False, None],
        "nested": {"deep": {"deeper": ["x", 1, 2.5]}},
    }
    event = NewEvent(uuid.uuid4(), "Verified", {"ok": True}, metadata)
    store.append("s", [event])
    assert store.read_stream("s")[0].metadata == metadata
    assert store.read_all()[0].metadata == metadata
    store.append("s", [NewEvent(uuid.uuid4(), "Bare", {})])
    assert store.read_stream("s")[1].metadata == {}
    assert store.read_stream("s")[1].data == {}


# -- concurrency -----------------------------------------------------------------------


def test_concurrent_writers_on_one_stream_threads(store):
    writers, per_writer = 8, 50

    def write(worker: int) -> None:
        for i in range(per_writer):
            append_with_retry(store, "shared", ev("Wrote", {"worker": worker, "i": i}))

    run_threads(writers, write)

    events = store.read_stream("shared")
    assert [e.version for e in events] == list(range(writers * per_writer))
    assert_positions_increase(events)
    assert len({e.id for e in events}) == writers * per_writer
    for worker in range(writers):
        mine = [e.data["i"] for e in events if e.data["worker"] == worker]
        assert mine == list(range(per_writer))
    assert store.head_position() == events[-1].position


def test_concurrent_writers_on_separate_streams_threads(store):
    writers, per_writer = 8, 50

    def write(worker: int) -> None:
        stream = f"own-{worker}"
        for i in range(per_writer):
            result = store.append(
                stream, [ev("Wrote", {"i": i})], expected_version=i - 1 if i else NO_STREAM
            )
            assert result.stream_version == i

    run_threads(writers, write)

    everything = store.read_all(limit=10_000)
    assert len(everything) == len({e.id for e in everything}) == writers * per_writer
    assert_positions_increase(everything)
    for worker in range(writers):
        events = store.read_stream(f"own-{worker}")
        assert [e.version for e in events] == list(range(per_writer))
        assert [e.data["i"] for e in events] == list(range(per_writer))


_CHILD = r"""
import sys, time, uuid
from pathlib import Path
from eventstore.factory import open_event_store
from eventstore.port import NewEvent, WrongExpectedVersion

kind, url, stream, worker, count, sync = sys.argv[1:7]
worker, count, sync = int(worker), int(count), Path(sync)
store = open_event_store(kind, url)
(sync / f"ready-{worker}").touch()
deadline = time.monotonic() + 60
while not (sync / "go").exists():
    if time.monotonic() > deadline:
        sys.exit("no go signal")
    time.sleep(0.002)
for i in range(count):
    event = NewEvent(uuid.uuid4(), "ProcessWrote", {"worker": worker, "i": i})
    while True:
        try:
            store.append(stream, [event], expected_version=store.stream_version(stream))
            break
        except WrongExpectedVersion:
            pass
store.close()
"""


def test_concurrent_writers_in_separate_processes(backend, store, tmp_path):
    processes, per_process = 3, 30
    sync = tmp_path / "sync"
    sync.mkdir()
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    children = [
        subprocess.Popen(
            [sys.executable, "-c", _CHILD, backend.kind, backend.url, "shared"]
            + [str(worker), str(per_process), str(sync)],
            cwd=REPO_ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for worker in range(processes)
    ]
    try:
        deadline = time.monotonic() + 60
        while len(list(sync.glob("ready-*"))) < processes:
            failed = [c for c in children if c.poll() not in (None, 0)]
            assert not failed, failed[0].communicate()[1]
            assert time.monotonic() < deadline, "child processes did not start"
            time.sleep(0.01)
        (sync / "go").touch()
        for child in children:
            out, err = child.communicate(timeout=60)
            assert child.returncode == 0, err
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
                child.wait()

    events = store.read_stream("shared")
    assert [e.version for e in events] == list(range(processes * per_process))
    assert_positions_increase(events)
    assert len({e.id for e in events}) == processes * per_process
    for worker in range(processes):
        mine = [e.data["i"] for e in events if e.data["worker"] == worker]
        assert mine == list(range(per_process))
    assert store.head_position() == events[-1].position


# -- hash chain ------------------------------------------------------------------------


def test_every_event_is_chained_to_the_previous_of_its_stream(store):
    store.append("a", batch(3), expected_version=NO_STREAM)
    store.append("b", [ev("Other", {"x": "ü🏛"}, actor="u1")])
    store.append("a", [ev("Later", {"n": 9}, trace="t")], expected_version=2)
    everything = store.read_all()
    assert chain.verify(everything) is None
    a = store.read_stream("a")
    assert a[0].prev_hash == chain.GENESIS
    assert [e.prev_hash for e in a[1:]] == [e.hash for e in a[:-1]]
    assert len({e.hash for e in everything}) == len(everything)
    for e in everything:
        # The backend's hash is the documented canonical encoding (on PostgreSQL it is
        # computed in SQL, so this checks SQL and Python agree).
        assert e.hash == chain.event_hash(e)
        assert len(e.hash) == 64 and int(e.hash, 16) >= 0
    (b,) = store.read_stream("b")
    assert b.prev_hash == chain.GENESIS


def test_chain_detects_a_changed_event():
    event = RecordedEvent(
        id=uuid.uuid4(),
        stream="s",
        version=0,
        position=1,
        type="Filed",
        data={"a": 1},
        metadata={},
        recorded_at=datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC),
    )
    sealed = event.replace(hash=chain.event_hash(event))
    second = RecordedEvent(
        uuid.uuid4(), "s", 1, 2, "Done", {}, {}, sealed.recorded_at, prev_hash=sealed.hash
    )
    second = second.replace(hash=chain.event_hash(second))
    assert chain.verify([sealed, second]) is None
    for change in (
        {"data": {"a": 2}},
        {"type": "Withdrawn"},
        {"metadata": {"actor": "mallory"}},
        {"recorded_at": sealed.recorded_at + timedelta(microseconds=1)},
        {"id": uuid.uuid4()},
    ):
        broken = chain.verify([sealed.replace(**change), second])
        assert broken is not None and (broken.stream, broken.version) == ("s", 0), change
        assert "changed" in broken.reason
    # a deleted middle event breaks the next link
    third = RecordedEvent(uuid.uuid4(), "s", 2, 3, "X", {}, {}, sealed.recorded_at, "", second.hash)
    third = third.replace(hash=chain.event_hash(third))
    broken = chain.verify([sealed, third])
    assert broken is not None and (broken.version, broken.position) == (2, 3)
    assert "missing" in broken.reason


# -- subscriptions -----------------------------------------------------------------------


def test_subscription_catches_up_from_a_checkpoint_then_tails(store):
    first = store.append("a", batch(5))
    with store.subscribe(after=first.positions[1], batch_size=2) as sub:
        caught_up: list[RecordedEvent] = []
        while chunk := sub.next_batch(timeout=0):
            assert len(chunk) <= 2
            caught_up.extend(chunk)
        assert [e.position for e in caught_up] == first.positions[2:]
        assert sub.position == first.last_position

        writer = threading.Thread(target=lambda: store.append("b", batch(3)))
        writer.start()
        live: list[RecordedEvent] = []
        while len(live) < 3:
            live.extend(sub.next_batch(timeout=30))
        writer.join()
        assert [e.stream for e in live] == ["b"] * 3
        assert_positions_increase(caught_up + live)
        assert sub.next_batch(timeout=0) == []

        sub.seek(0)  # e.g. back to the consumer's committed checkpoint
        again: list[RecordedEvent] = []
        while chunk := sub.next_batch(timeout=0):
            again.extend(chunk)
        assert [e.id for e in again] == [e.id for e in store.read_all()]


def test_a_closed_subscription_refuses_to_read(store):
    sub = store.subscribe()
    sub.close()
    with pytest.raises(EventStoreError, match="closed"):
        sub.next_batch(timeout=0)
    with pytest.raises(ValueError, match=">= 0"):
        store.subscribe(after=-1)


# -- no reader ever skips an event ------------------------------------------------------


def test_a_tailing_reader_never_skips_an_event(backend, store, tmp_path):
    """The sequence-gap problem: many writers (threads and processes) append while a
    reader pages through the global log; what the reader saw must be the whole log, in
    order. A store that hands out positions before commit (a plain sequence) lets a
    late commit land behind the reader and fails this."""
    threads, appends, processes, per_process = 8, 40, 2, 30
    sync = tmp_path / "gap-sync"
    sync.mkdir()
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    children = [
        subprocess.Popen(
            [sys.executable, "-c", _CHILD, backend.kind, backend.url, f"proc-{worker}"]
            + [str(worker), str(per_process), str(sync)],
            cwd=REPO_ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for worker in range(processes)
    ]
    seen: list[RecordedEvent] = []
    writing = threading.Event()
    writing.set()
    reader_errors: list[BaseException] = []

    def read() -> None:
        try:
            after = 0
            while True:
                done = not writing.is_set()
                chunk = store.read_all(after=after, limit=7)
                if chunk:
                    assert chunk[0].position > after
                    seen.extend(chunk)
                    after = chunk[-1].position
                elif done:
                    return
        except BaseException as exc:
            reader_errors.append(exc)

    def write(worker: int) -> None:
        for i in range(appends):
            stream = "gap-shared" if i % 4 == 0 else f"gap-{worker}"
            events = [ev("Wrote", {"worker": worker, "i": i, "k": k}) for k in range(1 + i % 3)]
            while True:
                try:
                    store.append(stream, events, expected_version=store.stream_version(stream))
                    break
                except WrongExpectedVersion:
                    pass

    reader = threading.Thread(target=read)
    try:
        deadline = time.monotonic() + 60
        while len(list(sync.glob("ready-*"))) < processes:
            failed = [c for c in children if c.poll() not in (None, 0)]
            assert not failed, failed[0].communicate()[1]
            assert time.monotonic() < deadline, "child processes did not start"
            time.sleep(0.01)
        reader.start()
        (sync / "go").touch()
        run_threads(threads, write)
        for child in children:
            _, err = child.communicate(timeout=120)
            assert child.returncode == 0, err
    finally:
        writing.clear()
        if reader.is_alive():
            reader.join(timeout=120)
        for child in children:
            if child.poll() is None:
                child.kill()
                child.wait()
    assert not reader.is_alive()
    assert not reader_errors, reader_errors[0]
    everything = store.read_all(limit=100_000)
    expected = threads * sum(1 + i % 3 for i in range(appends)) + processes * per_process
    assert len(everything) == expected
    assert_positions_increase(seen)
    assert [e.id for e in seen] == [e.id for e in everything]


# -- factory and SQLite specifics ------------------------------------------------------


def test_unknown_backend_is_refused():
    with pytest.raises(
        ValueError,
        match="unknown event store backend 'oracle'; choose sqlite, postgres or kurrentdb",
    ):
        open_event_store("oracle", "whatever")


def test_sqlite_factory_accepts_url_and_path(tmp_path):
    for url in (str(tmp_path / "a" / "plain.db"), f"sqlite:///{tmp_path}/b/url.db"):
        store = open_event_store("sqlite", url)
        try:
            store.append("s", batch(1))
            assert store.head_position() == 1
        finally:
            store.close()
    assert (tmp_path / "a" / "plain.db").exists()
    assert (tmp_path / "b" / "url.db").exists()
    with pytest.raises(ValueError):
        open_event_store("sqlite", "postgresql://localhost/lincah")


def test_sqlite_file_is_durable_wal_with_schema_version(tmp_path):
    from eventstore.sqlite import SCHEMA_VERSION, SqliteEventStore

    store = SqliteEventStore(tmp_path / "deep" / "dir" / "events.db")
    try:
        conn = store._conn()
        assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
        assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == 10_000
        store.append("s", batch(1))
        (raw,) = conn.execute("SELECT recorded_at FROM events").fetchone()
        assert raw.endswith("+00:00") and len(raw.split(".")[1]) == len("123456+00:00")
    finally:
        store.close()
    with sqlite3.connect(tmp_path / "deep" / "dir" / "events.db") as raw_conn:
        assert raw_conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert raw_conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    raw_conn.close()


def test_sqlite_version_1_file_is_migrated_and_chained(tmp_path):
    from eventstore.sqlite import SCHEMA_VERSION, SqliteEventStore

    path = tmp_path / "old.db"
    with sqlite3.connect(path) as raw_conn:
        raw_conn.execute(
            "CREATE TABLE events (position INTEGER PRIMARY KEY AUTOINCREMENT,"
            " event_id TEXT NOT NULL UNIQUE, stream TEXT NOT NULL, version INTEGER NOT NULL,"
            " type TEXT NOT NULL, data BLOB NOT NULL, metadata BLOB NOT NULL,"
            " recorded_at TEXT NOT NULL, UNIQUE (stream, version))"
        )
        for i, (stream, version) in enumerate([("a", 0), ("b", 0), ("a", 1)]):
            raw_conn.execute(
                "INSERT INTO events (event_id, stream, version, type, data, metadata,"
                " recorded_at) VALUES (?, ?, ?, 'Old', ?, '{}', ?)",
                (
                    str(uuid.uuid4()),
                    stream,
                    version,
                    b'{"z": 1, "a": [1, 2]}',
                    f"2026-01-0{i + 1}T00:00:00.000000+00:00",
                ),
            )
        raw_conn.execute("PRAGMA user_version = 1")
    raw_conn.close()

    store = SqliteEventStore(path)
    try:
        old = store.read_all()
        assert [(e.stream, e.version) for e in old] == [("a", 0), ("b", 0), ("a", 1)]
        assert chain.verify(old) is None
        assert old[2].prev_hash == old[0].hash != chain.GENESIS
        store.append("a", batch(1), expected_version=1)
        assert chain.verify(store.read_all()) is None
        assert store._conn().execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    finally:
        store.close()


def test_sqlite_version_2_file_is_migrated_to_byte_ids(tmp_path):
    """A version-2 file (ids as text) opens as version 3: the same events, ids, hashes
    and positions, retries of stored events still idempotent, and the next position
    after the highest ever handed out, even when that event was deleted."""
    from eventstore.sqlite import SCHEMA_VERSION, SqliteEventStore

    path = tmp_path / "v2.db"
    store = SqliteEventStore(path)
    first = batch(3)
    store.append("a", first)
    store.append("b", batch(2))
    before = store.read_all()
    store.close()
    with sqlite3.connect(path) as raw_conn:  # back to schema 2: the same rows, text ids
        raw_conn.create_function("as_text", 1, lambda b: str(uuid.UUID(bytes=b)))
        raw_conn.execute(
            "CREATE TABLE old (position INTEGER PRIMARY KEY AUTOINCREMENT,"
            " event_id TEXT NOT NULL UNIQUE, stream TEXT NOT NULL, version INTEGER NOT NULL,"
            " type TEXT NOT NULL, data BLOB NOT NULL, metadata BLOB NOT NULL,"
            " recorded_at TEXT NOT NULL, prev_hash TEXT NOT NULL DEFAULT '',"
            " hash TEXT NOT NULL DEFAULT '', UNIQUE (stream, version))"
        )
        raw_conn.execute(
            "INSERT INTO old SELECT position, as_text(event_id), stream, version, type, data,"
            " metadata, recorded_at, prev_hash, hash FROM events"
        )
        raw_conn.execute("DROP TABLE events")
        raw_conn.execute("ALTER TABLE old RENAME TO events")
        raw_conn.execute("DELETE FROM events WHERE position = 5")
        raw_conn.execute("PRAGMA user_version = 2")
        assert raw_conn.execute("SELECT typeof(event_id) FROM events").fetchone()[0] == "text"
    raw_conn.close()

    store = SqliteEventStore(path)
    try:
        after = store.read_all()
        assert [(e.id, e.stream, e.version, e.position, e.hash) for e in after] == [
            (e.id, e.stream, e.version, e.position, e.hash) for e in before[:4]
        ]
        assert chain.verify(after) is None
        assert store.append("a", first).positions == [1, 2, 3]  # an idempotent retry
        assert store.append("c", batch(1)).positions == [6]  # 5 was handed out before
        assert store._conn().execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 3
        (kind,) = store._conn().execute("SELECT DISTINCT typeof(event_id) FROM events").fetchone()
        assert kind == "blob"
    finally:
        store.close()


# -- PostgreSQL specifics --------------------------------------------------------------


@pytest.fixture
def pg_url(postgres_cluster):
    with postgres_cluster.fresh_schema() as url:
        yield url


def test_postgres_late_commit_never_lands_behind_a_reader(pg_url):
    """A transaction that took its positions and has not committed holds the next
    writer back: a reader cannot see a later position first."""
    import psycopg

    from eventstore.postgres import PostgresEventStore

    store = PostgresEventStore(pg_url)
    slow = psycopg.connect(pg_url)  # a transaction stays open until commit()
    try:
        store.append("s", batch(2))
        slow.execute(
            "SELECT * FROM lincah_append(%s, -2, %s::uuid[], %s, %s, %s, %s)",
            ("late", [str(uuid.uuid4())], ["Late"], [b"{}"], [b"{}"], store.channel),
        )
        results: dict[str, AppendResult] = {}
        quick = threading.Thread(target=lambda: results.update(r=store.append("quick", batch(1))))
        quick.start()
        deadline = time.monotonic() + 30
        with psycopg.connect(pg_url, autocommit=True) as observer:
            waiting = "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
            while not observer.execute(waiting).fetchone()[0]:  # type: ignore[index]
                assert time.monotonic() < deadline, "the second writer never queued"
                time.sleep(0.01)
        assert store.read_all(after=2) == []  # neither the late nor the quick append
        assert store.head_position() == 2
        slow.commit()
        quick.join(timeout=30)
        assert not quick.is_alive()
        events = store.read_all(after=2)
        assert [(e.stream, e.position) for e in events] == [("late", 3), ("quick", 4)]
        assert results["r"].positions == [4]
        assert chain.verify(store.read_all()) is None
    finally:
        slow.close()
        store.close()


def test_postgres_append_notifies_listeners_with_the_new_head(pg_url):
    from eventstore.postgres import PostgresEventStore

    store = PostgresEventStore(pg_url)
    listener = store.listener()
    try:
        result = store.append("s", batch(3))
        note = next(listener.notifies(timeout=30, stop_after=1))
        assert note.channel == store.channel
        assert int(note.payload) == result.last_position == store.head_position()
    finally:
        listener.close()
        store.close()


def test_postgres_refuses_a_newer_schema_and_a_bad_url(pg_url):
    from eventstore.postgres import PostgresEventStore

    store = PostgresEventStore(pg_url)
    with store._pool.connection() as conn:
        conn.execute("UPDATE lincah_meta SET value = 99 WHERE name = 'schema_version'")
    store.close()
    with pytest.raises(EventStoreError, match="schema version 99"):
        PostgresEventStore(pg_url)
    with pytest.raises(ValueError, match="postgresql://"):
        open_event_store("postgres", "var/events.db")
    with pytest.raises(ValueError, match=r"lincah:\*\*\*@db"):
        open_event_store("postgres", "mysql://lincah:secret@db/lincah")
    with pytest.raises(ValueError, match="kurrentdb://"):
        open_event_store("kurrentdb", "postgresql://x")
