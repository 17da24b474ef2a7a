"""The HTTP site check over an in-place store layer (issue 12, i12site): what
``POST /api/v1/sitecheck`` answers — zones and their overlaps, every ring's features and
distances — equals shapely over the whole stored layer in EPSG:4550, on both backends;
the report sketch drawn from the slimmed task input is the full result's; the report's
per-data caches follow the data object; ``planmap serve``'s app freezes its start-up
objects out of the cyclic collector (``GC_FREEZE``)."""

from __future__ import annotations

import gc
from pathlib import Path

import numpy as np
import pytest
import shapely
from planmap.geo import crs as gcrs
from planmap.layers import store as layer_store
from planmap.server import create_app, reportview
from shapely.geometry import box

from planmap import layers
from tests.layers.conftest import import_parcels, synthetic_parcels

N = 2400
AREA = box(122.80, 45.50, 123.00, 45.64)
LAYER = "sitetb"
SITES = ((122.85, 45.55), (122.93, 45.61), (122.812, 45.505))  # ≈ 1 km² each
DX, DY = 0.01272, 0.00899


@pytest.fixture(scope="module")
def parcels():
    return synthetic_parcels(N, 11, AREA, "st")


@pytest.fixture
def store(store_url, tmp_path, parcels):
    return import_parcels(store_url, tmp_path, parcels, LAYER)


def _app(store, tmp_path, **extra):
    config = {"DB_PATH": str(tmp_path / "c.db"), "WORKERS": 0, "CACHE_DIR": str(tmp_path / "ic"),
              "RATE_LIMIT_EXPENSIVE": 0, **extra}
    if isinstance(store, layer_store.PostgisStore):
        config["DATABASE_URL"] = store.url
    else:
        config["HOME"] = str(Path(store.root).parent)
    return create_app(config)


def _post(client, lon, lat):
    ring = [[lon, lat], [lon + DX, lat], [lon + DX, lat + DY], [lon, lat + DY], [lon, lat]]
    r = client.post("/api/v1/sitecheck", json={"geometry": {"type": "Polygon",
                                                             "coordinates": [ring]}})
    assert r.status_code == 201, r.get_data(as_text=True)[:300]
    return r.get_json()


def test_http_site_check_zones_and_rings_equal_shapely_over_the_whole_layer(store, tmp_path):
    frame = store.read(LAYER)  # the stored layer, whole (the importer rounds coordinates)
    ids = frame.index.to_numpy(dtype=object)
    gm = gcrs.to_metric(frame.geometry.values)
    client = _app(store, tmp_path).test_client()
    for lon, lat in SITES:
        body = _post(client, lon, lat)
        sm = gcrs.to_metric(box(lon, lat, lon + DX, lat + DY))
        areas = shapely.area(shapely.intersection(gm, sm))
        touched = areas > 0
        got = {z["id"]: z["overlap_m2"] for z in body["zones"] if z["layer"] == LAYER}
        want = {ids[k]: float(areas[k]) for k in np.flatnonzero(touched)}
        assert got.keys() == want.keys() and len(got) > 10
        for k, v in want.items():
            assert got[k] == pytest.approx(v, abs=0.02)
        d = shapely.distance(gm, sm)
        assert [r["distance_m"] for r in body["rings"]] == [500.0, 1000.0, 2000.0]
        for ring in body["rings"]:
            r = ring["distance_m"]
            near = {ids[k]: float(d[k]) for k in np.flatnonzero(~touched & (d <= r))}
            feats = [f for f in ring["features"] if f["layer"] == LAYER]
            assert {f["id"] for f in feats} == near.keys() and len(near) > 10
            for f in feats:
                assert f["distance_m"] == pytest.approx(near[f["id"]], abs=0.06)
            # sorted by distance, zones listing the same features in the same order
            dist = [f["distance_m"] for f in ring["features"]]
            assert dist == sorted(dist)
            assert ring["zones"] == [f["id"] for f in ring["features"]]
        # cumulative rings: each ring starts with the whole of the previous one
        for a, b in zip(body["rings"], body["rings"][1:], strict=False):
            assert b["features"][:len(a["features"])] == a["features"]
        # the stored check is the answer, and its report page draws
        stored = client.get(body["url"]).get_json()
        assert stored["rings"] == body["rings"] and stored["zones"] == body["zones"]
        assert client.get(body["report_url"]).status_code == 200


def test_the_sketch_from_the_slim_task_input_is_the_full_results(store, tmp_path):
    app = _app(store, tmp_path)
    client = app.test_client()
    data = app.extensions["planmap"].data
    for lon, lat in SITES[:2]:
        body = _post(client, lon, lat)
        ring = [[lon, lat], [lon + DX, lat], [lon + DX, lat + DY], [lon, lat + DY], [lon, lat]]
        site = {"type": "Polygon", "coordinates": [ring]}
        slim = reportview.sketch_input(body)
        assert all(set(r) == {"distance_m"} for r in slim["rings"])
        full = reportview.render_map({"result": body, "site": site}, data)
        assert reportview.render_map({"result": slim, "site": site}, data) == full
        assert full["svg"].startswith("<svg")
        with app.app_context():
            stored = app.extensions["planmap"].store.get(body["id"])
        assert stored["report"] == full  # what the check stored is that drawing


def test_the_report_caches_follow_the_data_object():
    data = layers.load(store=False)
    first = reportview._feature_index(data)
    assert reportview._feature_index(data) is first  # made once per data object
    want = {str(fid): lid for lid, gdf in data.layers.items() for fid in gdf.index}
    assert {k: v[0] for k, v in first.items()} == want
    # a new layers dict (a reload, a visibility view) gets a fresh index
    lid = next(iter(data.layers))
    data.layers = {k: v for k, v in data.layers.items() if k != lid}
    second = reportview._feature_index(data)
    assert second is not first and all(v[0] != lid for v in second.values())
    other = layers.load(store=False)
    assert reportview._feature_index(other) is not first
    # context layers in metres equal a fresh projection, row for row
    ctx = reportview._context(other, "admin")
    assert len(ctx) == len(other.layers["admin"])
    for g, row in ctx:
        assert shapely.equals_exact(g, gcrs.to_metric(row.geometry), 0)


def test_serve_freezes_its_start_objects_unless_gc_freeze_is_off(tmp_path, monkeypatch):
    from planmap.server.commands import production_app

    monkeypatch.setenv("PLANMAP_HOME", str(tmp_path / "h"))
    try:
        gc.unfreeze()
        production_app({"DB_PATH": str(tmp_path / "a.db"), "WORKERS": 0,
                        "CACHE_DIR": str(tmp_path / "ic"), "GC_FREEZE": False})
        assert gc.get_freeze_count() == 0
        app = production_app({"DB_PATH": str(tmp_path / "b.db"), "WORKERS": 0,
                              "CACHE_DIR": str(tmp_path / "ic")})
        assert app.config["GC_FREEZE"] is True
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()  # the test process keeps collecting as before
