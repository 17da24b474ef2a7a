"""geo.conflicts: the plan-conflict report on the built-in data and on hand-made layers."""

from __future__ import annotations

import math
import re
from types import SimpleNamespace

import geopandas as gpd
import pytest
from planmap.geo.conflicts import DEFAULT_DISTANCE_M, check_distance, find_conflicts, report_text
from planmap.geo.errors import InvalidInput
from pyproj import Transformer
from shapely import transform
from shapely.geometry import LineString, Point, box

_to_4550 = Transformer.from_crs("EPSG:4326", "EPSG:4550", always_xy=True).transform
_to_4326 = Transformer.from_crs("EPSG:4550", "EPSG:4326", always_xy=True).transform


def metric(g):
    return transform(g, _to_4550, interleaved=False)


def lonlat(g):
    return transform(g, _to_4326, interleaved=False)


@pytest.fixture(scope="module")
def conflicts(plan_data):
    return find_conflicts(plan_data)


def pairs(result):
    return {(c["protected"]["id"], c["development"]["id"]): c for c in result}


def squash(s):
    return re.sub(r"\s+", "", s)


def quote_at(plan_data, seed, line, quote):
    lines = plan_data.plans[seed].lines
    window = "".join(squash(x) for x in lines[line - 1 : line + 2])
    first = squash(lines[line - 1])
    q = squash(quote)
    return any(window.startswith(q, i) for i in range(len(first)))


# ----------------------------------------------------------- the named conflicts
def test_wind_site_in_momoge_core_is_found_with_area(conflicts, plan_data):
    """jilin_plans_catalog.md: 004's wind sites named after townships beside 莫莫格."""
    c = pairs(conflicts)[("eco_core_momoge", "ctx_wind_wukeshu")]
    assert c["relation"] == "overlap"
    core = metric(plan_data.layers["ecology"].geometry["eco_core_momoge"])
    site = metric(plan_data.layers["ctx_clean_energy_base"].geometry["ctx_wind_wukeshu"])
    assert c["overlap_m2"] == pytest.approx(core.intersection(site).area, rel=1e-3)
    assert c["overlap_m2"] > 50e6  # most of the 196 km² site lies in the core
    assert c["schematic"] and "示意" in c["note_zh"] and "schematic" in c["note_en"]


def test_roads_into_the_reserves_are_found(conflicts):
    """004's wetland-loop roads 齐大线 莫莫格—月亮泡, 洮向线 洮南—向海, 齐大公路莫莫格至大安段."""
    found = pairs(conflicts)
    for key in [
        ("eco_core_momoge", "ctx_road_qida_momoge_yueliangpao"),
        ("eco_core_momoge", "ctx_road_qida_momoge_daan"),
        ("eco_core_xianghai", "ctx_road_taoxiang"),
    ]:
        assert key in found, key
        assert found[key]["relation"] == "overlap" and found[key]["overlap_length_m"] > 1000


def test_tourism_expansion_inside_the_cores_is_found(conflicts):
    found = pairs(conflicts)
    assert ("eco_core_xianghai", "ctx_scenic_xianghai") in found
    assert ("eco_core_momoge", "ctx_scenic_momoge") in found
    assert ("eco_core_xianghai", "tour_xianghai") in found


def test_both_sides_quote_their_plans_with_seed_and_line(conflicts, plan_data):
    assert conflicts
    for c in conflicts:
        p, d = c["protected"], c["development"]
        assert p["clauses"], c["id"]
        assert {cl["effect"] for cl in p["clauses"]} <= {"prohibited", "restricted"}
        for cl in p["clauses"] + d["clauses"]:
            cit = cl["citation"]
            assert quote_at(plan_data, cit["seed"], cit["line"], cit["quote"]), cl["id"]
            assert cl["plan"]["seed"] == cit["seed"] and cl["plan"]["title_zh"]
        cit = d["citation"]
        assert quote_at(plan_data, cit["seed"], cit["line"], cit["quote"]), d["id"]
        assert p["accuracy"] in {"official", "derived", "schematic"}
        assert d["accuracy"] in {"official", "derived", "schematic"}
    # Conflicts across plans are reported: a 004 site against a 000 core.
    c = pairs(conflicts)[("eco_core_momoge", "ctx_wind_wukeshu")]
    assert c["development"]["citation"]["seed"].startswith("004")
    assert any(cl["citation"]["seed"].startswith("000") for cl in c["protected"]["clauses"])


