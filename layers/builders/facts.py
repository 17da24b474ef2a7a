"""Layers built from their fact file alone (issue 17 item 5: layer facts as data).

A layer whose catalog entry (``layers/facts/catalog.json``) says ``"builder": "facts"`` is
built from ``layers/facts/<layer id>.json`` alone; a layer still built by code may keep some
of its features in such a file too (``layers.build`` appends them after the code's), or its
tables (``"tables"``, read by its builder: ``ctx_clean_energy_base``)::

    {"layer": "<id>",
     "defaults": {"accuracy": "schematic", "source": "...", "county": "context_units"},
     "features": [
      {"id": "...", "name_zh": "...", "name_en": "...", "kind": "...",
       "geometry": {"rule": "towns_polyline", "towns": ["白城", "大安"], "what": "..."},
       "citation": {"seed": "004_bba0a9fb5e7355d6", "line": 2335, "quote": "..."},
       "extra_citations": [{"seed": ..., "line": ..., "quote": ...}],
       "properties": {"development": "energy"}}]}

Every fact is data: names, kind, accuracy, source, citations (checked against the plan
text by :func:`layers.builders.common.cite`) and extra properties.  Only the geometry is
code: ``geometry.rule`` names a function of :data:`GEOMETRY_RULES` that returns the
EPSG:4550 geometry and the stated ``rule`` text from the fact's parameters.  ``county``
is ``context_units`` (the Baicheng counties and context units the geometry lies in) or
``counties`` (the Baicheng counties, the default of :func:`~layers.builders.common.feature`)
or an explicit list of adcodes.  A rule may also return properties its sources give (the
GeoNames ``centre`` of a ``geonames_disc`` with ``with_centre``), written after the fact's
``properties``.  Points in parameters are ``{"town"}``, ``{"geonames"}``, ``{"lonlat"}`` or
``{"river", "near"}`` (see :func:`_point_of`).

A layer of another plan (``p001_`` … ``p004_``) says ``"frame": "plan"`` in its defaults:
its rules (the ``plan_`` ones) work in EPSG:4551 (:mod:`layers.builders.plan_layers`), its
``county`` defaults to the prefecture-level units the geometry touches, and a rule's
``clip``/``units`` is a string adcode (that unit's boundary) or a list (their union).
Rule texts may name ``{town}``/``{towns}`` (where each town's position comes from),
``{units}`` (the units' Chinese names) and ``{radius_km}``/``{width_km}``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from .common import FACTS, cite, feature, to_metric, to_wgs84


def _towns_polyline(p: dict):
    """Draw straight segments through named towns, clipped to the context extent."""
    from .context import polyline, polyline_rule

    return polyline(p["towns"]), polyline_rule(p["towns"], p["what"])


def _town_point(p: dict):
    """Place a point at a named town (GeoNames, else the reference catalog)."""
    from .context import town, town_source

    return to_metric(town(p["town"])), p["text"].format(source=town_source(p["town"]))


def _town_disc(p: dict):
    """Draw a disc of ``radius_m`` around a named town, clipped to the context extent."""
    from .common import polygonal
    from .context import extent_metric, town, town_source

    disc = to_metric(town(p["town"])).buffer(float(p["radius_m"]), 16)
    return polygonal(disc.intersection(extent_metric())), p["text"].format(
        source=town_source(p["town"]), radius_m=f"{float(p['radius_m']):g}")


def _anchor(name: str):
    """Return the EPSG:4550 anchor point a fact file names."""
    from .context import momoge_metric, yueliang_point
    from .ecology import nenjiangwan_metric

    anchors = {"momoge_core_centroid": lambda: momoge_metric().centroid,
               "yueliangpao_centroid": lambda: yueliang_point().centroid,
               "nenjiangwan_centroid": lambda: nenjiangwan_metric().centroid}
    if name not in anchors:
        raise ValueError(f"unknown anchor {name!r} (known: {', '.join(sorted(anchors))})")
    return anchors[name]()


def _anchor_to_town(p: dict):
    """Draw a straight line from a named anchor to a named town."""
    from shapely.geometry import LineString

    from .context import town

    return LineString([_anchor(p["from"]), to_metric(town(p["town"]))]), p["text"]


def _river_point_near_town(p: dict):
    """Place a point on a river's centreline, nearest a named town."""
    from shapely.ops import nearest_points

    from .context import town

    return nearest_points(_river(p["river"]), to_metric(town(p["town"])))[0], p["text"]


