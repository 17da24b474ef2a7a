"""Vector tiles (issue 12): ``/tiles/<layer>/<z>/<x>/<y>.mvt`` and the map page with a large
layer.  A seeded layer of 10,000 synthetic parcels inside Baicheng is injected into the
loaded data before the first request, as an import of a bureau's parcels would add it."""

from __future__ import annotations

import gzip
import math

import mapbox_vector_tile
import numpy as np
import pytest
import shapely
from planmap.geo.mvt import GENERALISATION, GENERALISE_MAX_ZOOM, MIN_PIXEL_AREA
from planmap.server import create_app
from pyproj import Transformer

from bench.synth_parcels import catalog_entry, parcels

N_PARCELS = 10_000
LAYER = "parcels"
TO_LONLAT = Transformer.from_crs("EPSG:3857", "EPSG:4326", always_xy=True)
TO_MERC = Transformer.from_crs("EPSG:4326", "EPSG:3857", always_xy=True)
HALF = math.pi * 6378137.0
CENTRE = (122.80, 45.60)  # inside the parcels' box, 洮北区


def inject(app, gdf, entry):
    data = app.extensions["planmap"].data
    data.layers[entry["id"]] = gdf
    data.catalog.append(entry)
    return data


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    app = create_app({"DB_PATH": str(tmp_path_factory.mktemp("db") / "c.db"), "WORKERS": 0})
    inject(app, parcels(N_PARCELS, seed=7), catalog_entry(LAYER))
    return app


@pytest.fixture(scope="module")
def gdf(app):
    return app.extensions["planmap"].data.layers[LAYER]


def tile_xy(lon, lat, z):
    n = 1 << z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


def tile_box_lonlat(z, x, y):
    """The tile's square in lon/lat, computed with pyproj (not the code under test)."""
    size = 2 * HALF / (1 << z)
    minx, maxy = -HALF + x * size, HALF - y * size
    lon0, lat0 = TO_LONLAT.transform(minx, maxy - size)
    lon1, lat1 = TO_LONLAT.transform(minx + size, maxy)
    return shapely.box(lon0, lat0, lon1, lat1)


def get_tile(client, z, x, y, layer=LAYER, **headers):
    return client.get(f"/tiles/{layer}/{z}/{x}/{y}.mvt", headers=headers)


def decode(body):
    return mapbox_vector_tile.decode(body, default_options={"y_coord_down": True})


def tile_ids(client, z, x, y):
    features = decode(get_tile(client, z, x, y).data)[LAYER]["features"]
    return {f["properties"]["id"] for f in features}


# --- the tiles ---------------------------------------------------------------------------

@pytest.mark.parametrize("z", [10, 12, 14, 16])
def test_a_tile_holds_exactly_the_features_intersecting_it(client, gdf, z):
    x, y = tile_xy(*CENTRE, z)
    r = get_tile(client, z, x, y)
    assert r.status_code == 200
    assert r.mimetype == "application/vnd.mapbox-vector-tile"
    box = tile_box_lonlat(z, x, y)
    meets = shapely.intersects(gdf.geometry.values, box)
    expected = set(gdf.index[meets])
    assert expected, "the test tile should hold parcels"
    layer = decode(r.data)[LAYER]
    got = [f["properties"]["id"] for f in layer["features"]]
    assert len(got) == len(set(got))
    if z <= GENERALISE_MAX_ZOOM:  # generalised: no parcel under the pixel-area threshold
        merc = shapely.transform(gdf.geometry.values, lambda c: np.column_stack(
            TO_MERC.transform(c[:, 0], c[:, 1])))
        pixel = 2 * HALF / (1 << z) / 256
        big = meets & (shapely.area(merc) >= MIN_PIXEL_AREA * pixel * pixel)
        assert set(got) <= expected and set(gdf.index[big]) <= set(got)
        assert r.headers["X-Planmap-Generalised"] == GENERALISATION
    else:
        assert set(got) == expected
        assert "X-Planmap-Generalised" not in r.headers


def test_a_neighbouring_tile_holds_its_own_features(client, gdf):
    x, y = tile_xy(*CENTRE, 13)
    a, b = tile_ids(client, 13, x, y), tile_ids(client, 13, x + 1, y)
    both = set(gdf.index[shapely.intersects(gdf.geometry.values, tile_box_lonlat(13, x, y))
                         & shapely.intersects(gdf.geometry.values, tile_box_lonlat(13, x + 1, y))])
    assert a & b == both  # only parcels crossing the shared edge are in both


