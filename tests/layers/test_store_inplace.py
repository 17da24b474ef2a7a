"""Bulk store layers answered in place (issue 12): never read whole at start, and the
point query, site check and OGC bbox items equal shapely over the whole layer, on both
backends (GeoPackage R-tree, PostGIS GiST)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import shapely
from planmap.geo import crs as gcrs
from planmap.geo.index import ZoneIndex
from planmap.geo.sitecheck import site_check
from planmap.layers import store as layer_store
from planmap.server import create_app
from shapely.geometry import box

from planmap import layers
from tests.layers.conftest import import_parcels, synthetic_parcels

N = 2400
AREA = box(122.80, 45.50, 123.00, 45.64)


@pytest.fixture(scope="module")
def parcels():
    return synthetic_parcels(N, 7, AREA, "tb")


@pytest.fixture
def store(store_url, tmp_path, parcels):
    return import_parcels(store_url, tmp_path, parcels, "tubanlayer")


def _no_reads(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("a bulk store layer was read whole")

    for cls in (layer_store.LayerStore, layer_store.GpkgStore, layer_store.PostgisStore):
        monkeypatch.setattr(cls, "read", refuse)
        monkeypatch.setattr(cls, "iter_chunks", refuse)


def _truth(store):
    """The stored layer (the importer rounds to 6 decimals), whole, in import order."""
    frame = store.read("tubanlayer")
    return frame.index.to_numpy(dtype=object), frame.geometry.values


def test_start_reads_no_feature_and_the_catalog_counts_come_from_the_store(
        store, monkeypatch):
    _no_reads(monkeypatch)
    data = layers.load(store=store)
    assert "tubanlayer" not in data.layers
    assert "tubanlayer" in data.store_layers
    entry = data.layer_entry("tubanlayer")
    assert entry["feature_count"] == N and entry["store_version"] == store.current("tubanlayer")
    minx, miny, maxx, maxy = entry["bbox"]
    assert AREA.buffer(1e-3).covers(box(minx, miny, maxx, maxy))
    ZoneIndex.from_plan_data(data)  # the index is built without reading them either


def test_point_queries_equal_shapely_over_the_whole_layer(store):
    ids, g = _truth(store)
    index = ZoneIndex.from_plan_data(layers.load(store=store))
    rng = np.random.default_rng(3)
    minx, miny, maxx, maxy = AREA.buffer(0.01).bounds
    coords = shapely.get_coordinates(g[rng.choice(N, 25)])
    pts = np.vstack([np.column_stack([rng.uniform(minx, maxx, 150),
                                      rng.uniform(miny, maxy, 150)]),
                     coords, (coords[:-1] + coords[1:]) / 2])
    inside = 0
    for lon, lat in pts.tolist():
        got = [z["id"] for z in index.query_point(lon, lat)["zones"]
               if z["layer"] == "tubanlayer"]
        want = sorted(ids[shapely.intersects_xy(g, lon, lat)].tolist())
        assert sorted(got) == want, (lon, lat)
        inside += bool(want)
    assert inside > 100  # most points meet a parcel, vertices meet several
    # nearest (outside every parcel): the closest parcel by EPSG:4550 distance
    lon, lat = AREA.bounds[0] - 0.01, AREA.bounds[1] + 0.05
    near = [e for e in index.query_point(lon, lat)["nearest"] if e["layer"] == "tubanlayer"]
    d = shapely.distance(gcrs.to_metric(shapely.points(lon, lat)), gcrs.to_metric(g))
    assert near[0]["id"] == ids[int(np.argmin(d))]
    assert near[0]["distance_m"] == pytest.approx(float(d.min()), abs=0.06)


def test_site_check_overlaps_equal_shapely_in_epsg4550(store):
    ids, g = _truth(store)
    gm = gcrs.to_metric(g)
    index = ZoneIndex.from_plan_data(layers.load(store=store))
    for lon, lat in ((122.85, 45.55), (122.93, 45.61), (122.812, 45.505)):
        site = box(lon, lat, lon + 0.01272, lat + 0.00899)  # ≈ 1 km²
        result = site_check(index, site)
        got = {z["id"]: z["overlap_m2"] for z in result["zones"] if z["layer"] == "tubanlayer"}
        sm = gcrs.to_metric(site)
        areas = shapely.area(shapely.intersection(gm, sm))
        want = {ids[k]: round(float(areas[k]), 2) for k in np.flatnonzero(areas > 0)}
        assert got.keys() == want.keys()
        for k, v in want.items():
            assert got[k] == pytest.approx(v, abs=0.02)
        assert len(got) > 10


def _client(store, tmp_path):
    config = {"DB_PATH": str(tmp_path / "c.db"), "WORKERS": 0}
    if isinstance(store, layer_store.PostgisStore):
        config["DATABASE_URL"] = store.url
    else:
        config["HOME"] = str(Path(store.root).parent)
    return create_app(config).test_client()


def test_ogc_bbox_items_equal_shapely_and_no_whole_layer(store, parcels, tmp_path,
                                                         monkeypatch):
    ids, g = _truth(store)
    _no_reads(monkeypatch)
    client = _client(store, tmp_path)
    for bb in ((122.85, 45.55, 122.87, 45.56), (122.90, 45.60, 122.95, 45.63)):
        r = client.get("/ogc/collections/tubanlayer/items?bbox=" + ",".join(map(str, bb))
                       + "&limit=1000")
        assert r.status_code == 200
        body = r.get_json()
        want = ids[shapely.intersects(g, box(*bb))].tolist()  # import order
        assert [f["id"] for f in body["features"]] == want
        assert body["numberMatched"] == len(want) > 0
        first = body["features"][0]
        k = ids.tolist().index(first["id"])
        assert first["properties"]["dlmc"] == parcels["dlmc"].iloc[k]
        assert shapely.equals(shapely.geometry.shape(first["geometry"]), g[k])
    page = client.get("/ogc/collections/tubanlayer/items?limit=5&offset=10").get_json()
    assert [f["id"] for f in page["features"]] == ids[10:15].tolist()
    assert page["numberMatched"] == N
    one = client.get(f"/ogc/collections/tubanlayer/items/{ids[7]}").get_json()
    assert one["id"] == ids[7]
    entry = {e["id"]: e for e in client.get("/api/v1/layers").get_json()["layers"]}
    assert entry["tubanlayer"]["feature_count"] == N
    assert entry["tubanlayer"]["accuracy_counts"]["official"] == N
    # the whole layer is refused with a clear 4xx, never built in memory
    r = client.get("/api/v1/layers/tubanlayer")
    assert r.status_code == 413 and r.get_json()["error"]["code"] == "layer_too_large"
    r = client.get("/export/tubanlayer.gpkg")
    assert r.status_code == 413 and r.get_json()["error"]["code"] == "layer_too_large"
    r = client.get("/ogc/collections/tubanlayer/items?dlmc=旱地")
    assert r.status_code == 400 and r.get_json()["error"]["param"] == "bbox"
    z = client.get("/api/v1/zones?lon=122.86&lat=45.555").get_json()["zones"]
    want = ids[shapely.intersects_xy(g, 122.86, 45.555)].tolist()
    assert [x["id"] for x in z if x["layer"] == "tubanlayer"] == want


def test_batch_and_a_pickled_index_equal_shapely(store):
    import pickle

    ids, g = _truth(store)
    index = pickle.loads(pickle.dumps(ZoneIndex.from_plan_data(layers.load(store=store))))
    rng = np.random.default_rng(11)
    minx, miny, maxx, maxy = AREA.bounds
    lon, lat = rng.uniform(minx, maxx, 300), rng.uniform(miny, maxy, 300)
    p, z = index.batch_indices(lon, lat)
    got = sorted((int(i), index._fid_list[int(f)]) for i, f in zip(p, z, strict=True)
                 if index._flayer_list[int(f)] == "tubanlayer")
    want = sorted((i, ids[k]) for i in range(300)
                  for k in np.flatnonzero(shapely.intersects_xy(g, lon[i], lat[i])))
    assert got == want and len(want) > 200
    assert np.all(np.diff(p) >= 0)  # pairs by point


def test_ogc_bbox_pages_and_filters_equal_shapely(store, tmp_path):
    ids, g = _truth(store)
    client = _client(store, tmp_path)
    bb = (122.88, 45.56, 122.95, 45.62)
    want = ids[shapely.intersects(g, box(*bb))].tolist()
    q = "/ogc/collections/tubanlayer/items?bbox=" + ",".join(map(str, bb))
    got = []
    for offset in range(0, len(want) + 50, 50):
        body = client.get(f"{q}&limit=50&offset={offset}").get_json()
        assert body["numberMatched"] == len(want)
        got += [f["id"] for f in body["features"]]
    assert got == want and len(want) > 50
    frame = store.read("tubanlayer")
    dlmc = frame.loc[want[0], "dlmc"]
    body = client.get(f"{q}&limit=1000&dlmc={dlmc}").get_json()
    assert [f["id"] for f in body["features"]] == [i for i in want
                                                  if frame.loc[i, "dlmc"] == dlmc]


def test_an_in_place_layer_is_drawn_from_tiles_cut_from_the_store(store, tmp_path,
                                                                   monkeypatch):
    """The map draws a bulk store layer from /tiles without reading it whole: the tile's
    features are exactly those meeting the tile, each with its properties and a stable id."""
    import mapbox_vector_tile
    from planmap.geo.mvt import tile_lonlat_bounds

    ids, g = _truth(store)
    _no_reads(monkeypatch)
    client = _client(store, tmp_path)
    page = client.get("/map/zh.js").get_data(as_text=True)
    assert "/tiles/tubanlayer/" in page  # the page asks for its tiles
    z = 14
    n = 1 << z
    x = int((122.86 + 180) / 360 * n)
    lat = np.radians(45.555)
    y = int((1 - np.log(np.tan(lat) + 1 / np.cos(lat)) / np.pi) / 2 * n)
    seen, per_tile = {}, []
    for dx in (0, 1):  # two neighbouring tiles: a parcel on their edge keeps its id
        r = client.get(f"/tiles/tubanlayer/{z}/{x + dx}/{y}.mvt")
        assert r.status_code == 200
        tile = mapbox_vector_tile.decode(r.get_data())
        feats = tile["tubanlayer"]["features"]
        want = set(ids[shapely.intersects(g, box(*tile_lonlat_bounds(z, x + dx, y)))])
        got = {f["properties"]["id"] for f in feats}
        assert got == want and want
        per_tile.append(got)
        for f in feats:
            assert f["properties"]["accuracy"] == "official"
            assert seen.setdefault(f["properties"]["id"], f["id"]) == f["id"]
    assert per_tile[0] & per_tile[1]  # some parcel lies on both tiles