def _river(name: str):
    """Return a river's EPSG:4550 centreline (nen, taoer: GSHHG; jiaoliu: hand-placed)."""
    from . import water

    rivers = {"nen": water.nen_metric, "taoer": water.taoer_metric,
              "jiaoliu": water.jiaoliu_metric}
    if name not in rivers:
        raise ValueError(f"unknown river {name!r} (known: {', '.join(sorted(rivers))})")
    return rivers[name]()


def _water_body(p: dict):
    """Draw a river centreline (``river``) or the GSHHG 月亮泡 polygon (``lake: yueliang``).

    The text may name ``{nen_border_km}`` (how far from Baicheng the 嫩江 reach is kept).
    """
    from . import water

    geom = water.yueliang_metric() if p.get("lake") == "yueliang" else _river(p["river"])
    return geom, p["text"].format(nen_border_km=f"{water.NEN_BORDER_M / 1000:g}")


def _river_zone(p: dict):
    """Draw ``width_m`` each side of a river's centreline, clipped to Baicheng City."""
    from .common import CITY, county_metric, polygonal

    zone = _river(p["river"]).buffer(float(p["width_m"]), 8).intersection(county_metric(CITY))
    return polygonal(zone), _filled(p)


def _point_of(spec: dict):
    """Return the EPSG:4550 point of a town, a GeoNames place or a position.

    ``{"town": name}``, ``{"geonames": name}``, ``{"lonlat": [lon, lat]}`` or
    ``{"river": name, "near": <point>}`` (the river's point nearest another).
    """
    from shapely.geometry import Point

    from .common import geonames_point
    from .context import town

    if "river" in spec:
        # the point of a river's centreline nearest another point: {"river", "near": {...}}
        from shapely.ops import nearest_points

        return nearest_points(_river(spec["river"]), _point_of(spec["near"]))[0]
    if "geonames" in spec:
        return to_metric(geonames_point(spec["geonames"]))
    return to_metric(town(spec["town"]) if "town" in spec else Point(*spec["lonlat"]))


def _points_polyline(p: dict):
    """Draw straight segments through towns or given points, clipped to the context extent.

    ``"clip": "baicheng"`` clips to Baicheng City instead.
    """
    from shapely.geometry import LineString

    from .common import CITY, county_metric, lineal
    from .context import extent_metric

    clip = county_metric(CITY) if p.get("clip") == "baicheng" else extent_metric()
    line = LineString([_point_of(q) for q in p["points"]])
    return lineal(line.intersection(clip)), p["text"]


def _branches(p: dict):
    """Draw straight branches from one town or point to several (a MultiLineString, unclipped)."""
    from shapely.geometry import MultiLineString

    start = _point_of(p["from"])
    return MultiLineString([[(start.x, start.y), tuple(_point_of(q).coords[0])]
                            for q in p["to"]]), p["text"]


def _anchor_point(p: dict):
    """Place a point at a named anchor (e.g. the centroid of a schematic ecology zone)."""
    return _anchor(p["anchor"]), p["text"]


def _river_bank_toward_town(p: dict):
    """Place a point ``distance_m`` from a river's centreline towards a GeoNames place.

    On the shortest line from the river to the place (e.g. a site known to lie on the
    place's bank of the river).
    """
    from shapely.geometry import LineString
    from shapely.ops import nearest_points

    from .common import geonames_point

    place = to_metric(geonames_point(p["geonames"]))
    bank = nearest_points(_river(p["river"]), place)[0]
    d = float(p["distance_m"])
    return LineString([bank, place]).interpolate(d), p["text"].format(distance_km=f"{d / 1000:g}")


def _river_band(p: dict):
    """Draw a band of ``width_m`` each side of a river within counties, simplified."""
    from .common import counties_metric, polygonal
    from .context import simplified

    band = _river(p["river"]).buffer(float(p["width_m"]), 8)
    zone = polygonal(band.intersection(counties_metric(tuple(p["counties"]))))
    return simplified(zone, float(p["simplify_m"])), p["text"]


