"""``parks`` layer: industrial parks, development zones, the hydrogen axis, public parks.

``kind`` tells them apart: ``industrial_park``, ``development_zone``, ``axis``,
``public_park``. The plan places the main-city parks only by direction (the "一核五区"
zones), so those are small schematic discs inside the zone the plan names. County parks
whose site the plan does not give are points at the county seat (no invented extent).
"""

from __future__ import annotations

from shapely.geometry import LineString, Point

from .common import (
    CITY,
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
    lineal,
    polygonal,
    to_metric,
    to_wgs84,
)
from .ecology import nenjiangwan_metric, taobei_donghu_metric
from .urban import at_azimuth, main_centre
from .water import taoer_metric

# Main-city parks: (id, zh, en, kind, r_km from centre, azimuth, radius_km, zone, line, quote).
CITY_PARKS = [
    (
        "park_baicheng_industrial_park",
        "白城工业园区",
        "Baicheng Industrial Park",
        "industrial_park",
        3.5,
        100,
        1.5,
        "东部低碳工业创新发展集中区",
        604,
        "以白城工业园区、大安化工园区为两核",
    ),
    (
        "park_chem_in_industrial_park",
        "白城工业园区化工产业园",
        "Chemical park within Baicheng Industrial Park",
        "industrial_park",
        3.5,
        100,
        0.6,
        "东部低碳工业创新发展集中区 (inside 白城工业园区)",
        1091,
        "白城工业园区化工产业园",
    ),
    (
        "park_taobei_edz",
        "洮北经开区",
        "Taobei Economic Development Zone",
        "development_zone",
        3.5,
        60,
        1.2,
        "东部低碳工业创新发展集中区",
        1501,
        "洮北经开区",
    ),
    (
        "park_taobei_new_materials",
        "洮北新型材料产业园区（含碳纤维产业园区）",
        "Taobei new-materials industrial park (incl. carbon fibre)",
        "industrial_park",
        3.5,
        60,
        0.6,
        "东部低碳工业创新发展集中区 (inside 洮北经开区, "
        "which hosts the 碳纤维产业园区, line 1942-1944)",
        1861,
        "洮北新型材料",
    ),
    (
        "park_baicheng_edz",
        "白城经开区",
        "Baicheng Economic Development Zone",
        "development_zone",
        3.5,
        225,
        1.2,
        "西南现代服务业集聚区",
        1875,
        "白城经开区重点发展",
    ),
    (
        "urb_eco_new_district",
        "生态新区",
        "Ecological New District",
        "development_zone",
        3.5,
        167,
        1.3,
        "南部宜居宜游引领区",
        1892,
        "生态新区重点打造",
    ),
]

# Parks at a place the plan (or GeoNames) gives only as a town: points, no extent.
# (id, zh, en, kind, GeoNames name, county, line, quote)
POINT_PARKS = [
    (
        "park_taonan_edz",
        "洮南经开区",
        "Taonan Economic Development Zone",
        "development_zone",
        "Taonan",
        TAONAN,
        1940,
        "洮南经开区精细化工",
    ),
    (
        "park_taonan_pharma",
        "洮南医药产业园区",
        "Taonan pharmaceutical industrial park",
        "industrial_park",
        "Taonan",
        TAONAN,
        1863,
        "洮南医药",
    ),
    (
        "park_tongyu_edz",
        "通榆经开区",
        "Tongyu Economic Development Zone",
        "development_zone",
        "Kaitong",
        TONGYU,
        1942,
        "通榆经开区及孵化基地",
    ),
    (
        "park_tongyu_wind_equipment",
        "通榆风电装备产业园区",
        "Tongyu wind-power equipment industrial park",
        "industrial_park",
        "Kaitong",
        TONGYU,
        1861,
        "通榆风电装备",
    ),
    (
        "park_zhenlai_food",
        "镇赉食品产业园区",
        "Zhenlai food industrial park",
        "industrial_park",
        "Zhenlai",
        ZHENLAI,
        1942,
        "镇赉食品产业园区",
    ),
    (
        "park_taobei_linhai_agri_demo",
        "洮北林海现代农业示范园区",
        "Linhai modern agriculture demonstration park (Taobei)",
        "industrial_park",
        "Linhai",
        TAOBEI,
        1456,
        "林海",
    ),
]


