"""Provincial context layers (seeds 001 and 004), off by default on the map.

Five layers; the clean-energy base is built by ``build_energy_base`` (its tables are in
``layers/facts/ctx_clean_energy_base.json``), the other four from their fact files alone
(``layers/facts/<id>.json``, ``layers/builders/facts.py``); the helpers here are their
geometry rules:

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
# ctx_west_tourism_loop is built from its fact file alone
# (layers/facts/ctx_west_tourism_loop.json).


# ------------------------------------------------------------ clean energy base
# Named sites in Baicheng (004 表3–7 wind, 表15–19 PV), the capacity table and the
# township points are facts: layers/facts/ctx_clean_energy_base.json ("tables").
WIND = "wind_site"
PV = "pv_site"


def _energy_tables() -> dict:
    """Read the base's capacity table, named sites and township points (data, not code)."""
    import json

    from .common import FACTS

    return json.loads((FACTS / "ctx_clean_energy_base.json").read_text("utf-8"))["tables"]


_TABLES = _energy_tables()
# (id, zh, kind, county, township, area_km2, capacity_万kW, line, quote), from the fact file.
SITES = [(r["key"], r["name_zh"], r["kind"], r["county"], r["township"], r["area_km2"],
          r["capacity_10mw"], r["line"], r["quote"]) for r in _TABLES["sites"]]
TOWNSHIP_GEONAMES = dict(_TABLES["township_geonames"])
# 004 表2 and 表14 (万kW, total by 2030): wind, PV, and their lines.
CAPACITY = {code: (r["wind_10mw"], r["pv_10mw"], r["wind_line"], r["pv_line"])
            for code, r in _TABLES["capacity"].items()}


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
