"""``lincah bench eventstore`` runs end to end on tiny workloads (the real numbers come
from `make bench`): every row gets a rate for every system, and the table pairs them."""

from __future__ import annotations

import importlib.util

from eventstore.port import EventStore
from lincah import bench


def test_bench_measures_every_row_on_every_system(tmp_path, postgres_cluster):
    with_es = importlib.util.find_spec("eventsourcing") is not None
    systems = bench._systems(tmp_path, postgres_cluster.url(), with_es)
    rows = bench.run(systems, events=40, catch_up_events=50, workdir=tmp_path)
    assert [r.workload for r in rows] == [
        "append, 1-event batches, 1 writer",
        "append, 10-event batches, 1 writer",
        "append, 1-event batches, 8 writers",
        "append, 10-event batches, 8 writers",
        "read all",
        "catch-up projection, 50 events",
    ]
    for row in rows:
        assert set(row.rates) == set(systems)
        assert all(rate > 0 for rate in row.rates.values())
    text = bench.table(rows, [("Lincah SQLite", "eventsourcing SQLite")])
    assert text.splitlines()[0].startswith("| workload (events/s) | Lincah SQLite |")
    # The load-independent figure: bytes each commit writes, for the SQLite appends.
    sqlite = {name for name in systems if "SQLite" in name}
    for row in rows[:4]:
        assert set(row.written) == sqlite and all(b > 0 for b in row.written.values())
    if with_es:
        written = bench.written_table(rows, "Lincah SQLite", "eventsourcing SQLite")
        assert len(written.splitlines()) == 2 + 4


def test_lifecycle_is_what_the_projection_folds(tmp_path):
    from eventstore.sqlite import SqliteEventStore
    from projections.projector import Projector
    from projections.readmodels import ReadModels

    store: EventStore = SqliteEventStore(tmp_path / "e.db")
    models = ReadModels(tmp_path / "m.db")
    try:
        store.append("application-BWI-2026-000007", bench.lifecycle(7))
        assert Projector(store, models).catch_up() == 5
        state = models.application("BWI-2026-000007")
        assert state is not None and state.status == "approved"
        assert models.parked_count() == 0
    finally:
        store.close()
        models.close()
