"""Provincial context layers (seeds 001 and 004), off by default on the map.

Five layers; two are built by the functions their entries in ``layers/facts/catalog.json``
name (``builder``), the patterns, channels and hydrogen corridor from their fact files
alone (``layers/facts/<id>.json``, ``layers/builders/facts.py``):

* ``ctx_west_tourism_loop`` — the 长松大白通长 west tourism loop (004), its wetland
  loop roads into 向海/莫莫格 and the scenic areas 004 wants expanded;
* ``ctx_clean_energy_base`` — the 西部国家级清洁能源基地 (004): extent, per-county
  capacities, the named wind and PV sites and the siting rules;
* ``ctx_channels`` — the 白松长通至辽宁大通道 branches and the Baicheng projects of 004;
* ``ctx_province_patterns`` — the Baicheng-relevant parts of 001's "一圈三区四轴" and
  "三区四屏三廊一网";
* ``ctx_hydrogen_corridor`` — the 长春—白城 hydrogen corridor (001/004).

Everything is ``schematic`` or ``derived``. The vendored context boundaries
(``context_admin_wgs84.geojson``) are clipped to 121.2–125.1°E, 43.7–46.8°N, so lines
that continue to 长春 or 双辽 are clipped to that extent (each ``rule`` says so). The
``county`` of a feature lists Baicheng county adcodes and, outside Baicheng, the context
units it lies in: 220700 松原市, 152200 兴安盟, 150500 通辽市, 230200 齐齐哈尔市,
230600 大庆市 and 220000 for the rest of Jilin Province.
"""

from __future__ import annotations

from functools import cache

from shapely.geometry import LineString, Point, shape
from shapely.ops import unary_union

from .common import (
    CITY,
    COUNTIES,
    DAAN,
    TAOBEI,
    TAONAN,
    TONGYU,
    ZHENLAI,
    cite,
    county_metric,
    feature,
    geonames_point,
    lineal,
    load_source,
    place_en,
    polygonal,
    rect_lonlat,
    source_features,
    to_metric,
    to_wgs84,
)

S001 = "001_9a974351a9e73ab7"
S004 = "004_bba0a9fb5e7355d6"
SRC_001 = "吉林省国民经济和社会发展第十四个五年规划纲要 (seed 001), placed by a stated rule"
SRC_004 = "吉林省“一主六双”高质量发展战略专项规划 (seed 004), placed by a stated rule"
CONTEXT_FILE = "context_admin_wgs84.geojson"
# Clip box: the vendored context boundaries reach 121.2–125.1°E, 43.7–46.8°N; the map's
# extent (and the data tests) stop at 44.0–46.6°N, so context geometry is clipped to both.
EXTENT = (121.21, 44.01, 125.09, 46.59)
JILIN_REST = "220000"
SONGYUAN = "220700"
OUTSIDE_UNITS = ("220700", "152200", "150500", "230200", "230600")
SIMPLIFY_M = 500.0  # simplification tolerance for large context polygons (file size)

# Town positions outside Baicheng (and seats inside): GeoNames where it has the place,
# else the reference catalog's coordinates (general geographic knowledge, not a survey).
CATALOG_TOWNS = {
    "长春": (125.32, 43.82),
    "农安": (125.18, 44.43),
    "松原": (124.83, 45.14),
    "双辽": (123.5, 43.52),
    "公主岭": (124.82, 43.5),
}
GEONAMES_TOWNS = {
    "白城": "Baicheng",
    "洮南": "Taonan",
    "大安": "Dalai",
    "镇赉": "Zhenlai",
    "通榆": "Kaitong",
    "乌兰浩特": "Ulanhot",
    "乾安": "Qian'an",
    "向海": "Xianghai",
}
SEATS = {TAOBEI: "白城", TAONAN: "洮南", DAAN: "大安", ZHENLAI: "镇赉", TONGYU: "通榆"}
COUNTY_ZH = {
    TAOBEI: "洮北区",
    TAONAN: "洮南市",
    DAAN: "大安市",
    ZHENLAI: "镇赉县",
    TONGYU: "通榆县",
}