def test_tile_features_carry_the_popup_fields(client, gdf):
    z = 14
    x, y = tile_xy(*CENTRE, z)
    features = decode(get_tile(client, z, x, y).data)[LAYER]["features"]
    assert features
    for f in features:
        p = f["properties"]
        row = gdf.loc[p["id"]]
        assert p["name_zh"] == row["name_zh"] and p["name_en"] == row["name_en"]
        assert p["accuracy"] == row["accuracy"] == "schematic"
        assert p["source"] == row["source"]
        assert p["citation_seed"] == row["citation"]["seed"]
        assert p["citation_line"] == row["citation"]["line"]
        assert p["citation_quote"] == row["citation"]["quote"]
        assert p["地类"] == row["地类"]
        assert p["county"] == "220802"
        assert p["layer"] == LAYER


def test_tile_geometry_is_where_the_parcel_is(client, gdf):
    z = 15
    x, y = tile_xy(*CENTRE, z)
    size = 2 * HALF / (1 << z)
    minx, maxy = -HALF + x * size, HALF - y * size
    box = tile_box_lonlat(z, x, y)
    features = decode(get_tile(client, z, x, y).data)[LAYER]["features"]
    assert features
    for f in features:
        # tile units (y down) -> EPSG:3857 -> lon/lat
        geom = shapely.transform(shapely.geometry.shape(f["geometry"]), lambda c: [
            TO_LONLAT.transform(minx + u * size / 4096, maxy - v * size / 4096) for u, v in c])
        assert geom.is_valid
        want = gdf.loc[f["properties"]["id"]].geometry.intersection(box)
        # the same shape within a tile unit (~0.6 m at z15): symmetric difference is a sliver
        assert geom.intersection(box).symmetric_difference(want).area <= 0.03 * want.area


def test_an_empty_tile_is_a_valid_empty_answer(client):
    x, y = tile_xy(124.3, 44.3, 12)  # in Baicheng, far from the parcels
    r = get_tile(client, 12, x, y)
    assert r.status_code == 200
    assert decode(r.data) == {}


# --- caching -------------------------------------------------------------------------------

def test_tiles_are_cached_and_revalidated(app, client):
    from planmap.server import tiles

    x, y = tile_xy(*CENTRE, 13)
    first = get_tile(client, 13, x, y)
    with app.app_context():
        cache = tiles.state().cache
    hits = cache.hits
    second = get_tile(client, 13, x, y)
    assert cache.hits == hits + 1
    assert second.data == first.data
    assert second.headers["Cache-Control"] == f"public, max-age={app.config['TILE_MAX_AGE_S']}"
    tag = second.headers["ETag"]
    again = get_tile(client, 13, x, y, **{"If-None-Match": tag})
    assert again.status_code == 304 and again.data == b""


def test_gzip_answer_decodes_to_the_same_tile(client):
    x, y = tile_xy(*CENTRE, 13)
    plain = get_tile(client, 13, x, y)
    packed = get_tile(client, 13, x, y, **{"Accept-Encoding": "gzip"})
    assert packed.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(packed.data) == plain.data
    assert len(packed.data) < len(plain.data)


