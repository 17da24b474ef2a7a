"""``energy`` layer: the wind and PV bases, grid and gas projects of the Baicheng plan (seed 000).

The 千万千瓦 wind and PV bases are city-wide designations (the named sites are in the
context layer ``ctx_clean_energy_base``, from seed 004). Substations the plan names by
county are points at the county seat; transmission and gas lines are straight links
between the towns the plan names. All ``schematic``; ``development: energy`` marks
features that build something (used by the plan-conflict report).
"""

from __future__ import annotations

from shapely.geometry import LineString, MultiLineString, Point

from .common import COUNTIES, DAAN, TAONAN, TONGYU, ZHENLAI, cite, lineal, to_metric
from .context import (
    counties_rule,
    counties_zone,
    extent_metric,
    plan_feature,
    seat_metric,
    seat_rule,
    town,
)

LAYER = "energy"
TOLERANCE_M = 600.0
JARUD = (120.9, 44.55)  # 扎鲁特旗 seat (鲁北镇), general geographic knowledge, outside the extent


def build() -> list[dict]:
    """Build the energy features."""
    out = []
    for fid, zh, en, kind, line, quote, extra in [
        (
            "en_wind_10gw_base",
            "千万千瓦风电基地",
            "Ten-gigawatt wind base",
            "wind_base",
            606,
            "依托千万千瓦风电基地",
            [cite(935, "全力推进风、光两个千万千瓦基地建设")],
        ),
        (
            "en_solar_base",
            "千万千瓦光伏基地",
            "Ten-gigawatt PV base",
            "solar_base",
            935,
            "全力推进风、光两个千万千瓦基地建设",
            [],
        ),
    ]:
        out.append(
            plan_feature(
                fid,
                zh,
                en,
                LAYER,
                kind,
                counties_zone(COUNTIES, TOLERANCE_M),
                cite(line, quote),
                counties_rule(
                    COUNTIES,
                    " (a designation for the whole city; the sites 004 names "
                    "are in ctx_clean_energy_base)",
                    TOLERANCE_M,
                ),
                county=list(COUNTIES),
                extra_citations=extra or None,
            )
        )
    for fid, zh, en, county, line, quote in [
        (
            "en_daan_220kv",
            "大安220千伏升压站",
            "Da'an 220 kV step-up substation",
            DAAN,
            1666,
            "重点实施大安 220千伏升压站",
        ),
        (
            "en_tongyu_500kv",
            "通榆500千伏变电站",
            "Tongyu 500 kV substation",
            TONGYU,
            1666,
            "通榆 500千伏变电站",
        ),
    ]:
        out.append(
            plan_feature(
                fid,
                zh,
                en,
                LAYER,
                "substation",
                seat_metric(county),
                cite(line, quote),
                seat_rule(county),
                county=[county],
                development="energy",
                placement_confidence="low",
            )
        )
    bc = to_metric(town("白城"))
    uhv = lineal(LineString([bc, to_metric(Point(*JARUD))]).intersection(extent_metric()))
    out.append(
        plan_feature(
            "en_baicheng_zalute_uhv",
            "白城－扎鲁特－青州特高压输电通道（白城段）",
            "Baicheng–Jarud–Qingzhou UHV transmission channel (Baicheng end)",
            LAYER,
            "transmission_line",
            uhv,
            cite(939, "畅通白城－扎鲁特－青州特高压输电通道"),
            "Straight line from GeoNames 白城 towards the 扎鲁特旗 "
            "seat (鲁北, ≈120.9E 44.55N, general "
            "geographic knowledge), clipped to the context extent (121.2°E). The real route and "
            "the Baicheng collector substation are not in our sources.",
            extra_citations=[cite(136, "白城－扎鲁特旗 500千伏超高压汇集送出工程")],
            development="energy",
        )
    )
    gas = lineal(
        LineString([to_metric(town(n)) for n in ("松原", "大安", "白城")]).intersection(
            extent_metric()
        )
    )
    out.append(
        plan_feature(
            "en_gas_pipeline_songyuan_baicheng",
            "白城天然气输气管线（松原－白城俄气支线）",
            "Baicheng gas pipeline (Songyuan–Baicheng branch)",
            LAYER,
            "gas_pipeline",
            gas,
            cite(1660, "白城天然气输气管线（松原－白城俄气支线）"),
            "Straight segments 松原 (reference catalog 124.83E "
            "45.14N) → 大安 seat → 白城 (GeoNames): "
            "the plan names the end points; the route is not in our sources.",
            development="energy",
        )
    )
    branches = MultiLineString(
        [
            [(bc.x, bc.y), tuple(seat_metric(ZHENLAI).coords[0])],
            [(bc.x, bc.y), tuple(seat_metric(TAONAN).coords[0])],
        ]
    )
    out.append(
        plan_feature(
            "en_gas_pipeline_zhenlai_taonan",
            "镇赉、洮南天然气管道",
            "Zhenlai and Taonan gas pipelines",
            LAYER,
            "gas_pipeline",
            branches,
            cite(1662, "镇赉、洮南天然气管道"),
            "Two straight branches from GeoNames 白城 to the 镇赉 "
            "and 洮南 seats: the plan names the "
            "two counties; that they branch from Baicheng is the reference catalog's reading.",
            development="energy",
            placement_confidence="low",
        )
    )
    return out