def town(name: str) -> Point:
    """WGS84 point of a town: GeoNames if it has it, else the reference catalog."""
    if name in GEONAMES_TOWNS:
        return geonames_point(GEONAMES_TOWNS[name])
    return Point(*CATALOG_TOWNS[name])


def town_source(name: str) -> str:
    """Name the source of a town's position, and the point (for ``rule`` texts)."""
    if name in GEONAMES_TOWNS:
        return f"GeoNames '{GEONAMES_TOWNS[name]}'"
    lon, lat = CATALOG_TOWNS[name]
    return f"reference catalog {lon}E {lat}N"


@cache
def unit_metric(code: str):
    """EPSG:4550 geometry of a Baicheng county or a context unit (220000 = rest of Jilin)."""
    if code in COUNTIES or code == CITY:
        return county_metric(code)
    if code == JILIN_REST:
        jilin = to_metric(shape(source_features(CONTEXT_FILE, adcode="220000")[0]["geometry"]))
        jilin = jilin.intersection(rect_lonlat(*EXTENT))
        return jilin.difference(unary_union([county_metric(CITY), unit_metric(SONGYUAN)]))
    unit = to_metric(shape(source_features(CONTEXT_FILE, adcode=code)[0]["geometry"]))
    return unit.intersection(rect_lonlat(*EXTENT))


def all_units() -> tuple[str, ...]:
    """Return every unit code: the five counties, the outside units, the rest of Jilin."""
    return (*COUNTIES, *OUTSIDE_UNITS, JILIN_REST)


def units_of(geom_metric, min_share: float = 0.01) -> list[str]:
    """Adcodes of the units holding more than ``min_share`` of a metric geometry."""
    kind = geom_metric.geom_type
    out = []
    for code in all_units():
        u = unit_metric(code)
        if "Point" in kind:
            if u.buffer(1).intersects(geom_metric):
                out.append(code)
            continue
        measure = (lambda x: x.area) if "Polygon" in kind else (lambda x: x.length)
        if measure(geom_metric.intersection(u)) / measure(geom_metric) > min_share:
            out.append(code)
    return out


@cache
def extent_metric():
    """Return the clip extent: the union of the vendored context boundaries and Baicheng."""
    units = [to_metric(shape(f["geometry"])) for f in load_source(CONTEXT_FILE)["features"]]
    return unary_union([*units, county_metric(CITY)]).intersection(rect_lonlat(*EXTENT))


def polyline(names: list[str]):
    """Metric polyline through named towns, clipped to the context extent."""
    line = LineString([to_metric(town(n)) for n in names])
    return lineal(line.intersection(extent_metric()))


def polyline_rule(names: list[str], what: str) -> str:
    """State the rule of a :func:`polyline`."""
    srcs = ", ".join(f"{n} ({town_source(n)})" for n in names)
    return (
        f"Straight segments through {srcs}: {what} The plan names the towns, not the route "
        f"(no road/rail geometry in our sources); clipped to the map extent "
        f"{EXTENT[0]}–{EXTENT[2]}°E, {EXTENT[1]}–{EXTENT[3]}°N."
    )


def simplified(geom_metric, tolerance_m: float = SIMPLIFY_M):
    """Simplified polygon that stays inside the original.

    Shrinking by the tolerance first keeps the Douglas–Peucker result (which moves the
    outline by at most the tolerance) inside the original geometry.
    """
    inner = geom_metric.buffer(-tolerance_m, 4)
    return polygonal(inner.simplify(tolerance_m, preserve_topology=True))


def ctx_feature(
    fid, zh, en, layer, kind, geom_metric, accuracy, source, citation, rule, **extra
) -> dict:
    """Make a context feature: WGS84 geometry, county = the units it lies in."""
    return feature(
        fid,
        zh,
        en,
        layer,
        kind,
        to_wgs84(geom_metric),
        accuracy,
        source,
        citation,
        county=units_of(geom_metric),
        rule=rule,
        **extra,
    )


# ------------------------------------------------------------- ecology anchors
def momoge_metric():
    """Return the schematic 莫莫格 core (EPSG:4550) of the ecology layer."""
    from .ecology import momoge_core

    return momoge_core()


def xianghai_metric():
    """Return the schematic 向海 core (EPSG:4550) of the ecology layer."""
    from .ecology import xianghai_core

    return xianghai_core()


