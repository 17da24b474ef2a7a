"""``urban`` layer: "一主、四辅、多节点" and the central city's "一核五区".

Town positions come from GeoNames (``derived``, gazetteer points typically within
1–2 km) where GeoNames has the town; otherwise from the reference catalog's
approximate coordinates (``schematic``, ``placement_confidence: low``). Built-up areas
and functional zones are schematic discs and sectors around those points.
"""

from __future__ import annotations

from shapely.geometry import LineString, Point

from .common import (
    DAAN,
    GEONAMES_SOURCE,
    PLAN_SOURCE,
    TAOBEI,
    TAONAN,
    TONGYU,
    ZHENLAI,
    cite,
    county_metric,
    feature,
    geonames_point,
    polygonal,
    to_metric,
    to_wgs84,
)

MAIN_CITY_KM = 5.0  # radius of the schematic main-city zone
CORE_KM = 2.0  # radius of the old-town core of "一核五区"
SEAT_KM = 2.5  # radius of the schematic county-seat zones
POLE_KM = 5.0  # half-width of the Baicheng–Taonan growth-pole band

# "一核五区" sectors around the main-city centre: (id, zh, en, from_az, to_az, line, quote).
# Compass azimuths, clockwise; the plan gives each zone's direction (东, 西南, 南, 西, 北).
SECTORS = [
    (
        "urb_north_logistics",
        "北部现代物流集散区",
        "Northern modern logistics zone",
        315,
        45,
        1517,
        "北部现代物流集散区",
    ),
    (
        "urb_east_lowcarbon_industry",
        "东部低碳工业创新发展集中区",
        "Eastern low-carbon industrial innovation zone",
        45,
        135,
        1503,
        "东部低碳工业创新发展集中区",
    ),
    (
        "urb_south_livable",
        "南部宜居宜游引领区",
        "Southern livable and leisure zone",
        135,
        200,
        1511,
        "南部宜居宜游引领区",
    ),
    (
        "urb_sw_modern_services",
        "西南现代服务业集聚区",
        "South-western modern services zone",
        200,
        250,
        1507,
        "西南现代服务业集聚区",
    ),
    (
        "urb_west_culture_health",
        "西部文化康养示范区",
        "Western culture and health zone",
        250,
        315,
        1513,
        "西部文化康养示范区",
    ),
]


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


# Seats: (id, zh, en, GeoNames name, county, line, quote).
SEATS = [
    (
        "urb_aux_taonan",
        "洮南市城区",
        "Taonan city (county seat)",
        "Taonan",
        TAONAN,
        624,
        "以洮南、大安、",
    ),
    (
        "urb_aux_daan",
        "大安市城区",
        "Da'an city (county seat, Dalai)",
        "Dalai",
        DAAN,
        624,
        "以洮南、大安、",
    ),
    (
        "urb_aux_zhenlai",
        "镇赉县城（镇赉镇）",
        "Zhenlai county seat",
        "Zhenlai",
        ZHENLAI,
        626,
        "镇赉、通榆县城为次中心",
    ),
    (
        "urb_aux_tongyu",
        "通榆县城（开通镇）",
        "Tongyu county seat (Kaitong)",
        "Kaitong",
        TONGYU,
        626,
        "镇赉、通榆县城为次中心",
    ),
]

