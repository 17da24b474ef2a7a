"""Pre-seeded low-zoom tiles of a bulk store layer (issue 12, layers/tileseed.py), both
backends: an import keeps the z10-z12 tiles in the version; each seeded tile decodes to
exactly what geo/mvt.py cuts from the store (ids, properties, geometries); the server
answers them from the seeds, cuts the others, and cuts everything when the seeds are
missing or of another format."""

from __future__ import annotations

import gzip
import math
from pathlib import Path

import mapbox_vector_tile
import numpy as np
import pyogrio
import pytest
import shapely
from planmap.geo.mvt import MIN_PIXEL_AREA, TILE_PIXELS, tile_lonlat_bounds, tiles_covering
from planmap.layers import store as layer_store
from planmap.layers import tileseed
from planmap.layers.storeimport import import_to_store
from planmap.layers.storequery import GpkgLayer, store_layer
from planmap.server import create_app
from pyproj import Transformer
from shapely.geometry import box

from tests.layers.conftest import import_parcels, synthetic_parcels

N = 2400
AREA = box(122.80, 45.50, 123.00, 45.64)
LAYER = "seedlayer"


@pytest.fixture(scope="module")
def parcels():
    return synthetic_parcels(N, 12, AREA, "sd", name_zh=False)


def _import(store_url, tmp_path, parcels):
    return import_parcels(store_url, tmp_path, parcels, LAYER)


@pytest.fixture
def store(store_url, tmp_path, parcels):
    return _import(store_url, tmp_path, parcels)


def _client(store, tmp_path):
    config = {"DB_PATH": str(tmp_path / "c.db"), "WORKERS": 0, "TILE_CACHE_BYTES": 0}
    if isinstance(store, layer_store.PostgisStore):
        config["DATABASE_URL"] = store.url
    else:
        config["HOME"] = str(Path(store.root).parent)
    return create_app(config).test_client()


def _features(raw: bytes) -> dict:
    """Decoded features of one tile by MVT id: (properties, geometry)."""
    if not raw:
        return {}
    layer = mapbox_vector_tile.decode(raw)[LAYER]
    out = {f["id"]: (f["properties"], f["geometry"]) for f in layer["features"]}
    assert len(out) == len(layer["features"])  # ids are unique within a tile
    return out


def _all_tiles(source, zooms):
    return [(z, x, y) for z in zooms for x, y in tiles_covering(source.bounds, z)]


def test_every_seeded_tile_decodes_to_the_tile_cut_from_the_store(store):
    source = store_layer(store, LAYER)
    seeds = tileseed.seeds_of(source)
    assert seeds is not None and (seeds.min_zoom, seeds.max_zoom) == (10, 12)
    drawn = 0
    for z, x, y in _all_tiles(source, range(10, 13)):
        packed = seeds.get(z, x, y)
        cut = tileseed.cut_tile(source, z, x, y)
        assert bool(packed) == bool(cut), (z, x, y)  # empty tiles are left out, no others
        got, want = _features(gzip.decompress(packed) if packed else b""), _features(cut)
        assert got == want, (z, x, y)
        drawn += len(got)
    assert drawn > N  # the parcels are drawn (on tile edges more than once)
    assert int(seeds.meta["tiles"]) > 0


def test_a_seeded_tile_holds_the_parcels_shapely_says_it_should(store, parcels):
    """Independent reference: shapely's intersects with the tile box, and the stated pixel
    rule with areas projected by pyproj (EPSG:3857)."""
    source = store_layer(store, LAYER)
    seeds = tileseed.seeds_of(source)
    frame = store.read(LAYER)
    ids = frame.index.to_numpy(dtype=object)
    to3857 = Transformer.from_crs(4326, 3857, always_xy=True)
    area = shapely.area(shapely.transform(frame.geometry.values, to3857.transform,
                                          interleaved=False))
    checked = 0
    for z in (10, 12):
        pixel = 2 * math.pi * 6378137.0 / (1 << z) / TILE_PIXELS
        big = area >= MIN_PIXEL_AREA * pixel * pixel
        for x, y in tiles_covering(source.bounds, z):
            packed = seeds.get(z, x, y)
            got = {p["id"] for p, _g in _features(gzip.decompress(packed)
                                                   if packed else b"").values()}
            meets = shapely.intersects(frame.geometry.values, box(*tile_lonlat_bounds(z, x, y)))
            assert got == set(ids[meets & big]), (z, x, y)
            checked += len(got)
    assert checked


