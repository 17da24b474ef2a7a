"""The OGC page's Feature texts (layers.storequery.geojson_texts) equal json.dumps of the
Feature dicts (geojson_features), for the geometry types and coordinates a store holds."""

from __future__ import annotations

import json
import math

import numpy as np
import shapely
from planmap.layers.storequery import geojson_features, geojson_texts


def _reference(ords, geoms, props):
    return [json.dumps(f, ensure_ascii=False, separators=(",", ":"))
            for f in geojson_features(ords, geoms, props)]


def _shapes():
    rng = np.random.default_rng(12)
    out = []
    for _ in range(300):  # random 6-decimal and full-precision lon/lat polygons
        x, y = rng.uniform(121.6, 124.4), rng.uniform(44.2, 46.3)
        n = int(rng.integers(3, 40))
        a = np.sort(rng.uniform(0, 2 * math.pi, n))
        r = rng.uniform(0.001, 0.01, n)
        ring = np.c_[x + r * np.cos(a), y + r * np.sin(a)]
        if rng.random() < 0.5:
            ring = np.round(ring, 6)
        out.append(shapely.Polygon(ring))
    hole = shapely.Polygon([(0, 0), (10, 0), (10, 10), (0, 10)], [[(2, 2), (3, 2), (3, 3)]])
    out += [
        hole,
        shapely.MultiPolygon([hole, shapely.box(20, 20, 21.000001, 21)]),
        shapely.Polygon([(1e-7, 0), (1, 0), (1, 1e-5)]),  # repr writes exponents here
        shapely.Polygon([(-0.0, 0), (1e16, 0), (1e16, 1)]),
        shapely.Polygon(),
        shapely.Point(122.1, 45.123456789),
        shapely.LineString([(122, 45), (122.00000000000001, 45.1)]),
        shapely.Polygon([(0, 0, 1), (1, 0, 2), (1, 1, 3)]),  # 3D: through the GEOS text
        None,
    ]
    return np.array(out, dtype=object)


def test_texts_equal_the_dumped_dicts():
    geoms = _shapes()
    props = [{"id": f"p{k}", "name_zh": "水田", "county": ["220802"], "n": k,
              "area": 1.5 * k, "citation": {"seed": "x", "line": k}, "none": None,
              "nan": float("nan")} for k in range(len(geoms))]
    ords = np.arange(len(geoms), dtype=np.int64)
    got = geojson_texts(ords, geoms, props)
    assert got == _reference(ords, geoms, props)
    assert [json.loads(t) for t in got] == geojson_features(ords, geoms, props)


def test_mixed_page_keeps_order():
    geoms = _shapes()[::-1]
    props = [{"id": str(k)} for k in range(len(geoms))]
    ords = np.arange(len(geoms), dtype=np.int64)
    assert geojson_texts(ords, geoms, props) == _reference(ords, geoms, props)
    assert geojson_texts(ords[:0], geoms[:0], []) == []
