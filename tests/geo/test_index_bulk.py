"""Bulk layers (issue 12): a large parcel layer indexed by the bounding-box grid answers
exactly what shapely answers by brute force, next to the built-in layers."""

from __future__ import annotations

import copy
import importlib.util
import math
import pickle
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from planmap.geo import crs as gcrs
from planmap.geo import indexcache
from planmap.geo.index import BULK_MIN_FEATURES, ZoneIndex
from planmap.geo.sitecheck import site_check
from planmap.geo.tmerc import metric_point
from shapely.geometry import Point, box

_BENCH = Path(__file__).resolve().parents[2] / "bench" / "make_parcels.py"
N = 3000
AREA = box(122.70, 45.45, 123.05, 45.70)  # a piece of Baicheng around Taobei


def _make_parcels_module():
    spec = importlib.util.spec_from_file_location("make_parcels", _BENCH)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def parcels():
    wkb, codes, names = _make_parcels_module().make_parcels(N, seed=5, boundary=AREA)
    return gpd.GeoDataFrame(
        {"id": [f"parcel_{i:05d}" for i in range(N)], "dlbm": codes, "dlmc": names,
         "name_zh": names, "accuracy": "official", "kind": "parcel"},
        geometry=shapely.from_wkb(wkb), crs="EPSG:4326").set_index("id", drop=False)


@pytest.fixture(scope="module")
def bulk_index(plan_data, parcels):
    data = copy.copy(plan_data)  # the session's data stays as it is
    data.layers = {**plan_data.layers, "parcels": parcels}
    return ZoneIndex.from_plan_data(data)


def _zones(index):
    z = index.zone_idx
    return z, index._fgeom[z]


def _random_points(parcels, rng, n):
    """Random points in and around the area, plus parcel vertices and edge midpoints
    (boundary points are inside both neighbours)."""
    minx, miny, maxx, maxy = AREA.buffer(0.02).bounds
    pts = [np.column_stack([rng.uniform(minx, maxx, n), rng.uniform(miny, maxy, n)])]
    coords = shapely.get_coordinates(parcels.geometry.values[rng.choice(N, 60)])
    pts.append(coords)
    pts.append((coords[:-1] + coords[1:]) / 2)
    return np.vstack(pts)


def test_parcel_generator_is_deterministic_and_tiles_without_overlaps(parcels):
    mod = _make_parcels_module()
    again = mod.make_parcels(N, seed=5, boundary=AREA)[0]
    assert list(shapely.to_wkb(parcels.geometry.values)) == list(again)
    g = parcels.geometry.values
    assert shapely.is_valid(g).all()
    assert shapely.covers(AREA, g).all()
    vertices = shapely.get_num_coordinates(g) - 1
    assert vertices.min() >= 8 and vertices.max() <= 83
    i, j = shapely.STRtree(g).query(g, predicate="overlaps")
    assert len(i) == 0
    assert parcels["dlmc"].nunique() > 5


def test_parcel_layer_is_bulk_and_builtin_zones_are_not(bulk_index, parcels):
    assert N >= BULK_MIN_FEATURES
    layer = bulk_index._flayer[bulk_index._bulk]
    assert set(layer) == {"parcels"} and len(layer) == N
    assert "parcels" not in set(bulk_index._flayer[bulk_index._grid_zones])


def test_point_queries_and_batch_match_brute_force(bulk_index, parcels):
    rng = np.random.default_rng(1)
    pts = _random_points(parcels, rng, 1500)
    z, geoms = _zones(bulk_index)
    pi, gi = shapely.STRtree(geoms).query(shapely.points(pts), predicate="intersects")
    expect = [sorted(z[gi[pi == k]].tolist()) for k in range(len(pts))]
    got = [bulk_index.covering(x, y) for x, y in pts.tolist()]
    assert got == expect
    p, zz = bulk_index.batch_indices(pts[:, 0], pts[:, 1])
    batched = [[] for _ in range(len(pts))]
    for a, b in zip(p.tolist(), zz.tolist(), strict=True):
        batched[a].append(b)
    assert batched == expect
    assert sum(1 for e in expect if any(bulk_index._is_bulk[f] for f in e)) > 1000


def test_nearest_parcels_match_brute_force(bulk_index, parcels):
    rng = np.random.default_rng(2)
    g_m = gcrs.to_metric(parcels.geometry.values)
    pts = _random_points(parcels, rng, 3000)
    lay = bulk_index.layer_ids.index("parcels")
    checked = 0
    for lon, lat in pts.tolist():
        if any(bulk_index._flayer_no_list[f] == lay for f in bulk_index.covering(lon, lat)):
            continue  # a covering parcel: the layer is not listed under nearest
        for radius, per in ((5000.0, 3), (300.0, 2)):
            got = [(e["id"], e["distance_m"]) for e in bulk_index.nearest(
                lon, lat, radius, per_layer=per) if e["layer"] == "parcels"]
            d = shapely.distance(Point(metric_point(lon, lat)), g_m)
            order = np.lexsort((np.arange(N), d))
            want = [(parcels.index[k], round(float(d[k]), 1)) for k in order[:per]
                    if d[k] <= radius]
            assert got == want, (lon, lat, radius)
        checked += 1
    assert checked > 100