def test_every_reported_pair_really_is_within_the_distance(conflicts, plan_data):
    geoms = {fid: metric(g) for gdf in plan_data.layers.values()
             for fid, g in gdf.geometry.items()}  # fmt: skip
    for c in conflicts:
        dist = geoms[c["protected"]["id"]].distance(geoms[c["development"]["id"]])
        assert dist <= DEFAULT_DISTANCE_M + 1e-6, c["id"]
        if c["relation"] == "overlap":
            assert dist == 0
        else:
            assert c["distance_m"] == pytest.approx(dist, abs=0.1)


def test_pairs_far_apart_are_not_reported(conflicts, plan_data):
    """Pick development features far from a protected core and check they are absent."""
    found = pairs(conflicts)
    core = metric(plan_data.layers["ecology"].geometry["eco_core_xianghai"])
    far = []
    for layer in ("ctx_clean_energy_base", "energy", "transport", "tourism", "parks"):
        for fid, g in plan_data.layers[layer].geometry.items():
            if metric(g).distance(core) > 5 * DEFAULT_DISTANCE_M:
                far.append(fid)
    assert len(far) > 20
    assert not [fid for fid in far if ("eco_core_xianghai", fid) in found]
    # 新华 wind site (GeoNames 新华) is ~40 km from 向海: not a 向海 conflict.
    assert ("eco_core_xianghai", "ctx_wind_xinhua") not in found


def test_distance_zero_reports_only_overlaps(plan_data, conflicts):
    only = find_conflicts(plan_data, distance_m=0)
    assert only and all(c["relation"] == "overlap" for c in only)
    assert {c["id"] for c in only} == {c["id"] for c in conflicts if c["relation"] == "overlap"}


def test_wider_distance_finds_more(plan_data, conflicts):
    wide = find_conflicts(plan_data, distance_m=10_000)
    assert {c["id"] for c in conflicts} < {c["id"] for c in wide}


# ------------------------------------------------------------ synthetic layers
def _data(prot_geom, dev_geom, prot_acc="official", dev_acc="official", effect="prohibited"):
    def layer(fid, name, geom, acc, layer_id, seed):
        return gpd.GeoDataFrame(
            {"name_zh": [name], "name_en": [name], "kind": ["zone"], "accuracy": [acc],
             "citation": [{"seed": seed, "line": 1, "quote": "x"}], "layer": [layer_id]},
            geometry=[geom], index=[fid], crs="EPSG:4326",
        )

    return SimpleNamespace(
        catalog=[{"id": "eco", "group": "ecology"}, {"id": "en", "group": "energy"}],
        layers={"eco": layer("core", "核心区", prot_geom, prot_acc, "eco", "000"),
                "en": layer("farm", "风电场", dev_geom, dev_acc, "en", "004")},
        clauses=[{"id": "c1", "effect": effect, "text_zh": "禁止", "summary_en": "no",
                  "citation": {"seed": "000", "line": 1, "quote": "禁止"},
                  "applies_to": ["core"]}],
        plans={},
    )


def _square_at(x, y, side_m):
    """A metric square (EPSG:4550) with its south-west corner at (x, y), as lon/lat."""
    return lonlat(box(x, y, x + side_m, y + side_m))


X0, Y0 = 500_000.0, 5_000_000.0  # inside Baicheng's zone of EPSG:4550


def test_synthetic_overlap_area_is_measured_in_4550():
    core = _square_at(X0, Y0, 2000)
    farm = _square_at(X0 + 1000, Y0 + 1000, 2000)  # 1 km × 1 km in common
    [c] = find_conflicts(_data(core, farm))
    assert c["relation"] == "overlap"
    assert c["overlap_m2"] == pytest.approx(1e6, rel=1e-3)
    assert c["overlap_ha"] == pytest.approx(100, rel=1e-3)
    assert c["schematic"] is False and "示意" not in c["note_zh"]
    assert c["protected"]["clauses"][0]["effect"] == "prohibited"


