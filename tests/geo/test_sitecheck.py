"""Site check: areas in 公顷/亩, overlaps, rings, nearest, clauses, verdict, accuracy note."""

import itertools

import geopandas as gpd
import pytest
import shapely
import shapely.affinity
from planmap.geo import crs as gcrs
from planmap.geo.errors import InvalidGeometry, InvalidInput
from planmap.geo.index import ZoneIndex
from planmap.geo.io import parse_site
from planmap.geo.sitecheck import VERDICTS, check_rings, site_check, strongest_effect
from planmap.geo.units import m2_to_ha, m2_to_mu
from shapely.geometry import LineString, Point, Polygon, box

# Synthetic zones drawn in EPSG:4550 metres (so expected figures are plain arithmetic),
# stored in WGS 84 like every layer.
CX, CY = 500_000.0, 5_000_000.0
P_M = box(CX, CY, CX + 1000, CY + 1000)              # schematic, prohibited
E_M = box(CX + 1000, CY, CX + 2000, CY + 1000)       # official, encouraged; shares an edge
G_M = Point(CX + 20_000, CY).buffer(6000, quad_segs=128)  # big round zone: > 200 vertices
R_M = LineString([(CX - 3000, CY + 500), (CX + 3000, CY + 500)])  # a river through P and E
T_M = Point(CX + 500, CY + 3000)                     # a town point north of P


def wgs(g):
    return gcrs.from_metric(g)


def metric(g):
    return gcrs.to_metric(g)


def _frame(rows):
    return gpd.GeoDataFrame(
        {"id": [r[0] for r in rows], "name_zh": [r[0] + "区" for r in rows],
         "name_en": [r[0].upper() for r in rows], "accuracy": [r[2] for r in rows],
         "kind": ["zone"] * len(rows)},
        geometry=[wgs(r[1]) for r in rows], crs="EPSG:4326").set_index("id", drop=False)


CLAUSES = [
    {"id": "c_p", "effect": "prohibited", "text_zh": "禁止开发", "summary_en": "no development",
     "citation": {"seed": "000_x", "line": 5, "quote": "禁止开发"}, "applies_to": ["p"]},
    {"id": "c_e", "effect": "encouraged", "text_zh": "鼓励发展", "summary_en": "encouraged",
     "citation": {"seed": "000_x", "line": 9, "quote": "鼓励发展"}, "applies_to": ["e"]},
    {"id": "c_water", "effect": "restricted", "text_zh": "水域管控",
     "citation": {"seed": "000_x", "line": 12, "quote": "水域管控"}, "applies_to": ["water"]},
]


@pytest.fixture(scope="module")
def idx():
    layers = {
        "plan": _frame([("p", P_M, "schematic"), ("e", E_M, "official"),
                        ("g", G_M, "derived")]),
        "water": _frame([("river", R_M, "derived")]),
        "towns": _frame([("town", T_M, "schematic")]),
    }
    return ZoneIndex(layers, clauses=CLAUSES, plans={"000_x": {"title_zh": "某规划",
                                                               "title_en": "A plan"}})


def zones(res):
    return {z["id"]: z for z in res["zones"]}


def test_2km_square_in_epsg4550_is_400_ha_6000_mu(idx):
    x, y = 430_000.0, 5_050_000.0
    wkt = f"POLYGON(({x} {y}, {x + 2000} {y}, {x + 2000} {y + 2000}, {x} {y + 2000}, {x} {y}))"
    site = parse_site(wkt.encode(), fmt="wkt", crs="EPSG:4550")
    res = site_check(idx, site.geometry, repairs=site.repairs)
    assert res["site"]["kind"] == "polygon"
    assert res["site"]["area_m2"] == pytest.approx(4_000_000, rel=1e-7)
    assert res["site"]["area_ha"] == pytest.approx(400, rel=1e-7)
    assert res["site"]["area_mu"] == pytest.approx(6000, rel=1e-7)
    assert res["site"]["length_m"] is None


def test_units():
    assert m2_to_mu(10000 / 15) == pytest.approx(1.0)
    assert m2_to_mu(10_000) == pytest.approx(15.0)  # 1 公顷 = 15 亩
    assert m2_to_ha(10_000) == 1.0