def yueliang_point():
    """Return the GSHHG 月亮泡 polygon (EPSG:4550)."""
    from .water import yueliang_metric

    return yueliang_metric()


# ------------------------------------------------------------------ tourism loop
def build_tourism_loop() -> list[dict]:
    """Build the 长松大白通长 west tourism loop (004 l.2203–2413)."""
    layer = "ctx_west_tourism_loop"
    out = []
    loop = ["长春", "农安", "松原", "大安", "白城", "通榆", "双辽", "公主岭", "长春"]
    out.append(
        ctx_feature(
            "ctx_west_loop_skeleton",
            "西部环线旅游交通骨架（G12+G4512+G25）",
            "West tourism loop skeleton (G12 + G4512 + G25)",
            layer,
            "tourism_route",
            polyline(loop),
            "schematic",
            SRC_004,
            cite(
                2319,
                "以 G12 珲乌高速长春至白城 + G4512 双嫩高速白城至双辽 + "
                "G25 长深高速双辽至长春为骨架",
                S004,
            ),
            polyline_rule(
                loop,
                "G12 长春→白城, G4512 白城→双辽, G25 双辽→长春 (004 l.2319); the order "
                "长-松-大-白-通-长 follows the loop's name.",
            ),
            extra_citations=[cite(2203, "本规划范围主要是吉林省中西部地区", S004)],
            development="tourism",
        )
    )
    links = [
        (
            "ctx_west_loop_link_ulanhot",
            "G12 珲乌高速白城至兴安盟（联络线）",
            "G12 link Baicheng–Hinggan League",
            ["白城", "乌兰浩特"],
        ),
        (
            "ctx_west_loop_link_zhenlai",
            "G4512 双嫩高速镇赉至白城（联络线）",
            "G4512 link Zhenlai–Baicheng",
            ["镇赉", "白城"],
        ),
    ]
    for fid, zh, en, names in links:
        out.append(
            ctx_feature(
                fid,
                zh,
                en,
                layer,
                "tourism_route",
                polyline(names),
                "schematic",
                SRC_004,
                cite(
                    2319, "以 G12 珲乌高速白城至兴安盟、G4512 双嫩高速镇赉至白城至通榆至双辽", S004
                ),
                polyline_rule(names, "one of the loop's 三联络 (004 l.2319)."),
                development="tourism",
            )
        )
    # Wetland loop roads (004 l.2323, l.2331): 洮向线 洮南—向海, 齐大线 莫莫格—月亮泡.
    xh = xianghai_metric()
    taonan = to_metric(town("洮南"))
    xh_pt = to_metric(town("向海"))
    out.append(
        ctx_feature(
            "ctx_road_taoxiang",
            "省道洮向线洮南至向海段（景区连通路）",
            "Provincial road Tao–Xiang, Taonan to Xianghai (scenic link)",
            layer,
            "tourism_road",
            LineString([taonan, xh_pt]),
            "schematic",
            SRC_004,
            cite(2331, "疏通建设省道洮向线洮南至向海段", S004),
            "Straight line from the 洮南 seat (GeoNames Taonan) to GeoNames 向海 (Xianghai, "
            "122.35E 45.03N, inside the schematic 向海 core). 004 names the end points, not the "
            "route; the road's real alignment is not in our sources.",
            extra_citations=[cite(2323, "疏通省道洮向线洮南至向海段", S004)],
            development="transport",
        )
    )
    mm = momoge_metric()
    yl = yueliang_point()
    out.append(
        ctx_feature(
            "ctx_road_qida_momoge_yueliangpao",
            "省道齐大线莫莫格至月亮泡段（景区连通路）",
            "Provincial road Qi–Da, Momoge to Yueliangpao (scenic link)",
            layer,
            "tourism_road",
            LineString([mm.centroid, yl.centroid]),
            "schematic",
            SRC_004,
            cite(2331, "省道齐大线莫莫格至月亮泡段 4A 级及以上景区连通路", S004),
            "Straight line from the centroid of the schematic 莫莫格 core (eco_core_momoge) to the "
            "centroid of the GSHHG 月亮泡 polygon. 004 names the end points, not the route.",
            extra_citations=[cite(2323, "齐大线莫莫格至月亮泡段景区连通路", S004)],
            development="transport",
        )
    )
    # Scenic areas 004 wants expanded ("科学划定旅游功能区…拓展发展空间", l.2357).
    expand = cite(
        2357, "支持向海、莫莫格等重点景区科学划定旅游功能区，重新定位产品，拓展发展空间", S004
    )
    out.append(
        ctx_feature(
            "ctx_scenic_xianghai",
            "向海重点景区（旅游功能区，拓展发展空间）",
            "Xianghai key scenic area (tourism zone to be expanded)",
            layer,
            "scenic_development",
            xh_pt.buffer(3000, 16).intersection(xh),
            "schematic",
            SRC_004,
            expand,
            "Disc of 3 km radius around GeoNames 向海 (122.35E 45.03N) within the schematic 向海 "
            "core: 004 gives no extent for the tourism zone it asks to delimit. Size chosen for "
            "display only.",
            extra_citations=[
                cite(2391, "白城市向海景区旅游综合开发。建设“向海大营”旅游服务综合体", S004)
            ],
            development="tourism",
        )
    )
    out.append(
        ctx_feature(
            "ctx_scenic_momoge",
            "莫莫格重点景区（旅游功能区，拓展发展空间）",
            "Momoge key scenic area (tourism zone to be expanded)",
            layer,
            "scenic_development",
            mm.centroid.buffer(3000, 16).intersection(mm),
            "schematic",
            SRC_004,
            expand,
            "Disc of 3 km radius around the centroid of the schematic 莫莫格 core; 004 gives no "
            "extent for the tourism zone. Size chosen for display only.",
            development="tourism",
        )
    )
    # The tourism distribution centres (004 l.2335) are points at towns: facts only, in
    # layers/facts/ctx_west_tourism_loop.json (appended by layers.build).
    return out


