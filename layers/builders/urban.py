"""Geometry helpers around the main city (GeoNames 白城) for the ``urban`` and ``parks`` layers.

The ``urban`` layer ("一主、四辅、多节点" and the central city's "一核五区") is built from its
fact file alone (``layers/facts/urban.json``) by the rules of :mod:`layers.builders.facts`
(``geonames_disc``, ``main_city_sector``, ``main_city_azimuth_disc``, ``geonames_band``,
``geonames_point``, ``lonlat_point``): town positions come from GeoNames (``derived``) where
GeoNames has the town, otherwise from the reference catalog's approximate coordinates
(``schematic``, ``placement_confidence: low``); built-up areas and functional zones are
schematic discs and sectors around those points.
"""

from __future__ import annotations

from shapely.geometry import Point

from .common import geonames_point, to_metric


def main_centre():
    """GeoNames point of 白城 (the main city), EPSG:4550."""
    return to_metric(geonames_point("Baicheng"))


def sector_metric(r_in_km, r_out_km, az_from, az_to, step=5.0):
    """Annular sector around the main-city centre (EPSG:4550)."""
    import math

    c = main_centre()
    if az_to <= az_from:
        az_to += 360.0
    n = max(2, int(math.ceil((az_to - az_from) / step)) + 1)
    azs = [az_from + (az_to - az_from) * i / (n - 1) for i in range(n)]

    def pt(r, az):
        a = math.radians(az)
        return (c.x + r * 1000 * math.sin(a), c.y + r * 1000 * math.cos(a))

    ring = [pt(r_out_km, a) for a in azs] + [pt(r_in_km, a) for a in reversed(azs)]
    from shapely.geometry import Polygon

    return Polygon(ring)


def at_azimuth(r_km, az):
    """Point ``r_km`` from the main-city centre at compass azimuth ``az`` (EPSG:4550)."""
    import math

    c = main_centre()
    a = math.radians(az)
    return Point(c.x + r_km * 1000 * math.sin(a), c.y + r_km * 1000 * math.cos(a))
