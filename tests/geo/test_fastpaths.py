"""The private-internals speed tricks (geo/fastpaths.py) give what their public fallbacks give.

Each test takes the private object away (its ``_private_*`` lookup returns None, or the
private import fails) and compares the fallback's output bit for bit with the fast path's.
"""

import sys

import numpy as np
import pyproj
import pytest
import shapely
from planmap.geo import crs as gcrs
from planmap.geo import fastpaths


@pytest.fixture
def transformer():
    return gcrs._transformer(gcrs.WGS84, gcrs.METRIC_CRS)


def _lonlat(n, seed):
    rng = np.random.default_rng(seed)
    return rng.uniform(121.5, 124.5, n), rng.uniform(44.0, 46.5, n)


def test_project_in_place_fallback_is_bit_identical(transformer, monkeypatch):
    lon, lat = _lonlat(257, 1)
    fast = fastpaths.project_in_place(transformer, lon.copy(), lat.copy())
    assert fastpaths._private_proj(transformer) is not None  # the fast path ran
    monkeypatch.setattr(fastpaths, "_private_proj", lambda t: None)
    x, y = lon.copy(), lat.copy()
    slow = fastpaths.project_in_place(transformer, x, y)
    assert slow[0] is x and slow[1] is y  # in place either way
    assert fast[0].tobytes() == slow[0].tobytes() and fast[1].tobytes() == slow[1].tobytes()
    # and both are what the public call gives, projected for real (not the input back)
    px, py = transformer.transform(lon, lat)
    assert fast[0].tobytes() == np.asarray(px).tobytes() and not np.allclose(px, lon)


def test_project_in_place_without_pyproj_private_attribute(transformer, monkeypatch):
    # pyproj renamed its internals: the lookup itself must find nothing and fall back.
    lon, lat = _lonlat(31, 2)
    fast = fastpaths.project_in_place(transformer, lon.copy(), lat.copy())
    monkeypatch.setattr(pyproj.Transformer, "_transformer", None)
    assert fastpaths._private_proj(transformer) is None
    monkeypatch.undo()  # the public transform needs pyproj's internals back
    monkeypatch.setattr(fastpaths, "_private_proj", lambda t: None)
    slow = fastpaths.project_in_place(transformer, lon.copy(), lat.copy())
    assert fast[0].tobytes() == slow[0].tobytes() and fast[1].tobytes() == slow[1].tobytes()


def test_take_objects_fallback_when_pandas_kernel_import_fails(monkeypatch):
    table = np.array([f"id{i}" for i in range(300)], dtype=object)
    idx = np.random.default_rng(3).integers(0, 300, 3 * fastpaths.TAKE_CHUNK + 5,
                                            dtype=np.uint16)
    assert fastpaths._private_take_kernel() is not None
    fast = fastpaths.take_objects(table, idx)
    monkeypatch.setattr(fastpaths, "_KERNEL", [])  # import again…
    monkeypatch.setitem(sys.modules, "pandas._libs.algos", None)  # …and fail
    assert fastpaths._private_take_kernel() is None
    slow = fastpaths.take_objects(table, idx)
    assert fast.dtype == slow.dtype == object
    assert fast.tolist() == slow.tolist() == table[idx].tolist()


def test_tree_query_fallback_is_identical(monkeypatch):
    rng = np.random.default_rng(4)
    x, y = rng.uniform(0, 1000, 500), rng.uniform(0, 1000, 500)
    tree = shapely.STRtree(shapely.box(x, y, x + 20, y + 20))
    boxes = [shapely.box(a, b, a + 60, b + 40) for a, b in zip(x[:50], y[:50], strict=True)]
    fast = [fastpaths.tree_query_indices(tree, g) for g in boxes]
    monkeypatch.setattr(fastpaths, "_private_tree", lambda t: None)
    slow = [fastpaths.tree_query_indices(tree, g) for g in boxes]
    assert all(len(f) for f in fast)
    for f, s in zip(fast, slow, strict=True):
        assert np.sort(f).tolist() == np.sort(s).tolist()


def test_site_check_identical_with_every_fallback(monkeypatch):
    # The index uses all three tricks; with all of them taken away it answers the same.
    import geopandas as gpd
    from planmap.geo.index import ZoneIndex
    from planmap.geo.sitecheck import site_check

    zones = gpd.GeoDataFrame(
        {"id": ["a", "b"], "name_zh": ["甲", "乙"], "accuracy": ["official", "schematic"]},
        geometry=[shapely.box(122.0, 45.0, 122.5, 45.5), shapely.box(122.4, 45.4, 123.0, 46.0)],
        crs="EPSG:4326")
    index = ZoneIndex({"z": zones})
    site = shapely.box(122.45, 45.45, 122.46, 45.46)
    before = site_check(index, site), index.query_point(122.3, 45.2)
    for name in ("_private_proj", "_private_tree"):
        monkeypatch.setattr(fastpaths, name, lambda t: None)
    monkeypatch.setattr(fastpaths, "_private_take_kernel", lambda: None)
    after = site_check(ZoneIndex({"z": zones}), site), index.query_point(122.3, 45.2)
    assert before == after
    assert {z["id"] for z in before[0]["zones"]} == {"a", "b"}
