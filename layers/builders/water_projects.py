"""``water_projects`` layer: water transfer and irrigation projects of the Baicheng plan (seed 000).

引嫩入白 and 引洮入向 are already in the ``water`` layer (``wat_yin_nen_ru_bai``,
``wat_yin_tao_ru_xiang``). Here: 引察济向 (a schematic link from 察尔森水库 through the
洮南 seat to 向海) and the 洮儿河灌区 (a band along the real 洮儿河). The other projects
have no place in the plan or our sources (see docs/DATA.md).
"""

from __future__ import annotations

from shapely.geometry import LineString, Point

from .common import TAOBEI, TAONAN, ZHENLAI, cite, counties_metric, lineal, polygonal, to_metric
from .context import extent_metric, plan_feature, simplified, town

LAYER = "water_projects"
CHAERSEN = (121.95, 46.2)  # 察尔森水库, reference catalog (≈, Horqin Right Front Banner)
IRRIGATION_KM = 5.0


def build() -> list[dict]:
    """Build the water-project features."""
    from .water import taoer_metric

    out = []
    line = LineString(
        [to_metric(Point(*CHAERSEN)), to_metric(town("洮南")), to_metric(town("向海"))]
    )
    out.append(
        plan_feature(
            "wat_yin_cha_ji_xiang",
            "引察济向",
            "Chaersen-to-Xianghai water transfer",
            LAYER,
            "water_transfer",
            lineal(line.intersection(extent_metric())),
            cite(687, "“引察济向”"),
            "Straight segments from 察尔森水库 (reference catalog "
            "≈121.95E 46.2N, 兴安盟) via the 洮南 "
            "seat (the water runs down the 洮儿河) to GeoNames 向海: the plan names source and "
            "target only.",
            placement_confidence="low",
            development="water",
        )
    )
    band = taoer_metric().buffer(IRRIGATION_KM * 1000, 8)
    zone = polygonal(band.intersection(counties_metric((TAONAN, TAOBEI, ZHENLAI))))
    zone = simplified(zone, 300.0)
    out.append(
        plan_feature(
            "wat_taoer_irrigation",
            "洮儿河灌区（现代化改造）",
            "Taoer River irrigation district (modernisation)",
            LAYER,
            "irrigation_district",
            zone,
            cite(857, "对洮儿河、白沙滩、新月、五家子、龙海等重点灌区"),
            f"{IRRIGATION_KM:g} km band (each side) of the GSHHG 洮儿河 centreline within 洮南市, "
            "洮北区 and 镇赉县: the district is named after the river; its boundary is not in our "
            "sources. Width chosen for display.",
            placement_confidence="low",
        )
    )
    return out
