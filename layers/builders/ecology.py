"""``ecology`` layer: "两核、两带、一廊道" and the wetlands named for restoration.

No open boundary exists for any of these zones. Each polygon is drawn by the rule in
its ``rule`` property from real geometry (county boundaries, GSHHG rivers and lakes,
GeoNames points) and published figures (PROVENANCE.md); all are ``schematic``.
"""

from __future__ import annotations

from shapely.geometry import Point
from shapely.ops import nearest_points, unary_union

from .common import (
    CITY,
    DAAN,
    PLAN_SOURCE,
    TAOBEI,
    TAONAN,
    TONGYU,
    ZHENLAI,
    cite,
    counties_metric,
    county_metric,
    feature,
    geonames_point,
    load_source,
    polygonal,
    rect_lonlat,
    to_metric,
    to_wgs84,
)
from .water import jiaoliu_metric, nen_metric, taoer_metric, yueliang_metric

XIANGHAI_AREA_KM2 = 1054.67  # 105,467 ha (published)
XIANGHAI_BOX = (122 + 5 / 60, 44 + 55 / 60, 122 + 31 / 60, 45 + 9 / 60)  # W S E N
XIANGHAI_NS_KM, XIANGHAI_EW_KM = 45.0, 42.0  # "南北最长45公里，东西最宽42公里"
MOMOGE_AREA_KM2 = 1440.0  # 144,000 ha (published)
MOMOGE_BOX = (123 + 27 / 60, 45 + 42 / 60 + 25 / 3600, 124 + 4 / 60 + 34 / 3600, 46 + 18 / 60)

WINDBREAK_KM = 10.0
EAST_NEN_KM, EAST_LAKE_KM = 20.0, 10.0
CORRIDOR_KM = 3.0
INNER_MONGOLIA = ("152200", "150500")  # Hinggan League, Tongliao City


def _solve_scale(make, target_m2, lo=0.05, hi=5.0, steps=60):
    """Bisection: the scale ``s`` for which ``make(s).area`` equals ``target_m2``."""
    for _ in range(steps):
        mid = (lo + hi) / 2
        if make(mid).area < target_m2:
            lo = mid
        else:
            hi = mid
    return make((lo + hi) / 2)


def xianghai_core():
    """Return the published coordinate range ∩ 通榆县 (the range wins over the area).

    An ellipse scaled to the 1,054.67 km² reaches ~7 km outside the range, so points the
    reserve's own figures put outside it would be "in the reserve"; the range ∩ county is
    only ~808 km², and the rule says so.
    """
    return polygonal(rect_lonlat(*XIANGHAI_BOX).intersection(county_metric(TONGYU)))


NIUXINTAOBAO_LONLAT = (123.55, 45.40)  # reference catalog's estimate (low confidence)


def niuxintaobao_metric():
    """Disc of 4 km around the catalog's approximate 牛心套保 position, in 大安市."""
    return _disc_in(to_metric(Point(*NIUXINTAOBAO_LONLAT)), 4.0, DAAN)


def momoge_core():
    """Intersect the published range, 镇赉县 and a disc sized to the published area."""
    env = polygonal(rect_lonlat(*MOMOGE_BOX).intersection(county_metric(ZHENLAI)))
    c = env.centroid

    def make(r_km):
        return polygonal(env.intersection(c.buffer(r_km * 1000, 32)))

    return _solve_scale(make, MOMOGE_AREA_KM2 * 1e6, lo=1.0, hi=80.0)


def west_windbreak_belt():
    """Band inside Baicheng along its border with Inner Mongolia, in 洮南/洮北/通榆."""
    im = []
    for f in load_source("context_admin_wgs84.geojson")["features"]:
        if f["properties"]["adcode"] in INNER_MONGOLIA:
            from shapely.geometry import shape

            im.append(to_metric(shape(f["geometry"])))
    im = unary_union(im)
    border = county_metric(CITY).boundary.intersection(im.buffer(2000))
    band = border.buffer(WINDBREAK_KM * 1000, 8)
    return polygonal(band.intersection(counties_metric((TAONAN, TAOBEI, TONGYU))))


def east_wetland_belt():
    """Buffers of the 嫩江, 月亮泡 and 牛心套保 plus the 莫莫格 core, in 镇赉县 and 大安市.

    The belt holds the eastern wetlands the plan names (莫莫格, 嫩江湾, 牛心套保, 月亮湖);
    嫩江湾 lies on the 嫩江, so the river buffer holds it.
    """
    zone = unary_union(
        [
            nen_metric().buffer(EAST_NEN_KM * 1000, 8),
            yueliang_metric().buffer(EAST_LAKE_KM * 1000, 8),
            niuxintaobao_metric().buffer(EAST_LAKE_KM * 1000, 8),
            momoge_core(),
        ]
    )
    return polygonal(zone.intersection(counties_metric((ZHENLAI, DAAN))))


