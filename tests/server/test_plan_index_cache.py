"""The other plans' zone index comes from the CACHE_DIR cache at the next start (issue 12:
it was rebuilt at every start, ~25 s of a server's start-up on the shared machine)."""

from __future__ import annotations

import planmap.geo.index  # noqa: F401
from planmap.server import create_app

from planmap import geo


def _config(tmp_path):
    return {"DB_PATH": str(tmp_path / "c.db"), "WORKERS": 0,
            "CACHE_DIR": str(tmp_path / "cache"), "HOME": str(tmp_path / "home")}


def test_second_start_reads_both_indexes_from_the_cache(tmp_path, monkeypatch):
    first = create_app(_config(tmp_path)).extensions["planmap"]
    assert first.plan_index is not None
    assert list((tmp_path / "cache").glob("planindex-*.pickle"))

    def refuse(*args, **kwargs):
        raise AssertionError("an index was rebuilt although its cache is current")

    monkeypatch.setattr(geo.index.ZoneIndex, "from_plan_data", refuse)
    again = create_app(_config(tmp_path)).extensions["planmap"]
    for lon, lat in ((124.2, 43.9), (125.3, 44.5), (123.5, 45.2)):
        assert again.plan_index.query_point(lon, lat) == first.plan_index.query_point(lon, lat)
    assert again.plan_index.layer_ids == first.plan_index.layer_ids