def _seats_hull(p: dict):
    """Draw the convex hull of the five county seats, buffered, clipped to Baicheng."""
    from shapely.geometry import MultiPoint

    from .common import CITY, county_metric
    from .context import SEATS, simplified, town

    seats = [to_metric(town(SEATS[c])) for c in p["counties"]]
    zone = MultiPoint(seats).convex_hull.buffer(float(p["buffer_m"]), 8)
    return simplified(zone.intersection(county_metric(CITY))), p["text"]


def _units_union(p: dict):
    """Draw the union of county / context-unit boundaries (adcodes), simplified."""
    from shapely.ops import unary_union

    from .context import simplified, unit_metric

    return simplified(unary_union([unit_metric(c) for c in p["units"]])), p["text"]


def _ecology_union(p: dict):
    """Draw the union of named schematic ecology zones of the Baicheng plan, simplified."""
    from shapely.ops import unary_union

    from . import ecology
    from .context import simplified

    parts = {"east_wetland_belt": ecology.east_wetland_belt, "momoge_core": ecology.momoge_core,
             "xianghai_core": ecology.xianghai_core}
    return simplified(unary_union([parts[n]() for n in p["parts"]])), p["text"]


def _anchor_line(p: dict):
    """Draw a straight line through named anchors and towns (``{"anchor"}``/``{"town"}``)."""
    from shapely.geometry import LineString

    return LineString([_anchor(q["anchor"]) if "anchor" in q else _point_of(q)
                       for q in p["points"]]), p["text"]


def _disc_in_core(p: dict):
    """Draw a disc of ``radius_m`` around a town or anchor, within a schematic ecology core."""
    from .context import momoge_metric, xianghai_metric

    cores = {"xianghai": xianghai_metric, "momoge": momoge_metric}
    centre = _anchor(p["anchor"]) if "anchor" in p else _point_of(p)
    return centre.buffer(float(p["radius_m"]), 16).intersection(cores[p["core"]]()), p["text"]


def _counties_zone(p: dict):
    """Draw the union of Baicheng county boundaries, simplified at ``tolerance_m``."""
    from .context import counties_rule, counties_zone

    tol = float(p.get("tolerance_m", 400.0))
    return (counties_zone(tuple(p["counties"]), tol),
            counties_rule(tuple(p["counties"]), p.get("what", ""), tol))


def _county_seat_point(p: dict):
    """Place a point at a Baicheng county's seat (GeoNames)."""
    from .context import seat_metric, seat_rule

    return seat_metric(p["county"]), seat_rule(p["county"], p.get("what", ""))


def _lonlat_point(p: dict):
    """Place a point at a stated position ``lonlat`` (e.g. a reference-catalog estimate).

    The text may name ``{lon}`` and ``{lat}``.
    """
    from shapely.geometry import Point

    lon, lat = p["lonlat"]
    return to_metric(Point(lon, lat)), p["text"].format(lon=lon, lat=lat)


def _filled(p: dict, where=None) -> str:
    """Fill a rule text: the scalar parameters, ``<x>_km`` for each ``<x>_m`` and ``{lonlat}``."""
    args = {k: v for k, v in p.items() if isinstance(v, (int, float, str))}
    args.update({f"{k[:-2]}_km": f"{float(v) / 1000:g}" for k, v in p.items()
                 if k.endswith("_m") and isinstance(v, (int, float))})
    if where is not None:
        args["lonlat"] = f"{where.x:.4f}E {where.y:.4f}N"
    return p["text"].format(**args)


def _geonames_point(p: dict):
    """Place a point at a GeoNames place (the gazetteer position)."""
    from .common import geonames_point

    return to_metric(geonames_point(p["geonames"])), _filled(p)


def _geonames_disc(p: dict):
    """Draw a disc of ``radius_m`` around a GeoNames place, within a Baicheng county.

    ``with_centre`` adds the place's WGS84 position as the ``centre`` property.
    """
    from .common import county_metric, geonames_point, polygonal

    where = geonames_point(p["geonames"])
    disc = to_metric(where).buffer(float(p["radius_m"]), int(p.get("resolution", 16)))
    zone = polygonal(disc.intersection(county_metric(p["county"])))
    extra = {"centre": [round(where.x, 6), round(where.y, 6)]} if p.get("with_centre") else {}
    return zone, _filled(p, where), extra