def test_overlap_with_two_adjacent_zones(idx):
    site = box(CX + 500, CY, CX + 1500, CY + 1000)  # half in p, half in e
    res = site_check(idx, wgs(site))
    z = zones(res)
    assert {"p", "e"} <= set(z)
    for k in ("p", "e"):
        assert z[k]["overlap_m2"] == pytest.approx(500_000, rel=1e-6)
        assert z[k]["overlap_mu"] == pytest.approx(750, rel=1e-6)
        assert z[k]["pct_of_site"] == pytest.approx(50, abs=1e-3)
        assert z[k]["pct_of_zone"] == pytest.approx(50, abs=1e-3)
    assert res["verdict"] == "prohibited"
    assert [c["id"] for c in res["clauses"]][:2] == ["c_p", "c_water"]  # strongest first


def test_overlap_with_a_large_zone_equals_shapely_intersection(idx):
    # crosses the big zone's curved edge and the 5 km tile lines used internally
    site = box(CX + 24_000, CY - 2500, CX + 27_000, CY + 1500)
    res = site_check(idx, wgs(site))
    expected = shapely.intersection(metric(wgs(site)), metric(wgs(G_M))).area
    assert 0 < expected < site.area
    assert zones(res)["g"]["overlap_m2"] == pytest.approx(expected, rel=1e-6)
    assert zones(res)["g"]["pct_of_zone"] == pytest.approx(
        100 * expected / metric(wgs(G_M)).area, rel=1e-5)


def test_site_inside_large_zone(idx):
    site = box(CX + 19_000, CY - 1000, CX + 21_000, CY + 1000)
    z = zones(site_check(idx, wgs(site)))["g"]
    assert z["pct_of_site"] == pytest.approx(100)
    assert z["overlap_ha"] == pytest.approx(400, rel=1e-6)


def test_site_only_in_official_zone_is_encouraged_without_accuracy_note(idx):
    res = site_check(idx, wgs(box(CX + 1200, CY + 600, CX + 1800, CY + 900)))
    assert set(zones(res)) == {"e"}
    assert res["verdict"] == "encouraged"
    assert res["accuracy_note"] is None


def test_schematic_zone_brings_a_note_naming_it(idx):
    res = site_check(idx, wgs(box(CX + 100, CY + 600, CX + 300, CY + 900)))
    assert set(zones(res)) == {"p"}
    note = res["accuracy_note"]
    assert note and [z["id"] for z in note["zones"]] == ["p"]
    assert "p区" in note["zh"] and "P" in note["en"]
    assert zones(res)["p"]["schematic"] is True


def test_site_touching_nothing_has_verdict_none(idx):
    res = site_check(idx, wgs(box(CX - 9000, CY - 9000, CX - 8000, CY - 8000)))
    assert res["zones"] == [] and res["clauses"] == [] and res["verdict"] == "none"
    assert res["accuracy_note"] is None


def test_edge_contact_is_not_an_overlap_but_is_in_every_ring(idx):
    site = box(CX - 1000, CY, CX, CY + 400)  # shares part of p's west edge, south of the river
    res = site_check(idx, wgs(site))
    assert "p" not in zones(res)
    for ring in res["rings"]:
        assert "p" in ring["zones"]


def test_rings_are_cumulative_exclude_touched_and_use_metres(idx):
    site = box(CX + 1200, CY + 1700, CX + 1800, CY + 1900)  # 700 m north of e
    res = site_check(idx, wgs(site), rings=(500, 1000, 2000))
    assert [r["distance_m"] for r in res["rings"]] == [500, 1000, 2000]
    r500, r1000, r2000 = (set(r["zones"]) for r in res["rings"])
    assert r500 <= r1000 <= r2000
    assert "e" not in r500 and "e" in r1000
    dist = {f["id"]: f["distance_m"] for f in res["rings"][-1]["features"]}
    expected = shapely.distance(metric(wgs(site)), metric(wgs(E_M)))
    assert dist["e"] == pytest.approx(expected, abs=0.1)
    assert dist["e"] == pytest.approx(700, abs=1)
    touched = set(zones(res))
    assert not touched & r2000