def corridor():
    """Buffer of the real 洮儿河 centreline plus the hand-placed 蛟流河, in Baicheng."""
    lines = unary_union([taoer_metric(), jiaoliu_metric()])
    return polygonal(lines.buffer(CORRIDOR_KM * 1000, 8).intersection(county_metric(CITY)))


def _disc_in(centre_metric, r_km, county):
    return polygonal(centre_metric.buffer(r_km * 1000, 32).intersection(county_metric(county)))


def nenjiangwan_metric():
    """Disc of 4 km around the point of the 嫩江 nearest the 大安 seat, in 大安市."""
    nen_bay = nearest_points(nen_metric(), to_metric(geonames_point("Dalai")))[0]
    return _disc_in(nen_bay, 4.0, DAAN)


def taobei_donghu_metric():
    """Disc of 2 km around the catalog's approximate 洮北东湖 position, in 洮北区."""
    return _disc_in(to_metric(Point(122.95, 45.62)), 2.0, TAOBEI)


def build() -> list[dict]:
    """Build the ecology features (the five pattern features first)."""
    out = []
    pattern_extra = [cite(549, "构建“两核、两带、一廊道”生态空间布局")]
    w, s, e, n = XIANGHAI_BOX
    out.append(
        feature(
            "eco_core_xianghai",
            "向海国际重要湿地生态核",
            "Xianghai international wetland ecological core",
            "ecology",
            "ecological_core",
            to_wgs84(xianghai_core()),
            "schematic",
            PLAN_SOURCE,
            cite(559, "向海国际重要湿地生态核"),
            county=[TONGYU],
            rule=f"向海 NNR's published coordinate range ({w:.4f}–{e:.4f}E, {s:.4f}–{n:.4f}N: "
            "122°05′–122°31′E, 44°55′–45°09′N) ∩ 通榆县 (the range's west edge lies in Inner "
            f"Mongolia), {xianghai_core().area / 1e6:,.0f} km². The coordinate range wins over "
            f"the published area ({XIANGHAI_AREA_KM2:,.2f} km², 105,467 ha) and the 45 × 42 km "
            "extents, which it cannot hold: a shape with the published area would reach "
            "outside the range. Honours: coordinate range, county. Not the legal reserve "
            "boundary.",
            extra_citations=pattern_extra,
            protected_area="向海国家级自然保护区",
        )
    )
    out.append(
        feature(
            "eco_core_momoge",
            "莫莫格国家级自然保护区生态核",
            "Momoge national nature reserve ecological core",
            "ecology",
            "ecological_core",
            to_wgs84(momoge_core()),
            "schematic",
            PLAN_SOURCE,
            cite(561, "莫莫格国家级自然保护区生态核"),
            county=[ZHENLAI],
            rule="Momoge NNR's published coordinate range (123°27′00″–124°04′34″E, "
            "45°42′25″–46°18′00″N) ∩ 镇赉县 (2,528 km²), intersected with a disc around that "
            f"envelope's centroid whose radius is chosen so that the area is the published "
            f"{MOMOGE_AREA_KM2:,.0f} km² (144,000 ha). Honours: area, coordinate range, county. "
            "Not the legal reserve boundary.",
            extra_citations=pattern_extra,
            protected_area="莫莫格国家级自然保护区",
        )
    )
    out.append(
        feature(
            "eco_belt_west_windbreak",
            "白城西部防风屏障生态带",
            "Western windbreak barrier ecological belt",
            "ecology",
            "ecological_belt",
            to_wgs84(west_windbreak_belt()),
            "schematic",
            PLAN_SOURCE,
            cite(565, "白城西部防风屏障生态带"),
            rule=f"{WINDBREAK_KM:g} km band inside Baicheng along its boundary with Inner "
            "Mongolia (兴安盟 152200, 通辽市 150500; boundary parts within 2 km of them), "
            "clipped to 洮南市, 洮北区 and 通榆县. Width chosen for display; the plan gives none.",
            extra_citations=pattern_extra,
        )
    )
    out.append(
        feature(
            "eco_belt_east_wetlands",
            "东部湿地群生态带",
            "Eastern wetland-cluster ecological belt",
            "ecology",
            "ecological_belt",
            to_wgs84(east_wetland_belt()),
            "schematic",
            PLAN_SOURCE,
            cite(565, "东部湿地群生态带"),
            rule=f"Union of a {EAST_NEN_KM:g} km buffer of the GSHHG 嫩江 centreline (which "
            f"holds 嫩江湾), a {EAST_LAKE_KM:g} km buffer of the GSHHG 月亮泡 polygon, a "
            f"{EAST_LAKE_KM:g} km buffer of the schematic 牛心套保 wetland (eco_niuxintaobao) "
            "and the schematic 莫莫格 core (eco_core_momoge), clipped to 镇赉县 and 大安市: the "
            "belt holds each eastern wetland the plan names (莫莫格, 嫩江湾, 牛心套保, 月亮湖). "
            "Widths chosen for display; the plan gives none.",
            extra_citations=pattern_extra,
        )
    )
    out.append(
        feature(
            "eco_corridor_taoer_jiaoliu",
            "洮儿河－蛟流河生态廊道",
            "Taoer–Jiaoliu river ecological corridor",
            "ecology",
            "ecological_corridor",
            to_wgs84(corridor()),
            "schematic",
            PLAN_SOURCE,
            cite(569, "洮儿河－蛟流河生态廊道"),
            rule=f"{CORRIDOR_KM:g} km buffer (each side) of the real GSHHG 洮儿河 centreline "
            "plus the hand-placed 蛟流河 line (see wat_jiaoliu_river), clipped to Baicheng "
            "City. The 洮儿河 part is derived from real geometry; the 蛟流河 part is schematic.",
            extra_citations=pattern_extra,
        )
    )
    # 百里生态长廊: the plan ties it to the Taoer water supply ("依托洮儿河补水常态化").
    taobei_taoer = taoer_metric().intersection(county_metric(TAOBEI))
    out.append(
        feature(
            "eco_hundred_li_corridor",
            "百里生态长廊",
            "Hundred-li ecological corridor",
            "ecology",
            "ecological_corridor",
            to_wgs84(polygonal(taobei_taoer.buffer(1000, 8).intersection(county_metric(TAOBEI)))),
            "schematic",
            PLAN_SOURCE,
            cite(569, "百里生态长廊"),
            rule="1 km buffer (each side) of the GSHHG 洮儿河 centreline within 洮北区 "
            "(≈64 km ≈ 百里). The plan names the corridor with the Taoer water supply but "
            "gives no route; placement medium-low confidence.",
            placement_confidence="low",
        )
    )
    # Wetlands named for restoration (line 873).
    wet_rule = "The plan names the wetland for restoration (line 873) without a boundary. "
    wetlands = [
        (
            "eco_nenjiangwan_wetland",
            "大安嫩江湾湿地",
            "Nenjiang Bay wetland (Da'an)",
            nenjiangwan_metric(),
            "大安嫩江湾",
            wet_rule + "Disc of 4 km radius around the point of the GSHHG 嫩江 centreline "
            "nearest the 大安 seat (GeoNames 大赉), clipped to 大安市. Size not published.",
            "medium",
        ),
        (
            "eco_baolawendu",
            "包拉温都湿地",
            "Baolawendu wetland (Tongyu)",
            _disc_in(to_metric(geonames_point("Bor Ondor")), 5.0, TONGYU),
            "包拉温都",
            wet_rule + "Disc of 5 km radius around the GeoNames point 'Bor Ondor' (包拉温都), "
            "clipped to 通榆县. Size not published.",
            "medium",
        ),
        (
            "eco_niuxintaobao",
            "牛心套保湿地",
            "Niuxintaobao wetland (Da'an)",
            niuxintaobao_metric(),
            "牛心套保",
            wet_rule + "No source places it: disc of 4 km radius around the reference "
            "catalog's approximate position 123.55E 45.40N (compiler's estimate, low "
            "confidence), clipped to 大安市. Replace with official data.",
            "low",
        ),
        (
            "eco_taobei_donghu",
            "洮北东湖湿地",
            "Taobei East Lake wetland",
            taobei_donghu_metric(),
            "洮北东湖",
            wet_rule + "No source places it: disc of 2 km radius around the reference "
            "catalog's approximate position 122.95E 45.62N east of the Baicheng main city "
            "(compiler's estimate, low confidence), clipped to 洮北区.",
            "low",
        ),
    ]
    for fid, zh, en, geom, quote, rule, conf in wetlands:
        out.append(
            feature(
                fid,
                zh,
                en,
                "ecology",
                "wetland",
                to_wgs84(geom),
                "schematic",
                PLAN_SOURCE,
                cite(873, quote),
                rule=rule,
                placement_confidence=conf,
            )
        )
    return out
