"""``admin`` layer: Baicheng City and its five county-level units (official boundaries)."""

from __future__ import annotations

from .common import (
    ADMIN_SOURCE,
    CITY,
    COUNTIES,
    cite,
    county_geom,
    feature,
    source_features,
)

# One seed line that names each unit. 镇赉县 is broken by the PDF over 1601/1603.
CITATIONS = {
    CITY: (1, "白城市国民经济和社会发展第十四个五年规划纲要"),
    "220802": (588, "洮北玉米"),
    "220821": (1601, "镇赉县加快食品产业园建设"),
    "220822": (1599, "通榆县加快风电、光"),
    "220881": (1597, "洮南市强化工业基础"),
    "220882": (1595, "大安市加大油气资源开发"),
}


def build() -> list[dict]:
    """City first, then the counties in adcode order."""
    out = []
    for code in (CITY, *sorted(COUNTIES)):
        props = source_features("baicheng_admin_wgs84.geojson", adcode=code)[0]["properties"]
        level = "city" if code == CITY else "county"
        out.append(
            feature(
                f"admin_{code}",
                props["name_zh"],
                props["name_en"],
                "admin",
                level,
                county_geom(code),
                "official",
                ADMIN_SOURCE,
                cite(*CITATIONS[code]),
                county=list(COUNTIES) if code == CITY else [code],
                adcode=code,
            )
        )
    return out
