"""``tourism`` layer: the scenic areas and tourism projects of the Baicheng plan (seed 000).

The plan's "一线十五点" exists only in its figure 2; the spots it names in the text are
mapped here. Sites the plan gives only by county are points at the county seat
(``schematic``; the ``rule`` says so). ``development: tourism`` marks features that
propose building (used by the plan-conflict report).
"""

from __future__ import annotations

from shapely.geometry import LineString, Point
from shapely.ops import nearest_points

from .common import (
    DAAN,
    TAOBEI,
    TAONAN,
    TONGYU,
    ZHENLAI,
    cite,
    county_metric,
    geonames_point,
    lineal,
    to_metric,
)
from .context import (
    momoge_metric,
    plan_feature,
    seat_metric,
    seat_rule,
    town,
)
from .water import taoer_metric

LAYER = "tourism"
CHENGSIJIAZI_BANK_M = 1000.0  # distance from the 洮儿河 centreline, on the 德顺 (north) side


def chengsijiazi_metric() -> Point:
    """城四家子古城: on the 洮儿河's north bank at 德顺 (the rule in RULES.md)."""
    deshun = to_metric(geonames_point("Deshun"))
    bank = nearest_points(taoer_metric(), deshun)[0]
    return LineString([bank, deshun]).interpolate(CHENGSIJIAZI_BANK_M)


def build() -> list[dict]:
    """Build the tourism features."""
    out = []
    xh = to_metric(town("向海"))
    out.append(
        plan_feature(
            "tour_xianghai",
            "通榆向海景区（旅游综合开发）",
            "Xianghai scenic area (tourism development)",
            LAYER,
            "scenic_development",
            xh,
            cite(1126, "通榆向海景区旅游综合开发"),
            "Point at GeoNames 向海 (Xianghai, 122.35E 45.03N), "
            "which lies inside the schematic 向海 "
            "core: the plan gives no site or extent for the scenic development.",
            county=[TONGYU],
            development="tourism",
            placement_confidence="medium",
        )
    )
    out.append(
        plan_feature(
            "tour_momoge",
            "莫莫格（“国字号”景区品牌）",
            "Momoge ('national-brand' scenic area)",
            LAYER,
            "scenic_area",
            momoge_metric().centroid,
            cite(992, "发挥向海、莫莫格、嫩江湾等“国字号”品牌优势"),
            "Point at the centroid of the schematic 莫莫格 core (eco_core_momoge): the plan names "
            "the brand, not a visitor site.",
            county=[ZHENLAI],
            placement_confidence="low",
        )
    )
    from .ecology import nenjiangwan_metric

    out.append(
        plan_feature(
            "tour_nenjiangwan",
            "嫩江湾（创建国家5A级景区）",
            "Nenjiang Bay (national 5A scenic area bid)",
            LAYER,
            "scenic_development",
            nenjiangwan_metric().centroid,
            cite(1009, "创建嫩江湾国家 5A级景区"),
            "Point at the centre of the schematic 嫩江湾 wetland "
            "(eco_nenjiangwan_wetland: the point "
            "of the 嫩江 nearest the 大安 seat): the plan gives no site.",
            county=[DAAN],
            development="tourism",
            placement_confidence="low",
        )
    )
    out.append(
        plan_feature(
            "tour_chengsijiazi",
            "城四家子古城遗址（旅游开发）",
            "Chengsijiazi ancient city site (tourism)",
            LAYER,
            "heritage_site",
            chengsijiazi_metric(),
            cite(1126, "加快城四家子古城遗址旅游开发"),
            f"Point {CHENGSIJIAZI_BANK_M / 1000:g} km from the GSHHG 洮儿河 centreline towards "
            "GeoNames 德顺 (Deshun), on the shortest line from the river to the township: the "
            "Liao–Jin walled city lies in 德顺乡 on the north bank of the 洮儿河. The site is "
            "not surveyed (the reference catalog's 123.05E 45.70N estimate lies ~35 km from "
            "德顺 and is not used); low confidence.",
            county=[TAOBEI],
            development="tourism",
            placement_confidence="low",
        )
    )
    seat_items = [
        (
            "tour_zhenlai_east_west_lakes",
            "镇赉东湖、西湖景区",
            "Zhenlai East and West Lake scenic areas",
            "scenic_area",
            ZHENLAI,
            1128,
            "镇赉东湖、西湖景区",
        ),
        (
            "tour_zhenlai_agri_leisure",
            "镇赉农业绿色休闲观光旅游示范园",
            "Zhenlai green agri-leisure tourism demonstration park",
            "agri_tourism",
            ZHENLAI,
            1128,
            "农业绿色休闲观光旅游示范园",
        ),
        (
            "tour_taonan_sihaihu",
            "洮南四海湖休闲农业",
            "Taonan Sihai Lake leisure farming",
            "agri_tourism",
            TAONAN,
            1128,
            "洮南四海湖休闲农业",
        ),
        (
            "tour_fushun_park",
            "福顺现代产业观光园",
            "Fushun modern industry sightseeing park",
            "agri_tourism",
            TAONAN,
            1130,
            "福顺现代产业观光园",
        ),
        (
            "tour_taonan_mountains",
            "老道沟、昂岱山、敖牛山景区",
            "Laodaogou, Angdaishan and Aoniushan scenic areas (Taonan)",
            "scenic_area",
            TAONAN,
            1130,
            "老道沟、昂岱山、敖牛山景区",
        ),
        (
            "tour_tongyu_military_culture",
            "通榆军旅文化研学项目",
            "Tongyu military-culture study project",
            "tourism_project",
            TONGYU,
            2258,
            "实施通榆军旅文化研学项目",
        ),
        (
            "tour_locomotive_town",
            "机车小镇（大安）",
            "Locomotive town (Da'an)",
            "characteristic_town",
            DAAN,
            1124,
            "机车小镇",
        ),
    ]
    for fid, zh, en, kind, county, line, quote in seat_items:
        out.append(
            plan_feature(
                fid,
                zh,
                en,
                LAYER,
                kind,
                seat_metric(county),
                cite(line, quote),
                seat_rule(county, " (or a place our sources do not locate)"),
                county=[county],
                placement_confidence="low",
            )
        )
    # Baicheng part of the west wetland loop: the towns 004 names (大安—白城—通榆) and the
    # Baicheng plan's own naming of the loop.
    loop = LineString([to_metric(town(n)) for n in ("大安", "白城", "通榆")])
    loop = lineal(loop.intersection(county_metric("220800")))
    out.append(
        plan_feature(
            "tour_west_jilin_loop",
            "吉林西部河湖草原湿地旅游大环线（白城段）",
            "West Jilin river-lake-grassland-wetland tourism loop (Baicheng part)",
            LAYER,
            "tourism_route",
            loop,
            cite(613, "吉林西部河湖草原湿地旅游大环线"),
            "Straight segments 大安 seat → 白城 → 通榆 seat "
            "(GeoNames 大赉, 白城, 开通), the Baicheng "
            "towns on the loop as seed 004 names it (长松大白通长, "
            "G12 + G4512); clipped to Baicheng. "
            "The Baicheng plan gives no route. See ctx_west_loop_skeleton for the whole loop.",
            extra_citations=[cite(988, "聚焦建设吉林西部河湖草原湿地旅游大环线")],
            development="tourism",
            # the Baicheng part of seed 004's loop: conflicts count the pair once
            same_as="ctx_west_loop_skeleton",
        )
    )
    return out