def _geonames_band(p: dict):
    """Draw a band of ``width_m`` around the segment between two GeoNames places, in counties."""
    from functools import reduce

    from shapely.geometry import LineString

    from .common import county_metric, geonames_point, polygonal

    band = LineString([to_metric(geonames_point(n)) for n in p["geonames"]])
    clip = reduce(lambda a, b: a.union(b), [county_metric(c) for c in p["counties"]])
    return polygonal(band.buffer(float(p["width_m"]), 16).intersection(clip)), _filled(p)


def _lonlat_disc(p: dict):
    """Draw a disc of ``radius_m`` around a stated position ``lonlat``, within a county."""
    from shapely.geometry import Point

    from .common import county_metric, polygonal

    disc = to_metric(Point(*p["lonlat"])).buffer(float(p["radius_m"]), 16)
    return polygonal(disc.intersection(county_metric(p["county"]))), _filled(p)


def _river_link_band(p: dict):
    """Draw a band of ``width_m`` around the straight link from a river's nearest point to a place.

    Clipped to a Baicheng county.
    """
    from shapely.geometry import LineString
    from shapely.ops import nearest_points

    from .common import county_metric, polygonal

    place = _point_of(p["to"])
    link = LineString([nearest_points(_river(p["river"]), place)[0], place])
    band = link.buffer(float(p["width_m"]), 8).intersection(county_metric(p["county"]))
    return polygonal(band), _filled(p)


def _ecology_zone(p: dict):
    """Draw a named schematic zone of :mod:`layers.builders.ecology` (its rule is there).

    The zones whose shape is a computation on published figures (the 向海 and 莫莫格 cores
    from their coordinate ranges and areas, the windbreak band along the Inner Mongolia
    border, the eastern wetland belt, the 洮儿河–蛟流河 corridor) keep their parameters in
    ``ecology.py``; the text may name them: ``{area_km2}`` (of the drawn zone),
    ``{xianghai_box}``, ``{xianghai_km2}``, ``{momoge_km2}``, ``{windbreak_km}``,
    ``{east_nen_km}``, ``{east_lake_km}``, ``{corridor_km}``.
    """
    from . import ecology as e

    zones = {"xianghai_core": e.xianghai_core, "momoge_core": e.momoge_core,
             "west_windbreak_belt": e.west_windbreak_belt,
             "east_wetland_belt": e.east_wetland_belt, "corridor": e.corridor,
             "taobei_donghu": e.taobei_donghu_metric, "nenjiangwan": e.nenjiangwan_metric,
             "niuxintaobao": e.niuxintaobao_metric}
    if p["zone"] not in zones:
        raise ValueError(f"unknown ecology zone {p['zone']!r} (known: {', '.join(sorted(zones))})")
    geom = zones[p["zone"]]()
    w, s, east, n = e.XIANGHAI_BOX
    return geom, p["text"].format(
        area_km2=f"{geom.area / 1e6:,.0f}", xianghai_box=f"{w:.4f}–{east:.4f}E, {s:.4f}–{n:.4f}N",
        xianghai_km2=f"{e.XIANGHAI_AREA_KM2:,.2f}", momoge_km2=f"{e.MOMOGE_AREA_KM2:,.0f}",
        windbreak_km=f"{e.WINDBREAK_KM:g}", east_nen_km=f"{e.EAST_NEN_KM:g}",
        east_lake_km=f"{e.EAST_LAKE_KM:g}", corridor_km=f"{e.CORRIDOR_KM:g}")


def _river_county_band(p: dict):
    """Draw ``width_m`` each side of the part of a river's centreline within a county."""
    from .common import county_metric, polygonal

    county = county_metric(p["county"])
    reach = _river(p["river"]).intersection(county)
    return polygonal(reach.buffer(float(p["width_m"]), 8).intersection(county)), _filled(p)


def _main_city_sector(p: dict):
    """Draw a ring sector around the main-city centre (GeoNames 白城), within a county."""
    from .common import county_metric, polygonal
    from .urban import sector_metric

    ring = sector_metric(float(p["r_in_m"]) / 1000, float(p["r_out_m"]) / 1000,
                         p["az_from"], p["az_to"])
    return polygonal(ring.intersection(county_metric(p["county"]))), _filled(p)


