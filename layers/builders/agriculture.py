"""``agriculture`` layer: the plan's demonstration zones and bases, by county (seed 000).

The plan assigns the 5 绿色高质高效示范区 and the 5 绿色牧业基地 to counties only, so each
feature is the union of the named counties' official boundaries (``schematic``, simplified);
high-standard farmland and black-soil protection are city-wide programmes without sites.
"""

from __future__ import annotations

from .common import COUNTIES, DAAN, TAOBEI, TAONAN, TONGYU, ZHENLAI, cite
from .context import counties_rule, counties_zone, plan_feature

LAYER = "agriculture"
TOLERANCE_M = 600.0  # simplification (county-level zones; keeps the file small)

# (id, zh, en, kind, counties, line, quote)
ZONES = [
    (
        "agri_demo_grain_beans",
        "杂粮杂豆绿色高质高效示范区（洮南、洮北、通榆）",
        "Minor grains and beans green high-yield demonstration zone",
        "green_demo_zone",
        (TAONAN, TAOBEI, TONGYU),
        586,
        "建设洮南、洮北、通榆杂粮杂豆",
    ),
    (
        "agri_demo_rice_zhenlai",
        "镇赉水稻绿色高质高效示范区",
        "Zhenlai rice demonstration zone",
        "green_demo_zone",
        (ZHENLAI,),
        588,
        "镇赉水稻",
    ),
    (
        "agri_demo_corn_taobei",
        "洮北玉米绿色高质高效示范区",
        "Taobei maize demonstration zone",
        "green_demo_zone",
        (TAOBEI,),
        588,
        "洮北玉米",
    ),
    (
        "agri_demo_pepper",
        "洮南、通榆辣椒绿色高质高效示范区",
        "Taonan and Tongyu pepper demonstration zone",
        "green_demo_zone",
        (TAONAN, TONGYU),
        588,
        "洮南、通榆辣椒",
    ),
    (
        "agri_demo_melon_veg",
        "大安、洮北、洮南瓜菜绿色高质高效示范区",
        "Da'an, Taobei and Taonan melon and vegetable demonstration zone",
        "green_demo_zone",
        (DAAN, TAOBEI, TAONAN),
        588,
        "大安、洮北、洮南瓜菜等 5个绿色高质高效示范区",
    ),
    (
        "agri_livestock_dairy",
        "奶牛绿色牧业基地（镇赉、洮南、洮北）",
        "Dairy green livestock base",
        "livestock_base",
        (ZHENLAI, TAONAN, TAOBEI),
        590,
        "建设镇赉、洮南、洮北奶牛",
    ),
    (
        "agri_livestock_beef",
        "肉牛绿色牧业基地（镇赉、通榆）",
        "Beef cattle green livestock base",
        "livestock_base",
        (ZHENLAI, TONGYU),
        592,
        "镇赉、通榆肉牛",
    ),
    (
        "agri_livestock_sheep",
        "肉羊绿色牧业基地（洮北）",
        "Mutton sheep green livestock base",
        "livestock_base",
        (TAOBEI,),
        592,
        "洮北肉羊",
    ),
    (
        "agri_livestock_pig",
        "生猪绿色牧业基地（通榆、大安、洮南）",
        "Pig green livestock base",
        "livestock_base",
        (TONGYU, DAAN, TAONAN),
        592,
        "通榆、大安、洮南生猪",
    ),
    (
        "agri_livestock_poultry",
        "肉禽绿色牧业基地（大安）",
        "Poultry green livestock base",
        "livestock_base",
        (DAAN,),
        594,
        "大安肉禽等 5大绿色牧业基地",
    ),
    (
        "agri_high_standard_farmland",
        "集中连片高标准农田（新建200万亩）",
        "Contiguous high-standard farmland (2 million mu new)",
        "farmland_programme",
        COUNTIES,
        1179,
        "新建集中连片高标准农田 200万亩",
    ),
    (
        "agri_black_soil_protection",
        "黑土地保护",
        "Black-soil protection",
        "soil_protection",
        COUNTIES,
        787,
        "加大黑土地保护力度",
    ),
]


def build() -> list[dict]:
    """Build the agriculture features (county-level schematic zones)."""
    out = []
    for fid, zh, en, kind, codes, line, quote in ZONES:
        city_wide = set(codes) == set(COUNTIES)
        what = (
            " (a city-wide programme: 200万亩 ≈ 1,333 km², not located)"
            if fid.endswith("farmland")
            else (" (no place given)" if city_wide else "")
        )
        out.append(
            plan_feature(
                fid,
                zh,
                en,
                LAYER,
                kind,
                counties_zone(codes, TOLERANCE_M),
                cite(line, quote),
                counties_rule(codes, what, TOLERANCE_M),
                county=list(codes),
            )
        )
    return out
