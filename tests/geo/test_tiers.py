"""Tiers of an answer (issue 16): binding zones, plan designations, area-wide programmes.

The plan-data tests click where a planner would (the 向海 core, a park, farmland); the
synthetic tests pin the area-wide rule at its threshold (:data:`geo.index.AREA_WIDE_SHARE`).
"""

import re
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from planmap.geo import crs as gcrs
from planmap.geo.index import AREA_WIDE_SHARE, ZoneIndex
from planmap.geo.precedence import PRECEDENCE_RULES
from planmap.geo.sitecheck import site_check
from shapely.geometry import box

XIANGHAI = (122.350, 45.033)
FARMLAND = (123.100, 45.800)
PLANS = Path(__file__).resolve().parents[2] / "layers" / "plans"


@pytest.fixture(scope="module")
def plan_index(plan_data):
    return ZoneIndex.from_plan_data(plan_data)


def _ids(entries):
    return [e["id"] for e in entries]


def _county_wide(index, data):
    """Features covering >= the share of some county, measured here independently."""
    counties = data.layers["admin"]
    out = set()
    for gdf in data.layers.values():
        for fid, geom in zip(gdf.index, gdf.geometry, strict=True):
            if geom.geom_type not in ("Polygon", "MultiPolygon"):
                continue
            g = gcrs.to_metric(geom)
            for cgeom in counties.geometry:
                c = gcrs.to_metric(cgeom)
                if g.intersection(c).area >= 0.97 * c.area:  # clearly county-wide
                    out.add(fid)
    return out


def test_xianghai_core_is_the_one_binding_zone_and_county_programmes_are_tier_c(
        plan_index, plan_data):
    r = plan_index.query_point(*XIANGHAI)
    tiers = r["tiers"]
    assert _ids(tiers["binding"]) == ["eco_core_xianghai"]
    wide = _county_wide(plan_index, plan_data)
    assert {"en_wind_10gw_base", "agri_demo_grain_beans", "admin_220822"} <= wide
    covering = set(_ids(r["zones"]))
    # every county-wide extent at the point is in tier (c) and nowhere else
    assert covering & wide <= set(_ids(tiers["area_wide"]))
    assert not (set(_ids(tiers["designations"])) | set(_ids(tiers["binding"]))) & wide
    # the tiers partition the zones the point lies in
    assert sorted(_ids(tiers["binding"]) + _ids(tiers["designations"])
                  + _ids(tiers["area_wide"])) == sorted(covering)
    assert tiers["area_wide_title"]["zh"] == "通榆县适用的规划安排"
    assert all(e["clauses"] for e in tiers["area_wide"] if e["id"] == "en_wind_10gw_base")
    # the verdict comes from the core and names the clause that decided it
    assert r["verdict"] == "restricted"
    dc = r["deciding_clause"]
    assert dc["id"] == "pol_strictest_eco_space" and dc["zone"]["id"] == "eco_core_xianghai"
    assert dc["citation"]["line"] == 551 and "最严格的生态空间保护制度" in dc["citation"]["quote"]
    assert dc["zone"]["accuracy"] == "schematic"


def test_xianghai_conflict_with_the_energy_base_is_won_by_the_core_with_citations(plan_index):
    conflicts = plan_index.query_point(*XIANGHAI)["conflicts"]
    by_yielding = {c["yielding"]["id"]: c for c in conflicts}
    assert {"en_wind_10gw_base", "en_solar_base"} <= set(by_yielding)
    wind = by_yielding["en_wind_10gw_base"]
    assert wind["prevailing"]["id"] == "eco_core_xianghai"
    assert wind["yielding"]["tier"] == "area_wide"
    rules = [x["id"] for x in wind["rules"]]
    assert rules[0] == "eco_space_strictest"
    assert "energy_base_avoids" in rules and "ecology_first" in rules
    assert "以向海国际重要湿地生态核为准" in wind["zh"] and "004:3503" in wind["zh"]
    # a city-wide statement (admin unit) is not a place that conflicts
    assert "admin_220800" not in by_yielding


def test_every_precedence_rule_quote_is_at_its_cited_plan_line():
    squash = lambda s: re.sub(r"\s+", "", s)  # noqa: E731
    for rule in PRECEDENCE_RULES.values():
        c = rule["citation"]
        lines = (PLANS / f"{c['seed']}.txt").read_text(encoding="utf-8").split("\n")
        window = "".join(squash(x) for x in lines[c["line"] - 1: c["line"] + 2])
        first = squash(lines[c["line"] - 1])
        q = squash(c["quote"])
        assert any(window.startswith(q, i) for i in range(len(first))), rule["id"]