def test_nearest_lists_untouched_layers_only(idx):
    res = site_check(idx, wgs(box(CX + 100, CY + 600, CX + 300, CY + 900)))
    layers_near = {n["layer"] for n in res["nearest"]}
    assert "plan" not in layers_near  # p is touched
    town = [n for n in res["nearest"] if n["id"] == "town"]
    assert town and town[0]["distance_m"] == pytest.approx(
        shapely.distance(metric(wgs(T_M)), metric(wgs(box(CX + 100, CY + 600, CX + 300,
                                                              CY + 900)))), abs=0.1)


def test_line_features_crossing_the_site_are_touched_and_layer_clauses_apply(idx):
    res = site_check(idx, wgs(box(CX + 100, CY + 100, CX + 900, CY + 900)))
    river = zones(res)["river"]
    assert river["overlap_length_m"] == pytest.approx(800, abs=0.5)
    clause = {c["id"]: c for c in res["clauses"]}["c_water"]  # applies to the layer "water"
    assert clause["zones"] == ["river"]
    assert clause["plan"] == {"seed": "000_x", "title_zh": "某规划", "title_en": "A plan"}
    assert clause["citation"]["line"] == 12


def test_line_site_reports_length_and_overlap_lengths(idx):
    line = LineString([(CX + 500, CY + 200), (CX + 1500, CY + 200)])
    res = site_check(idx, wgs(line))
    assert res["site"]["kind"] == "line"
    assert res["site"]["length_m"] == pytest.approx(1000, abs=0.01)
    assert res["site"]["area_m2"] is None
    z = zones(res)
    assert z["p"]["overlap_length_m"] == pytest.approx(500, abs=0.01)
    assert z["p"]["pct_of_site"] == pytest.approx(50, abs=0.01)


def test_point_site_on_a_zone_edge_is_inside(idx):
    vertex = shapely.get_coordinates(_frame([("p", P_M, "x")]).geometry.iloc[0])[1]
    res = site_check(idx, Point(vertex))
    assert res["site"]["kind"] == "point"
    assert "p" in zones(res)
    assert zones(res)["p"]["overlap_m2"] is None


def test_repairs_are_reported_back(idx):
    res = site_check(idx, wgs(box(CX + 100, CY + 600, CX + 300, CY + 900)),
                     repairs=["ring closed"])
    assert res["repairs"] == ["ring closed"]


def test_invalid_geometry_is_rejected_with_the_geos_reason(idx):
    bowtie = Polygon([(123.0, 45.0), (123.01, 45.01), (123.01, 45.0), (123.0, 45.01)])
    with pytest.raises(InvalidGeometry) as e:
        site_check(idx, bowtie)
    assert "Self-intersection" in e.value.message_en
    with pytest.raises(InvalidGeometry):
        site_check(idx, Polygon())
    with pytest.raises(InvalidInput):
        site_check(idx, "POLYGON((0 0, 1 0, 1 1, 0 0))")


@pytest.mark.parametrize("rings", [(), (0,), (-5,), (float("nan"),), ("a",),
                                   tuple(range(1, 20)), (1e9,)])
def test_bad_rings(rings):
    with pytest.raises(InvalidInput) as e:
        check_rings(rings)
    assert e.value.code == "invalid_rings"


def test_verdict_order():
    order = ["prohibited", "restricted", "required", "encouraged"]
    assert list(VERDICTS) == order + ["none"]
    assert strongest_effect([]) == "none"
    for n in range(1, 5):
        for combo in itertools.permutations(order, n):
            assert strongest_effect(combo) == min(combo, key=order.index)


# --------------------------------------------------------------------------- real data

@pytest.fixture(scope="module")
def real():
    from planmap import layers

    data = layers.load()
    return data, ZoneIndex.from_plan_data(data)