def test_a_new_data_version_is_not_served_from_the_old_cache(app, client, gdf):
    data = app.extensions["planmap"].data
    x, y = tile_xy(*CENTRE, 13)
    before = tile_ids(client, 13, x, y)
    old_version, old_layer = data.data_version, data.layers[LAYER]
    try:
        # as an import would: fewer parcels, a new data version
        kept = old_layer[~old_layer.index.isin(sorted(before)[: len(before) // 2])]
        data.layers[LAYER] = kept
        data.data_version = old_version + "-next"
        after = tile_ids(client, 13, x, y)
        assert after == before - set(sorted(before)[: len(before) // 2])
    finally:
        data.layers[LAYER], data.data_version = old_layer, old_version
    restored = tile_ids(client, 13, x, y)
    assert restored == before


def test_the_cache_keeps_to_its_byte_budget():
    from planmap.server.tiles import TileCache

    cache = TileCache(1000)
    for i in range(10):
        cache.put(i, (b"x" * 150, b"y" * 50))
    assert cache.bytes <= 1000
    assert cache.get(0) is None and cache.get(9) is not None  # least recently used left
    cache.put("big", (b"z" * 2000, b""))
    assert cache.get("big") is None


# --- bad input -----------------------------------------------------------------------------

def _error(r, status, code, param=None):
    assert r.status_code == status, r.data
    body = r.get_json()
    assert set(body["error"]) == {"status", "code", "param", "message_en", "message_zh"}
    assert body["error"]["status"] == status and body["error"]["code"] == code
    if param:
        assert body["error"]["param"] == param
    return body["error"]


def test_unknown_or_small_layer_is_404(client):
    e = _error(get_tile(client, 12, 3400, 1450, layer="nope"), 404, "tile_layer_not_found", "layer")
    assert "parcels" in e["message_en"]  # names the layers that are tiled
    # the built-in layers are small: inline GeoJSON, not tiles
    _error(get_tile(client, 12, 3400, 1450, layer="ecology"), 404, "tile_layer_not_found")


@pytest.mark.parametrize("zxy, code, param", [
    ((3, 1, 1), "tile_zoom_out_of_range", "z"),
    ((19, 1, 1), "tile_zoom_out_of_range", "z"),
    ((12, 4096, 1), "tile_out_of_range", "x"),
    ((12, 1, 4096), "tile_out_of_range", "y"),
    (("-1", 1, 1), "invalid_tile_address", "z"),
    ((12, "1.5", 1), "invalid_tile_address", "x"),
    ((12, 1, "abc"), "invalid_tile_address", "y"),
    ((12, 1, "9" * 30), "invalid_tile_address", "y"),
])
def test_bad_tile_address_is_400_naming_it(client, zxy, code, param):
    e = _error(get_tile(client, *zxy), 400, code, param)
    assert e["message_zh"] and e["message_en"] != e["message_zh"]


def test_other_tile_suffix_is_a_json_404(client):
    _error(client.get(f"/tiles/{LAYER}/12/1/1.png"), 404, "not_found")


# --- the map page --------------------------------------------------------------------------

def test_large_layer_is_not_embedded_and_the_page_stays_small(app, client, gdf):
    r = client.get("/map/zh.js", headers={"Accept-Encoding": "gzip"})
    assert r.status_code == 200
    script = gzip.decompress(r.data).decode("utf-8")
    assert len(r.data) <= 400 * 1024  # the bound, whatever the layer sizes
    assert gdf.index[0] not in script and gdf.index[-1] not in script
    assert f"/tiles/{LAYER}/{{z}}/{{x}}/{{y}}.mvt?v=" in script
    html = client.get("/").data.decode("utf-8")
    assert "/static/vendor/leaflet.vectorgrid/Leaflet.VectorGrid.bundled.min.js" in html
    assert "/static/planmap-tiles.js" in html
    for asset in ("/static/vendor/leaflet.vectorgrid/Leaflet.VectorGrid.bundled.min.js",
                  "/static/planmap-tiles.js", "/static/vendor/leaflet.vectorgrid/LICENSE"):
        assert client.get(asset).status_code == 200, asset


def test_page_weight_does_not_grow_with_the_layer(tmp_path):
    """The same page with 2,500 and with 10,000 parcels: the script differs by a few bytes
    (the legend's count), not by the features."""
    sizes = {}
    for n in (2_500, 10_000):
        app = create_app({"DB_PATH": str(tmp_path / f"{n}.db"), "WORKERS": 0})
        inject(app, parcels(n, seed=3), catalog_entry(LAYER))
        client = app.test_client()
        sizes[n] = len(client.get("/map/zh.js", headers={"Accept-Encoding": "gzip"}).data)
    assert abs(sizes[10_000] - sizes[2_500]) < 512, sizes


def test_small_layers_stay_inline_when_tiles_are_off(tmp_path, gdf):
    app = create_app({"DB_PATH": str(tmp_path / "c.db"), "WORKERS": 0,
                      "TILE_THRESHOLD_FEATURES": 0})
    inject(app, gdf.iloc[:300], catalog_entry(LAYER))
    client = app.test_client()
    script = client.get("/map/zh.js").data.decode("utf-8")
    assert gdf.index[0] in script  # embedded as GeoJSON
    assert "/tiles/" not in script
    assert "leaflet.vectorgrid" not in client.get("/").data.decode("utf-8")
    _error(get_tile(client, 12, 3400, 1450), 404, "tile_layer_not_found")


def test_csp_allows_what_the_tiled_page_needs(client):
    page = client.get("/")
    csp = page.headers["Content-Security-Policy"]
    # tiles are fetched from this origin, scripts are files of this origin: nothing added
    assert "connect-src 'self'" in csp and "script-src 'self';" in csp
    assert "unsafe-eval" not in csp
    x, y = tile_xy(*CENTRE, 12)
    tile = get_tile(client, 12, x, y)
    assert tile.headers["X-Content-Type-Options"] == "nosniff"
    assert "Content-Security-Policy" in tile.headers