def test_a_point_in_a_park_gets_the_park_and_its_clauses_first(plan_index, plan_data):
    park = plan_data.layers["parks"].loc["park_baicheng_edz"].geometry
    p = park.representative_point()
    r = plan_index.query_point(p.x, p.y)
    first = r["tiers"]["binding"][0]
    assert first["id"] == "park_baicheng_edz"
    own = {c["id"] for c in plan_index.clauses if "park_baicheng_edz" in c["applies_to"]}
    assert own and own <= {c["id"] for c in first["clauses"]}
    assert r["deciding_clause"]["zone"]["id"] == "park_baicheng_edz"
    assert r["verdict"] == "encouraged" and r["conflicts"] == []


def test_farmland_point_lists_no_county_wide_extent_as_a_zone(plan_index, plan_data):
    r = plan_index.query_point(*FARMLAND)
    tiers = r["tiers"]
    wide = _county_wide(plan_index, plan_data)
    placed = set(_ids(tiers["binding"])) | set(_ids(tiers["designations"]))
    assert not placed & wide
    assert {"agri_high_standard_farmland", "admin_220802"} <= set(_ids(tiers["area_wide"]))
    assert r["verdict"] == "none" and r["deciding_clause"] is None


def test_site_check_carries_the_same_tiers_and_its_verdict_is_the_binding_tiers(plan_index):
    s = site_check(plan_index, shapely.Point(*XIANGHAI))
    p = plan_index.query_point(*XIANGHAI)
    assert s["tiers"] == p["tiers"] and s["deciding_clause"] == p["deciding_clause"]
    assert s["verdict"] == s["tiers"]["binding"][0]["effect"]
    assert s["deciding_clause"]["id"] in s["verdict_basis"]
    # a fresh copy each time: changing one answer leaves the next intact
    s["tiers"]["binding"].clear()
    assert site_check(plan_index, shapely.Point(*XIANGHAI))["tiers"]["binding"]


# ------------------------------------------------------------ the area-wide rule's edges
CX, CY = 500_000.0, 5_000_000.0
COUNTY_A = box(CX, CY, CX + 10_000, CY + 10_000)
COUNTY_B = box(CX + 10_000, CY, CX + 20_000, CY + 10_000)
CITY = box(CX, CY, CX + 20_000, CY + 10_000)


def _frame(rows, kind="zone"):
    return gpd.GeoDataFrame(
        {"id": [r[0] for r in rows], "name_zh": [r[0] for r in rows],
         "name_en": [r[0] for r in rows], "accuracy": ["schematic"] * len(rows),
         "kind": [r[2] if len(r) > 2 else kind for r in rows]},
        geometry=[gcrs.from_metric(r[1]) for r in rows], crs="EPSG:4326").set_index(
        "id", drop=False)


def _share_box(share):
    """A box covering ``share`` of county A (cut along x)."""
    return box(CX, CY, CX + 10_000 * share, CY + 10_000)


@pytest.fixture(scope="module")
def synthetic():
    under, over = AREA_WIDE_SHARE - 0.005, AREA_WIDE_SHARE + 0.005
    layers = {
        "admin": _frame([("city", CITY, "city"), ("a", COUNTY_A, "county"),
                         ("b", COUNTY_B, "county")]),
        "plan": _frame([
            ("under", _share_box(under)), ("over", _share_box(over)),
            # 95 % of A plus half of B: not only a county, a placed extent
            ("spill", shapely.union(_share_box(0.95),
                                    box(CX + 10_000, CY, CX + 15_000, CY + 10_000))),
            # the whole city and as much again outside it: still only repeats the city
            ("beyond", box(CX, CY - 10_000, CX + 20_000, CY + 10_000)),
            ("bound", _share_box(over)),
        ]),
    }
    clauses = [{"id": "z", "effect": "restricted", "scope": "zone", "text_zh": "限制",
                "citation": {"seed": "000_x", "line": 1, "quote": "限制"},
                "applies_to": ["bound"]}]
    return ZoneIndex(layers, clauses=clauses, grid_cells=64)


def test_area_wide_rule_just_under_and_just_over_the_threshold(synthetic):
    assert synthetic.area_wide("plan", "under") == (False, [])
    assert synthetic.area_wide("plan", "over") == (True, ["a"])