def build() -> list[dict]:
    """Build the parks features."""
    out = []
    taobei = county_metric(TAOBEI)
    six = cite(1859, "加快推进大安清洁能源化工")
    for fid, zh, en, kind, r, az, rad, zone, line, quote in CITY_PARKS:
        geom = polygonal(at_azimuth(r, az).buffer(rad * 1000, 16).intersection(taobei))
        extra = {}
        if fid in ("park_baicheng_industrial_park", "park_taobei_new_materials"):
            extra["extra_citations"] = [six]
        out.append(
            feature(
                fid,
                zh,
                en,
                "parks",
                kind,
                to_wgs84(geom),
                "schematic",
                PLAN_SOURCE,
                cite(line, quote),
                county=[TAOBEI],
                rule=f"Disc of {rad:g} km radius centred {r:g} km from the main-city centre "
                f"(GeoNames 白城) at azimuth {az}°, inside the zone the plan assigns it to "
                f"({zone}). Site and extent are not in the plan.",
                placement_confidence="low",
                **extra,
            )
        )
    # Figure 1's second core: 大安(两家子)清洁能源化工园区, at 两家子 (not in GeoNames).
    ljz = to_metric(Point(124.02, 45.33))
    out.append(
        feature(
            "park_daan_clean_energy_chem",
            "吉林西部（大安）清洁能源化工园区（两家子）",
            "West Jilin (Da'an) clean-energy chemical park (Liangjiazi)",
            "parks",
            "industrial_park",
            to_wgs84(polygonal(ljz.buffer(2000, 16).intersection(county_metric(DAAN)))),
            "schematic",
            PLAN_SOURCE,
            cite(604, "以白城工业园区、大安化工园区为两核"),
            county=[DAAN],
            rule="Disc of 2 km radius around the reference catalog's approximate position of "
            "两家子镇 (124.02E 45.33N; compiler's estimate, not in GeoNames), clipped to 大安市. "
            "The plan puts the park at 两家子 (line 1595).",
            extra_citations=[cite(1595, "依托两家子清洁能源"), six],
            placement_confidence="low",
        )
    )
    for fid, zh, en, kind, gname, county, line, quote in POINT_PARKS:
        p = geonames_point(gname)
        out.append(
            feature(
                fid,
                zh,
                en,
                "parks",
                kind,
                p,
                "schematic",
                GEONAMES_SOURCE + "; " + PLAN_SOURCE,
                cite(line, quote),
                county=[county],
                rule=f"Point at the GeoNames position of '{gname}' (the town the park belongs "
                "to). The plan gives neither site nor extent, so no area is drawn.",
                placement_confidence="low",
                **(
                    {"extra_citations": [six]}
                    if fid
                    in ("park_taonan_pharma", "park_tongyu_wind_equipment", "park_zhenlai_food")
                    else {}
                ),
            )
        )
    deshun = geonames_point("Deshun")
    out.append(
        feature(
            "park_chaganhaote_tourism_edz",
            "查干浩特旅游经济开发区",
            "Chaganhaote tourism economic development zone",
            "parks",
            "development_zone",
            deshun,
            "schematic",
            GEONAMES_SOURCE + "; " + PLAN_SOURCE,
            cite(1886, "查干浩特旅游经济开发区积极开发"),
            county=[TAOBEI],
            rule="Point at the GeoNames position of 德顺 (Deshun, 洮北区), the township we "
            "believe hosts 查干浩特; this association is general knowledge, not stated in the "
            "plan — low confidence.",
            placement_confidence="low",
        )
    )
    # 长白氢能走廊: main axis of figure 1, towards Changchun via Da'an.
    centre = main_centre()
    dalai = to_metric(geonames_point("Dalai"))
    changchun = to_metric(Point(125.32, 43.88))
    axis = lineal(LineString([centre, dalai, changchun]).intersection(county_metric(CITY)))
    out.append(
        feature(
            "en_changbai_hydrogen_corridor",
            "长白氢能走廊（长春－白城氢能走廊）",
            "Changchun–Baicheng hydrogen corridor (main axis)",
            "parks",
            "axis",
            to_wgs84(axis),
            "schematic",
            PLAN_SOURCE,
            cite(604, "以长白氢能走廊为主轴"),
            rule="Polyline from the main-city centre (GeoNames 白城) to the 大安 seat (GeoNames "
            "大赉) and on towards Changchun (125.32E 43.88N), clipped to Baicheng City. Shows "
            "the axis of figure 1 (not in the text); not a route.",
            # the same corridor as seed 001/004's: conflicts count the pair once
            same_as="ctx_hydrogen_corridor_changchun_baicheng",
        )
    )
    # Public parks.
    taoer = taoer_metric()
    from shapely.ops import nearest_points

    canal_start = nearest_points(taoer, centre)[0]
    canal = LineString([canal_start, centre]).buffer(500, 8).intersection(taobei)
    out.append(
        feature(
            "eco_canal_belt_park",
            "运河带状公园景观带",
            "Canal belt park (landscape belt)",
            "parks",
            "public_park",
            to_wgs84(polygonal(canal)),
            "schematic",
            PLAN_SOURCE,
            cite(567, "运河带状公园景观带"),
            rule="500 m buffer (each side) of the straight link from the point of the GSHHG "
            "洮儿河 nearest the main city to the main-city centre: the plan ties the canal "
            "park to the 洮儿河 water supply ('依托洮儿河补水常态化'). The canal's course is not "
            "in our sources — low confidence.",
            placement_confidence="low",
        )
    )
    out.append(
        feature(
            "park_taobei_donghu_wetland_park",
            "洮北东湖湿地公园（谋划）",
            "Taobei East Lake wetland park (planned)",
            "parks",
            "public_park",
            to_wgs84(taobei_donghu_metric()),
            "schematic",
            PLAN_SOURCE,
            cite(1126, "谋划建设洮北东湖湿地公园"),
            rule="Same schematic disc as the wetland eco_taobei_donghu (2 km around the "
            "catalog's approximate position 122.95E 45.62N) — low confidence.",
            placement_confidence="low",
        )
    )
    out.append(
        feature(
            "park_nenjiangwan_wetland_park",
            "嫩江湾国家湿地公园",
            "Nenjiang Bay national wetland park",
            "parks",
            "public_park",
            to_wgs84(nenjiangwan_metric()),
            "schematic",
            PLAN_SOURCE,
            cite(873, "大安嫩江湾"),
            rule="Same schematic disc as the wetland eco_nenjiangwan_wetland (4 km around the "
            "point of the GSHHG 嫩江 nearest the 大安 seat); the plan lists 嫩江湾 among the "
            "national wetland parks and reserves (line 873-875).",
            extra_citations=[cite(1124, "嫩江湾国家5A级旅游景区")],
            placement_confidence="medium",
        )
    )
    return out