def test_the_server_answers_seeded_zooms_from_the_seeds_and_cuts_the_others(
        store, tmp_path, monkeypatch):
    from planmap.server import tiles as tiles_view

    source = store_layer(store, LAYER)
    seeds = tileseed.seeds_of(source)
    cut_zooms = []
    real_cut = tiles_view.cut_tile

    def counting_cut(src, z, x, y):
        cut_zooms.append(z)
        return real_cut(src, z, x, y)

    monkeypatch.setattr(tiles_view, "cut_tile", counting_cut)
    client = _client(store, tmp_path)
    for z in (10, 11, 12):
        x, y = max(tiles_covering(source.bounds, z),
                   key=lambda t: len(seeds.get(z, *t)))
        r = client.get(f"/tiles/{LAYER}/{z}/{x}/{y}.mvt", headers={"Accept-Encoding": "gzip"})
        assert r.status_code == 200 and r.headers["Content-Encoding"] == "gzip"
        assert "X-Planmap-Generalised" in r.headers
        assert r.get_data() == seeds.get(z, x, y)
        plain = client.get(f"/tiles/{LAYER}/{z}/{x}/{y}.mvt")
        assert _features(plain.get_data()) == _features(real_cut(source, z, x, y))
    assert cut_zooms == []  # no seeded tile was cut
    x, y = tiles_covering(shapely.Point(122.9, 45.57).bounds, 13)[0]
    r = client.get(f"/tiles/{LAYER}/13/{x}/{y}.mvt")
    assert r.status_code == 200 and cut_zooms == [13]
    assert _features(r.get_data()) == _features(real_cut(source, 13, x, y))
    # a seeded zoom's tile away from the layer is an empty answer, from the seeds
    r = client.get(f"/tiles/{LAYER}/10/0/0.mvt")
    assert r.status_code == 200 and r.get_data() == b"" and cut_zooms == [13]


def test_seeds_of_another_format_are_not_served(store, tmp_path):
    source = store_layer(store, LAYER)
    x, y = max(tiles_covering(source.bounds, 12),
               key=lambda t: len(tileseed.seeds_of(source).get(12, *t)))
    want = _features(tileseed.cut_tile(source, 12, x, y))
    if isinstance(source, GpkgLayer):
        import sqlite3

        with sqlite3.connect(source.path) as conn:
            conn.execute("UPDATE planmap_tiles_meta SET value = 'old' WHERE key = 'format'")
            conn.execute("UPDATE planmap_tiles SET tile_data = ?", (gzip.compress(b"x"),))
    else:
        import psycopg

        with psycopg.connect(store.url) as conn:
            conn.execute(f'UPDATE "{source.table}_tiles_meta" SET value = \'old\' '
                         "WHERE key = 'format'")
            conn.execute(f'UPDATE "{source.table}_tiles" SET data = %s', (gzip.compress(b"x"),))
    assert tileseed.seeds_of(store_layer(store, LAYER)) is None
    r = _client(store, tmp_path).get(f"/tiles/{LAYER}/12/{x}/{y}.mvt")
    assert r.status_code == 200 and _features(r.get_data()) == want and want


def test_seeding_off_leaves_every_tile_cut(store_url, tmp_path, parcels, monkeypatch):
    monkeypatch.setenv(tileseed.SEED_MAX_ZOOM_ENV, "-1")
    store = _import(store_url, tmp_path, parcels)
    source = store_layer(store, LAYER)
    assert tileseed.seeds_of(source) is None
    x, y = tiles_covering(source.bounds, 11)[0]
    r = _client(store, tmp_path).get(f"/tiles/{LAYER}/11/{x}/{y}.mvt")
    assert r.status_code == 200
    assert _features(r.get_data()) == _features(tileseed.cut_tile(source, 11, x, y))


