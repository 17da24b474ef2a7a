"""layers.load(): what every other room relies on, and how it fails on broken data."""

from __future__ import annotations

import json

import pytest
import shapely
from planmap.geo.errors import LayerError, NotFound
from shapely.geometry import Point

from planmap import layers
from tests.conftest import MINI_SEED, mini_feature, write_layer

EXPECTED_LAYERS = ("admin", "ecology", "urban", "parks", "water")
ECOLOGY_PATTERN_IDS = {"eco_core_xianghai", "eco_core_momoge", "eco_belt_west_windbreak",
                       "eco_belt_east_wetlands", "eco_corridor_taoer_jiaoliu"}


# ---------------------------------------------------------------- the happy path (mini data)
def test_mini_data_loads_with_contract_shapes(mini_data_dir):
    data = layers.load(mini_data_dir)
    assert [e["id"] for e in data.catalog] == ["admin", "zones"]  # sorted by order, not file order
    zones = data.layers["zones"]
    assert zones.crs.to_epsg() == 4326
    assert list(zones.index) == ["zone_core", "zone_park"]
    assert zones.loc["zone_park", "citation"] == {"seed": MINI_SEED, "line": 5,
                                                  "quote": "建设东湖公园"}
    assert zones.loc["zone_core", "county"] == ["220802"]
    assert data.errors == {}
    assert data.plans[MINI_SEED].line(5) == "建设东湖公园。"
    assert data.plans[MINI_SEED].title_en == "Mini plan"


def test_service_area_is_the_city_feature(mini_data_dir):
    data = layers.load(mini_data_dir)
    assert data.service_area.equals(data.layers["admin"].geometry.loc["admin_220800"])
    assert data.service_area.covers(Point(122.9, 45.9))
    assert not data.service_area.covers(Point(123.1, 45.5))


def test_feature_all_features_and_clauses_for(mini_data_dir):
    data = layers.load(mini_data_dir)
    f = data.feature("zone_core")
    assert f["layer"] == "zones" and f["geometry"].geom_type == "Polygon"
    json.dumps({k: v for k, v in f.items() if k != "geometry"})  # plain values only
    with pytest.raises(NotFound):
        data.feature("no_such_feature")
    every = data.all_features()
    assert sorted(every.index) == sorted(["admin_220800", "admin_220802", "admin_220881",
                                          "zone_core", "zone_park"])
    assert every.loc["zone_park", "layer"] == "zones"
    # A clause names a feature or its whole layer.
    assert {c["id"] for c in data.clauses_for("zone_core")} == {"cl_core", "cl_all_zones"}
    assert {c["id"] for c in data.clauses_for("zone_park")} == {"cl_all_zones"}
    assert data.clauses_for("admin_220802") == []


def test_data_version_follows_the_bytes(mini_data_dir):
    v1 = layers.load(mini_data_dir).data_version
    assert v1 == layers.load(mini_data_dir).data_version
    assert v1.startswith("test-1+")
    path = mini_data_dir / "data" / "zones.geojson"
    fc = json.loads(path.read_text("utf-8"))
    fc["features"][0]["properties"]["name_zh"] = "改名"
    path.write_text(json.dumps(fc, ensure_ascii=False), "utf-8")
    assert layers.load(mini_data_dir).data_version != v1


def test_plan_line_out_of_range_is_not_found(mini_data_dir):
    plan = layers.load(mini_data_dir).plans[MINI_SEED]
    with pytest.raises(NotFound):
        plan.line(99)
    with pytest.raises(NotFound):
        plan.line(0)


# ---------------------------------------------------------------- broken data
def _zones(d):
    return json.loads((d / "data" / "zones.geojson").read_text("utf-8"))["features"]


def _break_corrupt_json(d):
    (d / "data" / "zones.geojson").write_text('{"type": "FeatureCollection", "features": [',
                                              "utf-8")
    return "corrupt JSON"


def _break_missing_file(d):
    (d / "data" / "zones.geojson").unlink()
    return "missing"


def _break_invalid_geometry(d):
    bowtie = {"type": "Polygon", "coordinates": [[[122.1, 45.1], [122.2, 45.2], [122.2, 45.1],
                                                  [122.1, 45.2], [122.1, 45.1]]]}
    write_layer(d, "zones", [mini_feature("zone_bowtie", "zones", bowtie)])
    return "Self-intersection"


def _break_duplicate_id_across_layers(d):
    feats = _zones(d)
    feats[0]["id"] = feats[0]["properties"]["id"] = "admin_220802"
    write_layer(d, "zones", feats)
    return "admin_220802"


def _break_duplicate_id_in_layer(d):
    feats = _zones(d)
    feats[1]["id"] = feats[1]["properties"]["id"] = "zone_core"
    write_layer(d, "zones", feats)
    return "duplicate"


