"""Layers built from fact files alone (issue 17 item 5): the shipped data is the facts.

Each fact-built layer's shipped features are its fact file's, in order, with its names,
kinds, citations and properties; the plan-frame (EPSG:4551) and Baicheng-frame rules draw
what an independent computation from the raw vendored sources (pyproj + shapely, no
builder code) draws; a fact file naming an unknown rule or a wrong ``county`` is refused.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pyproj import Transformer
from shapely import transform as _transform
from shapely.geometry import Point, shape
from shapely.ops import unary_union

ROOT = Path(__file__).resolve().parents[2]
LAYERS = ROOT / "layers"
FACTS = LAYERS / "facts"
SOURCES = LAYERS / "sources"


def _catalog_facts_layers() -> list[str]:
    src = json.loads((FACTS / "catalog.json").read_text("utf-8"))
    return [e["id"] for e in src["layers"] if e.get("builder") == "facts"]


def _shipped(layer: str) -> dict[str, dict]:
    fc = json.loads((LAYERS / "data" / f"{layer}.geojson").read_text("utf-8"))
    return {f["id"]: f for f in fc["features"]}


def _source(fname: str, **match) -> list[dict]:
    fc = json.loads((SOURCES / fname).read_text("utf-8"))
    return [f for f in fc["features"]
            if all(f["properties"].get(k) == v for k, v in match.items())]


def _project(geom, src: str, dst: str):
    t = Transformer.from_crs(src, dst, always_xy=True)
    return _transform(geom, t.transform, interleaved=False)


def test_most_layers_are_built_from_fact_files_alone():
    # 24 of 29 after this work; the boundary layers and the clean-energy base remain
    assert len(_catalog_facts_layers()) >= 24


@pytest.mark.parametrize("layer", _catalog_facts_layers())
def test_shipped_layer_is_its_fact_file(layer):
    from planmap.layers.builders.facts import GEOMETRY_RULES

    facts = json.loads((FACTS / f"{layer}.json").read_text("utf-8"))
    defaults = facts.get("defaults") or {}
    shipped = _shipped(layer)
    assert [f["id"] for f in facts["features"]] == list(shipped)
    for fact in facts["features"]:
        fact = {**defaults, **fact}
        assert fact["geometry"]["rule"] in GEOMETRY_RULES
        props = shipped[fact["id"]]["properties"]
        for key in ("name_zh", "name_en", "kind", "accuracy", "source"):
            assert props[key] == fact[key], (fact["id"], key)
        assert props["citation"]["line"] == fact["citation"]["line"]
        assert props["citation"]["quote"] == fact["citation"]["quote"]
        assert len(props.get("extra_citations") or []) == len(fact.get("extra_citations") or [])
        for key, value in (fact.get("properties") or {}).items():
            assert props[key] == value, (fact["id"], key)
        if isinstance(fact.get("county"), list):
            assert props["county"] == sorted(fact["county"])


def _sym_share(a, b) -> float:
    return a.symmetric_difference(b).area / b.area


def test_plan_disc_is_the_disc_around_the_geonames_town_in_epsg4551():
    """p003_main_city: 5 km around GeoNames Meihekou, clipped to 梅河口市 (EPSG:4551)."""
    town = shape(_source("places_geonames_jilin.geojson", name="Meihekou")[0]["geometry"])
    mhk = shape(_source("jilin_admin_wgs84.geojson", adcode="220581")[0]["geometry"])
    ref = _project(town, "EPSG:4326", "EPSG:4551").buffer(5000, 64).intersection(
        _project(mhk, "EPSG:4326", "EPSG:4551"))
    got = _project(shape(_shipped("p003_urban")["p003_main_city"]["geometry"]),
                   "EPSG:4326", "EPSG:4551")
    assert abs(got.area - ref.area) / ref.area < 0.01
    assert _sym_share(got, ref) < 0.01


def test_plan_units_union_is_the_union_of_the_listed_districts():
    """p002_core_central_city: the four districts of Jilin City's central city."""
    codes = ("220202", "220203", "220204", "220211")
    ref = unary_union([shape(_source("jilin_admin_wgs84.geojson", adcode=c)[0]["geometry"])
                       for c in codes])
    got = shape(_shipped("p002_urban")["p002_core_central_city"]["geometry"])
    assert _sym_share(got, ref) < 0.001