# Towns: (id, zh, en, GeoNames name or (lon, lat), county, line, quote, kind). The plan's
# 多节点 (l.655) names no town; the towns it names are the five 产业强镇 (l.1615,
# ``industrial_town``) and towns named for a project there (``named_town``, not nodes).
TOWNS = [
    (
        "urb_node_lingxia",
        "洮北岭下镇",
        "Lingxia town (Taobei)",
        (123.05, 45.55),
        TAOBEI,
        1615,
        "洮北岭下",
        "industrial_town",
    ),
    (
        "urb_node_tantu",
        "镇赉坦途镇",
        "Tantu town (Zhenlai)",
        "Tantu",
        ZHENLAI,
        1615,
        "镇赉坦途",
        "industrial_town",
    ),
    (
        "urb_node_heishui",
        "洮南黑水镇",
        "Heishui town (Taonan)",
        "Heishui",
        TAONAN,
        1615,
        "洮南黑水",
        "industrial_town",
    ),
    (
        "urb_node_zhanyu",
        "通榆瞻榆镇",
        "Zhanyu town (Tongyu)",
        (122.62, 44.62),
        TONGYU,
        1615,
        "通榆瞻榆",
        "industrial_town",
    ),
    (
        "urb_node_anguang",
        "大安安广镇",
        "Anguang town (Da'an)",
        (123.80, 45.62),
        DAAN,
        1615,
        "大安安广",
        "industrial_town",
    ),
    (
        "urb_node_linhai",
        "洮北林海镇",
        "Linhai town (Taobei)",
        "Linhai",
        TAOBEI,
        1456,
        "林海",
        "named_town",
    ),
    (
        "urb_node_liangjiazi",
        "大安两家子镇",
        "Liangjiazi town (Da'an)",
        (124.02, 45.33),
        DAAN,
        1595,
        "两家子清洁能源化工园区",
        "named_town",
    ),
    (
        "urb_node_dagangzi",
        "大安大岗子镇",
        "Dagangzi town (Da'an)",
        (124.20, 45.42),
        DAAN,
        1324,
        "大岗子",
        "named_town",
    ),
    (
        "urb_node_fushun",
        "洮南福顺镇",
        "Fushun town (Taonan)",
        (122.60, 45.42),
        TAONAN,
        1130,
        "福顺",
        "named_town",
    ),
    (
        "urb_node_haituo",
        "大安海坨乡",
        "Haituo township (Da'an)",
        (123.95, 45.36),
        DAAN,
        1975,
        "海坨",
        "named_town",
    ),
]

NAMED_FOR = {
    "urb_node_linhai": "the 洮北林海现代农业示范园区",
    "urb_node_liangjiazi": "the 两家子 clean-energy chemical park",
    "urb_node_dagangzi": "its land-shareholding model (大岗子)",
    "urb_node_fushun": "the 福顺现代产业观光园",
    "urb_node_haituo": "the 中科佰澳格霖 agricultural demonstration area (海坨)",
}