def _main_city_azimuth_disc(p: dict):
    """Draw a disc at a distance and compass azimuth from the main-city centre, in a county."""
    from .common import county_metric, polygonal
    from .urban import at_azimuth

    centre = at_azimuth(float(p["distance_m"]) / 1000, p["azimuth"])
    disc = centre.buffer(float(p["radius_m"]), 16)
    return polygonal(disc.intersection(county_metric(p["county"]))), _filled(p)


# --------------------------------------------------- rules of the other plans (EPSG:4551)
def _plan_area(spec):
    """Boundary of one unit (a string adcode) or the union of several (a list), EPSG:4551."""
    from .plan_layers import unit_m, units_m

    return unit_m(spec) if isinstance(spec, str) else units_m(tuple(spec))


def _plan_text(p: dict) -> str:
    """Fill a plan rule's text: ``{town}``, ``{towns}`` (positions' sources), ``{units}``."""
    from .plan_layers import town_src, unit_name

    units = p.get("units", p.get("clip"))
    units = [units] if isinstance(units, str) else units or []
    km = {f"{k[:-2]}_km": f"{float(p[k]) / 1000:g}" for k in ("radius_m", "width_m") if k in p}
    return p["text"].format(
        town=town_src(p["town"]) if "town" in p else "",
        towns=", ".join(town_src(t) for t in p.get("towns", [])),
        units="、".join(unit_name(c) for c in units), **km)


def _plan_town_point(p: dict):
    """Place a point at a named town of the province (GeoNames, else the reference catalog)."""
    from .plan_layers import to_m, town

    return to_m(town(p["town"])), _plan_text(p)


def _plan_towns_polyline(p: dict):
    """Draw straight segments through named towns, clipped to ``clip`` (EPSG:4551)."""
    from .plan_layers import polyline_m, polyline_rule

    return (polyline_m(p["towns"], _plan_area(p["clip"])),
            polyline_rule(p["towns"], p["what"], p["clip_name"]) + p.get("note", ""))


def _plan_town_disc(p: dict):
    """Draw a disc of ``radius_m`` around a town, clipped to ``clip`` (optionally simplified)."""
    from .plan_layers import simplified, to_m, town

    disc = to_m(town(p["town"])).buffer(float(p["radius_m"]), int(p.get("resolution", 16)))
    zone = disc.intersection(_plan_area(p["clip"]))
    return (simplified(zone) if p.get("simplify") else zone), _plan_text(p)


def _plan_units_union(p: dict):
    """Draw the union of official unit boundaries (optionally simplified 300 m inward).

    ``baicheng_counties`` adds Baicheng counties from the Baicheng boundary file (finer than
    the province's), before ``units``.
    """
    from shapely.ops import unary_union

    from .plan_layers import baicheng_county_m, simplified, unit_m

    if p.get("baicheng_counties"):
        units = [p["units"]] if isinstance(p["units"], str) else p["units"]
        zone = unary_union([baicheng_county_m(c) for c in p["baicheng_counties"]]
                           + [unit_m(c) for c in units])
    else:
        zone = _plan_area(p["units"])
    return (simplified(zone) if p.get("simplify") else zone), _plan_text(p)


def _plan_towns_band(p: dict):
    """Draw a band of ``width_m`` around the line through towns (or one town), within units."""
    from shapely.geometry import LineString

    from .common import polygonal
    from .plan_layers import to_m, town

    pts = [to_m(town(t)) for t in p["towns"]]
    core = LineString(pts) if len(pts) > 1 else pts[0]
    zone = core.buffer(float(p["width_m"]), 16).intersection(_plan_area(p["units"]))
    return polygonal(zone), _plan_text(p)