def test_area_wide_rule_needs_the_extent_to_be_nothing_but_whole_units(synthetic):
    assert synthetic.area_wide("plan", "spill")[0] is False
    flag, units = synthetic.area_wide("plan", "beyond")
    assert flag and set(units) == {"city", "a", "b"}
    assert synthetic.area_wide("admin", "a") == (True, ["a"])


def test_tiers_follow_the_rule_and_a_zone_clause_keeps_a_county_wide_extent_binding(synthetic):
    lon, lat = gcrs.from_metric(shapely.Point(CX + 1000, CY + 5000)).coords[0]
    t = synthetic.query_point(lon, lat)["tiers"]
    assert _ids(t["binding"]) == ["bound"]
    assert set(_ids(t["area_wide"])) == {"city", "a", "over", "beyond"}
    assert set(_ids(t["designations"])) == {"under", "spill"}
    assert t["area_wide_title"]["zh"] == "a适用的规划安排"


def test_cli_text_opens_with_verdict_deciding_clause_and_tiers(plan_index):
    from planmap.geo.checktext import format_text

    text = format_text(site_check(plan_index, shapely.Point(*XIANGHAI)), "point")
    lines = text.splitlines()
    first = next(i for i, line in enumerate(lines) if line.startswith("结论 Verdict"))
    assert "pol_strictest_eco_space (000:551)" in lines[first + 1]
    assert "最严格的生态空间保护制度" in lines[first + 1] and "schematic" in lines[first + 2]
    binding = text.index("约束性区域 Binding zones (1)")
    county = text.index("通榆县适用的规划安排")
    assert binding < county < text.index("千万千瓦风电基地")


def test_two_binding_zones_that_disagree_show_the_conflict_and_the_rule_that_prevails():
    # A park the plan encourages drawn into an ecological belt under the strictest regime.
    belt = box(CX, CY, CX + 10_000, CY + 10_000)
    park = box(CX + 2000, CY + 2000, CX + 4000, CY + 4000)
    layers = {"ecology": _frame([("belt", belt)]), "parks": _frame([("park", park)])}
    clauses = [
        {"id": "pol_strictest_eco_space", "effect": "restricted", "scope": "zone",
         "text_zh": "最严格", "citation": {"seed": "000_x", "line": 551, "quote": "最严格"},
         "applies_to": ["belt"]},
        {"id": "park_growth", "effect": "encouraged", "scope": "zone", "text_zh": "鼓励",
         "citation": {"seed": "000_x", "line": 9, "quote": "鼓励"}, "applies_to": ["park"]},
    ]
    index = ZoneIndex(layers, clauses=clauses, grid_cells=64)
    lon, lat = gcrs.from_metric(shapely.Point(CX + 3000, CY + 3000)).coords[0]
    r = index.query_point(lon, lat)
    assert _ids(r["tiers"]["binding"]) == ["belt", "park"]  # strictest effect first
    assert r["verdict"] == "restricted" and r["deciding_clause"]["id"] == "pol_strictest_eco_space"
    [conflict] = r["conflicts"]
    assert conflict["prevailing"]["id"] == "belt" and conflict["yielding"]["id"] == "park"
    assert conflict["yielding"]["tier"] == "binding"
    assert [x["id"] for x in conflict["rules"]] == ["eco_space_strictest", "ecology_first"]
    assert all(x["citation"]["quote"] for x in conflict["rules"])
    # without the belt the park alone is binding and nothing conflicts
    alone = ZoneIndex({"parks": layers["parks"]}, clauses=clauses, grid_cells=64)
    assert alone.query_point(lon, lat)["conflicts"] == []


def test_a_zone_clause_without_a_known_effect_gives_verdict_none_and_no_deciding_clause():
    layers = {"plan": _frame([("odd", COUNTY_A)])}
    clauses = [{"id": "odd_rule", "effect": "advisory", "scope": "zone", "text_zh": "建议",
                "citation": {"seed": "000_x", "line": 3, "quote": "建议"}, "applies_to": ["odd"]}]
    index = ZoneIndex(layers, clauses=clauses, grid_cells=32)
    lon, lat = gcrs.from_metric(shapely.Point(CX + 5000, CY + 5000)).coords[0]
    r = index.query_point(lon, lat)
    assert _ids(r["tiers"]["binding"]) == ["odd"]
    assert r["verdict"] == "none" and r["deciding_clause"] is None and r["conflicts"] == []
