"""``transport`` layer: railways, roads, airports and the inland port of the Baicheng plan.

There is no road or rail geometry in our sources (no OSM here). Railways the plan names
are straight links between the towns they are commonly known to connect (each ``rule``
names them). Of the roads named by number only G302 is drawn (its Baicheng towns are
common knowledge: 大安—白城—乌兰浩特, and seed 004 l.327 calls it 珲阿线); G231, G334, G503
and S210–S518 are left out (docs/DATA.md). ``development: transport`` marks projects.
"""

from __future__ import annotations

from shapely.geometry import LineString, Point

from .common import DAAN, TAOBEI, TONGYU, cite, lineal, to_metric
from .context import extent_metric, plan_feature, seat_metric, seat_rule, town

LAYER = "transport"
QIQIHAR = (123.92, 47.35)  # reference catalog, outside the extent (clipped away)
TONGLIAO = (122.26, 43.65)
AIRPORT = (123.02, 45.505)  # reference catalog, medium confidence (DBC)
INLAND_PORT = (122.84, 45.66)  # reference catalog, low confidence (north logistics zone)


def _line(points):
    return lineal(LineString([to_metric(p) for p in points]).intersection(extent_metric()))


def build() -> list[dict]:
    """Build the transport features."""
    out = []
    rails = [
        (
            "tr_changbai_rail",
            "长白铁路（提速工程）",
            "Changchun–Baicheng railway (speed-up)",
            "railway",
            ["白城", "大安", "松原"],
            1556,
            "实施长白铁路提速工程",
            "白城 → 大安 → 松原 (the railway's Jilin-west stations)",
        ),
        (
            "tr_pingqi_rail",
            "平齐铁路（电气化改造）",
            "Siping–Qiqihar railway (electrified)",
            "railway",
            ["通榆", "洮南", "白城", "镇赉"],
            134,
            "平齐、通让铁路电气化改造竣工通车",
            "通榆 → 洮南 → 白城 → 镇赉 (its Baicheng stations)",
        ),
    ]
    for fid, zh, en, kind, names, line, quote, what in rails:
        out.append(
            plan_feature(
                fid,
                zh,
                en,
                LAYER,
                kind,
                _line([town(n) for n in names]),
                cite(line, quote),
                f"Straight segments {what}, town points from GeoNames / the reference catalog; "
                "the real alignment is not in our sources. Clipped to the context extent.",
                development="transport",
            )
        )
    pts = [Point(*QIQIHAR), town("镇赉"), town("白城"), town("通榆"), Point(*TONGLIAO)]
    out.append(
        plan_feature(
            "tr_qibaitong_hsr",
            "齐齐哈尔－白城－通辽铁路（规划）",
            "Qiqihar–Baicheng–Tongliao railway (planned)",
            LAYER,
            "railway",
            _line(pts),
            cite(1558, "推进齐齐哈尔－白城－通辽铁路建设"),
            "Straight segments 齐齐哈尔 (reference catalog) → 镇赉 → 白城 → 通榆 → 通辽 (reference "
            "catalog), clipped to the context extent: the plan names only the end cities and "
            "白城; the intermediate seats are an assumption (alignment not published).",
            development="transport",
            placement_confidence="low",
        )
    )
    out.append(
        plan_feature(
            "tr_g302",
            "国道G302（珲阿线）白城段",
            "National road G302 (Baicheng section)",
            LAYER,
            "national_road",
            _line([town("大安"), town("白城"), town("乌兰浩特")]),
            cite(1656, "推进国道 G302、G231、G334、G503 等公路建设项目"),
            "Straight segments 大安 seat → 白城 → 乌兰浩特 "
            "(GeoNames): G302 (珲春—阿尔山, 004 l.327 "
            "'珲阿线') runs through these towns by common knowledge; the plan gives no route.",
            development="transport",
            placement_confidence="low",
        )
    )
    out.append(
        plan_feature(
            "tr_changan_airport",
            "白城长安机场（扩建改造）",
            "Baicheng Chang'an Airport (expansion)",
            LAYER,
            "airport",
            to_metric(Point(*AIRPORT)),
            cite(1566, "适时启动白城长安机场扩建改造"),
            "Point at the reference catalog's position 123.02E 45.505N (medium confidence; the "
            "airport boundary is not in our sources).",
            county=[TAOBEI],
            development="transport",
            placement_confidence="medium",
        )
    )
    for fid, zh, en, county in [
        ("tr_daan_general_airport", "大安通用机场（规划）", "Da'an general aviation airport", DAAN),
        (
            "tr_tongyu_general_airport",
            "通榆通用机场（规划）",
            "Tongyu general aviation airport",
            TONGYU,
        ),
    ]:
        out.append(
            plan_feature(
                fid,
                zh,
                en,
                LAYER,
                "airport",
                seat_metric(county),
                cite(1656, "支持大安、通榆建设通用机场"),
                seat_rule(county, " (the airport is unsited)"),
                county=[county],
                development="transport",
                placement_confidence="low",
            )
        )
    out.append(
        plan_feature(
            "tr_inland_port",
            "白城内陆港（白城海关）",
            "Baicheng inland port (customs)",
            LAYER,
            "logistics_hub",
            to_metric(Point(*INLAND_PORT)),
            cite(1056, "充分发挥白城海关和内陆港作用"),
            "Point at the reference catalog's estimate 122.84E 45.66N in the main city's northern "
            "logistics zone (urb_north_logistics); the site is not in the plan.",
            county=[TAOBEI],
            development="transport",
            placement_confidence="low",
        )
    )
    return out