def test_real_site_in_a_schematic_ecological_core(real):
    data, index = real
    core = data.layers["ecology"].loc["eco_core_xianghai"]
    c = metric(core.geometry.representative_point())
    site = wgs(box(c.x - 500, c.y - 500, c.x + 500, c.y + 500))
    res = site_check(index, site)
    touched = zones(res)
    assert "eco_core_xianghai" in touched
    assert touched["eco_core_xianghai"]["pct_of_site"] == pytest.approx(100, abs=0.01)
    assert res["accuracy_note"] is not None
    assert "eco_core_xianghai" in {z["id"] for z in res["accuracy_note"]["zones"]}
    expected = {cl["id"] for t in touched for cl in data.clauses_for(t)}
    assert {cl["id"] for cl in res["clauses"]} == expected
    order = list(VERDICTS)
    zone_effects = [cl["effect"] for cl in res["clauses"] if cl["scope"] == "zone"]
    assert res["verdict"] == min(zone_effects, key=order.index, default="none")
    assert res["verdict"] in ("prohibited", "restricted")  # an ecological core governs the site
    for cl in res["clauses"]:
        assert cl["citation"]["seed"] and cl["citation"]["line"] and cl["text_zh"]
        assert cl["plan"]["title_zh"]


def test_real_official_only_site_has_no_accuracy_note(real):
    data, _ = real
    # Today's plan layers are schematic almost everywhere; the official admin layer alone
    # must give no accuracy note.
    index = ZoneIndex({"admin": data.layers["admin"]}, service_area=data.service_area)
    c = metric(Point(122.788, 45.335))  # Taonan seat
    res = site_check(index, wgs(box(c.x, c.y, c.x + 300, c.y + 300)))
    assert {z["accuracy"] for z in res["zones"]} == {"official"}
    assert res["accuracy_note"] is None


def test_real_overlaps_equal_brute_force_intersections(real):
    data, index = real
    import numpy as np

    rng = np.random.default_rng(5)
    minx, miny, maxx, maxy = data.service_area.bounds
    zones_m = {int(z): metric(index._fgeom[z]) for z in index.zone_idx}
    checked = 0
    while checked < 40:
        lon, lat = rng.uniform(minx, maxx), rng.uniform(miny, maxy)
        if not index.in_service_area(lon, lat):
            continue
        c = metric(Point(lon, lat))
        side = float(np.sqrt(rng.uniform(0.1e6, 5e6)))
        site_m = shapely.affinity.rotate(box(c.x, c.y, c.x + side, c.y + side), 30)
        site = wgs(site_m)
        got = {z["id"]: z["overlap_m2"] for z in site_check(index, site)["zones"]
               if z["overlap_m2"] is not None}
        sm = metric(site)
        want = {index._fid[z]: shapely.intersection(sm, g).area for z, g in zones_m.items()}
        want = {k: v for k, v in want.items() if v > 0}
        assert got.keys() == want.keys()
        for k, v in want.items():
            assert got[k] == pytest.approx(v, rel=1e-6, abs=0.01)
        checked += 1


def test_only_zone_clauses_set_the_verdict(real):
    """A city-wide or activity-only prohibition (e.g. small coal boilers) is listed, but
    does not turn every site in the city into a prohibited one."""
    data, index = real
    scopes = {c["id"]: c["scope"] for c in data.clauses}
    assert {"zone", "activity", "citywide"} <= set(scopes.values())
    centre = metric(shapely.Point(122.84, 45.62))
    site = wgs(box(centre.x - 300, centre.y - 300, centre.x + 300, centre.y + 300))
    res = site_check(index, site)
    by_scope = {}
    for cl in res["clauses"]:
        by_scope.setdefault(cl["scope"], []).append(cl)
    assert by_scope.get("citywide") and by_scope.get("activity")
    assert any(cl["effect"] == "prohibited" for cl in by_scope["activity"] + by_scope["citywide"])
    order = list(VERDICTS)
    expected = min((cl["effect"] for cl in by_scope.get("zone", [])), key=order.index,
                   default="none")
    assert res["verdict"] == expected != "prohibited"
    assert set(res["verdict_basis"]) == {cl["id"] for cl in by_scope.get("zone", [])
                                         if cl["effect"] == expected}
    activities = {a["activity_zh"]: a for a in res["activity_verdicts"]}
    for cl in by_scope["activity"]:
        a = activities[cl["activity_zh"]]
        assert cl["id"] in a["clauses"]
        assert order.index(a["effect"]) <= order.index(cl["effect"])