def test_synthetic_features_moved_apart_do_not_conflict():
    core = _square_at(X0, Y0, 2000)
    farm = _square_at(X0 + 2000 + 5000, Y0, 2000)  # 5 km east of the core's edge
    assert find_conflicts(_data(core, farm), distance_m=1000) == []
    [c] = find_conflicts(_data(core, farm), distance_m=6000)
    assert c["relation"] == "near" and c["distance_m"] == pytest.approx(5000, abs=1)


def test_synthetic_schematic_side_is_said_plainly():
    core = _square_at(X0, Y0, 2000)
    road = lonlat(LineString([(X0 - 1000, Y0 + 1000), (X0 + 3000, Y0 + 1000)]))
    [c] = find_conflicts(_data(core, road, dev_acc="schematic"))
    assert c["schematic"] is True
    assert c["overlap_length_m"] == pytest.approx(2000, rel=1e-3) and c["overlap_m2"] == 0
    assert "示意" in c["note_zh"] and "schematic" in c["note_en"]


def test_encouraged_or_required_clauses_do_not_make_a_feature_protected():
    core = _square_at(X0, Y0, 2000)
    farm = _square_at(X0 + 500, Y0 + 500, 500)
    assert find_conflicts(_data(core, farm, effect="encouraged")) == []
    assert find_conflicts(_data(core, farm, effect="required")) == []
    assert len(find_conflicts(_data(core, farm, effect="restricted"))) == 1


def test_point_development_inside_a_zone_is_an_overlap():
    core = _square_at(X0, Y0, 2000)
    pt = lonlat(Point(X0 + 1000, Y0 + 1000))
    [c] = find_conflicts(_data(core, pt))
    assert c["relation"] == "overlap" and c["distance_m"] == 0


@pytest.mark.parametrize("bad", [-1, "abc", float("nan"), float("inf"), 1e9, None, "", [1]])
def test_bad_distance_is_a_domain_error(bad):
    with pytest.raises(InvalidInput) as exc:
        check_distance(bad)
    assert exc.value.code == "bad_distance" and exc.value.param == "distance"
    assert exc.value.message_zh and exc.value.message_en


def test_good_distances_pass():
    assert check_distance("250") == 250.0
    assert check_distance(0) == 0.0
    assert math.isfinite(check_distance(DEFAULT_DISTANCE_M))


def test_text_report_names_both_plans(conflicts):
    text = report_text(conflicts[:3], DEFAULT_DISTANCE_M)
    assert "seed 004_bba0a9fb5e7355d6" in text and "seed 000_f32aaef515cfbb76" in text
    assert f"{len(conflicts[:3])} conflict(s)" in text


# ------------------------------------------------ site check with the new clauses
def test_site_check_applies_the_new_clauses_and_names_each_plan(plan_data):
    """A site on the 五棵树 wind site inside 莫莫格: clauses of 004 and 000, each with its plan."""
    from planmap.geo.index import ZoneIndex
    from planmap.geo.sitecheck import site_check

    index = ZoneIndex.from_plan_data(plan_data)
    core = plan_data.layers["ecology"].geometry["eco_core_momoge"]
    site = plan_data.layers["ctx_clean_energy_base"].geometry["ctx_wind_wukeshu"]
    spot = core.intersection(site).representative_point()
    result = site_check(index, spot)
    zone_ids = {z["id"] for z in result["zones"]}
    assert {"eco_core_momoge", "ctx_wind_wukeshu"} <= zone_ids
    by_id = {c["id"]: c for c in result["clauses"]}
    # (ctx_pol_grassland_not_avoided now binds on the official basic-grassland layer only)
    assert {"ctx_pol_energy_avoidance", "ctx_pol_farmland_min",
            "pol_strictest_eco_space"} <= set(by_id)  # fmt: skip
    assert "ctx_pol_grassland_not_avoided" in {
        c for c in result["official_layers_note"]["clauses"]}
    for c in result["clauses"]:
        seed = c["citation"]["seed"]
        assert c["plan"]["seed"] == seed
        assert c["plan"]["title_zh"] == plan_data.plans[seed].title_zh
    assert by_id["ctx_pol_energy_avoidance"]["plan"]["seed"].startswith("004")


