"""Schematic ecology zones ("两核、两带、一廊道" and the wetlands named for restoration).

The ``ecology`` layer is built from its fact file alone (``layers/facts/ecology.json``);
the zones whose shape is a computation on published figures are drawn here (rule
``ecology_zone`` of :mod:`layers.builders.facts`, which names them), with their parameters
as the constants below. No open boundary exists for any of these zones: each polygon is
drawn from real geometry (county boundaries, GSHHG rivers and lakes, GeoNames points) and
published figures (PROVENANCE.md); all are ``schematic``.
"""

from __future__ import annotations

from shapely.geometry import Point
from shapely.ops import nearest_points, unary_union

from .common import (
    CITY,
    DAAN,
    TAOBEI,
    TAONAN,
    TONGYU,
    ZHENLAI,
    counties_metric,
    county_metric,
    geonames_point,
    load_source,
    polygonal,
    rect_lonlat,
    to_metric,
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
