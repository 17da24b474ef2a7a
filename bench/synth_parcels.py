"""Seeded synthetic cadastral parcels inside Baicheng, for the vector-tile tests and bench.

``parcels(n, seed)`` cuts a box of 洮北区 into an n-cell grid and draws one parcel per
cell: the cell shrunk to 80 % with every edge split and its vertices jittered inside the
cell (8-20 vertices), so parcels never overlap.  Each parcel carries the feature
contract (docs/ARCHITECTURE.md) with ``accuracy: schematic`` (they are test data, not
a survey), a 国土调查-style ``地类`` and its area.
"""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import shapely

# inside 洮北区 (Baicheng City, 220802), around the main city
BOX = (122.45, 45.35, 123.15, 45.85)
DILEI = ("耕地", "林地", "草地", "园地", "城镇村及工矿用地", "交通运输用地", "水域及水利设施用地")
CITATION = {"seed": "000_f32aaef515cfbb76", "line": 1,
            "quote": "synthetic test parcel: no plan text defines it"}
SOURCE = "synthetic parcels (bench/synth_parcels.py, seeded generator); not survey data"


def parcels(n: int, seed: int = 12, box=BOX, layer_id: str = "parcels") -> gpd.GeoDataFrame:
    """``n`` non-overlapping parcels in ``box`` (EPSG:4326), deterministic for ``seed``."""
    rng = np.random.default_rng(seed)
    minx, miny, maxx, maxy = box
    cols = max(1, int(math.ceil(math.sqrt(n * (maxx - minx) / (maxy - miny)))))
    rows = int(math.ceil(n / cols))
    w, h = (maxx - minx) / cols, (maxy - miny) / rows
    cells = np.arange(n)
    cx = minx + (cells % cols + 0.5) * w
    cy = miny + (cells // cols + 0.5) * h
    per_edge = rng.integers(2, 6, size=n)  # 2..5 vertices per edge: 8..20 per parcel
    rings = []
    for i in range(n):
        k = int(per_edge[i])
        t = np.arange(k) / k
        # square ring of the unit cell [-0.4, 0.4]^2, counter-clockwise, k points per edge
        edge = -0.4 + 0.8 * t
        xs = np.concatenate([edge, np.full(k, 0.4), -edge, np.full(k, -0.4)])
        ys = np.concatenate([np.full(k, -0.4), edge, np.full(k, 0.4), -edge])
        jitter = rng.uniform(-0.05, 0.05, size=(2, 4 * k))
        xy = np.column_stack([cx[i] + (xs + jitter[0]) * w, cy[i] + (ys + jitter[1]) * h])
        rings.append(np.vstack([xy, xy[:1]]))
    ring_index = np.repeat(np.arange(n), [len(r) for r in rings])
    geoms = shapely.polygons(shapely.linearrings(np.vstack(rings), indices=ring_index))
    ids = [f"{layer_id}_{i:06d}" for i in cells]
    dilei = rng.choice(len(DILEI), size=n)
    gdf = gpd.GeoDataFrame({
        "id": ids,
        "name_zh": [f"地块 {i:06d}" for i in cells],
        "name_en": [f"Parcel {i:06d}" for i in cells],
        "layer": layer_id,
        "kind": "parcel",
        "county": [["220802"]] * n,
        "accuracy": "schematic",
        "source": SOURCE,
        "citation": [dict(CITATION)] * n,
        "地类": [DILEI[j] for j in dilei],
    }, geometry=geoms, crs="EPSG:4326", index=ids)
    return gdf


def catalog_entry(layer_id: str = "parcels") -> dict:
    """A catalog entry for the synthetic layer (style as a cadastral layer)."""
    return {"id": layer_id, "title_zh": "地块（合成）", "title_en": "Parcels (synthetic)",
            "group": "urban", "order": 999, "default_on": True, "file": f"{layer_id}.geojson",
            "geometry_types": ["Polygon"],
            "style": {"color": "#7a4b1e", "fillColor": "#e0b77a", "weight": 0.8,
                      "fillOpacity": 0.35},
            "source": SOURCE, "licence": "test data", "attribution": "synthetic",
            "description_zh": "合成地块（测试数据）",
            "description_en": "Synthetic parcels (test data)"}