# ------------------------------------------------------------ clean energy base
# Named sites in Baicheng (004 表3–7 wind, 表15–19 PV):
# (id, zh, kind, county, township, area_km2, capacity_万kW, line, quote).
WIND = "wind_site"
PV = "pv_site"
SITES = [
    ("taipingshan", "太平山风电场", WIND, TAOBEI, "太平山", 61, 10, 3615, "太平山风电场"),
    ("lingxia", "岭下风电场", WIND, TAOBEI, "岭下", 99, 25, 3616, "岭下风电场"),
    ("jiaqi", "吉电架其风电 (在建)", WIND, ZHENLAI, "架其", 102, 10, 3635, "吉电架其风电"),
    ("yangsha", "洋沙风电", WIND, ZHENLAI, "洋沙", 152, 30, 3636, "洋沙风电"),
    ("jianping", "建平风电", WIND, ZHENLAI, "建平", 264, 55, 3639, "建平风电"),
    ("longgang", "龙岗风电", WIND, ZHENLAI, "龙岗", 95, 20, 3640, "龙岗风电"),
    ("heiyupao", "黑鱼泡风电", WIND, ZHENLAI, "黑鱼泡", 107, 20, 3641, "黑鱼泡风电"),
    ("tantu", "坦途风电", WIND, ZHENLAI, "坦途", 174, 35, 3642, "坦途风电"),
    ("hatuqi", "哈吐气风电", WIND, ZHENLAI, "哈吐气", 165, 35, 3643, "哈吐气风电"),
    ("gashigen", "嘎什根风电", WIND, ZHENLAI, "嘎什根", 203, 45, 3644, "嘎什根风电"),
    ("sifangtuozi", "四方坨子风电", WIND, ZHENLAI, "四方坨子", 246, 35, 3645, "四方坨子风电"),
    ("wukeshu", "五棵树风电", WIND, ZHENLAI, "五棵树", 196, 35, 3646, "五棵树风电"),
    ("zhenlai", "镇赉风电", WIND, ZHENLAI, "镇赉", 169, 30, 3647, "镇赉风电"),
    ("shuifa", "水发风电（在建）", WIND, TONGYU, None, 279, 50, 3656, "水发风电"),
    ("huaneng_tongyu", "华能平价风电（在建）", WIND, TONGYU, None, 71, 30, 3657, "华能平价风电"),
    ("kaitong", "开通风电项目", WIND, TONGYU, "开通", 324, 64, 3658, "开通风电项目"),
    ("xinhua", "新华风电项目", WIND, TONGYU, "新华", 230, 40, 3659, "新华风电项目"),
    ("xinglongshan", "兴隆山风电项目", WIND, TONGYU, "兴隆山", 201, 40, 3660, "兴隆山风电项目"),
    ("shuanggang", "双岗风电项目", WIND, TONGYU, "双岗", 1115, 195, 3661, "双岗风电项目"),
    ("bamian", "八面风电项目", WIND, TONGYU, "八面", 532, 123, 3662, "八面风电项目"),
    ("shihuadao", "十花道风电项目", WIND, TONGYU, "十花道", 265, 60, 3663, "十花道风电项目"),
    ("xinxing", "新兴风电项目", WIND, TONGYU, "新兴", 241, 50, 3664, "新兴风电项目"),
    ("bianzhao", "边昭风电项目", WIND, TONGYU, "边昭", 294, 60, 3667, "边昭风电项目"),
    ("hulitu", "胡力吐风电项目", WIND, TAONAN, "胡力吐", 131, 25, 3681, "胡力吐风电项目"),
    ("najin", "那金风电项目", WIND, TAONAN, "那金", 155, 35, 3682, "那金风电项目"),
    ("wanbao", "万宝风电项目", WIND, TAONAN, "万宝", 247, 53.5, 3683, "万宝风电项目"),
    ("yema", "野马风电项目", WIND, TAONAN, "野马", 227, 50, 3684, "野马风电项目"),
    ("wafang", "瓦房风电项目", WIND, TAONAN, "瓦房", 197, 45, 3685, "瓦房风电项目"),
    ("jubao", "聚宝风电项目", WIND, TAONAN, "聚宝", 261, 55, 3686, "聚宝风电项目"),
    ("jiaoliuhe", "蛟流河风电项目", WIND, TAONAN, "蛟流河", 224, 50, 3687, "蛟流河风电项目"),
    ("datong", "大通风电项目", WIND, TAONAN, "大通", 355, 70.5, 3688, "大通风电项目"),
    ("fushun", "福顺风电项目", WIND, TAONAN, "福顺", 223, 50, 3689, "福顺风电项目"),
    ("huhecheli", "呼和车力风电项目", WIND, TAONAN, "呼和车力", 229, 45, 3690, "呼和车力风电项目"),
    ("erlong", "二龙风电场", WIND, TAONAN, "二龙", 194, 50, 3691, "二龙风电场"),
    ("minzhi", "民治风电场", WIND, TAONAN, "民治", 139, 40, 3692, "民治风电场"),
    ("yongmao", "永茂风电场", WIND, TAONAN, "永茂", 188, 45, 3693, "永茂风电场"),
    ("shandong_huaneng", "山东华能 50 万 (在建)", WIND, DAAN, None, 173, 50, 3707, "山东华能"),
    ("huarun", "华润风电 (在建)", WIND, DAAN, None, 28, 10, 3708, "华润风电"),
    (
        "zhongdian_dagangzi",
        "中电大岗子风电 (在建)",
        WIND,
        DAAN,
        None,
        46,
        10,
        3709,
        "中电大岗子风电",
    ),
    (
        "cgn_liangjiazi",
        "中广核两家子风电场 (在建)",
        WIND,
        DAAN,
        None,
        38,
        10,
        3710,
        "中广核两家子风电场",
    ),
    ("guangfeng", "光锋风电项目", WIND, DAAN, None, 46, 25, 3711, "光锋风电项目"),
    ("changyuan", "长源风电项目", WIND, DAAN, None, 26, 15, 3712, "长源风电项目"),
    ("qingxue", "庆学风电项目", WIND, DAAN, None, 260, 90, 3713, "庆学风电项目"),
    ("minquan", "民权风电项目", WIND, DAAN, None, 115, 50, 3714, "民权风电项目"),
    ("fuxin", "富新风电项目", WIND, DAAN, None, 118, 50, 3715, "富新风电项目"),
    ("fusheng", "富胜风电项目", WIND, DAAN, None, 52, 20, 3716, "富胜风电项目"),
    ("wanfa", "万发风电项目", WIND, DAAN, None, 156, 60, 3717, "万发风电项目"),
    ("tongxing", "同兴风电项目", WIND, DAAN, None, 149, 70, 3718, "同兴风电项目"),
    ("lianhe", "联合风电项目", WIND, DAAN, None, 288, 100, 3719, "联合风电项目"),
    ("jiangjia", "姜家风电项目", WIND, DAAN, None, 59, 30, 3720, "姜家风电项目"),
    ("majiawopu", "马家窝堡风电项目", WIND, DAAN, None, 55, 30, 3721, "马家窝堡风电项目"),
    ("qingan", "庆安风电项目", WIND, DAAN, None, 53, 25, 3722, "庆安风电项目"),
    ("changsheng", "长胜风电项目", WIND, DAAN, None, 127, 60, 3723, "长胜风电项目"),
    ("yongjian", "永建风电项目", WIND, DAAN, None, 150, 74, 3724, "永建风电项目"),
    ("xinfeng", "新丰风电项目", WIND, DAAN, None, 124, 64, 3725, "新丰风电项目"),
    ("miaoquan_gaobao", "苗泉高堡风电项目", WIND, DAAN, None, 23, 10, 3726, "苗泉高堡风电项目"),
    ("yujiawazi_pv", "于家洼子光伏项目", PV, DAAN, None, 1463, 62.5, 3985, "于家洼子光伏项目"),
    ("changhe_pv", "长和光伏项目", PV, DAAN, None, 975, 70, 3986, "长和光伏项目"),
    ("gonggu_pv", "巩固光伏项目", PV, DAAN, None, 650, 65, 3987, "巩固光伏项目"),
    ("houyushu_pv", "后榆树光伏项目", PV, DAAN, None, 455, 40, 3988, "后榆树光伏项目"),
    ("taiping_pv", "太平光伏项目", PV, DAAN, None, 1625, 80, 3989, "太平光伏项目"),
    ("longzhao_pv", "龙沼光伏项目", PV, DAAN, None, 1530, 75, 3990, "龙沼光伏项目"),
    ("wushengtang_pv", "五盛堂光伏项目", PV, DAAN, None, 510, 30, 3991, "五盛堂光伏项目"),
    ("yuanjiawopeng_pv", "袁家窝棚光伏项目", PV, DAAN, None, 360, 20, 3992, "袁家窝棚光伏项目"),
    ("zhennan_pv1", "镇南光伏1号场区", PV, TAOBEI, "青山", 43, 92.5, 3908, "镇南光伏 1 号场区"),
    ("zhennan_pv2", "镇南光伏2号场区", PV, TAOBEI, None, 32, 72.5, 3909, "镇南光伏 2 号场区"),
    ("dalong_pv", "大龙光伏", PV, ZHENLAI, "东屏", 18, 30, 3929, "大龙光伏"),
    ("qianliujia_pv", "前六家光伏", PV, ZHENLAI, "东屏", 50, 60, 3930, "前六家光伏"),
    ("erlongtao_pv", "二龙涛光伏", PV, ZHENLAI, "东屏", 53, 50, 3931, "二龙涛光伏"),
    ("jianping_pv", "建平光伏", PV, ZHENLAI, "建平", 144, 105, 3932, "建平光伏"),
    ("wulacao_pv", "乌拉草光伏", PV, ZHENLAI, "坦途", 68, 80, 3933, "乌拉草光伏"),
    ("kaitong_pv", "开通光伏项目", PV, TONGYU, "开通", 44, 85, 3945, "开通光伏项目"),
    ("sanjiazi_pv", "三家子光伏项目", PV, TONGYU, None, 151, 162.5, 3946, "三家子光伏项目"),
    ("shihuadao_pv", "十花道光伏项目", PV, TONGYU, "十花道", 75, 120, 3947, "十花道光伏项目"),
    ("yongmao_pv", "永茂光伏", PV, TAONAN, "永茂", 27, 100, 3964, "永茂光伏"),
    ("anding_pv", "安定光伏", PV, TAONAN, "安定", 82.4, 150, 3965, "安定光伏"),
    ("heishui_pv", "黑水光伏", PV, TAONAN, "黑水", 51.9, 132, 3966, "黑水光伏"),
    ("datong_pv", "大通光伏", PV, TAONAN, "大通", 9.2, 60, 3967, "大通光伏"),
    ("fushun_pv", "福顺光伏", PV, TAONAN, "福顺", 6.9, 50, 3968, "福顺光伏"),
]
# GeoNames names of the townships it has (zh → GeoNames ``name``).
TOWNSHIP_GEONAMES = {
    "五棵树": "Wukeshu",
    "坦途": "Tantu",
    "东屏": "Dongping",
    "双岗": "Shuanggang",
    "新华": "Xinhua",
    "开通": "Kaitong",
    "瓦房": "Wafang",
    "胡力吐": "Hulitu",
    "黑水": "Heishui",
    "安定": "Anding",
    "青山": "Qingshan",
    "镇赉": "Zhenlai",
}
# 004 表2 and 表14 (万kW, total by 2030): wind, PV.
CAPACITY = {
    TAOBEI: (74, 175, 3593, 3887),
    ZHENLAI: (390, 370, 3594, 3888),
    TONGYU: (858.5, 410, 3595, 3889),
    TAONAN: (677.5, 560, 3596, 3890),
    DAAN: (956, 485, 3597, 3891),
}