def test_a_new_version_has_its_own_seeds_and_a_restore_brings_back_the_old(
        store, tmp_path, parcels):
    moved = parcels.copy()
    moved["dlmc"] = "新版"
    src = tmp_path / "sd2.gpkg"
    pyogrio.write_dataframe(moved, src)
    import_to_store(src, LAYER, store)
    x, y = max(tiles_covering(store_layer(store, LAYER).bounds, 11),
               key=lambda t: len(tileseed.cut_tile(store_layer(store, LAYER), 11, *t)))

    def dlmc():
        r = _client(store, tmp_path).get(f"/tiles/{LAYER}/11/{x}/{y}.mvt")
        return {p["dlmc"] for p, _g in _features(r.get_data()).values()}

    assert dlmc() == {"新版"}
    store.restore_previous(LAYER)
    back = dlmc()
    assert back and back <= set(parcels["dlmc"])  # the old version's own tiles


def test_tiles_covering_is_every_tile_meeting_the_box():
    rng = np.random.default_rng(12)
    for _ in range(20):
        z = int(rng.integers(3, 13))
        w, s = rng.uniform(121, 124), rng.uniform(44, 46)
        bounds = (w, s, w + rng.uniform(0, 0.5), s + rng.uniform(0, 0.5))
        n = 1 << z
        want = {(x, y) for x in range(n) for y in range(n)
                if box(*tile_lonlat_bounds(z, x, y)).intersects(box(*bounds))} \
            if z <= 8 else None
        got = set(tiles_covering(bounds, z))
        if want is not None:
            assert got == want
        for x, y in got:
            assert box(*tile_lonlat_bounds(z, x, y)).intersects(box(*bounds))
        # no tile next to the cover meets the box
        for x, y in got:
            for dx, dy in ((-1, 0), (1, 0), (0, -1), (0, 1)):
                t = (x + dx, y + dy)
                if t not in got and 0 <= t[0] < n and 0 <= t[1] < n:
                    assert not box(*tile_lonlat_bounds(z, *t)).intersects(box(*bounds))


def test_seeds_from_a_lower_min_zoom_equal_the_cut_at_every_zoom(store):
    """TILE_MIN_ZOOM below the block zoom: those zooms are cut tile by tile, the rest by
    block; every seeded zoom still equals the cut."""
    source = store_layer(store, LAYER)
    meta = tileseed.seed_source(store, source, range(7, 13))
    assert (meta["min_zoom"], meta["max_zoom"]) == ("7", "12")
    seeds = tileseed.seeds_of(store_layer(store, LAYER))
    assert seeds.covers(7) and not seeds.covers(13)
    for z, x, y in _all_tiles(source, range(7, 13)):
        packed = seeds.get(z, x, y)
        assert _features(gzip.decompress(packed) if packed else b"") == \
            _features(tileseed.cut_tile(source, z, x, y)), (z, x, y)


def test_seeding_in_worker_processes_gives_the_same_tiles_as_in_process(store):
    """TILE_SEED_WORKERS: blocks cut and compressed by two spawned processes give the very
    bytes of the in-process run, tile for tile (z12 blocks: several over the layer)."""
    source = store_layer(store, LAYER)
    zooms = range(11, 16)  # blocks of z12, tiles of z11 below them cut in process
    assert len(list(tiles_covering(source.bounds, 12))) >= 2
    serial = list(tileseed.gzipped_tiles(source, zooms, workers=1))
    parallel = list(tileseed.gzipped_tiles(source, zooms, workers=2))
    assert {z for z, *_ in serial} == set(zooms)
    assert parallel == serial


def test_dropping_a_layer_drops_its_seeded_tiles(store):
    """No seed table outlives its layer (PostGIS: tables of their own beside the version's)."""
    if not isinstance(store, layer_store.PostgisStore):
        store.drop_layer(LAYER)
        assert not list(Path(store.root).glob(f"{LAYER}/*.gpkg"))  # they live in the version
        return
    with store._connect() as conn, conn.cursor() as cur:
        cur.execute("SELECT tbl FROM planmap_version WHERE layer = %s", (LAYER,))
        (table,) = cur.fetchone()
        names = (f"{table}_tiles", f"{table}_tiles_meta")
        cur.execute("SELECT count(*) FROM pg_tables WHERE tablename = ANY(%s)", (list(names),))
        assert cur.fetchone()[0] == 2
    store.drop_layer(LAYER)
    with store._connect() as conn, conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM pg_tables WHERE tablename LIKE %s",
                    (table.replace("_", r"\_") + "%",))
        assert cur.fetchone()[0] == 0