def test_plan_point_and_polyline_pass_through_the_geonames_towns():
    towns = {f["properties"]["name"]: shape(f["geometry"])
             for f in _source("places_geonames_jilin.geojson")}
    got = shape(_shipped("p001_agriculture")["p001_agri_demo_dunhua"]["geometry"])
    assert got.distance(towns["Dunhua"]) < 2e-6
    rail = shape(_shipped("p001_transport")["p001_rail_hunwu"]["geometry"])
    for name in ("Hunchun", "Yanji", "Dunhua", "Jilin", "Changchun", "Songyuan", "Baicheng"):
        assert rail.distance(towns[name]) < 2e-6, name


def test_baicheng_seat_point_and_geonames_disc_match_the_sources():
    places = _source("places_geonames.geojson", name="Dalai")
    places.sort(key=lambda f: "2025" not in f["properties"]["source"])
    dalai = shape(places[0]["geometry"])
    airport = shape(_shipped("transport")["tr_daan_general_airport"]["geometry"])
    assert airport.distance(dalai) < 2e-6
    # the Da'an seat zone: 2.5 km around GeoNames Dalai within 大安市 (EPSG:4550)
    county = shape(_source("baicheng_admin_wgs84.geojson", adcode="220882")[0]["geometry"])
    ref = _project(dalai, "EPSG:4326", "EPSG:4550").buffer(2500, 64).intersection(
        _project(county, "EPSG:4326", "EPSG:4550"))
    seat = _shipped("urban")["urb_aux_daan"]
    got = _project(shape(seat["geometry"]), "EPSG:4326", "EPSG:4550")
    assert _sym_share(got, ref) < 0.01
    assert Point(seat["properties"]["centre"]).distance(dalai) < 2e-6


def _one_feature_layer(tmp_path, geometry: dict, **extra) -> Path:
    fact = {"layer": "t_layer", "features": [{
        "id": "t_feature", "name_zh": "测试", "name_en": "Test", "kind": "zone",
        "accuracy": "schematic", "source": "test", "geometry": geometry,
        "citation": {"seed": "000_f32aaef515cfbb76", "line": 624, "quote": "以白城市区为主核心"},
        **extra}]}
    (tmp_path / "t_layer.json").write_text(json.dumps(fact, ensure_ascii=False), "utf-8")
    return tmp_path


def test_unknown_rule_is_refused_with_the_known_ones(tmp_path):
    from planmap.layers.builders.facts import build_layer

    facts = _one_feature_layer(tmp_path, {"rule": "no_such_rule"})
    with pytest.raises(ValueError, match="unknown geometry rule 'no_such_rule'.*town_point"):
        build_layer("t_layer", facts)


def test_plan_frame_refuses_a_baicheng_county_mode(tmp_path):
    from planmap.layers.builders.facts import build_layer

    facts = _one_feature_layer(tmp_path, {"rule": "plan_town_point", "town": "长春",
                                          "text": "Point at {town}."},
                               frame="plan", county="context_units")
    with pytest.raises(ValueError, match="county must be"):
        build_layer("t_layer", facts)
    # the same fact with the plan frame's default county is built, in Jilin's units
    facts = _one_feature_layer(tmp_path, {"rule": "plan_town_point", "town": "长春",
                                          "text": "Point at {town}."}, frame="plan")
    (feat,) = build_layer("t_layer", facts)
    assert feat["properties"]["county"] == ["220100"]
    assert feat["properties"]["rule"] == "Point at 长春 (GeoNames Changchun)."


def test_rules_of_one_frame_are_refused_in_the_other(tmp_path):
    """A plan_ rule draws in EPSG:4551: used in the Baicheng frame (EPSG:4550) it is refused."""
    from planmap.layers.builders.facts import build_layer

    facts = _one_feature_layer(tmp_path, {"rule": "plan_town_point", "town": "长春",
                                          "text": "Point at {town}."})
    with pytest.raises(ValueError, match="does not belong to the Baicheng frame"):
        build_layer("t_layer", facts)
    facts = _one_feature_layer(tmp_path, {"rule": "town_point", "town": "白城",
                                          "text": "Point ({source})."}, frame="plan")
    with pytest.raises(ValueError, match="does not belong to the plan frame"):
        build_layer("t_layer", facts)
