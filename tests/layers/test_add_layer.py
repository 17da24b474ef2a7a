"""Adding a layer is one catalog entry + one fact file (+ a rule if needed) (issue 17 item 5).

The recipe of docs/ARCHITECTURE.md ("Adding a layer"), followed in a temporary copy of
``layers/facts``: the new layer is built by ``layers.build``, loads, is on the map's
catalog and answers a point query.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from planmap.layers.build import build
from planmap.layers.builders.context import town
from planmap.layers.loader import copy_data_dir

FACTS = Path(__file__).resolve().parents[2] / "layers" / "facts"
NEW = "test_added_layer"


@pytest.fixture(scope="module")
def added(tmp_path_factory):
    root = tmp_path_factory.mktemp("addlayer")
    facts = root / "facts"
    shutil.copytree(FACTS, facts)
    # step 1: one catalog entry (draw order = position; built last)
    src = json.loads((facts / "catalog.json").read_text("utf-8"))
    src["layers"].append({
        "id": NEW, "title_zh": "新增测试图层", "title_en": "Added test layer", "group": NEW,
        "default_on": True, "style": {"color": "#123456", "fillColor": "#abcdef",
                                      "weight": 1.5, "fillOpacity": 0.25, "radius": 5},
        "source": "Plan text (seed 000) placed by stated rules", "licence": "CC BY 4.0 (GeoNames)",
        "attribution": "Places: GeoNames (www.geonames.org), CC BY 4.0.",
        "description_zh": "测试用图层。", "description_en": "A layer added by the recipe.",
        "builder": "facts"})
    src["build_order"].append(NEW)
    (facts / "catalog.json").write_text(json.dumps(src, ensure_ascii=False), "utf-8")
    # step 2: one fact file, using an existing geometry rule (town_disc)
    (facts / f"{NEW}.json").write_text(json.dumps({
        "layer": NEW,
        "defaults": {"accuracy": "schematic", "source": "seed 000, placed by a stated rule"},
        "features": [{
            "id": "test_added_disc", "name_zh": "白城测试圆", "name_en": "Baicheng test disc",
            "kind": "zone",
            "geometry": {"rule": "town_disc", "town": "白城", "radius_m": 3000,
                         "text": "Disc of {radius_m} m around the town ({source})."},
            "citation": {"seed": "000_f32aaef515cfbb76", "line": 624,
                         "quote": "以白城市区为主核心"},
            "properties": {"development": "urban"}}]}, ensure_ascii=False), "utf-8")
    data = copy_data_dir(root / "data")
    build(data, source=facts / "catalog.json")
    return data


def test_added_layer_is_built_into_the_catalog_and_data(added):
    catalog = json.loads((added / "catalog.json").read_text("utf-8"))
    entry = next(e for e in catalog["layers"] if e["id"] == NEW)
    assert entry["plan"] == "000" and entry["file"] == f"data/{NEW}.geojson"
    assert entry["geometry_types"] == ["Polygon"] and "builder" not in entry
    assert NEW in next(p for p in catalog["plans"] if p["id"] == "000")["layers"]
    (feat,) = json.loads((added / entry["file"]).read_text("utf-8"))["features"]
    p = feat["properties"]
    assert p["rule"].startswith("Disc of 3000 m around the town (GeoNames 'Baicheng')")
    assert p["citation"]["line"] == 624 and p["development"] == "urban"
    assert "220802" in p["county"]


def test_a_fact_with_an_unknown_rule_or_a_wrong_quote_is_refused(tmp_path):
    from planmap.layers.builders.facts import build_layer

    fact = {"layer": "x_bad", "features": [{
        "id": "x_bad_1", "name_zh": "坏", "name_en": "Bad", "kind": "zone",
        "accuracy": "schematic", "source": "s", "geometry": {"rule": "no_such_rule"},
        "citation": {"seed": "000_f32aaef515cfbb76", "line": 624, "quote": "以白城市区为主核心"}}]}
    (tmp_path / "x_bad.json").write_text(json.dumps(fact), "utf-8")
    with pytest.raises(ValueError, match="unknown geometry rule"):
        build_layer("x_bad", tmp_path)
    fact["features"][0]["geometry"] = {"rule": "town_point", "town": "白城", "text": "t"}
    fact["features"][0]["citation"]["quote"] = "规划里没有这句话"
    (tmp_path / "x_bad.json").write_text(json.dumps(fact), "utf-8")
    with pytest.raises(ValueError, match="citation not found"):
        build_layer("x_bad", tmp_path)


def test_added_layer_loads_is_on_the_map_and_answers_a_point_query(added, tmp_path):
    from planmap.server import create_app

    app = create_app({"DATA_DIR": str(added), "DB_PATH": str(tmp_path / "c.db")})
    client = app.test_client()
    layers = client.get("/api/v1/layers").get_json()["layers"]
    assert NEW in [x["id"] for x in layers]
    script = client.get("/map/en.js").get_data(as_text=True)
    assert f'"{NEW}"' in script and "Added test layer" in script
    pt = town("白城")
    body = client.get(f"/api/v1/zones?lon={pt.x:.5f}&lat={pt.y:.5f}").get_json()
    assert "test_added_disc" in [z["id"] for z in body["zones"]]