def township_point(township: str | None, county: str):
    """GeoNames point of a township if it exists and lies in ``county``, else ``None``."""
    if township not in TOWNSHIP_GEONAMES:
        return None
    p = geonames_point(TOWNSHIP_GEONAMES[township])
    return p if county_metric(county).buffer(1).intersects(to_metric(p)) else None


def build_energy_base() -> list[dict]:
    """Build the 西部国家级清洁能源基地 (004 l.3396–4560)."""
    layer = "ctx_clean_energy_base"
    out = []
    extent = simplified(unary_union([county_metric(CITY), unit_metric(SONGYUAN)]))
    out.append(
        ctx_feature(
            "ctx_energy_base_extent",
            "吉林省西部国家级清洁能源基地（白城、松原部分）",
            "West Jilin national clean-energy base (Baicheng and Songyuan part)",
            layer,
            "energy_base",
            extent,
            "derived",
            SRC_004,
            cite(3420, "规划范围主要包括白城、松原两市全部区域及四平市所辖的双辽市", S004),
            f"Union of the official boundaries of 白城市 and 松原市 (松原 clipped to the vendored "
            f"context extent), simplified at {SIMPLIFY_M:g} m. 双辽市 (also in the base) has no "
            "boundary in our sources and is left out.",
        )
    )
    for code, (wind, pv, wline, pline) in CAPACITY.items():
        name = COUNTY_ZH[code]
        out.append(
            ctx_feature(
                f"ctx_energy_capacity_{code}",
                f"{name}风电、光伏规划总开发容量",
                f"Planned wind and PV capacity, {place_en(name)}",
                layer,
                "capacity_county",
                simplified(county_metric(code)),
                "derived",
                SRC_004,
                cite(wline, name, S004),
                f"The county's official boundary simplified at {SIMPLIFY_M:g} m; 004 assigns the "
                "capacity to the county as a whole (表2 wind, 表14 PV).",
                extra_citations=[cite(pline, COUNTY_ZH[code], S004)],
                wind_capacity_10mw=wind,
                pv_capacity_10mw=pv,
            )
        )
    avoid = cite(
        3503, "避让基本农田、林地、湿地、生态红线、保护区、鸟类及野生动物迁徙通道及栖息地等", S004
    )
    unplaced: dict[tuple[str, str], list[tuple]] = {}
    for key, zh, kind, county, township, area, cap, line, quote in SITES:
        p = township_point(township, county)
        if p is None:
            unplaced.setdefault((county, kind), []).append((zh, area, cap, line, quote))
            continue
        disc = to_metric(p).buffer((area * 1e6 / 3.141592653589793) ** 0.5, 8)
        geom = polygonal(disc.intersection(county_metric(county)))
        out.append(
            ctx_feature(
                f"ctx_{'wind' if kind == WIND else 'pv'}_{key}",
                zh,
                f"{'Wind farm' if kind == WIND else 'PV plant'} '{key}' "
                f"(named after {place_en(township)})",
                layer,
                kind,
                geom,
                "schematic",
                SRC_004,
                cite(line, quote, S004),
                f"Disc of the published area ({area:g} km²) centred on the GeoNames point of "
                f"{township} ({TOWNSHIP_GEONAMES[township]}), the township the site is named after "
                f"or lies in, clipped to {COUNTY_ZH[county]}. 004 shows the footprint only in a "
                "figure; this is not it.",
                extra_citations=[avoid],
                area_km2=area,
                capacity_10mw=cap,
                township=township,
                placement_confidence="low",
                development="energy",
            )
        )
    for (county, kind), rows in sorted(unplaced.items()):
        seat = to_metric(town(SEATS[county]))
        names = "、".join(r[0] for r in rows)
        what_zh, what_en = ("风电场", "wind farms") if kind == WIND else ("光伏项目", "PV plants")
        out.append(
            ctx_feature(
                f"ctx_{'wind' if kind == WIND else 'pv'}_unplaced_{county}",
                f"{COUNTY_ZH[county]}未定位的规划{what_zh}（{len(rows)}处）：{names}",
                f"{len(rows)} planned {what_en} of {place_en(COUNTY_ZH[county])} with no placeable "
                f"township",
                layer,
                kind + "_unplaced",
                seat,
                "schematic",
                SRC_004,
                cite(rows[0][3], rows[0][4], S004),
                f"Point at the county seat ({SEATS[county]}, GeoNames): the townships these sites "
                "are named after are not in GeoNames (or not inside the county), so they are not "
                "placed. Not a site position. Areas are as printed in 004 (km²; the 大安 PV "
                "table's figures are implausibly large for km², so no total is given).",
                extra_citations=[cite(r[3], r[4], S004) for r in rows[1:]],
                site_names=[r[0] for r in rows],
                site_areas_as_printed=[r[1] for r in rows],
                capacity_10mw=round(sum(r[2] for r in rows), 1),
                placement_confidence="low",
            )
        )
    return out


