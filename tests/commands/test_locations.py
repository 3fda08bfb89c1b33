"""An agency's locations as its administrator defines them: the latest definition
counts, each is listed once, another agency cannot take over a location's id."""

from __future__ import annotations

from pathlib import Path

import pytest

from commands import locations
from domain.refusals import Forbidden
from eventstore.sqlite import SqliteEventStore
from tests.domain.test_locations import building, counter


def test_definitions_replace_and_the_agency_lists_each_location_once(tmp_path: Path) -> None:
    store = SqliteEventStore(tmp_path / "events.db")
    try:
        assert locations.load(store, "mpp-bwi") is None and locations.of_agency(store, "BWI") == []
        locations.define(store, building(), "admin@banyuwangikab.go.id")
        two = building(counters=[counter("1"), counter("2", ("akta",))])
        written = locations.define(store, two, "admin@banyuwangikab.go.id")
        locations.define(store, building(id="keliling-1", name="MPP Keliling"), "admin")
        assert written.position > 0
        assert locations.load(store, "mpp-bwi") == two
        assert [loc.id for loc in locations.of_agency(store, "BWI")] == ["mpp-bwi", "keliling-1"]
        assert locations.of_agency(store, "DPK") == []
        with pytest.raises(Forbidden, match="belongs to another agency"):
            locations.define(store, building(agency="DPK"), "admin@depok.go.id")
        assert locations.load(store, "mpp-bwi") == two
    finally:
        store.close()
