"""The layer store, same tests on both backends (GeoPackage folder, PostGIS)."""

from __future__ import annotations

import geopandas as gpd
import pytest
import shapely
from planmap.geo.errors import NotFound
from planmap.layers.store import open_store

CIT = {"seed": "000_f32aaef515cfbb76", "line": 849, "quote": "严格执行生态保护红线管理办法"}


def _chunk(start: int, n: int, tag: str = "a") -> gpd.GeoDataFrame:
    geoms = [shapely.box(122.8 + i * 0.001, 45.6, 122.8 + i * 0.001 + 0.0008, 45.6008)
             for i in range(start, start + n)]
    return gpd.GeoDataFrame({
        "id": [f"p_{i}" for i in range(start, start + n)],
        "name_zh": [f"地块{i}" for i in range(start, start + n)],
        "county": [["220802"]] * n, "citation": [CIT] * n, "tag": [tag] * n,
        "area": [float(i) for i in range(start, start + n)],
    }, geometry=geoms, crs="EPSG:4326")


def _write(store, layer, chunks, tag="a"):
    version = store.write_version(layer, iter(chunks))
    store.activate(layer, version, {"id": layer, "title_zh": layer})
    return version


def test_written_version_reads_back_whole_by_bbox_and_in_chunks(store_url):
    store = open_store(store_url)
    assert store.layers() == []
    _write(store, "parcels", [_chunk(0, 30), _chunk(30, 20)])
    assert store.layers() == ["parcels"]
    assert store.meta("parcels")["title_zh"] == "parcels"
    whole = store.read("parcels")
    assert list(whole.index) == [f"p_{i}" for i in range(50)]  # import order kept
    assert whole.loc["p_7", "citation"] == CIT
    assert whole.loc["p_7", "county"] == ["220802"]
    assert whole.loc["p_7", "name_zh"] == "地块7"
    assert whole.loc["p_7", "area"] == 7.0
    assert whole.crs.to_epsg() == 4326
    assert shapely.equals(whole.geometry["p_7"], _chunk(7, 1).geometry.iloc[0])
    # a bbox around parcels 10..12 only
    part = store.read("parcels", bbox=(122.8105, 45.6001, 122.8125, 45.6002))
    assert sorted(part.index) == ["p_10", "p_11", "p_12"]
    chunks = list(store.iter_chunks("parcels", chunk_size=16))
    assert [len(c) for c in chunks] == [16, 16, 16, 2]


def test_new_version_is_invisible_until_activated_and_previous_restorable(store_url):
    store = open_store(store_url)
    v1 = _write(store, "parcels", [_chunk(0, 5, "old")])
    v2 = store.write_version("parcels", iter([_chunk(0, 3, "new")]))
    assert store.current("parcels") == v1
    assert set(store.read("parcels")["tag"]) == {"old"}
    assert store.activate("parcels", v2, {"id": "parcels"}) == v1
    assert len(store.read("parcels")) == 3
    assert [(v.version, v.features, v.active) for v in store.versions("parcels")] == \
        [(v1, 5, False), (v2, 3, True)]
    assert store.restore_previous("parcels") == v1
    assert set(store.read("parcels")["tag"]) == {"old"}
    with pytest.raises(NotFound):
        store.restore_previous("parcels")
    assert store.current("parcels") == v1


def test_failed_write_leaves_the_active_version(store_url):
    store = open_store(store_url)
    v1 = _write(store, "parcels", [_chunk(0, 5)])

    def broken():
        yield _chunk(0, 5, "new")
        raise RuntimeError("input went away")

    with pytest.raises(RuntimeError):
        store.write_version("parcels", broken())
    assert store.current("parcels") == v1
    assert [v.version for v in store.versions("parcels")] == [v1]
    v2 = _write(store, "parcels", [_chunk(0, 2)])
    assert v2 != v1 and len(store.read("parcels")) == 2


def test_unknown_layer_or_version_is_not_found(store_url):
    store = open_store(store_url)
    with pytest.raises(NotFound):
        store.read("nothing")
    _write(store, "parcels", [_chunk(0, 2)])
    with pytest.raises(NotFound):
        store.read("parcels", version="v999999")


def test_awkward_text_and_missing_values_round_trip(store_url):
    store = open_store(store_url)
    chunk = _chunk(0, 3)
    chunk["note"] = ['back\\slash "quoted"', "tab\there\nnew line\r", None]
    chunk["area"] = [1.5, float("nan"), 3.0]
    _write(store, "parcels", [chunk])
    back = store.read("parcels")
    assert back.loc["p_0", "note"] == 'back\\slash "quoted"'
    assert back.loc["p_1", "note"] == "tab\there\nnew line\r"
    assert back.loc["p_2", "note"] is None or back["note"].isna()["p_2"]
    assert back.loc["p_0", "area"] == 1.5 and back["area"].isna()["p_1"]