# --------------------------------------------------------------------- channels
# ctx_channels is built from its fact file alone (layers/facts/ctx_channels.json).


# ------------------------------------------------------------ province patterns
# ctx_province_patterns is built from its fact file alone
# (layers/facts/ctx_province_patterns.json).


# ------------------------------------------------------------ hydrogen corridor
# ------------------------------------------------- helpers for the Baicheng groups
def seat_metric(county: str):
    """EPSG:4550 point of a county seat (GeoNames)."""
    return to_metric(town(SEATS[county]))


def seat_rule(county: str, what: str = "") -> str:
    """State the rule of a feature placed at a county seat."""
    return (
        f"Point at the seat of {COUNTY_ZH[county]} (GeoNames {GEONAMES_TOWNS[SEATS[county]]}): "
        f"the plan gives the county only{what}. Not a site position."
    )


def counties_zone(codes, tolerance_m: float = 400.0):
    """Union of county boundaries (EPSG:4550), simplified for file size."""
    return simplified(unary_union([county_metric(c) for c in codes]), tolerance_m)


def counties_rule(codes, what: str = "", tolerance_m: float = 400.0) -> str:
    """State the rule of a :func:`counties_zone` feature."""
    names = "、".join(COUNTY_ZH[c] for c in codes)
    return (
        f"County-level zone: the official boundary of {names}, simplified at "
        f"{tolerance_m:g} m. The plan assigns it to the county as a whole{what}; the actual "
        "fields/sites are not located."
    )


def plan_feature(
    fid, zh, en, layer, kind, geom_metric, citation, rule, county=None, source=None, **extra
) -> dict:
    """Make a schematic feature of the Baicheng plan (seed 000) in one of the issue-7 groups."""
    from .common import PLAN_SOURCE

    return feature(
        fid,
        zh,
        en,
        layer,
        kind,
        to_wgs84(geom_metric),
        "schematic",
        source or PLAN_SOURCE,
        citation,
        county=county if county is not None else units_of(geom_metric),
        rule=rule,
        **extra,
    )