# The geometry rules a fact file may name: rule name → f(params) → (EPSG:4550 geometry,
# stated rule text[, properties derived from the geometry's sources]).  A new kind of
# geometry is one new function here.
GEOMETRY_RULES: dict[str, Callable[[dict], tuple]] = {
    "towns_polyline": _towns_polyline,
    "town_point": _town_point,
    "town_disc": _town_disc,
    "anchor_to_town": _anchor_to_town,
    "river_point_near_town": _river_point_near_town,
    "points_polyline": _points_polyline,
    "river_band": _river_band,
    "seats_hull": _seats_hull,
    "units_union": _units_union,
    "ecology_union": _ecology_union,
    "anchor_line": _anchor_line,
    "disc_in_core": _disc_in_core,
    "counties_zone": _counties_zone,
    "county_seat_point": _county_seat_point,
    "lonlat_point": _lonlat_point,
    "anchor_point": _anchor_point,
    "branches": _branches,
    "geonames_point": _geonames_point,
    "geonames_disc": _geonames_disc,
    "geonames_band": _geonames_band,
    "main_city_sector": _main_city_sector,
    "main_city_azimuth_disc": _main_city_azimuth_disc,
    "lonlat_disc": _lonlat_disc,
    "river_link_band": _river_link_band,
    "ecology_zone": _ecology_zone,
    "river_county_band": _river_county_band,
    "water_body": _water_body,
    "river_zone": _river_zone,
    "river_bank_toward_town": _river_bank_toward_town,
    "plan_town_point": _plan_town_point,
    "plan_towns_polyline": _plan_towns_polyline,
    "plan_town_disc": _plan_town_disc,
    "plan_units_union": _plan_units_union,
    "plan_towns_band": _plan_towns_band,
}


def _cite(c: dict) -> dict:
    return cite(int(c["line"]), c["quote"], c["seed"])


def build_layer(layer_id: str, facts_dir: Path | None = None) -> list[dict]:
    """Build the features of ``layer_id`` from ``<facts_dir>/<layer_id>.json``.

    Parameters
    ----------
    layer_id
        The layer's id (its catalog entry says ``"builder": "facts"``).
    facts_dir
        Folder of the fact files (default ``layers/facts``).

    Returns
    -------
    list of dict
        GeoJSON-like features (WGS84 shapely geometry) with the contract properties.
    """
    from . import plan_layers
    from .context import units_of

    path = Path(facts_dir or FACTS) / f"{layer_id}.json"
    facts = json.loads(path.read_text("utf-8"))
    if facts.get("layer") != layer_id:
        raise ValueError(f"{path}: 'layer' must be {layer_id!r}")
    defaults = facts.get("defaults") or {}
    out = []
    for f in facts["features"]:
        f = {**defaults, **f}
        geom_spec = dict(f["geometry"])
        rule_name = geom_spec.pop("rule")
        if rule_name not in GEOMETRY_RULES:
            raise ValueError(f"{path}: {f['id']}: unknown geometry rule {rule_name!r} "
                             f"(known: {', '.join(sorted(GEOMETRY_RULES))})")
        plan_frame = f.get("frame", "baicheng") == "plan"
        if plan_frame != rule_name.startswith("plan_"):
            # the plan_ rules draw in EPSG:4551, the others in EPSG:4550: never mix them
            raise ValueError(f"{path}: {f['id']}: rule {rule_name!r} does not belong to the "
                             f"{'plan' if plan_frame else 'Baicheng'} frame")
        geom_m, rule_text, *derived = GEOMETRY_RULES[rule_name](geom_spec)
        county_mode = f.get("county", "plan_units" if plan_frame else "counties")
        if isinstance(county_mode, list):
            county = county_mode
        elif county_mode == "plan_units" and plan_frame:
            county = plan_layers.units_touched(geom_m)
        elif county_mode in ("counties", "context_units") and not plan_frame:
            county = units_of(geom_m) if county_mode == "context_units" else None
        else:
            raise ValueError(f"{path}: {f['id']}: county must be a list of adcodes, "
                             "counties or context_units (plan_units in the plan frame)")
        out.append(feature(
            f["id"], f["name_zh"], f["name_en"], layer_id, f["kind"],
            plan_layers.to_w(geom_m) if plan_frame else to_wgs84(geom_m),
            f["accuracy"], f["source"], _cite(f["citation"]),
            county=county,
            rule=rule_text,
            extra_citations=[_cite(c) for c in f.get("extra_citations") or []] or None,
            **(f.get("properties") or {}),
            **(derived[0] if derived else {}),
        ))
    return out