def test_site_checks_match_brute_force(bulk_index, parcels):
    """Overlap areas and ring distances of 1 km² sites and of lines, against shapely."""
    rng = np.random.default_rng(3)
    g_m = gcrs.to_metric(parcels.geometry.values)
    tree = shapely.STRtree(g_m)
    x0, y0, x1, y1 = gcrs.to_metric(AREA).bounds
    sites = []
    for _ in range(12):
        cx, cy = rng.uniform(x0 - 1500, x1 + 1500), rng.uniform(y0 - 1500, y1 + 1500)
        sites.append(box(cx - 500, cy - 500, cx + 500, cy + 500))
    for _ in range(4):
        cx, cy = rng.uniform(x0, x1), rng.uniform(y0, y1)
        sites.append(shapely.LineString([(cx, cy), (cx + 900, cy + 400), (cx + 1200, cy - 300)]))
    met = 0
    for site_m in sites:
        site = gcrs.from_metric(site_m)
        res = site_check(bulk_index, site)
        site_m = bulk_index.project_site(site).metric  # the projection the check measures
        got = {e["id"]: e for e in res["zones"] if e["layer"] == "parcels"}
        near = tree.query(site_m, predicate="intersects")
        if site_m.geom_type == "LineString":
            v = shapely.length(shapely.intersection(site_m, g_m[near]))
            want = {parcels.index[k]: round(float(x), 2) for k, x in zip(near, v, strict=True)
                    if x > 0}
            assert {k: e["overlap_length_m"] for k, e in got.items()} == want
        else:
            v = shapely.area(shapely.intersection(site_m, g_m[near]))
            want = {parcels.index[k]: round(float(x), 2) for k, x in zip(near, v, strict=True)
                    if x > 0}
            assert {k: e["overlap_m2"] for k, e in got.items()} == pytest.approx(want, abs=0.02)
            assert set(got) == set(want)
        met += bool(want)
        d = shapely.distance(site_m, g_m)
        touched = set(got)
        for ring in res["rings"]:
            want_ring = {parcels.index[k] for k in np.flatnonzero(d <= ring["distance_m"])
                         if parcels.index[k] not in touched}
            assert {f["id"] for f in ring["features"] if f["layer"] == "parcels"} == want_ring
        nearest = [e for e in res["nearest"] if e["layer"] == "parcels"]
        if touched:
            assert nearest == []
        else:
            k = int(np.lexsort((np.arange(N), d))[0])
            want_near = ([(parcels.index[k], round(float(d[k]), 1))] if d[k] <= 5000 else [])
            assert [(e["id"], e["distance_m"]) for e in nearest] == want_near
    assert met >= 6


def test_builtin_answers_unchanged_by_a_bulk_layer(plan_data, bulk_index):
    """The built-in zones answer as in an index without the parcels."""
    plain = ZoneIndex.from_plan_data(plan_data)
    rng = np.random.default_rng(4)
    minx, miny, maxx, maxy = plan_data.service_area.bounds
    for lon, lat in zip(rng.uniform(minx, maxx, 300), rng.uniform(miny, maxy, 300),
                        strict=True):
        a = plain.query_point(lon, lat)
        b = bulk_index.query_point(lon, lat)
        assert [z["id"] for z in b["zones"] if z["layer"] != "parcels"] == \
            [z["id"] for z in a["zones"]]
        assert [e for e in b["nearest"] if e["layer"] != "parcels"] == a["nearest"]
        assert b["in_service_area"] == a["in_service_area"]


def test_bulk_index_survives_the_cache(bulk_index, tmp_path):
    path = tmp_path / "idx.pickle"
    indexcache.save(bulk_index, path, "k")
    back = indexcache.load(path, "k")
    assert back is not None
    rng = np.random.default_rng(6)
    for lon, lat in zip(rng.uniform(122.7, 123.05, 300), rng.uniform(45.45, 45.7, 300),
                        strict=True):
        assert back.covering(lon, lat) == bulk_index.covering(lon, lat)
    # The parcels are stored as WKB (one column), not as pickled geometry objects.
    assert len(pickle.dumps(back._bulk_bb)) < 40 * N * 8
    assert math.isclose(back._farea_list[back._bulk[0]], bulk_index._farea_list[
        bulk_index._bulk[0]])