def test_programme_clauses_are_listed_but_never_set_the_verdict():
    clauses = [
        {"id": "c_prog", "effect": "prohibited", "scope": "programme", "text_zh": "专项行动",
         "citation": {"seed": "000_x", "line": 3, "quote": "专项行动"}, "applies_to": ["e"]},
        {"id": "c_e", "effect": "encouraged", "text_zh": "鼓励发展",
         "citation": {"seed": "000_x", "line": 9, "quote": "鼓励发展"}, "applies_to": ["e"]},
    ]
    index = ZoneIndex({"plan": _frame([("e", E_M, "official")])}, clauses=clauses)
    c = E_M.centroid
    res = site_check(index, wgs(box(c.x - 10, c.y - 10, c.x + 10, c.y + 10)))
    assert [cl["id"] for cl in res["clauses"]] == ["c_prog", "c_e"]  # listed, strongest first
    assert res["verdict"] == "encouraged" and res["verdict_basis"] == ["c_e"]
    assert res["activity_verdicts"] == []


RED_LINE_CLAUSE = {"id": "c_red", "effect": "prohibited", "scope": "zone", "text_zh": "红线",
                   "citation": {"seed": "000_x", "line": 4, "quote": "红线"},
                   "applies_to": ["eco_redline", "basic_farmland"],
                   "official_layers": ["eco_redline", "basic_farmland"]}


def test_missing_official_layers_are_named_in_every_check(idx):
    index = ZoneIndex({"plan": _frame([("e", E_M, "official")])}, clauses=[RED_LINE_CLAUSE])
    res = site_check(index, wgs(E_M.centroid))
    note = res["official_layers_note"]
    assert note["zh"].startswith("须核对官方三区三线")
    # the English note names the same layers in English (no untranslated 三区三线)
    assert "three zones and three lines" in note["en"] and "ecological protection red line" \
        in note["en"]
    assert [x["id"] for x in note["layers"]] == ["eco_redline", "basic_farmland"]
    assert note["layers"][0]["name_zh"] == "生态保护红线" and note["clauses"] == ["c_red"]
    assert res["verdict"] == "none"  # the red line is not loaded, so it cannot bind
    # Clauses without official layers need no such note.
    assert site_check(idx, wgs(E_M.centroid))["official_layers_note"] is None


def test_an_imported_red_line_sets_the_verdict_and_leaves_only_the_rest_in_the_note():
    layers = {"plan": _frame([("e", E_M, "official")]),
              "eco_redline": _frame([("red_1", E_M, "official")])}
    index = ZoneIndex(layers, clauses=[RED_LINE_CLAUSE])
    res = site_check(index, wgs(E_M.centroid))
    assert res["verdict"] == "prohibited" and res["verdict_basis"] == ["c_red"]
    assert {cl["id"]: cl["zones"] for cl in res["clauses"]} == {"c_red": ["red_1"]}
    assert [x["id"] for x in res["official_layers_note"]["layers"]] == ["basic_farmland"]
    layers["basic_farmland"] = _frame([("bf_1", P_M, "official")])
    assert site_check(ZoneIndex(layers, clauses=[RED_LINE_CLAUSE]),
                      wgs(E_M.centroid))["official_layers_note"] is None


def test_real_data_names_all_four_official_layers_until_imported(real):
    _, index = real
    res = site_check(index, wgs(metric(Point(122.84, 45.62))))
    assert {x["id"] for x in res["official_layers_note"]["layers"]} == {
        "eco_redline", "basic_farmland", "urban_growth_boundary", "basic_grassland"}


def test_real_main_city_is_not_encouraged_by_priority_siting(real):
    """pol_priority_siting governs only the plan's major projects (an activity)."""
    _, index = real
    res = site_check(index, wgs(metric(Point(122.84, 45.62))))
    assert "pol_priority_siting" not in res["verdict_basis"]
    acts = {a["activity_zh"]: a["clauses"] for a in res["activity_verdicts"]}
    assert "pol_priority_siting" in acts["纳入本规划的重大工程项目"]
    assert "pol_coal_boilers" in acts["燃煤小锅炉"]  # city-wide phase-out reaches the centre


def test_real_daan_downtown_is_not_under_the_tourism_negative_list(real):
    _, index = real
    res = site_check(index, wgs(metric(Point(124.30, 45.50))))  # 大安 seat
    assert "ctx_pol_tourism_negative_list" not in {cl["id"] for cl in res["clauses"]}
