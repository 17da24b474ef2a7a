"""Point-query tiers of an in-place store layer: the answer spliced from the cached answer of
the other zones (geo/tiers.py ``_plain_tail``) equals the answer built whole, byte for byte."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
import shapely
from planmap.geo import tiers
from planmap.geo.index import ZoneIndex
from planmap.layers.store import open_store
from planmap.layers.storeimport import import_to_store
from shapely.geometry import box

from planmap import layers

_BENCH = Path(__file__).resolve().parents[2] / "bench" / "make_parcels.py"
AREA = box(122.80, 45.50, 123.00, 45.64)
CIT = ("000_f32aaef515cfbb76", 1173, "全面落实永久基本农田特殊保护制度，严守耕地红线")


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    spec = importlib.util.spec_from_file_location("make_parcels", _BENCH)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    n = 2400
    wkb, codes, names = mod.make_parcels(n, seed=7, boundary=AREA)
    frame = gpd.GeoDataFrame(
        {"id": [f"tb_{i:05d}" for i in range(n)], "dlbm": codes, "dlmc": names,
         "name_zh": names, "citation_seed": CIT[0], "citation_line": CIT[1],
         "citation_quote": CIT[2]}, geometry=shapely.from_wkb(wkb), crs="EPSG:4326")
    tmp = tmp_path_factory.mktemp("tiers_tail")
    pyogrio.write_dataframe(frame, tmp / "tb.gpkg")
    store = open_store(str(tmp / "store"))
    import_to_store(tmp / "tb.gpkg", "tubanlayer", store)
    return ZoneIndex.from_plan_data(layers.load(store=store))


def _whole(index, features) -> str:
    """The reference: the answer built for the whole set, dumped as json.dumps does."""
    return json.dumps(tiers.answer_tiers(index, features), ensure_ascii=False,
                      separators=(",", ":"))


def test_spliced_tiers_equal_the_whole_answer(index):
    rng = np.random.default_rng(12)
    minx, miny, maxx, maxy = AREA.bounds
    pts = np.c_[rng.uniform(minx - 0.02, maxx + 0.02, 400),
                rng.uniform(miny - 0.02, maxy + 0.02, 400)]
    spliced = 0
    for x, y in pts.tolist():
        got = index.query_point(x, y, tiers_as_json=True)["tiers_json"]
        feats = tuple(index.covering(x, y))
        assert got == _whole(index, feats)
        assert json.loads(got) == tiers.answer_tiers(index, feats)
        layer = index.feature_table.layer_list
        spliced += any(layer[f] == "tubanlayer" for f in feats)
    assert spliced > 100  # most points lie in a parcel: the spliced path was taken


def test_sets_of_several_parcels_and_of_the_builtin_zones_alone(index):
    layer = index.feature_table.layer_list
    x, y = 122.9, 45.57
    base = tuple(f for f in index.covering(x, y) if layer[f] != "tubanlayer")
    parcels = sorted({f for dx in np.linspace(-0.01, 0.01, 5) for dy in np.linspace(-0.01, 0.01, 5)
                      for f in index.covering(x + dx, y + dy) if layer[f] == "tubanlayer"})
    assert base and len(parcels) > 3
    # the parcels carry no clause: the spliced path answers (None would mean built whole)
    assert tiers._plain_tail(index, base + tuple(parcels), index.clauses) is not None
    for feats in (base, base + tuple(parcels), tuple(parcels[::-1]) + base, tuple(parcels), ()):
        assert tiers.answer_tiers_json(index, feats) == _whole(index, feats)