def test_odd_column_names_and_missing_geometry_are_tolerated():
    core = _square_at(X0, Y0, 2000)
    data = _data(core, _square_at(X0 + 500, Y0 + 500, 500))
    data.layers["en"]["odd-name"] = ["x"]
    data.layers["en"].loc["ghost"] = data.layers["en"].iloc[0]
    data.layers["en"].loc["ghost", "geometry"] = None
    [c] = find_conflicts(data)
    assert c["development"]["id"] == "farm"


# ------------------------------------------------ one conflict per pair, artefacts (issue 21)
def _pair_key(plan_data, fid):
    for gdf in plan_data.layers.values():
        if fid in gdf.index:
            row = gdf.loc[fid]
            for key in ("band_of", "same_as"):
                if key in row and isinstance(row[key], str) and row[key]:
                    return row[key]
    return fid


def test_no_duplicate_pairs(conflicts, plan_data):
    keys = [(_pair_key(plan_data, c["protected"]["id"]),
             _pair_key(plan_data, c["development"]["id"])) for c in conflicts]
    assert len(keys) == len(set(keys))
    assert len({c["id"] for c in conflicts}) == len(conflicts)


def test_a_river_and_its_display_band_are_one_protected_feature(conflicts):
    by_dev = {}
    for c in conflicts:
        if c["protected"]["id"] in {"wat_taoer_river", "wat_taoer_river_zone"}:
            by_dev.setdefault(c["development"]["id"], []).append(c)
    assert by_dev and all(len(v) == 1 for v in by_dev.values())
    # the river's crossing is kept once, the other entry named in "merged"
    merged = [c for v in by_dev.values() for c in v if c["merged"]]
    assert merged
    for c in merged:
        assert {m.split("__")[0] for m in c["merged"]} <= {"wat_taoer_river",
                                                           "wat_taoer_river_zone"}


def test_the_same_project_in_two_plans_is_one_development_feature(conflicts):
    devs = [(c["protected"]["id"], c["development"]["id"]) for c in conflicts]
    for a, b in (("tour_west_jilin_loop", "ctx_west_loop_skeleton"),
                 ("en_changbai_hydrogen_corridor", "ctx_hydrogen_corridor_changchun_baicheng")):
        prot_a = {p for p, d in devs if d == a}
        prot_b = {p for p, d in devs if d == b}
        assert not prot_a & prot_b, (a, b)


def test_kept_conflict_has_the_largest_measure(plan_data):
    full = {c["id"]: c for c in find_conflicts(plan_data, distance_m=DEFAULT_DISTANCE_M)}
    for c in full.values():
        for m in c["merged"]:
            assert m not in full  # merged ids are not reported again


def test_artefact_classes_name_their_features(conflicts):
    classes = {a for c in conflicts for a in c["artefact_classes"]}
    assert {"disc", "display_band"} <= classes
    for c in conflicts:
        ids = {c["protected"]["id"], c["development"]["id"]}
        ids |= {part for m in c["merged"] for part in m.split("__")}
        assert [a["class"] for a in c["artefacts"]] == c["artefact_classes"]
        for a in c["artefacts"]:
            assert a["class"] in ("disc", "display_band", "seat_point")
            assert a["features"] and set(a["features"]) <= ids
        if "display_band" in c["artefact_classes"]:
            assert "缓冲带" in c["note_zh"] and "band" in c["note_en"]
    wukeshu = next(c for c in conflicts if c["id"] == "eco_core_momoge__ctx_wind_wukeshu")
    assert wukeshu["artefacts"][0] == {"class": "disc", "features": ["ctx_wind_wukeshu"]}
    river = [c for c in conflicts if c["protected"]["id"] == "wat_taoer_river_zone"]
    assert river and all("display_band" in c["artefact_classes"] for c in river)


def test_synthetic_official_pair_has_no_artefact():
    (c,) = find_conflicts(_data(_square_at(X0, Y0, 1000), _square_at(X0 + 500, Y0, 1000)))
    assert c["artefacts"] == [] and c["artefact_classes"] == [] and c["merged"] == []