def build() -> list[dict]:
    """Build the urban features."""
    out = []
    centre = main_centre()
    taobei = county_metric(TAOBEI)
    gn = geonames_point("Baicheng")
    main_rule = (
        f"Disc of {MAIN_CITY_KM:g} km radius around the GeoNames point of 白城 "
        f"({gn.x:.4f}E {gn.y:.4f}N), clipped to 洮北区: the main city as a schematic zone "
        "holding the six 一核五区 zones. Not the urban development boundary (城镇开发边界)."
    )
    out.append(
        feature(
            "urb_main_baicheng",
            "白城市区（一主）",
            "Baicheng main city (the 'one main')",
            "urban",
            "main_city",
            to_wgs84(polygonal(centre.buffer(MAIN_CITY_KM * 1000, 32).intersection(taobei))),
            "schematic",
            PLAN_SOURCE,
            cite(624, "以白城市区为主核心"),
            county=[TAOBEI],
            rule=main_rule,
        )
    )
    out.append(
        feature(
            "urb_core_old_town",
            "生活配套服务核心功能区（老城区）",
            "Old-town core: living services (the 'one core')",
            "urban",
            "functional_zone",
            to_wgs84(polygonal(centre.buffer(CORE_KM * 1000, 32).intersection(taobei))),
            "schematic",
            PLAN_SOURCE,
            cite(1501, "生活配套服务核心功能区"),
            county=[TAOBEI],
            rule=f"Disc of {CORE_KM:g} km radius around the main-city centre (GeoNames 白城); "
            "the plan puts the core in the old town (老城区).",
            extra_citations=[cite(1496, "“一核五区”城市发展格局")],
        )
    )
    for fid, zh, en, a0, a1, line, quote in SECTORS:
        geom = polygonal(sector_metric(CORE_KM, MAIN_CITY_KM, a0, a1).intersection(taobei))
        out.append(
            feature(
                fid,
                zh,
                en,
                "urban",
                "functional_zone",
                to_wgs84(geom),
                "schematic",
                PLAN_SOURCE,
                cite(line, quote),
                county=[TAOBEI],
                rule=f"Sector of the ring {CORE_KM:g}–{MAIN_CITY_KM:g} km around the main-city "
                f"centre (GeoNames 白城) from azimuth {a0}° to {a1}° (clockwise from north), "
                "after the direction the plan gives the zone. Sector angles are a display "
                "choice.",
                extra_citations=[cite(1496, "“一核五区”城市发展格局")],
            )
        )
    # University town: inside the western zone (医教大学城).
    out.append(
        feature(
            "urb_university_town",
            "医教大学城",
            "Medical-education university town",
            "urban",
            "functional_zone",
            to_wgs84(polygonal(at_azimuth(3.5, 282).buffer(1000, 16).intersection(taobei))),
            "schematic",
            PLAN_SOURCE,
            cite(1511, "医教大学城"),
            county=[TAOBEI],
            rule="Disc of 1 km radius at 3.5 km, azimuth 282°, from the main-city centre: inside "
            "the western culture-and-health sector the plan assigns it to; exact site unknown.",
            placement_confidence="low",
        )
    )
    # Growth pole: band between Baicheng and Taonan.
    taonan = to_metric(geonames_point("Taonan"))
    pole = LineString([centre, taonan]).buffer(POLE_KM * 1000, 16)
    pole = polygonal(pole.intersection(county_metric(TAOBEI).union(county_metric(TAONAN))))
    out.append(
        feature(
            "urb_growth_pole_baicheng_taonan",
            "白城市域中心－洮南融合发展增长极",
            "Baicheng–Taonan integrated growth pole",
            "urban",
            "growth_pole",
            to_wgs84(pole),
            "schematic",
            PLAN_SOURCE,
            cite(631, "白城市域中心－洮南融合发展增长极"),
            rule=f"{POLE_KM:g} km buffer of the straight segment between the GeoNames points of "
            "白城 and 洮南, clipped to 洮北区 and 洮南市.",
        )
    )
    for fid, zh, en, gname, county, line, quote in SEATS:
        p = geonames_point(gname)
        zone = polygonal(
            to_metric(p).buffer(SEAT_KM * 1000, 32).intersection(county_metric(county))
        )
        out.append(
            feature(
                fid,
                zh,
                en,
                "urban",
                "county_seat",
                to_wgs84(zone),
                "schematic",
                GEONAMES_SOURCE + "; " + PLAN_SOURCE,
                cite(line, quote),
                county=[county],
                rule=f"Disc of {SEAT_KM:g} km radius around the GeoNames point '{gname}' "
                f"({p.x:.4f}E {p.y:.4f}N), clipped to the county: a schematic seat zone, not "
                "the built-up boundary.",
                centre=[round(p.x, 6), round(p.y, 6)],
            )
        )
    for fid, zh, en, where, county, line, quote, kind in TOWNS:
        if isinstance(where, str):
            p = geonames_point(where)
            acc, src, conf = "derived", GEONAMES_SOURCE, "medium"
            rule = f"GeoNames point '{where}' (gazetteer position, typically within 1–2 km)."
        else:
            p = Point(*where)
            acc, src, conf = "schematic", PLAN_SOURCE, "low"
            rule = (
                f"Not in GeoNames: approximate position {where[0]}E {where[1]}N from the "
                "reference catalog (compiler's estimate, may be off by 10 km or more). "
                "Geocode before use."
            )
        if kind == "named_town":
            rule += (f" The plan names the town for {NAMED_FOR[fid]} (line {line}), not as one "
                     "of its 多节点 nodes.")
        out.append(
            feature(
                fid,
                zh,
                en,
                "urban",
                kind,
                p,
                acc,
                src,
                cite(line, quote),
                county=[county],
                rule=rule,
                placement_confidence=conf,
            )
        )
    return out
