"""Water geometry (rivers, lakes) of the ``water`` layer and the rules that use it.

The ``water`` layer (rivers, lakes and water-transfer links named in the plan) is built from
its fact file alone (``layers/facts/water.json``; rules ``water_body``, ``river_zone`` and
``points_polyline`` of :mod:`layers.builders.facts`). Real geometry comes from GSHHG 2.3.6
(rivers: WDBII centrelines, lakes: level-2 polygons). GSHHG is a global database, not an
authoritative survey, so features taken from it are ``derived`` (clipped to Baicheng), never
``official``. Rivers are given both as centrelines and as river-zone polygons (a fixed
buffer) so that a point site check can hit a river.
"""

from __future__ import annotations

from shapely.geometry import LineString
from shapely.ops import nearest_points

from .common import (
    CITY,
    TAONAN,
    county_metric,
    geonames_point,
    lineal,
    polygonal,
    source_geom,
    to_metric,
)

RIVERS = "rivers_gshhg_wdbii.geojson"
LAKES = "lakes_gshhg.geojson"

NEN_BORDER_M = 3000.0  # the Nen is the eastern border; keep the reach within 3 km of it


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
