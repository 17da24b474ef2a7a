"""Import speed (issue 12): the faster write paths give what the plain rules give.

Each fast path is compared with an independent reference: the PostGIS COPY rows with
``json`` and shapely's own hex WKB, the county bitmasks with one shapely test per
parcel and county, the oriented geometry with ``shapely.orient_polygons``, the
read-ahead thread with a plain loop; and an import with rows spoiled in every way the
fast paths skip over reads back from both backends the same as its source.
"""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
import shapely
from planmap.layers import importer as imp
from planmap.layers.store import _copy_lines, open_store
from planmap.layers.storeimport import _read_ahead, import_to_store

from planmap import layers
from tests.conftest import MINI_SEED


def _uncopy(text: str) -> str:
    """Undo PostgreSQL COPY text escaping (the reference reading of a field)."""
    out, i = [], 0
    while i < len(text):
        ch = text[i]
        if ch == "\\":
            nxt = text[i + 1]
            out.append({"t": "\t", "n": "\n", "r": "\r", "\\": "\\"}[nxt])
            i += 2
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def test_copy_rows_hold_each_value_as_json_and_the_geometry_as_hex_wkb():
    cit = {"seed": "000_x", "line": 3, "quote": 'a "quoted" \\ back\tslash'}
    county = ["220802"]
    texts = ["plain", 'q"uote', "back\\slash", "tab\there", "nl\nx", "中文\u3000全角",
             None, float("nan"), "x", "\x01ctl"]
    n = len(texts)
    values = {"name_zh": texts, "county": [county] * n, "citation": [cit] * n,
              "none": [None] * n, "num": [1, 2.5, np.int64(3), None, float("inf"), True,
                                          7, 8, 9, 10],
              "clean": ["abc"] * n, "带\"键": ["v"] * n}
    geoms = np.array([shapely.box(122 + i, 45, 122.5 + i, 45.5) for i in range(n)],
                     dtype=object)
    ids = [f"p_{i}" for i in range(n - 1)] + ["odd\tid"]
    lines = _copy_lines(ids, values, geoms, 40).decode("utf-8").split("\n")
    assert lines[-1] == "" and len(lines) == n + 1
    for i, line in enumerate(lines[:-1]):
        fid, order, props, geom = line.split("\t")
        assert _uncopy(fid) == ids[i] and int(order) == 40 + i
        want = {}
        for key, column in values.items():
            v = column[i]
            if v is None or (isinstance(v, float) and not np.isfinite(v)):
                continue  # a missing value is left out of props
            want[key] = v.item() if isinstance(v, np.generic) else v
        assert json.loads(_uncopy(props)) == want
        assert geom == shapely.to_wkb(geoms[i], hex=True).lower()


def _county_reference(geoms, admin) -> list[list[str]]:
    units = admin[(admin["kind"] == "county") & admin["adcode"].notna()]
    out = []
    for g in geoms:
        out.append(sorted(str(code) for code, unit in zip(units["adcode"], units.geometry,
                                                          strict=True)
                          if g.intersects(unit) and not g.touches(unit)))
    return out


def test_counties_per_chunk_are_each_parcels_own_shapely_answer():
    admin = layers.load().layers["admin"]
    units = admin[admin["kind"] == "county"]
    rng = np.random.default_rng(12)
    lo, la = rng.uniform(121.7, 124.3, 300), rng.uniform(44.3, 46.2, 300)
    geoms = [shapely.box(x, y, x + 0.02, y + 0.02) for x, y in zip(lo, la, strict=True)]
    # on county borders (two counties) and sharing only a border point/edge (touches)
    ring = shapely.get_coordinates(shapely.boundary(units.geometry.values[0]))
    geoms += [shapely.box(x - 0.005, y - 0.005, x + 0.005, y + 0.005) for x, y in ring[::97]]
    geoms += [shapely.Polygon(ring[:3].tolist() + [ring[0].tolist()])
              if shapely.Polygon(ring[:3]).area > 0 else shapely.Point(ring[0])]
    geoms += [shapely.Point(0, 0)]
    geoms = np.array(geoms, dtype=object)
    assert imp._counties(geoms, admin) == _county_reference(geoms, admin)
    combos, which = imp._county_codes(geoms, admin)
    assert len(set(combos)) == len(combos) and len(which) == len(geoms)
    assert any(len(c) > 1 for c in combos)  # the border parcels are in two counties
    assert imp._counties(geoms[:0], admin) == []
    assert imp._counties(geoms[:2], None) == [[], []]