def _break_missing_citation(d):
    feats = _zones(d)
    del feats[1]["properties"]["citation"]
    write_layer(d, "zones", feats)
    return "citation"


def _break_citation_without_quote(d):
    feats = _zones(d)
    feats[1]["properties"]["citation"] = {"seed": MINI_SEED, "line": 5}
    write_layer(d, "zones", feats)
    return "quote"


def _break_citation_unknown_plan(d):
    feats = _zones(d)
    feats[1]["properties"]["citation"]["seed"] = "999_nowhere"
    write_layer(d, "zones", feats)
    return "999_nowhere"


def _break_bad_accuracy(d):
    feats = _zones(d)
    feats[0]["properties"]["accuracy"] = "exact"
    write_layer(d, "zones", feats)
    return "accuracy"


def _break_projected_coordinates(d):
    sq = {"type": "Polygon", "coordinates": [[[500000, 5000000], [501000, 5000000],
                                              [501000, 5001000], [500000, 5000000]]]}
    write_layer(d, "zones", [mini_feature("zone_proj", "zones", sq)])
    return "WGS84"


def _break_declared_crs(d):
    path = d / "data" / "zones.geojson"
    fc = json.loads(path.read_text("utf-8"))
    fc["crs"] = {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::4550"}}
    path.write_text(json.dumps(fc, ensure_ascii=False), "utf-8")
    return "4550"


BREAKERS = [_break_corrupt_json, _break_missing_file, _break_invalid_geometry,
            _break_duplicate_id_across_layers, _break_duplicate_id_in_layer,
            _break_missing_citation, _break_citation_without_quote, _break_citation_unknown_plan,
            _break_bad_accuracy, _break_projected_coordinates, _break_declared_crs]


@pytest.mark.parametrize("breaker", BREAKERS, ids=lambda f: f.__name__[len("_break_"):])
def test_broken_layer_raises_naming_file_and_problem(mini_data_dir, breaker):
    expected_problem = breaker(mini_data_dir)
    with pytest.raises(LayerError) as info:
        layers.load(mini_data_dir)
    err = info.value
    assert err.code == "layer_error"
    assert "zones.geojson" in err.message_en and "zones.geojson" in err.param
    assert expected_problem in err.message_en
    assert err.message_zh and err.message_zh != err.message_en


@pytest.mark.parametrize("breaker", BREAKERS, ids=lambda f: f.__name__[len("_break_"):])
def test_not_strict_records_the_error_and_serves_the_rest(mini_data_dir, breaker):
    expected_problem = breaker(mini_data_dir)
    data = layers.load(mini_data_dir, strict=False)
    assert set(data.errors) == {"zones"}
    assert expected_problem in data.errors["zones"]
    assert "zones" not in data.layers
    assert len(data.layers["admin"]) == 3
    assert "zones" in [e["id"] for e in data.catalog]  # the health page still lists it
    assert data.service_area is not None


def test_missing_catalog_is_fatal_even_when_not_strict(mini_data_dir):
    (mini_data_dir / "catalog.json").unlink()
    with pytest.raises(LayerError, match="catalog.json"):
        layers.load(mini_data_dir, strict=False)


def test_corrupt_clauses_named(mini_data_dir):
    (mini_data_dir / "clauses.json").write_text("[{", "utf-8")
    with pytest.raises(LayerError, match="clauses.json"):
        layers.load(mini_data_dir)
    data = layers.load(mini_data_dir, strict=False)
    assert "clauses.json" in data.errors["clauses"] and data.clauses == []
    assert set(data.layers) == {"admin", "zones"}


def test_service_area_falls_back_to_union_of_counties(mini_data_dir):
    feats = json.loads((mini_data_dir / "data" / "admin.geojson").read_text("utf-8"))["features"]
    write_layer(mini_data_dir, "admin", feats[1:])  # no city feature
    area = layers.load(mini_data_dir).service_area
    assert area.covers(Point(122.25, 45.25)) and area.covers(Point(122.75, 45.25))
    assert not area.covers(Point(122.5, 45.75))


# ---------------------------------------------------------------- the built-in data
def test_builtin_data_loads_strictly(plan_data):
    # (How fast: bench/bench_layers.py, figures in docs/PERFORMANCE.md.)
    assert plan_data.errors == {}
    assert "admin" in plan_data.layers
    for gdf in plan_data.layers.values():
        assert gdf.index.is_unique and gdf.crs.to_epsg() == 4326
        assert shapely.is_valid(gdf.geometry.values).all()
    every = plan_data.all_features()
    assert every.index.is_unique
    assert len(every) == sum(len(g) for g in plan_data.layers.values())
    assert plan_data.dangling_clause_refs() == {}


def test_builtin_service_area_is_baicheng(plan_data):
    area = plan_data.service_area
    assert area.covers(Point(122.84, 45.62))  # 白城 city centre
    assert not area.covers(Point(125.3, 43.9))  # 长春
    assert not area.covers(Point(122.05, 46.08))  # 乌兰浩特 (Inner Mongolia)


def test_builtin_catalog_has_the_five_layers(plan_data):
    ids = [e["id"] for e in plan_data.catalog]
    for lid in EXPECTED_LAYERS:
        assert lid in ids and lid in plan_data.layers, f"layer {lid} missing"
    assert ECOLOGY_PATTERN_IDS <= set(plan_data.layers["ecology"].index)


# ---------------------------------------------------------------- planmap layers
def _raw_counts(data_dir, layer_id):
    path = data_dir / "data" / f"{layer_id}.geojson"
    feats = json.loads(path.read_text("utf-8"))["features"]
    counts = {"official": 0, "derived": 0, "schematic": 0}
    for f in feats:
        counts[f["properties"]["accuracy"]] += 1
    return len(feats), counts


def test_cli_layers_json_lists_the_five_layers_with_counts(capsys):
    from planmap.server.cli import main

    assert main(["layers", "--json"]) == 0
    rows = {r["id"]: r for r in json.loads(capsys.readouterr().out)}
    for lid in EXPECTED_LAYERS:
        assert lid in rows, f"layer {lid} missing from planmap layers --json"
        row = rows[lid]
        assert row["title_zh"] and row["title_en"] and row["group"]
        n, counts = _raw_counts(layers.PACKAGE_DIR, lid)
        assert row["features"] == n > 0
        assert row["accuracy"] == counts
        assert "error" not in row


def test_cli_layers_table_is_readable(capsys, plan_data):
    from planmap.server.cli import main

    assert main(["layers"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].split()[:2] == ["id", "中文名"]
    for entry in plan_data.catalog:
        row = next(ln for ln in lines if ln.split()[:1] == [entry["id"]])
        assert entry["title_zh"] in row
        assert str(len(plan_data.layers[entry["id"]])) in row.split()


def test_cli_layers_reports_a_broken_layer(mini_data_dir, capsys):
    from planmap.server.cli import main

    (mini_data_dir / "data" / "zones.geojson").write_text("{", "utf-8")
    assert main(["layers", "--json", "--data-dir", str(mini_data_dir)]) == 1
    rows = {r["id"]: r for r in json.loads(capsys.readouterr().out)}
    assert "zones.geojson" in rows["zones"]["error"] and rows["zones"]["features"] == 0
    assert rows["admin"]["features"] == 3
    assert main(["layers", "--data-dir", str(mini_data_dir)]) == 1
    assert "! zones: data/zones.geojson: corrupt JSON" in capsys.readouterr().out


def test_duplicate_layer_id_in_catalog_is_fatal(mini_data_dir):
    path = mini_data_dir / "catalog.json"
    doc = json.loads(path.read_text("utf-8"))
    doc["layers"].append(dict(doc["layers"][0]))
    path.write_text(json.dumps(doc, ensure_ascii=False), "utf-8")
    with pytest.raises(LayerError, match="duplicate layer ids"):
        layers.load(mini_data_dir, strict=False)


def test_empty_layer_loads_with_its_columns(mini_data_dir):
    write_layer(mini_data_dir, "zones", [])
    data = layers.load(mini_data_dir)
    assert len(data.layers["zones"]) == 0
    assert {"id", "accuracy", "citation"} <= set(data.layers["zones"].columns)
    assert len(data.all_features()) == 3


def test_not_strict_drops_only_the_bad_clause(mini_data_dir):
    path = mini_data_dir / "clauses.json"
    doc = json.loads(path.read_text("utf-8"))
    doc[0]["citation"]["seed"] = "999_nowhere"
    path.write_text(json.dumps(doc, ensure_ascii=False), "utf-8")
    with pytest.raises(LayerError, match="999_nowhere"):
        layers.load(mini_data_dir)
    data = layers.load(mini_data_dir, strict=False)
    assert [c["id"] for c in data.clauses] == ["cl_all_zones"]
    assert "cl_core" in data.errors["clauses"] and "clauses.json" in data.errors["clauses"]


def test_copy_data_dir_is_a_complete_independent_data_dir(tmp_path, plan_data):
    copy = layers.copy_data_dir(tmp_path / "copy")
    copied = layers.load(copy)
    assert [e["id"] for e in copied.catalog] == [e["id"] for e in plan_data.catalog]
    assert copied.data_version == plan_data.data_version
    assert {k: len(v) for k, v in copied.layers.items()} == \
        {k: len(v) for k, v in plan_data.layers.items()}
    (copy / "data" / "admin.geojson").write_text("{}", "utf-8")  # the package is untouched
    assert len(layers.load().layers["admin"]) == len(plan_data.layers["admin"])
