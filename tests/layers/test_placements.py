"""Schematic places lie where their stated rules put them (issue 21).

Each schematic or derived point is checked against the anchor its ``rule`` names (a printed
coordinate, a GeoNames point, a river), within the precision the rule states; the 向海 core
stays inside its published coordinate range; the east wetland belt holds every wetland its
rule lists; only the plan's own nodes are ``node_town``; admin citations name their unit.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from planmap.geo import crs as gcrs
from shapely.geometry import Point, box, shape
from shapely.ops import nearest_points

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "layers" / "data"


def _layer(name):
    return {f["properties"]["id"]: f for f in
            json.loads((DATA / f"{name}.geojson").read_text("utf-8"))["features"]}


ALL = {}
for _path in sorted(DATA.glob("*.geojson")):
    ALL.update(_layer(_path.stem))
GEONAMES = {}
# Baicheng's gazetteer first (its names win), then the province's for the other plans' points
_GAZETTEERS = ("places_geonames.geojson", "places_geonames_jilin.geojson")
_SOURCES = ROOT / "layers" / "sources"
for _f in [f for name in _GAZETTEERS
           for f in json.loads((_SOURCES / name).read_text("utf-8"))["features"]]:
    _p = Point(_f["geometry"]["coordinates"])
    GEONAMES.setdefault(_f["properties"]["name"], _p)
    if _f["properties"].get("name_zh"):
        GEONAMES.setdefault(_f["properties"]["name_zh"], _p)


def geom(fid):
    return shape(ALL[fid]["geometry"])


def metric(g):
    return gcrs.to_metric(g)


COORD = re.compile(r"(\d{3}\.\d+)E,? (\d{2}\.\d+)N")
GEONAMES_NAME = re.compile(r"GeoNames (?:point |position of )?'([^']+)'"
                           r"|GeoNames (?:position of )?([\u4e00-\u9fff]+)|GeoNames ([A-Za-z]+)\b"
                           r"|\(([\u4e00-\u9fff]+), GeoNames\)")
SEATS = {"通榆": "Kaitong", "大安": "Dalai"}  # county name -> GeoNames seat, "(通榆, GeoNames)"
# Points whose anchor is not a printed coordinate or one GeoNames point: checked below.
DERIVED_ANCHORS = {"tour_chengsijiazi", "tour_momoge", "tour_nenjiangwan",
                   "ctx_bridge_yasi_nen_daan", "ctx_tourism_hub_songyuan"}


def _anchor(rule):
    m = COORD.search(rule)
    if m:
        lon, lat = m.groups()
        # a printed coordinate holds to half its last digit
        return Point(float(lon), float(lat)), (0.5 * 10 ** -len(lon.split(".")[1]),
                                               0.5 * 10 ** -len(lat.split(".")[1]))
    for m in GEONAMES_NAME.finditer(rule):
        name = next(g for g in m.groups() if g)
        name = SEATS.get(name, name) if m.group(4) else name
        if name in GEONAMES:
            return GEONAMES[name], (1e-6, 1e-6)
    return None, None


POINTS = sorted(fid for fid, f in ALL.items() if f["geometry"]["type"] == "Point"
                and f["properties"]["accuracy"] != "official")


@pytest.mark.parametrize("fid", POINTS)
def test_each_point_lies_at_its_rules_anchor(fid):
    if fid in DERIVED_ANCHORS:
        pytest.skip("anchor derived from other geometry; see the dedicated tests")
    anchor, (tol_x, tol_y) = _anchor(ALL[fid]["properties"]["rule"])
    assert anchor is not None, f"{fid}: the rule names no anchor"
    p = geom(fid)
    assert abs(p.x - anchor.x) <= tol_x + 1e-9 and abs(p.y - anchor.y) <= tol_y + 1e-9, fid


def test_derived_point_anchors():
    nen = metric(geom("wat_nen_river"))
    dalai = metric(GEONAMES["Dalai"])
    assert metric(geom("ctx_bridge_yasi_nen_daan")).distance(nearest_points(nen, dalai)[0]) < 1
    assert metric(geom("tour_nenjiangwan")).distance(
        metric(geom("eco_nenjiangwan_wetland")).centroid) < 1
    assert metric(geom("tour_momoge")).distance(metric(geom("eco_core_momoge")).centroid) < 1


def test_chengsijiazi_is_on_the_taoer_north_bank_at_deshun():
    """城四家子古城: 德顺乡, north bank of the 洮儿河 (its rule); was ~35 km from 德顺."""
    site = metric(geom("tour_chengsijiazi"))
    taoer = metric(geom("wat_taoer_river"))
    deshun = metric(GEONAMES["德顺"])
    assert site.distance(taoer) == pytest.approx(1000, abs=5)
    assert site.distance(deshun) < 5000
    assert site.y > nearest_points(taoer, site)[0].y  # north of the river
    assert geom("admin_220802").covers(geom("tour_chengsijiazi"))


XIANGHAI_BOX = (122 + 5 / 60, 44 + 55 / 60, 122 + 31 / 60, 45 + 9 / 60)


def test_xianghai_core_stays_inside_its_published_coordinate_range():
    core = geom("eco_core_xianghai")
    assert box(*XIANGHAI_BOX).buffer(1e-6).covers(core)
    assert not core.covers(Point(122.300, 44.884))  # south of 44°55′N: not in the reserve
    assert core.covers(GEONAMES["向海"])
    # The range wins over the published area (1,054.67 km²), which it cannot hold.
    area = metric(core).area / 1e6
    rng = metric(box(*XIANGHAI_BOX).intersection(geom("admin_220822"))).area / 1e6
    assert area == pytest.approx(rng, rel=1e-3) and area < 1054.67
    assert "wins over the published area" in ALL["eco_core_xianghai"]["properties"]["rule"]


def test_east_wetland_belt_holds_every_wetland_its_rule_lists():
    belt = metric(geom("eco_belt_east_wetlands")).buffer(1)
    rule = ALL["eco_belt_east_wetlands"]["properties"]["rule"]
    for name, fid in (("牛心套保", "eco_niuxintaobao"), ("莫莫格", "eco_core_momoge"),
                      ("嫩江湾", "eco_nenjiangwan_wetland"), ("月亮", "wat_yueliang_lake")):
        assert name in rule
        wetland = metric(geom(fid))
        assert wetland.difference(belt).area / wetland.area < 1e-6, fid


def test_only_the_plans_nodes_are_node_towns():
    # The plan's 多节点 (000 l.655) names no town; 林海/两家子/大岗子/福顺/海坨 are named for
    # projects there.
    kinds = {fid: f["properties"]["kind"] for fid, f in ALL.items()}
    assert [fid for fid, k in kinds.items() if k == "node_town"] == []
    for fid in ("urb_node_linhai", "urb_node_liangjiazi", "urb_node_dagangzi",
                "urb_node_fushun", "urb_node_haituo"):
        assert kinds[fid] == "named_town"
        assert "not as one of its 多节点 nodes" in ALL[fid]["properties"]["rule"]


SHORT = {"220800": "白城", "220802": "洮北", "220821": "镇赉", "220822": "通榆",
         "220881": "洮南", "220882": "大安"}


def test_admin_citations_name_the_unit():
    from planmap.layers.builders.common import quote_found

    for code, short in SHORT.items():
        cit = ALL[f"admin_{code}"]["properties"]["citation"]
        assert short in cit["quote"], code
        assert quote_found(cit["line"], cit["quote"], cit["seed"]), code


def test_jiaoliu_is_labelled_schematic():
    props = ALL["wat_jiaoliu_river"]["properties"]
    assert props["accuracy"] == "schematic" and props.get("placement_confidence") == "low"
    assert "示意" in props["name_zh"] and "Not in any source" in props["rule"]


def test_cores_and_belts_stay_in_baicheng():
    city = metric(geom("admin_220800")).buffer(1)
    for fid in ("eco_core_xianghai", "eco_core_momoge", "eco_belt_east_wetlands"):
        assert metric(geom(fid)).difference(city).area < 1, fid