def test_oriented_geometry_is_orient_polygons_of_the_rounded_input(mini_data_dir, tmp_path):
    x, y = 122.05, 45.05
    ccw = shapely.box(x, y, x + 0.001, y + 0.001)
    cw = shapely.Polygon(list(ccw.exterior.coords)[::-1])
    hole = shapely.Polygon(shapely.box(x, y + .01, x + .004, y + .014).exterior.coords,
                           [shapely.box(x + .001, y + .011, x + .002, y + .012)
                            .exterior.coords])
    hole_cw = shapely.Polygon(list(hole.exterior.coords)[::-1],
                              [list(hole.interiors[0].coords)[::-1]])
    multi = shapely.MultiPolygon([shapely.affinity.translate(cw, 0, 0.02),
                                  shapely.affinity.translate(ccw, 0.002, 0.02)])
    geoms = [ccw, cw, hole, hole_cw, multi]
    geoms = [shapely.affinity.translate(g, 0.0000001234, 0.0000004321) for g in geoms]
    frame = gpd.GeoDataFrame({"id": [f"g_{i}" for i in range(len(geoms))],
                              "citation_seed": [MINI_SEED] * len(geoms),
                              "citation_line": [3] * len(geoms),
                              "citation_quote": ["两核"] * len(geoms)},
                             geometry=geoms, crs="EPSG:4326")
    src = tmp_path / "o.gpkg"
    pyogrio.write_dataframe(frame, src, driver="GPKG")
    store = open_store(tmp_path / "store")
    import_to_store(src, "shapes", store, data_dir=mini_data_dir)
    got = store.read("shapes")
    want = shapely.orient_polygons(shapely.transform(np.array(geoms, dtype=object),
                                                     lambda c: np.round(c, 6)),
                                   exterior_cw=False)
    for i, g in enumerate(want):
        assert shapely.to_wkb(got.geometry[f"g_{i}"]) == shapely.to_wkb(g)
        for poly in getattr(g, "geoms", [g]):
            assert poly.exterior.is_ccw
            assert all(not r.is_ccw for r in poly.interiors)


def test_read_ahead_keeps_order_raises_in_place_and_stops_with_the_consumer():
    assert list(_read_ahead(iter(range(50)))) == list(range(50))

    def failing():
        yield 1
        yield 2
        raise ValueError("third")

    got = []
    with pytest.raises(ValueError, match="third"):
        for v in _read_ahead(failing()):
            got.append(v)
    assert got == [1, 2]
    made = []

    def endless():
        i = 0
        while True:
            made.append(i)
            yield i
            i += 1

    reader = _read_ahead(endless())
    assert [next(reader), next(reader)] == [0, 1]
    reader.close()  # the producer has stopped: nothing more is made
    count = len(made)
    assert count <= 4
    assert len(made) == count


def test_spoiled_rows_are_reported_and_the_rest_read_back_on_both_backends(
        store_url, mini_data_dir, tmp_path):
    n = 90
    geoms, texts = [], []
    for i in range(n):
        x, y = 122.05 + (i % 30) * 0.002, 45.05 + (i // 30) * 0.002
        g = shapely.box(x, y, x + 0.001, y + 0.001)
        if i % 11 == 0:  # clockwise exterior
            g = shapely.Polygon(list(g.exterior.coords)[::-1])
        if i == 5:  # self-intersecting: repaired
            g = shapely.Polygon([(x, y), (x + 0.001, y + 0.001), (x + 0.001, y),
                                 (x, y + 0.001)])
        if i == 6:  # outside Baicheng: refused
            g = shapely.box(x + 10, y, x + 10.001, y + 0.001)
        geoms.append(g)
        texts.append(['引"号', "反\\斜", "制\t表", "普通"][i % 4])
    frame = gpd.GeoDataFrame({"id": [f"r_{i}" for i in range(n)], "note": texts,
                              "num": [float(i) if i % 7 else None for i in range(n)],
                              "citation_seed": [MINI_SEED] * n, "citation_line": [3] * n,
                              "citation_quote": ["两核"] * n}, geometry=geoms,
                             crs="EPSG:4326")
    src = tmp_path / "s.gpkg"
    pyogrio.write_dataframe(frame, src, driver="GPKG")
    store = open_store(store_url)
    seen = []
    result = import_to_store(src, "spoiled", store, data_dir=mini_data_dir, chunk_size=20,
                             skip_refused=True, report=seen.append)
    assert [(r.row, r.kind) for r in seen] == [(6, "repaired"), (7, "refused")]
    assert (result.features, result.repaired, result.refused) == (n - 1, 1, 1)
    got = store.read("spoiled")
    if store_url.startswith("postgresql://"):  # the column's SRID, not one per row
        import psycopg

        with psycopg.connect(store_url) as conn:
            table = conn.execute("SELECT tbl FROM planmap_version WHERE layer = 'spoiled'"
                                 ).fetchone()[0]
            assert conn.execute(f'SELECT DISTINCT ST_SRID(geom) FROM "{table}"'
                                ).fetchall() == [(4326,)]
    assert list(got.index) == [f"r_{i}" for i in range(n) if i != 6]
    for i in range(n):
        if i == 6:
            continue
        row = got.loc[f"r_{i}"]
        assert row["note"] == texts[i]
        assert (row["num"] is None or np.isnan(row["num"])) if i % 7 == 0 \
            else row["num"] == float(i)
        assert row["county"] == ["220802"] and row["citation"]["seed"] == MINI_SEED
        if i != 5:
            want = shapely.orient_polygons(shapely.transform(geoms[i],
                                                             lambda c: np.round(c, 6)),
                                           exterior_cw=False)
            assert shapely.equals_exact(row.geometry, want, 0)
