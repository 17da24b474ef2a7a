"""The server's zone index is kept between starts (issue 12): the second start reads the
cache file that the first wrote, and a change to the data makes it build again."""

from __future__ import annotations

import json

import pytest
from planmap.geo import index as gindex
from planmap.server import create_app


def _app(data_dir, tmp_path, **extra):
    return create_app({"DB_PATH": str(tmp_path / "c.db"), "DATA_DIR": str(data_dir),
                       "CACHE_DIR": str(tmp_path / "cache"), "WORKERS": 0, **extra})


def test_second_start_reads_the_index_and_answers_the_same(mini_data_dir, tmp_path,
                                                           monkeypatch):
    first = _app(mini_data_dir, tmp_path)
    assert list((tmp_path / "cache").glob("zoneindex-*.pickle"))
    q = "/api/v1/zones?lon=122.81&lat=45.61"
    want = first.test_client().get(q).get_json()

    def no_build(*a, **k):
        raise AssertionError("the index was rebuilt")

    monkeypatch.setattr(gindex.ZoneIndex, "from_plan_data", classmethod(no_build))
    second = _app(mini_data_dir, tmp_path)
    assert second.test_client().get(q).get_json() == want


def test_changed_data_or_no_cache_builds_again(mini_data_dir, tmp_path, monkeypatch):
    _app(mini_data_dir, tmp_path)
    zones = mini_data_dir / "data" / "zones.geojson"
    doc = json.loads(zones.read_text("utf-8"))
    doc["features"][0]["properties"]["name_zh"] = "改名"
    zones.write_text(json.dumps(doc, ensure_ascii=False), "utf-8")
    built = []
    real = gindex.ZoneIndex.from_plan_data.__func__

    def counting(cls, *a, **k):
        built.append(1)
        return real(cls, *a, **k)

    monkeypatch.setattr(gindex.ZoneIndex, "from_plan_data", classmethod(counting))
    _app(mini_data_dir, tmp_path)
    assert built, "stale cache used after the data changed"
    built.clear()
    _app(mini_data_dir, tmp_path, CACHE_DIR="off")
    assert built


@pytest.fixture(autouse=True)
def _no_user_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
